"""2-D convolution and its two gradients on minitorch's own CUDA kernels (csrc/cuda/conv2d.cu), NCHW.

Each of the three is an implicit GEMM: the kernel builds tiles of the virtual im2col matrix as it loads them, so no
im2col buffer is ever allocated. This module checks the arguments, picks the tile size from the GEMM's shape and
launches; it takes NumPy or CuPy arrays alike (the CI emulator runs the NumPy case). ``padding`` is the zero padding
before the first row and column; the size after the last one follows from the output size, which the caller passes,
so asymmetric ("same" with an even filter) padding needs nothing special.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional, Sequence, Tuple

import numpy as np

from . import CTYPES, Launch, array_module, register, run
from .matmul import INT32_MAX, MAX_GRID_Y, SMS

# (BM, BN, BK, TM, TN) of the register-blocked GEMM: 256 threads on 64 x 64 outputs, or 64 threads on 32 x 32 when a
# GEMM side is small (few channels per group) or the large tile would leave SMs idle.
TILES = {"small": (32, 32, 8, 4, 4), "large": (64, 64, 8, 4, 4)}
KERNELS = ("conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight")
DTYPES = ("float32", "float64")

register(
    "conv2d.cu",
    *(f"{k}<{CTYPES[d]}, {', '.join(map(str, t))}>" for k in KERNELS for d in DTYPES for t in TILES.values()),
)

Pair = Tuple[int, int]


def conv2d_forward(
    x: Any,
    w: Any,
    *,
    stride: Pair,
    padding: Pair,
    dilation: Pair,
    groups: int,
    out_hw: Pair,
    launcher: Callable = run,
) -> Any:
    """y (N, K, P, Q) = the convolution of x (N, C, H, W) with w (K, C/groups, R, S)."""
    _check_arrays(x, w)
    (N, C, H, W), K = x.shape, w.shape[0]
    sizes = _sizes(N, C, (H, W), w.shape, out_hw, stride, padding, dilation, groups)
    gemm = (N * out_hw[0] * out_hw[1], K // groups)
    return _launch("conv2d_forward", x, w, (N, K, *out_hw), sizes, gemm, launcher)


def conv2d_backward_input(
    g: Any,
    w: Any,
    *,
    x_hw: Pair,
    stride: Pair,
    padding: Pair,
    dilation: Pair,
    groups: int,
    launcher: Callable = run,
) -> Any:
    """gx (N, C, H, W), the gradient of the input, from the output gradient g (N, K, P, Q) and the weight w."""
    _check_arrays(g, w)
    (N, K, P, Q), Cg = g.shape, w.shape[1]
    sizes = _sizes(N, Cg * groups, x_hw, w.shape, (P, Q), stride, padding, dilation, groups, out_channels=K)
    gemm = (N * x_hw[0] * x_hw[1], Cg)
    return _launch("conv2d_backward_input", g, w, (N, Cg * groups, *x_hw), sizes, gemm, launcher)


def conv2d_backward_weight(
    x: Any,
    g: Any,
    *,
    w_shape: Sequence[int],
    stride: Pair,
    padding: Pair,
    dilation: Pair,
    groups: int,
    launcher: Callable = run,
) -> Any:
    """gw (K, C/groups, R, S), the gradient of the weight, from the input x and the output gradient g."""
    _check_arrays(x, g)
    (N, C, H, W), (Ng, K, P, Q) = x.shape, g.shape
    if Ng != N:
        raise ValueError(f"conv2d: the input has batch {N} but the output gradient {Ng}")
    sizes = _sizes(N, C, (H, W), w_shape, (P, Q), stride, padding, dilation, groups, out_channels=K)
    gemm = (w_shape[0] // groups, w_shape[1] * w_shape[2] * w_shape[3])
    return _launch("conv2d_backward_weight", x, g, tuple(w_shape), sizes, gemm, launcher)


def _check_arrays(*arrays: Any) -> None:
    if any(a.ndim != 4 for a in arrays):
        raise ValueError(f"conv2d kernels take 4-d NCHW arrays, got shapes {[tuple(a.shape) for a in arrays]}")
    if arrays[0].dtype != arrays[1].dtype:
        raise TypeError(
            f"conv2d: expected both arrays to have the same dtype, but got {arrays[0].dtype} and {arrays[1].dtype}"
        )
    if arrays[0].dtype.name not in DTYPES:
        raise TypeError(
            f"conv2d kernels support float32 and float64, not {arrays[0].dtype}: use the im2col path for it"
        )


def _sizes(
    N: int,
    C: int,
    x_hw: Sequence[int],
    w_shape: Sequence[int],
    out_hw: Sequence[int],
    stride: Pair,
    padding: Pair,
    dilation: Pair,
    groups: int,
    out_channels: Optional[int] = None,
) -> Tuple[int, ...]:
    """Check the geometry; return the kernels' 16 size arguments (N, C, H, W, K, R, S, P, Q, groups, sh, sw, ph, pw,
    dh, dw)."""
    if len(w_shape) != 4:
        raise ValueError(f"conv2d: the weight must be 4-d (K, C/groups, R, S), got shape {tuple(w_shape)}")
    K, Cg, R, S = w_shape
    if out_channels is not None and out_channels != K:
        raise ValueError(f"conv2d: the output gradient has {out_channels} channels but the weight {K}")
    if groups < 1 or C % groups or K % groups or Cg * groups != C:
        raise ValueError(
            f"conv2d: groups={groups} must divide the {C} input and {K} output channels, and the weight must have "
            f"C/groups = {C // max(groups, 1)} input channels (it has {Cg})"
        )
    if min(*stride, *dilation) < 1 or min(padding) < 0 or min(out_hw) < 0:
        raise ValueError(f"conv2d: stride {stride} and dilation {dilation} must be >= 1, padding {padding} >= 0")
    (H, W), (P, Q) = x_hw, out_hw
    if max(N * P * Q, N * H * W, C * R * S, K * R * S) > INT32_MAX:
        raise ValueError("conv2d: these sizes overflow the kernels' 32-bit GEMM dimensions; split the batch")
    return (N, C, H, W, K, R, S, P, Q, groups, *stride, *padding, *dilation)


def _launch(
    kernel: str, first: Any, second: Any, out_shape: Tuple[int, ...], sizes: Tuple[int, ...], gemm: Pair, launcher
) -> Any:
    """Run one of the three implicit GEMMs, of size ``gemm`` (M, N) per group, into a new array of ``out_shape``."""
    xp = array_module(first)
    out = xp.empty(out_shape, dtype=first.dtype)
    if out.size == 0:
        return out
    groups = sizes[9]
    large = TILES["large"]
    blocks = math.ceil(gemm[0] / large[0]) * math.ceil(gemm[1] / large[1]) * groups
    tile = large if min(gemm) > 32 and blocks >= SMS else TILES["small"]
    bm, bn, _, tm, tn = tile
    grid = (-(-gemm[0] // bm), -(-gemm[1] // bn), min(groups, MAX_GRID_Y))  # the kernel loops over further groups
    if grid[1] > MAX_GRID_Y:
        raise ValueError(f"conv2d: a GEMM side of {gemm[1]} needs more than {MAX_GRID_Y} tiles; split the channels")
    name = f"{kernel}<{CTYPES[first.dtype.name]}, {', '.join(map(str, tile))}>"
    args = (xp.ascontiguousarray(first), xp.ascontiguousarray(second), out) + tuple(np.int32(v) for v in sizes)
    launcher(Launch("conv2d.cu", name, grid, ((bm // tm) * (bn // tn), 1, 1), args))
    return out
