"""Pooling: max and average over sliding windows, and their adaptive forms.

``max_pool2d`` keeps, for each window, which kernel tap won; its gradient
puts each output gradient back at that tap (``PutWindows``), and the
gradient of putting back is picking from the same taps (``PickWindows``).
``avg_pool2d`` sums each window and divides; its gradient spreads
``g / divisor`` back over the window. 1-d pools run as 2-d pools over a
height of 1.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np  # host-side only: divisors and averaging matrices

from ...autograd.function import Function
from ...backends.windows import Geometry, windows
from ...tensor import Tensor
from .vision import ntuple

__all__ = [
    "max_pool1d",
    "max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
]


def _default_stride(stride: Any) -> bool:
    """No stride given (``None`` or ``[]``): windows step by their own size."""
    return stride is None or (isinstance(stride, (tuple, list)) and not stride)


def _pool_geometry(
    op: str, x: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool
) -> Geometry:
    """Window positions of a 2-d pool over ``x`` ``(N, C, H, W)``, with PyTorch's ceil_mode rule."""
    kernel = ntuple(kernel_size, 2, "kernel_size", op)
    step = kernel if _default_stride(stride) else ntuple(stride, 2, "stride", op)
    pad, dil = ntuple(padding, 2, "padding", op), ntuple(dilation, 2, "dilation", op)
    if min(kernel) <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_size={list(kernel)}")
    if min(step) <= 0:
        raise RuntimeError(f"stride should not be zero, but got stride={list(step)}")
    if min(dil) <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilation={list(dil)}")
    for k, p in zip(kernel, pad):
        if p < 0 or p > k // 2:
            raise RuntimeError(
                f"pad should be at most half of kernel size (kernel_size // 2), but got pad={p} and kernel_size={k}"
            )
    size = tuple(x.shape[2:])
    out, pads = [], []
    for n, k, s, p, d in zip(size, kernel, step, pad, dil):
        # ceil_mode rounds up, but a window must still start inside the input or its left padding.
        o = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (o - 1) * s >= n + p:
            o -= 1
        out.append(o)
        pads.append((p, max(p, (o - 1) * s + d * (k - 1) + 1 - n - p)))  # extra fill for a last partial window
    if min(out) < 1:
        c = x.shape[1]
        raise RuntimeError(
            f"Given input size: ({c}x{size[0]}x{size[1]}). Calculated output size: ({c}x{out[0]}x{out[1]}). "
            "Output size is too small"
        )
    return Geometry(size, tuple(out), kernel, step, dil, tuple(pads))


class MaxPool(Function):
    """Each window's largest value, and which tap (0 .. kh * kw - 1) held it."""

    grad_fn_name = "MaxPool2DWithIndicesBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, geom: Geometry) -> Tuple[Tensor, Tensor]:
        best, taps = x._backend.max_pool2d(x._data, geom)
        ctx.taps, ctx.geom = taps, geom
        taps_t = x._new(taps)
        ctx.mark_non_differentiable(taps_t)
        return x._new(best), taps_t

    @staticmethod
    def backward(ctx: Any, g: Tensor, _: Any) -> Any:
        return PutWindows.apply(g, ctx.taps, ctx.geom), None


class PutWindows(Function):
    """Each ``g`` value goes back to the input element at its window's tap ``taps``."""

    grad_fn_name = "MaxPool2DWithIndicesBackwardBackward0"

    @staticmethod
    def forward(ctx: Any, g: Tensor, taps: Any, geom: Geometry) -> Tensor:
        ctx.taps, ctx.geom = taps, geom
        return g._new(g._backend.max_pool2d_backward(g._data, taps, geom))

    @staticmethod
    def backward(ctx: Any, gg: Tensor) -> Any:
        return PickWindows.apply(gg, ctx.taps, ctx.geom), None, None


class PickWindows(Function):
    """The adjoint of PutWindows: from each window, the value at tap ``taps``."""

    grad_fn_name = "PickWindowsBackward"

    @staticmethod
    def forward(ctx: Any, x: Tensor, taps: Any, geom: Geometry) -> Tensor:
        ctx.taps, ctx.geom = taps, geom
        win = windows(x._data, geom, x._backend.xp)
        flat = win.reshape(x.shape[:2] + (-1,) + geom.out)  # (N, C, taps, oh, ow)
        return x._new(x._backend.xp.take_along_axis(flat, taps[:, :, None], axis=2)[:, :, 0])

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return PutWindows.apply(g, ctx.taps, ctx.geom), None, None


def _batched(op: str, input: Tensor, ndim: int) -> Tuple[Tensor, bool]:
    """``input`` with a batch dim (added if missing), and whether one was added."""
    if input.ndim not in (ndim - 1, ndim) or 0 in input.shape[-(ndim - 1) :]:
        raise RuntimeError(
            f"{op}: non-empty {ndim - 1}D or {ndim}D (batch mode) tensor expected for input, but got input of "
            f"size {list(input.shape)}"
        )
    return (input.unsqueeze(0), True) if input.ndim == ndim - 1 else (input, False)


