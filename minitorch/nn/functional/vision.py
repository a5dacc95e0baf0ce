"""Image ops: sliding windows (unfold/fold), padding, resizing, pixel shuffle.

The window view and its adjoint (``windows``/``add_windows``, in
minitorch/backends/windows.py) are the engine of convolution and pooling too.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence, Tuple

import numpy as np  # host-side only: index and weight vectors for resizing

from ...autograd.function import Function
from ...backends.windows import Geometry, add_windows, out_size, windows
from ...tensor import Tensor

__all__ = ["pad", "interpolate", "upsample", "unfold", "fold", "pixel_shuffle", "pixel_unshuffle"]


# ---- argument parsing ----------------------------------------------------------------------
def ntuple(value: Any, n: int, name: str, op: str = "convolution") -> Tuple[int, ...]:
    """``3`` -> ``(3, 3)``; a one-element list is repeated too, as PyTorch does."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(values) == 1:
        values = values * n
    if len(values) != n:
        raise RuntimeError(
            f"expected {name} to be a single integer value or a list of {n} values to match the {op} "
            f"dimensions, but got {name}={list(values)}"
        )
    return tuple(int(v) for v in values)


# ---- unfold / fold: the windows as a public op -----------------------------------------------
class Unfold(Function):
    """Every window as a column: ``(N, C, H, W)`` -> ``(N, C * kh * kw, L)`` (im2col)."""

    grad_fn_name = "Im2ColBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, geom: Geometry) -> Tensor:
        ctx.geom = geom
        cols = windows(x._data, geom, x._backend.xp)
        n, c = x.shape[:2]
        return x._new(cols.reshape(n, c * math.prod(geom.kernel), math.prod(geom.out)))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return Fold.apply(g, ctx.geom), None


class Fold(Function):
    """Sum columns back into an image: the adjoint of unfold (col2im)."""

    grad_fn_name = "Col2ImBackward0"

    @staticmethod
    def forward(ctx: Any, cols: Tensor, geom: Geometry) -> Tensor:
        ctx.geom = geom
        n, c = cols.shape[0], cols.shape[1] // math.prod(geom.kernel)
        arr = cols._data.reshape((n, c) + geom.kernel + geom.out)
        return cols._new(add_windows(arr, geom, cols._backend.xp))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return Unfold.apply(g, ctx.geom), None


def _unfold_geometry(
    size: Sequence[int], kernel_size: Any, dilation: Any, padding: Any, stride: Any, op: str
) -> Geometry:
    kernel, dil = ntuple(kernel_size, 2, "kernel_size", op), ntuple(dilation, 2, "dilation", op)
    pad, step = ntuple(padding, 2, "padding", op), ntuple(stride, 2, "stride", op)
    if min(kernel) <= 0 or min(dil) <= 0 or min(step) <= 0 or min(pad) < 0:
        raise RuntimeError(
            f"{op}: kernel_size, dilation and stride must be positive and padding non-negative, but got "
            f"kernel_size={list(kernel)}, dilation={list(dil)}, padding={list(pad)}, stride={list(step)}"
        )
    out = tuple(out_size(n, k, s, d, p, p) for n, k, s, d, p in zip(size, kernel, step, dil, pad))
    if min(out) < 1:
        raise RuntimeError(
            f"Given input with spatial size {list(size)}, kernel_size={list(kernel)}, dilation={list(dil)}, "
            f"padding={list(pad)}, calculated shape of the array of sliding blocks as {list(out)}, but its "
            "components must be at least one."
        )
    return Geometry(tuple(size), out, kernel, step, dil, tuple((p, p) for p in pad))


