"""Hypothesis strategies for shapes and arrays shared by the op tests."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


def shapes(min_dims: int = 0, max_dims: int = 4, min_side: int = 0, max_side: int = 5) -> st.SearchStrategy:
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_pair(min_dims: int = 0, max_dims: int = 4, min_side: int = 0) -> st.SearchStrategy:
    """Two shapes that broadcast together (sizes 1 and missing leading dims included)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=4
    ).map(lambda r: r.input_shapes)


def floats(shape: tuple, dtype: str = "float64", low: float = -3.0, high: float = 3.0, seed: int = 0) -> np.ndarray:
    return np.asarray(np.random.default_rng(seed).uniform(low, high, size=shape)).astype(dtype)


def away_from(values: np.ndarray, points: tuple = (0.0,), gap: float = 0.1) -> np.ndarray:
    """Nudge values at least ``gap`` away from non-differentiable points (never loosen tolerances)."""
    out = np.array(values, copy=True, ndmin=0)
    if out.ndim == 0:
        return away_from(out.reshape(1), points, gap).reshape(())
    for p in points:
        near = np.abs(out - p) < gap
        out[near] = p + np.where(out[near] >= p, gap, -gap)
    return out