def max_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """The largest value in each window (``stride`` defaults to ``kernel_size``).

    With ``return_indices``, also each winner's flat position in its ``H * W`` input plane.
    """
    x, added = _batched("max_pool2d", input, 4)
    geom = _pool_geometry("max_pool2d", x, kernel_size, stride, padding, dilation, ceil_mode)
    out, taps = MaxPool.apply(x, geom)
    if return_indices:  # the tap's row and column in the input plane, flattened
        xp, taps = x._backend.xp, taps._data
        kw, (sh, sw), (dh, dw) = geom.kernel[1], geom.stride, geom.dilation
        rows = xp.arange(geom.out[0]).reshape(-1, 1) * sh - geom.padding[0][0] + (taps // kw) * dh
        cols = xp.arange(geom.out[1]) * sw - geom.padding[1][0] + (taps % kw) * dw
        indices = x._new(rows * geom.size[1] + cols)
        return (out.squeeze(0), indices.squeeze(0)) if added else (out, indices)
    return out.squeeze(0) if added else out


def max_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """1-d max pooling over the last dim of ``(N, C, L)`` or ``(C, L)``."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"max_pool1d() Expected 2D or 3D input tensor, but got {list(input.shape)}")
    args = _as_2d(kernel_size, stride, padding, dilation)
    result = max_pool2d(input.unsqueeze(-2), *args, ceil_mode=ceil_mode, return_indices=return_indices)
    if return_indices:
        return result[0].squeeze(-2), result[1].squeeze(-2)
    return result.squeeze(-2)


def _as_2d(kernel_size: Any, stride: Any, padding: Any, dilation: Any = 1) -> Tuple[Any, ...]:
    """1-d pooling arguments as 2-d ones over a height of 1."""
    one = lambda v, name, fill: (fill,) + ntuple(v, 1, name, "pooling")
    kernel = one(kernel_size, "kernel_size", 1)
    step = kernel if _default_stride(stride) else one(stride, "stride", 1)
    return kernel, step, one(padding, "padding", 0), one(dilation, "dilation", 1)


# ---- average pooling -------------------------------------------------------------------------
class AvgPool(Function):
    """Each window's sum divided by ``divisor`` (an ``(oh, ow)`` array or a number)."""

    grad_fn_name = "AvgPool2DBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, geom: Geometry, divisor: Any) -> Tensor:
        ctx.geom, ctx.divisor = geom, divisor
        return x._new(x._backend.avg_pool2d(x._data, geom, divisor))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return AvgPoolBackward.apply(g, ctx.geom, ctx.divisor), None, None


class AvgPoolBackward(Function):
    """The adjoint of AvgPool: every tap of window ``o`` receives ``g[o] / divisor[o]``."""

    grad_fn_name = "AvgPool2DBackwardBackward0"

    @staticmethod
    def forward(ctx: Any, g: Tensor, geom: Geometry, divisor: Any) -> Tensor:
        ctx.geom, ctx.divisor = geom, divisor
        return g._new(g._backend.avg_pool2d_backward(g._data, geom, divisor))

    @staticmethod
    def backward(ctx: Any, gg: Tensor) -> Any:
        return AvgPool.apply(gg, ctx.geom, ctx.divisor), None, None


def _divisor(geom: Geometry, padding: Tuple[int, ...], count_include_pad: bool, x: Tensor) -> Any:
    """How many elements each window averages: padding counts or not; the ceil_mode overhang never does."""
    counts = []
    for n, k, s, o, p in zip(geom.size, geom.kernel, geom.stride, geom.out, padding):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        counts.append(end - start if count_include_pad else np.minimum(end, n) - np.maximum(start, 0))
    return x._backend.from_host(np.outer(*counts).astype(x._data.dtype))


def avg_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: Optional[int] = None,
) -> Tensor:
    """The mean of each window; ``count_include_pad`` decides whether padded zeros count in the mean."""
    x, added = _batched("avg_pool2d", input, 4)
    geom = _pool_geometry("avg_pool2d", x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError("divisor must be not zero")
        divisor: Any = divisor_override
    else:
        divisor = _divisor(geom, ntuple(padding, 2, "padding", "avg_pool2d"), count_include_pad, x)
    out = AvgPool.apply(x, geom, divisor)
    return out.squeeze(0) if added else out


def avg_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """1-d average pooling over the last dim of ``(N, C, L)`` or ``(C, L)``."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"avg_pool1d() Expected 2D or 3D input tensor, but got {list(input.shape)}")
    kernel, step, pad, _ = _as_2d(kernel_size, stride, padding)
    return avg_pool2d(input.unsqueeze(-2), kernel, step, pad, ceil_mode, count_include_pad).squeeze(-2)


# ---- adaptive pooling: the windows are chosen to give a requested output size ---------------------
def _adaptive_bounds(n: int, out: int) -> Tuple[Any, Any]:
    """Window ``i`` covers ``[floor(i * n / out), ceil((i + 1) * n / out))``."""
    i = np.arange(out)
    return (i * n) // out, -((-(i + 1) * n) // out)


def _averaging_matrix(n: int, out: int, x: Tensor) -> Tensor:
    """``(out, n)`` matrix whose row ``i`` averages window ``i``."""
    start, end = _adaptive_bounds(n, out)
    j = np.arange(n)
    inside = (j >= start[:, None]) & (j < end[:, None])
    matrix = inside / (end - start)[:, None]
    return Tensor._make(x._backend.from_host(matrix.astype(x._data.dtype)), x._backend)


def _output_size(output_size: Any, size: Tuple[int, ...], op: str) -> Tuple[int, ...]:
    """``output_size`` per spatial dim; ``None`` keeps the input's size there."""
    values = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,) * len(size)
    if len(values) != len(size):
        raise RuntimeError(f"{op}: output_size must be {len(size)} values, but got {list(values)}")
    return tuple(n if v is None else int(v) for v, n in zip(values, size))