def unfold(input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Tensor:
    """Extract sliding blocks: ``(N, C, H, W)`` -> ``(N, C * prod(kernel_size), L)``, one column per block."""
    if input.ndim not in (3, 4):
        raise NotImplementedError(f"Input Error: Only 3D or 4D input Tensors are supported (got {input.ndim}D)")
    if input.ndim == 3:
        return unfold(input.unsqueeze(0), kernel_size, dilation, padding, stride).squeeze(0)
    geom = _unfold_geometry(input.shape[2:], kernel_size, dilation, padding, stride, "unfold")
    return Unfold.apply(input, geom)


def fold(
    input: Tensor, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
) -> Tensor:
    """Combine sliding blocks into an image, summing where they overlap (the adjoint of ``unfold``)."""
    if input.ndim not in (2, 3):
        raise NotImplementedError(
            f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are supported (got {input.ndim}D)"
        )
    if input.ndim == 2:
        return fold(input.unsqueeze(0), output_size, kernel_size, dilation, padding, stride).squeeze(0)
    size = ntuple(output_size, 2, "output_size", "fold")
    geom = _unfold_geometry(size, kernel_size, dilation, padding, stride, "fold")
    taps = math.prod(geom.kernel)
    if input.shape[1] % taps:
        raise RuntimeError(
            "Expected size of input's dimension 1 to be divisible by the product of kernel_size, but got "
            f"input.size(1)={input.shape[1]} and kernel_size={geom.kernel}."
        )
    if input.shape[2] != math.prod(geom.out):
        raise RuntimeError(
            f"Given output_size={list(size)}, kernel_size={list(geom.kernel)}, dilation={list(geom.dilation)}, "
            f"padding={[p for p, _ in geom.padding]}, stride={list(geom.stride)}, expected size of input's "
            f"dimension 2 to match the calculated number of sliding blocks {' * '.join(map(str, geom.out))} = "
            f"{math.prod(geom.out)}, but got input.size(2)={input.shape[2]}."
        )
    return Fold.apply(input, geom)


# ---- pad ------------------------------------------------------------------------------------------
class ConstantPad(Function):
    """Add ``value`` around the last dims; a negative amount crops instead."""

    grad_fn_name = "ConstantPadNdBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, pads: Tuple[Tuple[int, int], ...], value: Any) -> Tensor:
        ctx.pads = pads
        lead = x.ndim - len(pads)
        sizes = x.shape[lead:]
        out = x._backend.xp.full(
            x.shape[:lead] + tuple(n + b + a for n, (b, a) in zip(sizes, pads)), value, x._data.dtype
        )
        # The part of the input that survives, and where it lands in the output.
        src = tuple(slice(max(-b, 0), n - max(-a, 0)) for n, (b, a) in zip(sizes, pads))
        dst = tuple(slice(max(b, 0), max(b, 0) + max(s.stop - s.start, 0)) for s, (b, _) in zip(src, pads))
        if all(s.stop > s.start for s in src):
            out[(Ellipsis,) + dst] = x._data[(Ellipsis,) + src]
        return x._new(out)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return ConstantPad.apply(g, tuple((-b, -a) for b, a in ctx.pads), 0), None, None


def _source_index(n: int, before: int, after: int, mode: str, xp: Any) -> Any:
    """For each output position along a padded dim, the input position it copies."""
    if mode == "circular":  # a negative pad crops first; the rest wraps around what is left
        lo, hi = max(-before, 0), n - max(-after, 0)
        return lo + xp.arange(-max(before, 0), hi - lo + max(after, 0)) % (hi - lo)
    p = xp.arange(-before, n + after)
    if mode == "replicate":
        return xp.clip(p, 0, n - 1)
    period = 2 * (n - 1)  # reflect: ... 2 1 | 0 1 2 3 | 2 1 0 ...
    if period == 0:
        return xp.zeros_like(p)
    m = p % period
    return xp.where(m < n, m, period - m)


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: Optional[float] = None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims; ``pad`` lists (before, after) from the last dim backwards.

    Modes: ``'constant'`` (fill with ``value``), ``'reflect'`` (mirror, edge not repeated),
    ``'replicate'`` (repeat the edge) and ``'circular'`` (wrap around). Negative amounts crop.
    """
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    k = len(pad) // 2
    if k > input.ndim:
        raise RuntimeError(
            f"Padding length should be less than or equal to two times the input dimension but got padding "
            f"length {len(pad)} and input of dimension {input.ndim}"
        )
    pairs = tuple((int(pad[2 * i]), int(pad[2 * i + 1])) for i in reversed(range(k)))  # first padded dim first
    lead = input.ndim - k
    if mode == "constant":
        for d, (n, (b, a)) in enumerate(zip(input.shape[lead:], pairs)):
            if n + min(b, 0) + min(a, 0) < 0 or n + b + a < 0:  # cropping more than there is
                raise RuntimeError(
                    f"The input size {n}, plus negative padding {b} and {a} resulted in a negative output size, "
                    f"which is invalid. Check dimension {lead + d} of your input."
                )
        return ConstantPad.apply(input, pairs, 0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(
            f"Unrecognised padding mode {mode}; use 'constant', 'reflect', 'replicate' or 'circular'"
        )
    if value not in (None, 0):
        raise ValueError(f'Padding mode "{mode}" doesn\'t take in value argument.')
    if k not in (1, 2, 3) or input.ndim not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {input.ndim}D input tensor. Non-constant padding pads "
            "the last 1, 2 or 3 dims of a 2D/3D, 3D/4D or 4D/5D input: use a pad of length 2, 4 or 6."
        )
    out = input
    for d, (b, a) in zip(range(lead, input.ndim), pairs):
        n = input.shape[d]
        size = n + b + a
        if size < 0 or (size == 0 and mode != "circular" and d == input.ndim - 1):  # PyTorch allows empty H, D
            raise RuntimeError(f"Padding ({b}, {a}) of dimension {d} (size {n}) gives output size {size}: crop less")
        if mode == "circular" and size > 0 and n + min(b, 0) + min(a, 0) <= 0:
            raise RuntimeError(f"Circular padding crops dimension {d} away, leaving nothing to wrap around: crop less")
        if mode == "reflect" and (b >= n or a >= n):
            raise RuntimeError(
                f"Argument #4: Padding size should be less than the corresponding input dimension, but got: "
                f"padding ({b}, {a}) at dimension {d} of input {list(input.shape)}"
            )
        if mode == "circular" and (b > n or a > n):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if mode == "replicate" and n == 0:
            raise RuntimeError(f"padding: input dimension {d} is empty; replicate padding needs at least one element")
        index = _source_index(n, b, a, mode, input._backend.xp)
        out = out.index_select(d, Tensor._make(index, input._backend))
    return out


# ---- interpolate --------------------------------------------------------------------------------
_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "trilinear", "area")
_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}


def _source_positions(
    n_in: int, n_out: int, scale: Optional[float], mode: str, align_corners: bool, np_dtype: Any
) -> Any:
    """Where output position ``i`` samples the input, in the input's coordinates (computed in the input's precision)."""
    i = np.arange(n_out, dtype=np_dtype)
    if align_corners:
        step = np_dtype.type((n_in - 1) / (n_out - 1)) if n_out > 1 else np_dtype.type(0)
        return i * step
    step = np_dtype.type(1.0 / scale) if scale is not None else np_dtype.type(n_in) / np_dtype.type(n_out)
    if mode == "nearest":
        return i * step
    if mode == "nearest-exact":
        return (i + np_dtype.type(0.5)) * step
    return np.maximum((i + np_dtype.type(0.5)) * step - np_dtype.type(0.5), 0)  # half-pixel centres


def _resize_dim(x: Tensor, d: int, n_out: int, scale: Optional[float], mode: str, align_corners: bool) -> Tensor:
    """Resample dim ``d`` of ``x`` to ``n_out`` points (nearest: pick; linear: blend two neighbours)."""
    n_in = x.shape[d]
    np_dtype = np.dtype(x._data.dtype) if x.dtype.is_floating_point else np.dtype(np.float32)
    src = _source_positions(n_in, n_out, scale, mode, align_corners, np_dtype)
    lo = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    backend = x._backend
    if mode.startswith("nearest"):
        return x.index_select(d, Tensor._make(backend.from_host(lo), backend))
    hi = np.minimum(lo + 1, n_in - 1)
    w_hi = (src - lo).astype(np_dtype)
    shape = [1] * x.ndim
    shape[d] = n_out
    w_hi = Tensor._make(backend.from_host(w_hi.reshape(shape)), backend)
    below = x.index_select(d, Tensor._make(backend.from_host(lo), backend))
    above = x.index_select(d, Tensor._make(backend.from_host(hi), backend))
    return below * (1 - w_hi) + above * w_hi


def interpolate(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: Optional[bool] = None,
    recompute_scale_factor: Optional[bool] = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dims (all dims after the first two) to ``size`` or by ``scale_factor``.

    Modes: ``'nearest'``, ``'nearest-exact'``, ``'linear'``/``'bilinear'``/``'trilinear'``
    (``align_corners`` maps corner pixel centres onto each other) and ``'area'`` (adaptive average pooling).
    """
    if mode not in _MODES:
        raise NotImplementedError(
            f"Input Error: interpolate mode {mode!r} is not supported; minitorch supports {' | '.join(_MODES)}"
        )
    if antialias:
        raise NotImplementedError("interpolate(antialias=True) is not supported by minitorch; use antialias=False")
    if align_corners is not None and mode not in _LINEAR:
        raise ValueError(
            "align_corners option can only be set with the interpolating modes: linear | bilinear | bicubic | trilinear"
        )
    nd = input.ndim - 2
    if nd not in (1, 2, 3):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D)")
    if mode in _LINEAR and _LINEAR[mode] != nd:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {_LINEAR[mode] + 2}D input")
    if (size is None) == (scale_factor is None):
        raise ValueError(
            "either size or scale_factor should be defined"
            if size is None
            else "only one of size or scale_factor should be defined"
        )
    in_size = tuple(input.shape[2:])
    if size is not None:
        if isinstance(size, (tuple, list)) and len(size) != nd:
            raise ValueError(
                f"Input and output must have the same number of spatial dimensions, but got input with spatial "
                f"dimensions of {list(in_size)} and output size of {size}. Give size one value per dim after (N, C)."
            )
        out = ntuple(size, nd, "size", "interpolation")
        scales: Tuple[Optional[float], ...] = (None,) * nd
    else:
        factors = tuple(
            float(f) for f in (scale_factor if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * nd)
        )
        if len(factors) != nd:
            raise ValueError(
                f"Input and scale_factor must have the same number of spatial dimensions, but got input with "
                f"spatial dimensions of {list(in_size)} and scale_factor of shape {list(factors)}."
            )
        out = tuple(math.floor(n * f) for n, f in zip(in_size, factors))
        scales = (None,) * nd if recompute_scale_factor else factors
    if mode == "area":
        from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d

        if nd == 3:
            raise NotImplementedError("interpolate(mode='area') supports 3D and 4D input in minitorch")
        return (adaptive_avg_pool1d if nd == 1 else adaptive_avg_pool2d)(input, out)
    result = input
    for i in range(nd):
        result = _resize_dim(result, 2 + i, out[i], scales[i], mode, bool(align_corners))
    return result


