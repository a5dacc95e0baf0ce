"""Dropout: while training, zero random activations so no unit can rely on another.

Kept values are scaled by 1/(1-p) ("inverted dropout"), so each activation's
expected value is unchanged and evaluation needs no rescaling: outside
training these functions return their input. The mask is an ordinary tensor
multiplied in, so autograd needs no special code (the gradient is the mask).
Draws come from minitorch's generator, so ``manual_seed`` repeats them.
"""

from __future__ import annotations

import math
import warnings
from typing import Callable

from ...ops.creation import bernoulli, empty
from ...ops.inplace import inplace as _write_inplace
from ...tensor import Tensor

__all__ = [
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "alpha_dropout",
    "feature_alpha_dropout",
]

#: SELU's negative saturation value, -scale * alpha: what alpha dropout sets dropped units to.
_SELU_SATURATION = 1.7580993408473766


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _apply_dropout(input: Tensor, p: float, training: bool, inplace: bool, channels: int, alpha: bool) -> Tensor:
    """Shared body. ``channels`` leading dims get a draw per index and the rest share it
    (0: every element is drawn on its own). ``alpha`` keeps SELU's mean and variance."""
    _check_p(p)
    if p == 0 or not training or input.numel() == 0:
        return input
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"dropout needs a floating-point input, got {input.dtype}; convert it with .float()")
    if p == 1:
        compute: Callable[[Tensor], Tensor] = lambda x: x * 0
    else:
        shape = tuple(input.shape)
        if channels:
            shape = shape[:channels] + (1,) * (input.ndim - channels)
        keep = bernoulli(empty(shape, dtype=input.dtype, device=input.device), 1 - p)
        if alpha:
            # Kept units x -> a*x + b, dropped ones -> the saturation value scaled the same way,
            # with a and b chosen so that zero mean and unit variance survive.
            a = 1.0 / math.sqrt((_SELU_SATURATION**2 * p + 1) * (1 - p))
            shift = (keep - 1) * (_SELU_SATURATION * a) + _SELU_SATURATION * a * p
            scale = keep * a
            compute = lambda x: x * scale + shift
        else:
            scale = keep / (1 - p)
            compute = lambda x: x * scale
    return _write_inplace(input, compute) if inplace else compute(input)


def _feature_dropout(input: Tensor, p: float, training: bool, inplace: bool, batched: bool, alpha: bool) -> Tensor:
    """Drop whole channels: dim 1 of a batch, dim 0 of a single unbatched sample."""
    channels = 2 if batched else 1
    if input.ndim < channels:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return _apply_dropout(input, p, training, inplace, channels, alpha)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (when training)."""
    return _apply_dropout(input, p, training, inplace, 0, alpha=False)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) input, each with probability ``p``."""
    _check_p(p)
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note that dropout1d "
            "exists to provide channel-wise dropout on inputs with 1 spatial dimension, a channel dimension, "
            "and an optional batch dimension (i.e. 2D or 3D inputs)."
        )
    return _feature_dropout(input, p, training, inplace, batched=input.ndim == 3, alpha=False)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels (dim 1) of (N, C, H, W) input, each with probability ``p``.

    As in PyTorch, 3-D input is read as (N, C, L), not as an unbatched (C, H, W).
    """
    _check_p(p)
    if input.ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and will result "
            "in an error in a future release. Use dropout instead; dropout2d is for 3D or 4D inputs.",
            stacklevel=2,
        )
    if input.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
            "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
            "To keep this behavior, use dropout1d instead.",
            stacklevel=2,
        )
    return _feature_dropout(input, p, training, inplace, batched=True, alpha=False)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input, each with probability ``p``."""
    _check_p(p)
    if input.ndim not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is deprecated and will result "
            "in an error in a future release. Use dropout instead; dropout3d is for 4D or 5D inputs.",
            stacklevel=2,
        )
    return _feature_dropout(input, p, training, inplace, batched=input.ndim == 5, alpha=False)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: dropped units take SELU's saturation value, then an affine
    map restores zero mean and unit variance."""
    return _apply_dropout(input, p, training, inplace, 0, alpha=True)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """``alpha_dropout`` of whole channels (dim 1)."""
    return _feature_dropout(input, p, training, inplace, batched=True, alpha=True)