def _adaptive_input(op: str, input: Tensor, nd: int) -> None:
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}(): Expected {nd + 1}D or {nd + 2}D tensor, but got {list(input.shape)}")
    if 0 in input.shape[-nd:]:
        raise RuntimeError(
            f"{op}(): Expected input to have non-zero size for non-batch dimensions, but got {list(input.shape)}"
        )


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling with windows chosen so the output is ``output_size``: ``A_h @ x @ A_w.T``.

    Each averaging matrix holds ``1 / window length`` inside each window (so an ``inf`` input turns
    its whole row into ``nan``, where PyTorch would give ``inf`` only in the windows that hold it).
    """
    _adaptive_input("adaptive_avg_pool2d", input, 2)
    (h, w), out = input.shape[-2:], _output_size(output_size, tuple(input.shape[-2:]), "adaptive_avg_pool2d")
    return _averaging_matrix(h, out[0], input) @ input @ _averaging_matrix(w, out[1], input).T


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """1-d adaptive average pooling over the last dim: ``x @ A.T``."""
    _adaptive_input("adaptive_avg_pool1d", input, 1)
    (out,) = _output_size(output_size, tuple(input.shape[-1:]), "adaptive_avg_pool1d")
    return input @ _averaging_matrix(input.shape[-1], out, input).T


def _adaptive_max_indices(x: Tensor, out: Tuple[int, int]) -> Any:
    """Flat ``H * W`` position of each window's maximum, for ``x`` ``(N, C, H, W)``.

    Windows have different lengths; each is read as the longest length with its
    index clipped to the window's last element (repeats cannot change a maximum).
    """
    xp, (h, w) = x._backend.xp, x.shape[2:]
    per_dim = []
    for n, o in zip((h, w), out):
        start, end = _adaptive_bounds(n, o)
        span = int((end - start).max())
        per_dim.append(np.minimum(start[:, None] + np.arange(span), end[:, None] - 1))  # (o, span)
    rows, cols = (x._backend.from_host(i) for i in per_dim)
    win = x._data[:, :, rows[:, None, :, None], cols[None, :, None, :]]  # (N, C, oh, ow, span_h, span_w)
    win = win.reshape(win.shape[:4] + (-1,))
    best = win.argmax(axis=-1)
    span_w = cols.shape[1]
    oh, ow = xp.arange(out[0]).reshape(-1, 1), xp.arange(out[1])
    return rows[oh, best // span_w] * w + cols[ow, best % span_w]


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max pooling with windows chosen so the output is ``output_size``."""
    _adaptive_input("adaptive_max_pool2d", input, 2)
    x = input if input.ndim == 4 else input.unsqueeze(0)
    out = _output_size(output_size, tuple(x.shape[2:]), "adaptive_max_pool2d")
    indices = x._new(_adaptive_max_indices(x, out))
    values = x.flatten(2).gather(2, indices.flatten(2)).reshape(x.shape[:2] + out)
    if input.ndim == 3:
        values, indices = values.squeeze(0), indices.squeeze(0)
    return (values, indices) if return_indices else values


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """1-d adaptive max pooling over the last dim."""
    _adaptive_input("adaptive_max_pool1d", input, 1)
    (out,) = _output_size(output_size, tuple(input.shape[-1:]), "adaptive_max_pool1d")
    values, indices = adaptive_max_pool2d(input.unsqueeze(-2), (1, out), return_indices=True)
    values, indices = values.squeeze(-2), indices.squeeze(-2)
    return (values, indices) if return_indices else values
