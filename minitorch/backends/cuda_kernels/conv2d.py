"""2-D convolution and its two gradients on minitorch's own CUDA kernels (csrc/cuda/conv2d.cu), NCHW.

Each of the three is an implicit GEMM: the kernel builds tiles of the virtual im2col matrix as it loads them, so no
im2col buffer is ever allocated. This module checks the arguments, plans each GEMM (:func:`plan`: the tile, and
whether to split a long reduction over too few output tiles into slices, whose partial results it then sums), hands
the kernels the weight in their tap-major order, runs a strided input gradient phase by phase (one dense stride-1
GEMM per phase, see :func:`_backward_input_phases`) and launches; it takes NumPy or CuPy arrays alike (the CI emulator
runs the NumPy case). ``padding`` is the zero padding before the first row and column; the size after the last one
follows from the output size, which the caller passes, so asymmetric ("same" with an even filter) padding needs nothing
special.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Tuple

import numpy as np

from . import CTYPES, Launch, array_module, register, run
from .matmul import INT32_MAX, MAX_GRID_Y, SMS

# (BM, BN, BK, WM, WN, WNITER, TM, TN) of conv_gemm, matmul_warptile's tiling: a block of (BM/WM) * (BN/WN) warps,
# each thread computing WM*WN/32 outputs. The planner takes the first tile of its dtype's PLANNED list whose sides the
# GEMM fills more than half of. 128 x 128 is matmul's float tile (128 outputs a thread) with k-steps of 8, which keeps
# it within 255 registers without spilling; 128 x 64 and 64 x 128 fit a GEMM side of 64 channels (forward and
# backward-data of 64-channel layers, the weight gradient of 64 output channels); the one-warp 32 x 32 tile serves a
# side of a few channels (depthwise). A float64 output takes two registers, so float64 stops at 64 x 64.
# The ALTERNATIVES are never planned: they are there for a benchmark to compare (tile=...) where only a GPU can tell.
# "128x128k16" takes k-steps of 16, as matmul does (and spills ~80 bytes); "128x64t256" and "64x128t256" are the
# 64-channel tiles on 256 threads of 32 outputs (at most 128 registers: 16 warps per SM instead of 8, for twice the
# shared-memory reads per multiply-add).
TILES = {
    "128x128": (128, 128, 8, 64, 64, 4, 8, 4),
    "128x64": (128, 64, 16, 64, 32, 2, 8, 4),
    "64x128": (64, 128, 16, 64, 32, 2, 8, 4),
    "64x64": (64, 64, 8, 32, 32, 2, 4, 4),
    "32x32": (32, 32, 8, 32, 32, 1, 4, 4),
    "128x128k16": (128, 128, 16, 64, 64, 4, 8, 4),
    "128x64t256": (128, 64, 8, 32, 32, 1, 8, 4),
    "64x128t256": (64, 128, 8, 32, 32, 1, 8, 4),
}
PLANNED = {"float32": ("128x128", "128x64", "64x128", "64x64", "32x32"), "float64": ("64x64", "32x32")}
ALTERNATIVES = {"float32": ("128x128k16", "128x64t256", "64x128t256"), "float64": ()}
DTYPE_TILES = {dtype: PLANNED[dtype] + ALTERNATIVES[dtype] for dtype in PLANNED}
KERNELS = ("conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight")
DTYPES = tuple(DTYPE_TILES)

# Split-K: a grid of fewer than FILL_BLOCKS blocks splits its reduction into as many slices as still fit in one wave of
# FILL_BLOCKS blocks (more would only add a partly filled wave), none shorter than MIN_SLICE terms. FILL_BLOCKS is two
# blocks per SM, what the kernels' launch bounds promise (the largest tile: 128 threads of 255 registers), so one wave
# occupies the whole GPU; a slice of 256 terms (16 to 32 k-steps) keeps the pipeline's start, and the partial outputs
# (written and summed once more), to a few percent of the work. The weight gradient is what needs it most: ResNet-18's first 3x3 layer has
# 5 output tiles of 64 x 128 and a reduction over 100,352 pixels, split 52 ways.
FILL_BLOCKS = 2 * SMS
MIN_SLICE = 256


def _name(kernel: str, dtype: str, tile: str) -> str:
    return f"{kernel}<{CTYPES[dtype]}, {', '.join(map(str, TILES[tile]))}>"


register("conv2d.cu", *(_name(k, d, t) for k in KERNELS for d, tiles in DTYPE_TILES.items() for t in tiles))


@dataclass(frozen=True)
class Plan:
    """How one implicit GEMM runs: the tile, and its reduction in ``splits`` slices of ``slice_k`` terms."""

    tile: str
    splits: int
    slice_k: int

    def grid(self, M: int, N: int, groups: int) -> Tuple[int, int, int]:
        bm, bn = TILES[self.tile][:2]
        return (-(-M // bm), -(-N // bn), min(groups * self.splits, MAX_GRID_Y))  # the kernel loops over further z

    def block(self) -> Tuple[int, int, int]:
        bm, bn, _, wm, wn = TILES[self.tile][:5]
        return ((bm // wm) * (bn // wn) * 32, 1, 1)


def plan(
    M: int, N: int, K: int, groups: int, dtype: str, *, tile: Optional[str] = None, splits: Optional[int] = None
) -> Plan:
    """The plan for a GEMM of M x N outputs and K terms per group; ``tile`` and ``splits`` override the choice (for
    benchmarks and tests). The tile is the largest whose sides the GEMM fills more than half of (a side of 32 always
    fits); the reduction is split when the grid has fewer than FILL_BLOCKS blocks (see FILL_BLOCKS)."""
    if tile is None:
        tile = next(
            (t for t in PLANNED[dtype] if all(b <= 32 or n > b // 2 for b, n in zip(TILES[t][:2], (M, N)))),
            PLANNED[dtype][-1],
        )
    elif tile not in DTYPE_TILES[dtype]:
        raise ValueError(f"conv2d: tile {tile!r} is not one of the {dtype} tiles {', '.join(DTYPE_TILES[dtype])}")
    bm, bn, bk = TILES[tile][:3]
    if splits is None:
        blocks = -(-M // bm) * -(-N // bn) * groups
        splits = max(1, min(FILL_BLOCKS // blocks, K // MIN_SLICE))
    steps = -(-K // bk)
    slice_k = -(-steps // max(splits, 1)) * bk  # whole k-steps, so no step straddles two slices
    return Plan(tile, -(-K // slice_k) if K else 1, slice_k)  # no empty slice


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
    tile: Optional[str] = None,
    splits: Optional[int] = None,
) -> Any:
    """y (N, K, P, Q) = the convolution of x (N, C, H, W) with w (K, C/groups, R, S). ``tile`` and ``splits`` override
    the planner (see :func:`plan`), as do those of the two gradients."""
    _check_arrays(x, w)
    (N, C, H, W), (K, Cg, R, S) = x.shape, w.shape
    sizes = _sizes(N, C, (H, W), w.shape, out_hw, stride, padding, dilation, groups)
    # The weight as the GEMM's B: per group, (r, s, c) (the kernel's tap-major reduction order) by output channel.
    wt = array_module(w).ascontiguousarray(w.reshape(groups, K // groups, Cg, R * S).transpose(0, 3, 2, 1))
    gemm = (N * out_hw[0] * out_hw[1], K // groups, Cg * R * S)
    return _launch("conv2d_forward", x, wt, (N, K, *out_hw), sizes, gemm, launcher, tile, splits)


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
    tile: Optional[str] = None,
    splits: Optional[int] = None,
) -> Any:
    """gx (N, C, H, W), the gradient of the input, from the output gradient g (N, K, P, Q) and the weight w.

    A strided convolution (without dilation) runs as one stride-1 GEMM per phase, see :func:`_backward_input_phases`.
    """
    _check_arrays(g, w)
    (N, K, P, Q), (_, Cg, R, S) = g.shape, w.shape
    sizes = _sizes(N, Cg * groups, x_hw, w.shape, (P, Q), stride, padding, dilation, groups, out_channels=K)
    if tuple(stride) != (1, 1) and tuple(dilation) == (1, 1):
        return _backward_input_phases(g, w, x_hw, stride, padding, groups, launcher, tile, splits)
    # The weight as the GEMM's B: per group, (r, s, ko) (the kernel's tap-major reduction order) by input channel.
    kg = K // groups
    wt = array_module(w).ascontiguousarray(w.reshape(groups, kg, Cg, R * S).transpose(0, 3, 1, 2))
    gemm = (N * x_hw[0] * x_hw[1], Cg, kg * R * S)
    return _launch("conv2d_backward_input", g, wt, (N, Cg * groups, *x_hw), sizes, gemm, launcher, tile, splits)


def _backward_input_phases(
    g: Any,
    w: Any,
    x_hw: Pair,
    stride: Pair,
    padding: Pair,
    groups: int,
    launcher: Callable,
    tile: Optional[str],
    splits: Optional[int],
) -> Any:
    """The input gradient of a strided convolution, phase by phase. Input row h collects output row p through filter
    row r when h + ph - r = p*sh, so only the rows r = (h + ph) mod sh, + sh, + 2 sh ... reach it: a stride-1 GEMM
    over taps spaced sh apart, where the direct GEMM would multiply (sh - 1) of every sh terms by zero. The rows
    h = h0, h0 + sh ... (phase h0) share those taps, and over them p = (h0 + ph) // sh + i - j for the i-th row and
    j-th tap: a stride-1 convolution gradient with padding (h0 + ph) // sh. Likewise along w; each of the sh * sw
    phases fills its rows and columns of gx."""
    xp = array_module(g)
    N, Cg = g.shape[0], w.shape[1]
    gx = xp.empty((N, Cg * groups, *x_hw), dtype=g.dtype)
    for h0 in range(stride[0]):
        for w0 in range(stride[1]):
            first = [(o + p) % s for o, p, s in zip((h0, w0), padding, stride)]  # the phase's first filter row, column
            phase_w = w[:, :, first[0] :: stride[0], first[1] :: stride[1]]
            gx[:, :, h0 :: stride[0], w0 :: stride[1]] = conv2d_backward_input(
                g,
                phase_w,
                x_hw=(len(range(h0, x_hw[0], stride[0])), len(range(w0, x_hw[1], stride[1]))),
                stride=(1, 1),
                padding=tuple((o + p) // s for o, p, s in zip((h0, w0), padding, stride)),
                dilation=(1, 1),
                groups=groups,
                launcher=launcher,
                tile=tile,
                splits=splits,
            )
    return gx


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
    tile: Optional[str] = None,
    splits: Optional[int] = None,
) -> Any:
    """gw (K, C/groups, R, S), the gradient of the weight, from the input x and the output gradient g."""
    _check_arrays(x, g)
    (N, C, H, W), (Ng, K, P, Q) = x.shape, g.shape
    if Ng != N:
        raise ValueError(f"conv2d: the input has batch {N} but the output gradient {Ng}")
    sizes = _sizes(N, C, (H, W), w_shape, (P, Q), stride, padding, dilation, groups, out_channels=K)
    Cg, R, S = w_shape[1:]
    gemm = (K // groups, Cg * R * S, N * P * Q)
    # The kernel writes each filter's taps tap-major, (r, s, c): back to (c, r, s).
    gw = _launch("conv2d_backward_weight", x, g, (K, R * S, Cg), sizes, gemm, launcher, tile, splits)
    return array_module(gw).ascontiguousarray(gw.transpose(0, 2, 1)).reshape(K, Cg, R, S)


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
    # GEMM indices run up to a tile past their size; an image's offsets are 32-bit too.
    if max(N * P * Q, N * H * W, C * R * S, K * R * S, C * H * W, K * P * Q) > INT32_MAX - 256:
        raise ValueError("conv2d: these sizes overflow the kernels' 32-bit GEMM dimensions; split the batch")
    return (N, C, H, W, K, R, S, P, Q, groups, *stride, *padding, *dilation)


def _launch(
    kernel: str,
    first: Any,
    second: Any,
    out_shape: Tuple[int, ...],
    sizes: Tuple[int, ...],
    gemm: Tuple[int, int, int],
    launcher: Callable,
    tile: Optional[str],
    splits: Optional[int],
) -> Any:
    """Run one of the three implicit GEMMs, of size ``gemm`` (M, N, K) per group, into a new array of ``out_shape``.
    With the reduction split, the slices write one partial result each and their sum (fixed order, no atomics, so
    the result is deterministic) is the output."""
    xp = array_module(first)
    if math.prod(out_shape) == 0 or gemm[2] == 0:  # nothing to compute, or the zeros of an empty sum
        return xp.zeros(out_shape, dtype=first.dtype)
    groups = sizes[9]
    p = plan(*gemm, groups, first.dtype.name, tile=tile, splits=splits)
    grid = p.grid(gemm[0], gemm[1], groups)
    if grid[1] > MAX_GRID_Y:
        raise ValueError(f"conv2d: a GEMM side of {gemm[1]} needs more than {MAX_GRID_Y} tiles; split the channels")
    out = xp.empty(((p.splits,) if p.splits > 1 else ()) + out_shape, dtype=first.dtype)
    args = (xp.ascontiguousarray(first), xp.ascontiguousarray(second), out)
    args += tuple(np.int32(v) for v in sizes + (p.splits, p.slice_k))
    launcher(Launch("conv2d.cu", _name(kernel, first.dtype.name, p.tile), grid, p.block(), args))
    return out.sum(axis=0) if p.splits > 1 else out