def upsample(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: Optional[bool] = None,
) -> Tensor:
    """The older name of :func:`interpolate`."""
    return interpolate(input, size, scale_factor, mode, align_corners)


# ---- pixel shuffle -----------------------------------------------------------------------------
def _check_shuffle(input: Tensor, factor: int, op: str, name: str) -> None:
    """Pixel (un)shuffle needs a (*, C, H, W) input and a positive factor."""
    if input.ndim < 3:
        raise RuntimeError(
            f"{op} expects input to have at least 3 dimensions, but got input with {input.ndim} dimension(s)"
        )
    if factor <= 0:
        raise RuntimeError(f"{op} expects a positive {name}, but got {factor}")


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """Trade channels for resolution: ``(*, C * r * r, H, W)`` -> ``(*, C, H * r, W * r)``."""
    r = upscale_factor
    _check_shuffle(input, r, "pixel_shuffle", "upscale_factor")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(
            "pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of upscale_factor, "
            f"but input.size(-3)={c} is not divisible by {r * r}"
        )
    n = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)  # (*, C, H, r, W, r)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """The inverse of pixel_shuffle: ``(*, C, H * r, W * r)`` -> ``(*, C * r * r, H, W)``."""
    r = downscale_factor
    _check_shuffle(input, r, "pixel_unshuffle", "downscale_factor")
    *lead, c, hr, wr = input.shape
    if hr % r or wr % r:
        raise RuntimeError(
            "pixel_unshuffle expects height and width to be divisible by downscale_factor, but input.size(-2)="
            f"{hr} and input.size(-1)={wr} with downscale_factor={r}"
        )
    n = len(lead)
    x = input.reshape(*lead, c, hr // r, r, wr // r, r)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)  # (*, C, r, r, H, W)
    return x.reshape(*lead, c * r * r, hr // r, wr // r)
