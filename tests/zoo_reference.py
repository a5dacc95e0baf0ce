"""Frozen reference values for the model zoo: seeded weights and compact gradient fingerprints.

A reference file must stay small, so it stores no weights. Instead both
frameworks fill a model with the same *seeded* weights (each state_dict
entry drawn from a generator seeded by the key's name), run the same seeded
inputs in float64 and eval mode, and backpropagate ``sum(output * R)`` for
a fixed random ``R``. What is kept per model: the outputs, and for every
parameter the gradient's norm and its projection on a fixed random direction
(``sum(grad * P)``), which a wrong gradient almost surely changes.
``tests/reference/make_reference.py`` writes these from PyTorch;
``test_models_reference.py`` checks minitorch against them without PyTorch.
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

REFERENCE_DIR = Path(__file__).parent / "reference"


def _rng(name: str, salt: int) -> np.random.Generator:
    return np.random.default_rng([zlib.crc32(name.encode()), salt])


def seeded_state(shapes: Dict[str, Tuple[int, ...]]) -> Dict[str, np.ndarray]:
    """Weights for every state_dict entry, the same on every machine and in every framework.

    Weights get a 1/sqrt(fan-in) spread so activations stay O(1) through deep
    networks; batch-norm statistics get a positive variance; integer entries
    (``num_batches_tracked``) are zero.
    """
    state = {}
    for name, shape in shapes.items():
        rng = _rng(name, 0)
        if name.endswith("num_batches_tracked"):
            state[name] = np.zeros(shape, dtype=np.int64)
        elif name.endswith("running_var"):
            state[name] = rng.uniform(0.5, 1.5, size=shape)
        elif name.endswith("running_mean"):
            state[name] = rng.uniform(-0.1, 0.1, size=shape)
        else:
            fan_in = math.prod(shape[1:]) if len(shape) > 1 else 1
            state[name] = rng.standard_normal(shape) / math.sqrt(fan_in)
    return state


def flat_outputs(out: Any) -> List[Any]:
    """The floating-point tensors of a model's output, in order (tuples and namedtuples are flattened)."""
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in flat_outputs(o)]
    return [out] if out is not None and out.dtype.is_floating_point else []


def output_weights(shapes: Sequence[Tuple[int, ...]]) -> List[np.ndarray]:
    """The fixed ``R`` of the backpropagated loss ``sum(output * R)``, one per output."""
    return [_rng(f"output{i}", 1).standard_normal(shape) for i, shape in enumerate(shapes)]


def projection(name: str, shape: Tuple[int, ...]) -> np.ndarray:
    """The fixed random direction a parameter's gradient is projected on."""
    return _rng(name, 2).standard_normal(shape)


def fingerprint(named_grads: Dict[str, np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
    """(norms, projections) of every parameter's gradient, in the order of ``named_grads``."""
    norms = np.array([np.linalg.norm(g) for g in named_grads.values()])
    dots = np.array([np.sum(g * projection(name, g.shape)) for name, g in named_grads.items()])
    return norms, dots


def path_for(name: str) -> Path:
    return REFERENCE_DIR / f"{name}.npz"
