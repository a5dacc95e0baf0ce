"""Reductions and scans: sum, mean, prod, max/min, var/std, norm, logsumexp,
cumsum/cumprod, softmax/log_softmax, all/any, sort/topk.

A reduction's backward must give every input element its share of the
gradient: ``sum`` copies the output gradient back over the reduced dims
(unsqueeze, then expand), ``mean`` also divides by the count, ``max``
sends it to the element that won.
"""

from __future__ import annotations

import functools
import math
from collections import namedtuple
from typing import Any, Optional, Tuple

from .. import dtypes as dt
from .. import layout
from ..autograd.function import Function
from ..tensor import Tensor
from . import pointwise as pw
from .linalg import _scalar_name

# Named results like torch.return_types.max: ``values, indices = x.max(dim=1)``.
return_types = type(
    "return_types",
    (),
    {
        name: namedtuple(name, ["values", "indices"])
        for name in ("max", "min", "sort", "topk", "median", "mode", "kthvalue", "cummax", "cummin")
    },
)


def numpy_aliases(fn: Any) -> Any:
    """Also accept NumPy's ``axis=`` and ``keepdims=`` for ``dim=`` and ``keepdim=``, as PyTorch does."""

    @functools.wraps(fn)
    def with_aliases(*args: Any, **kwargs: Any) -> Any:
        if kwargs:
            if "axis" in kwargs:
                kwargs["dim"] = kwargs.pop("axis")
            if "keepdims" in kwargs:
                kwargs["keepdim"] = kwargs.pop("keepdims")
        return fn(*args, **kwargs)

    return with_aliases


def reduced_dims(dim: Any, ndim: int) -> Tuple[int, ...]:
    """Normalise ``dim`` (None, an int, or a sequence) to a sorted tuple of dims."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    out = tuple(sorted({layout.normalize_dim(d, ndim) for d in dims}))
    if len(out) != len(dims):
        raise RuntimeError(f"dim {dims} appears multiple times in the list of dims")
    return out


def unreduce(g: Tensor, in_shape: Tuple[int, ...], dims: Tuple[int, ...], keepdim: bool) -> Tensor:
    """Put back the reduced dims of ``g`` as size 1, so it broadcasts against the input."""
    if not keepdim and in_shape and g.ndim:  # a 0-d g already broadcasts
        kept = list(g.shape)
        for d in dims:
            kept.insert(d, 1)
        g = g.reshape(kept)
    return g


# ---- sum and mean --------------------------------------------------------------------------
class Sum(Function):
    grad_fn_name = "SumBackward1"

    @staticmethod
    def forward(ctx: Any, x: Tensor, dims: Tuple[int, ...], keepdim: bool, out_dtype: dt.dtype) -> Tensor:
        ctx.in_shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        arr = x._data
        if arr.dtype != out_dtype.np:
            arr = arr.astype(out_dtype.np)
        return x._new(arr.sum(axis=dims, keepdims=keepdim))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return unreduce(g, ctx.in_shape, ctx.dims, ctx.keepdim).expand(ctx.in_shape), None, None, None


class SumAll(Sum):
    grad_fn_name = "SumBackward0"  # PyTorch's name when every dim is reduced


class Mean(Function):
    grad_fn_name = "MeanBackward1"

    @staticmethod
    def forward(ctx: Any, x: Tensor, dims: Tuple[int, ...], keepdim: bool, out_dtype: dt.dtype) -> Tensor:
        ctx.in_shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        ctx.count = layout.numel(x.shape[i] for i in dims)
        total = x._data.astype(out_dtype.np, copy=False).sum(axis=dims, keepdims=keepdim)
        with x._backend.xp.errstate(invalid="ignore", divide="ignore"):  # the mean of nothing is 0/0 = nan
            return x._new(x._backend.xp.true_divide(total, ctx.count, dtype=out_dtype.np))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        g = unreduce(g, ctx.in_shape, ctx.dims, ctx.keepdim).expand(ctx.in_shape)
        return g / ctx.count if ctx.count else g * math.nan, None, None, None


class MeanAll(Mean):
    grad_fn_name = "MeanBackward0"


def _sum_dtype(x: Tensor, dtype: Any) -> dt.dtype:
    if dtype is not None:
        return dt.to_dtype(dtype)
    return x.dtype if x.dtype.is_floating_point else dt.int64


@numpy_aliases
def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:  # noqa: A001
    """Sum over ``dim`` (all dims by default); bool and integer input sum to int64."""
    fn = SumAll if dim is None else Sum
    return fn.apply(input, reduced_dims(dim, input.ndim), keepdim, _sum_dtype(input, dtype))


def sum_to_size(input: Tensor, *size: Any) -> Tensor:
    """Sum a broadcast tensor back to ``size``: the inverse of ``expand``."""
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)
    if tuple(input.shape) == shape:
        return input
    lead = input.ndim - len(shape)
    if lead < 0:
        raise RuntimeError(f"size {{{list(shape)}}} is not expandable to size {{{list(input.shape)}}}.")
    dims = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and input.shape[lead + i] != 1)
    for i, n in enumerate(shape):
        if n != 1 and n != input.shape[lead + i]:
            raise RuntimeError(f"size {{{list(shape)}}} is not expandable to size {{{list(input.shape)}}}.")
    out = Sum.apply(input, dims, True, input.dtype) if dims else input
    return out.reshape(shape) if out.shape != shape else out


@numpy_aliases
def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Average over ``dim``; needs a floating dtype, as in PyTorch."""
    d = dt.to_dtype(dtype) if dtype is not None else input.dtype
    if not d.is_floating_point:
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point or complex "
            f"dtype. Got: {d.name.capitalize()}. Convert first, e.g. x.float().mean()"
        )
    fn = MeanAll if dim is None else Mean
    return fn.apply(input, reduced_dims(dim, input.ndim), keepdim, d)


@numpy_aliases
def nansum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    return sum(pw.where(pw.isnan(input), 0.0, input), dim, keepdim, dtype=dtype)


class Prod(Function):
    grad_fn_name = "ProdBackward1"

    @staticmethod
    def forward(ctx: Any, x: Tensor, dims: Tuple[int, ...], keepdim: bool, out_dtype: dt.dtype) -> Tensor:
        ctx.dims, ctx.keepdim = dims, keepdim
        out = x._new(x._data.astype(out_dtype.np, copy=False).prod(axis=dims, keepdims=keepdim))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        x, out = ctx.saved_tensors
        g = unreduce(g, x.shape, ctx.dims, ctx.keepdim)
        out = unreduce(out, x.shape, ctx.dims, ctx.keepdim)
        if not bool((x == 0).any()):
            return g * out / x, None, None, None
        # With zeros, out / x is undefined: use the product of all the *other* elements,
        # computed by cumprod from both sides (exclusive prefix times exclusive suffix).
        from .joining import cat

        flat_dims = ctx.dims
        moved = x.movedim(flat_dims, tuple(range(x.ndim - len(flat_dims), x.ndim))) if flat_dims else x
        lead = moved.shape[: x.ndim - len(flat_dims)]
        rows = moved.reshape(lead + (-1,))
        ones = rows.new_ones(lead + (1,))
        before = cat([ones, cumprod(rows, -1).narrow(-1, 0, rows.shape[-1] - 1)], -1)
        after = cat([ones, cumprod(rows.flip(-1), -1).narrow(-1, 0, rows.shape[-1] - 1)], -1).flip(-1)
        others = (before * after).reshape(moved.shape)
        others = others.movedim(tuple(range(x.ndim - len(flat_dims), x.ndim)), flat_dims) if flat_dims else others
        return g * others, None, None, None


@numpy_aliases
def prod(input: Tensor, dim: Optional[int] = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Product over one dim (or all elements)."""
    dims = reduced_dims(dim, input.ndim)
    return Prod.apply(input, dims, keepdim if dim is not None else False, _sum_dtype(input, dtype))


# ---- max / min -----------------------------------------------------------------------------------
class Amax(Function):
    """Largest (or smallest) value over dims; ties share the gradient evenly (as PyTorch's amax)."""

    grad_fn_name = "AmaxBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, dims: Tuple[int, ...], keepdim: bool, largest: bool) -> Tensor:
        if x.numel() == 0:
            if len(dims) == x.ndim:
                raise RuntimeError(
                    "max(): Expected reduction dim to be specified for input.numel() == 0. "
                    "Specify the reduction dim with the 'dim' argument."
                )
            empty = [d for d in dims if x.shape[d] == 0]
            if empty:
                raise IndexError(f"amax(): Expected reduction dim {empty[0]} to have non-zero size.")
        ctx.dims, ctx.keepdim = dims, keepdim
        fn = x._data.max if largest else x._data.min
        out = x._new(fn(axis=dims, keepdims=keepdim))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        x, out = ctx.saved_tensors
        winners = (x == unreduce(out, x.shape, ctx.dims, ctx.keepdim)).to(g.dtype)
        share = winners / winners.sum(ctx.dims, keepdim=True)
        return unreduce(g, x.shape, ctx.dims, ctx.keepdim) * share, None, None, None


class Amin(Amax):
    grad_fn_name = "AminBackward0"


@numpy_aliases
def amax(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    return Amax.apply(input, reduced_dims(dim, input.ndim), keepdim, True)


@numpy_aliases
def amin(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    return Amin.apply(input, reduced_dims(dim, input.ndim), keepdim, False)


class MaxDim(Function):
    """max/min along one dim: values and the index where each came from."""

    grad_fn_name = "MaxBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, dim: int, keepdim: bool, largest: bool) -> Tuple[Tensor, Tensor]:
        if x.ndim and x.shape[dim] == 0:
            raise IndexError(f"{'max' if largest else 'min'}(): Expected reduction dim {dim} to have non-zero size.")
        xp = x._backend.xp
        arr = x._data if x.ndim else x._data.reshape(1)
        axis = dim if x.ndim else 0
        idx = (xp.argmax if largest else xp.argmin)(arr, axis=axis, keepdims=True)
        values = xp.take_along_axis(arr, idx, axis=axis)
        if not keepdim or not x.ndim:
            values, idx = values.squeeze(axis), idx.squeeze(axis)
            if not x.ndim:
                values, idx = values.reshape(()), idx.reshape(())
        ctx.in_shape, ctx.dim, ctx.keepdim = x.shape, dim, keepdim
        indices = x._new(idx.astype(xp.int64))
        ctx.save_for_backward(indices)
        ctx.mark_non_differentiable(indices)
        return x._new(values), indices

    @staticmethod
    def backward(ctx: Any, g: Tensor, _: Any) -> Any:
        (indices,) = ctx.saved_tensors
        return _scatter_to_index(g, indices, ctx.in_shape, ctx.dim, ctx.keepdim), None, None, None


class MinDim(MaxDim):
    grad_fn_name = "MinBackward0"


def _scatter_to_index(g: Tensor, indices: Tensor, in_shape: Tuple[int, ...], dim: int, keepdim: bool) -> Tensor:
    """Gradient for values picked at ``indices`` along ``dim``: g where picked, 0 elsewhere."""
    if not in_shape:
        return g
    g = unreduce(g, in_shape, (dim,), keepdim)
    idx = unreduce(indices, in_shape, (dim,), keepdim)
    positions = _arange_along(g, in_shape, dim)
    return pw.where(positions == idx, g, 0.0)


def _arange_along(ref: Tensor, shape: Tuple[int, ...], dim: int) -> Tensor:
    """0..n-1 along ``dim``, shaped to broadcast against a tensor of ``shape``."""
    view = [1] * len(shape)
    view[dim] = shape[dim]
    xp = ref._backend.xp
    return Tensor._make(xp.arange(shape[dim]).reshape(view), ref._backend)


def _max_or_min(input: Tensor, dim: Any, keepdim: bool, other: Any, largest: bool) -> Any:
    if isinstance(dim, Tensor):
        other, dim = dim, None
    if other is not None:
        return pw.maximum(input, other) if largest else pw.minimum(input, other)
    if dim is None:
        return (
            Amax.apply(input, reduced_dims(None, input.ndim), False, largest)
            if largest
            else Amin.apply(input, reduced_dims(None, input.ndim), False, False)
        )
    d = layout.normalize_dim(dim, input.ndim)
    fn, result = (MaxDim, return_types.max) if largest else (MinDim, return_types.min)
    return result(*fn.apply(input, d, keepdim, largest))


@numpy_aliases
def max(input: Tensor, dim: Any = None, keepdim: bool = False, *, other: Any = None) -> Any:  # noqa: A001
    """The largest element, or ``(values, indices)`` along ``dim``, or elementwise max with a tensor."""
    return _max_or_min(input, dim, keepdim, other, True)


@numpy_aliases
def min(input: Tensor, dim: Any = None, keepdim: bool = False, *, other: Any = None) -> Any:  # noqa: A001
    """The smallest element, or ``(values, indices)`` along ``dim``, or elementwise min with a tensor."""
    return _max_or_min(input, dim, keepdim, other, False)


def _arg(input: Tensor, dim: Optional[int], keepdim: bool, largest: bool) -> Tensor:
    xp = input._backend.xp
    if input.numel() == 0:
        raise IndexError(
            f"arg{'max' if largest else 'min'}(): Expected reduction dim to be specified for input.numel() == 0."
        )
    fn = xp.argmax if largest else xp.argmin
    if dim is None:
        out = fn(input._data.reshape(-1))
        out = xp.asarray(out).reshape((1,) * input.ndim if keepdim else ())
    else:
        d = layout.normalize_dim(dim, input.ndim)
        out = fn(input._data, axis=d, keepdims=keepdim) if input.ndim else xp.asarray(0)
    return input._new(xp.asarray(out, dtype=xp.int64))


@numpy_aliases
def argmax(input: Tensor, dim: Optional[int] = None, keepdim: bool = False) -> Tensor:
    """Index of the largest element (flattened when ``dim`` is None); the first one at ties."""
    return _arg(input, dim, keepdim, True)


@numpy_aliases
def argmin(input: Tensor, dim: Optional[int] = None, keepdim: bool = False) -> Tensor:
    return _arg(input, dim, keepdim, False)


# ---- statistics ------------------------------------------------------------------------------------
@numpy_aliases
def var(
    input: Tensor, dim: Any = None, unbiased: Optional[bool] = None, keepdim: bool = False, *, correction: Any = None
) -> Tensor:
    """Variance: mean squared distance from the mean, divided by N - correction (default 1)."""
    if isinstance(unbiased, bool) and correction is None:
        correction = 1 if unbiased else 0
    elif not isinstance(unbiased, (bool, type(None))):  # var(x, dim) given positionally as in var(x, 1)
        dim, unbiased = unbiased, None
    correction = 1 if correction is None else correction
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"std and var only support floating point and complex dtypes, got {input.dtype}")
    dims = reduced_dims(dim, input.ndim)
    n = layout.numel(input.shape[i] for i in dims)
    centred = input - mean(input, dims, keepdim=True)
    return sum(centred * centred, dims, keepdim) / (n - correction if n > correction else 0)


@numpy_aliases
def std(
    input: Tensor, dim: Any = None, unbiased: Optional[bool] = None, keepdim: bool = False, *, correction: Any = None
) -> Tensor:
    """Standard deviation: the square root of ``var``."""
    return pw.sqrt(var(input, dim, unbiased, keepdim, correction=correction))


@numpy_aliases
def var_mean(
    input: Tensor, dim: Any = None, unbiased: Optional[bool] = None, keepdim: bool = False, *, correction: Any = None
) -> Tuple[Tensor, Tensor]:
    return var(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


@numpy_aliases
def std_mean(
    input: Tensor, dim: Any = None, unbiased: Optional[bool] = None, keepdim: bool = False, *, correction: Any = None
) -> Tuple[Tensor, Tensor]:
    return std(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


class Norm(Function):
    """The p-norm (sum |x|^p)^(1/p); its gradient at an all-zero input is 0, as in PyTorch."""

    grad_fn_name = "NormBackward1"

    @staticmethod
    def forward(ctx: Any, x: Tensor, p: float, dims: Tuple[int, ...], keepdim: bool) -> Tensor:
        xp = x._backend.xp
        if p == 2:  # the common case (gradient clipping, normalize) in two passes, not four
            out = xp.sqrt(xp.square(x._data).sum(axis=dims, keepdims=keepdim))
        else:
            out = (xp.abs(x._data) ** p).sum(axis=dims, keepdims=keepdim) ** (1.0 / p)
        result = x._new(xp.asarray(out, dtype=x.dtype.np))
        ctx.p, ctx.dims, ctx.keepdim = p, dims, keepdim
        ctx.save_for_backward(x, result)
        return result

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        x, out = ctx.saved_tensors
        g = unreduce(g, x.shape, ctx.dims, ctx.keepdim)
        out = unreduce(out, x.shape, ctx.dims, ctx.keepdim)
        safe = pw.where(out == 0, 1.0, out)
        if ctx.p == 2:
            grad = g * x / safe
        else:
            grad = g * pw.sign(x) * pw.abs(x) ** (ctx.p - 1) / safe ** (ctx.p - 1)
        return pw.where(out == 0, 0.0, grad), None, None, None


@numpy_aliases
def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """Vector p-norm over ``dim`` (all elements by default): 'fro'/2, 1, inf, -inf, 0 or any p > 0."""
    if dtype is not None:
        input = input.to(dt.to_dtype(dtype))
    if not input.dtype.is_floating_point:
        raise RuntimeError(
            f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got {input.dtype.name.capitalize()}"
        )
    if p == "fro" or p is None:
        p = 2
    if p == "nuc" or isinstance(p, str):
        raise RuntimeError(f"norm: p='{p}' is not supported by minitorch; use p=2 ('fro'), 1, inf or a number")
    dims = reduced_dims(dim, input.ndim)
    empty = [d for d in dims if input.shape[d] == 0]
    if abs(p) == math.inf and empty:  # max and min of nothing are undefined
        raise RuntimeError(
            f"linalg.vector_norm cannot compute the {p} norm on the dimension {empty[0]} because this dimension "
            "is empty and the operation does not have an identity"
        )
    if p == math.inf:
        return amax(pw.abs(input), dims, keepdim)
    if p == -math.inf:
        return amin(pw.abs(input), dims, keepdim)
    if p == 0:
        return sum((input != 0).to(input.dtype), dims, keepdim)
    if p == 1:
        return sum(pw.abs(input), dims, keepdim)
    return Norm.apply(input, float(p), dims, keepdim)


class LogSumExp(Function):
    grad_fn_name = "LogsumexpBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, dims: Tuple[int, ...], keepdim: bool) -> Tensor:
        xp = x._backend.xp
        arr = x._data if x.dtype.is_floating_point else x._data.astype(dt.get_default_dtype().np)
        m = arr.max(axis=dims, keepdims=True) if arr.size else xp.zeros([1] * arr.ndim, dtype=arr.dtype)
        m = xp.where(xp.isfinite(m), m, 0)  # all -inf rows: avoid inf - inf
        with xp.errstate(divide="ignore"):
            out = xp.log(xp.exp(arr - m).sum(axis=dims, keepdims=True)) + m
        if not keepdim:
            out = out.squeeze(axis=dims) if dims else out
        result = x._new(out)
        ctx.dims, ctx.keepdim = dims, keepdim
        ctx.save_for_backward(x, result)
        return result

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        x, out = ctx.saved_tensors
        g = unreduce(g, x.shape, ctx.dims, ctx.keepdim)
        out = unreduce(out, x.shape, ctx.dims, ctx.keepdim)
        return g * pw.exp(x - out), None, None


@numpy_aliases
def logsumexp(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``dim``, computed stably by shifting by the max."""
    return LogSumExp.apply(input, reduced_dims(dim, input.ndim), keepdim)


# ---- softmax --------------------------------------------------------------------------------------
# The forward and the backward of softmax are both backend kernels (a GPU runs its own). Each backward is itself a
# Function, whose forward is the kernel and whose backward is written in Tensor ops, so double backward still works.
class Softmax(Function):
    grad_fn_name = "SoftmaxBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, dim: int) -> Tensor:
        ctx.dim = dim
        out = x._new(x._backend.softmax(x._data, dim))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (y,) = ctx.saved_tensors
        return SoftmaxBackwardData.apply(y, g, ctx.dim), None


class SoftmaxBackwardData(Function):
    """``dx = y * (g - sum(g * y))`` along ``dim``: the input-gradient of ``y = softmax(x)``."""

    grad_fn_name = "SoftmaxBackwardDataBackward0"

    @staticmethod
    def forward(ctx: Any, y: Tensor, g: Tensor, dim: int) -> Tensor:
        ctx.dim = dim
        ctx.save_for_backward(y, g)
        return y._new(y._backend.softmax_backward(y._data, g._data, dim))

    @staticmethod
    def backward(ctx: Any, h: Tensor) -> Any:
        # dx is bilinear in (y, g): differentiate dx_i = y_i * (g_i - s), s = sum_j g_j * y_j, in each.
        y, g = ctx.saved_tensors
        hy = sum(h * y, ctx.dim, keepdim=True)
        grad_y = h * (g - sum(g * y, ctx.dim, keepdim=True)) - g * hy if ctx.needs_input_grad[0] else None
        grad_g = y * (h - hy) if ctx.needs_input_grad[1] else None
        return grad_y, grad_g, None


class LogSoftmax(Function):
    grad_fn_name = "LogSoftmaxBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, dim: int) -> Tensor:
        ctx.dim = dim
        out = x._new(x._backend.log_softmax(x._data, dim))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (y,) = ctx.saved_tensors
        return LogSoftmaxBackwardData.apply(y, g, ctx.dim), None


class LogSoftmaxBackwardData(Function):
    """``dx = g - exp(y) * sum(g)`` along ``dim``: the input-gradient of ``y = log_softmax(x)``."""

    grad_fn_name = "LogSoftmaxBackwardDataBackward0"

    @staticmethod
    def forward(ctx: Any, y: Tensor, g: Tensor, dim: int) -> Tensor:
        ctx.dim = dim
        ctx.save_for_backward(y, g)
        return y._new(y._backend.log_softmax_backward(y._data, g._data, dim))

    @staticmethod
    def backward(ctx: Any, h: Tensor) -> Any:
        y, g = ctx.saved_tensors
        p = pw.exp(y)
        grad_y = -h * p * sum(g, ctx.dim, keepdim=True) if ctx.needs_input_grad[0] else None
        grad_g = h - sum(h * p, ctx.dim, keepdim=True) if ctx.needs_input_grad[1] else None
        return grad_y, grad_g, None


def _softmax_input(input: Tensor, dim: Optional[int], dtype: Any) -> Tuple[Tensor, int]:
    if dim is None:
        raise TypeError("softmax() missing required argument 'dim': say which dim sums to 1, e.g. softmax(x, dim=-1)")
    if dtype is not None:
        input = input.to(dt.to_dtype(dtype))
    if not input.dtype.is_floating_point:
        raise RuntimeError(
            f"\"softmax_lastdim_kernel_impl\" not implemented for '{_scalar_name(input.dtype)}'; convert to float first"
        )
    return input, layout.normalize_dim(dim, input.ndim) if input.ndim else 0


@numpy_aliases
def softmax(input: Tensor, dim: Optional[int] = None, dtype: Any = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``: each slice becomes a probability distribution."""
    x, d = _softmax_input(input, dim, dtype)
    return Softmax.apply(x, d) if x.ndim else pw.exp(x - x)


@numpy_aliases
def log_softmax(input: Tensor, dim: Optional[int] = None, dtype: Any = None) -> Tensor:
    """log(softmax(x)) along ``dim``, computed without forming softmax (no log(0))."""
    x, d = _softmax_input(input, dim, dtype)
    return LogSoftmax.apply(x, d) if x.ndim else x - x


# ---- scans -------------------------------------------------------------------------------------------
class Cumsum(Function):
    grad_fn_name = "CumsumBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, dim: int, out_dtype: dt.dtype) -> Tensor:
        ctx.dim = dim
        arr = x._data.astype(out_dtype.np, copy=False)
        return x._new(arr.cumsum(axis=dim) if x.ndim else arr.copy())

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        if g.ndim == 0:
            return g, None, None
        # Each input feeds every later output: the gradient is a reversed cumulative sum.
        return cumsum(g.flip(ctx.dim), ctx.dim).flip(ctx.dim), None, None


@numpy_aliases
def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running sum along ``dim``."""
    return Cumsum.apply(input, layout.normalize_dim(dim, input.ndim), _sum_dtype(input, dtype))


class Cumprod(Function):
    grad_fn_name = "CumprodBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, dim: int, out_dtype: dt.dtype) -> Tensor:
        ctx.dim = dim
        arr = x._data.astype(out_dtype.np, copy=False)
        out = x._new(arr.cumprod(axis=dim) if x.ndim else arr.copy())
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        x, out = ctx.saved_tensors
        d = ctx.dim
        if x.ndim == 0:
            return g, None, None
        if not bool((x == 0).any()):
            # d out_j / d x_i = out_j / x_i for j >= i: a reversed cumsum of g * out, over x.
            return cumsum((g * out).flip(d), d).flip(d) / x, None, None
        # With zeros: grad_i = sum_{j>=i} g_j * prod_{k<=j, k!=i} x_k, built as an n x n table.
        n = x.shape[d]
        xm, gm = x.movedim(d, -1), g.movedim(d, -1)
        from .creation import eye, ones

        diag = eye(n, dtype=dt.bool, device=x.device)
        rows = pw.where(diag, 1.0, xm.unsqueeze(-2).expand(xm.shape[:-1] + (n, n)))
        upper = ones(n, n, dtype=dt.bool, device=x.device).triu()
        table = pw.where(upper, cumprod(rows, -1), 0.0)
        return sum(table * gm.unsqueeze(-2), -1).movedim(-1, d), None, None


@numpy_aliases
def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running product along ``dim``."""
    return Cumprod.apply(input, layout.normalize_dim(dim, input.ndim), _sum_dtype(input, dtype))


# ---- logic reductions -------------------------------------------------------------------------------
def _truth(input: Tensor, dim: Any, keepdim: bool, every: bool) -> Tensor:
    dims = reduced_dims(dim, input.ndim)
    arr = input._data.astype(bool)
    out = arr.all(axis=dims, keepdims=keepdim) if every else arr.any(axis=dims, keepdims=keepdim)
    # PyTorch keeps uint8 for uint8 input; every other dtype gives bool.
    return input._new(out.astype(dt.uint8.np) if input.dtype is dt.uint8 else out)


@numpy_aliases
def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where every element (over ``dim``) is nonzero."""
    return _truth(input, dim, keepdim, True)


@numpy_aliases
def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where some element (over ``dim``) is nonzero."""
    return _truth(input, dim, keepdim, False)


@numpy_aliases
def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    dims = reduced_dims(dim, input.ndim)
    return input._new(input._backend.xp.asarray((input._data != 0).sum(axis=dims), dtype=dt.int64.np))


# ---- sorting -------------------------------------------------------------------------------------------
def _sorted_indices(input: Tensor, dim: int, descending: bool, stable: bool) -> Any:
    xp = input._backend.xp
    arr = input._data
    if descending:
        # Stable descending order: sort the negated keys (bool/unsigned via a flipped rank).
        key = -arr.astype(xp.float64) if arr.dtype.kind in "bu" else -arr
        return xp.argsort(key, axis=dim, kind="stable")
    return xp.argsort(arr, axis=dim, kind="stable")


@numpy_aliases
def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
    """Sorted values along ``dim`` and the indices they came from (ties keep their order)."""
    from .indexing import gather

    if input.ndim == 0:
        return return_types.sort(input.clone(), input._new(input._backend.xp.zeros((), dtype=dt.int64.np)))
    d = layout.normalize_dim(dim, input.ndim)
    idx = input._new(_sorted_indices(input, d, descending, stable).astype(dt.int64.np))
    return return_types.sort(gather(input, d, idx), idx)


@numpy_aliases
def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    return sort(input, dim, descending, stable).indices


@numpy_aliases
def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:  # noqa: A002
    """The ``k`` largest (or smallest) values along ``dim`` with their indices."""
    from .indexing import gather

    d = layout.normalize_dim(dim, input.ndim) if input.ndim else 0
    size = input.shape[d] if input.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError(f"selected index k out of range: k={k} for a dimension of size {size}")
    if input.ndim == 0:
        return return_types.topk(input.clone(), input._new(input._backend.xp.zeros((), dtype=dt.int64.np)))
    order = _sorted_indices(input, d, largest, True)
    idx = input._new(input._backend.xp.take(order, range(k), axis=d).astype(dt.int64.np))
    return return_types.topk(gather(input, d, idx), idx)


def msort(input: Tensor) -> Tensor:
    return sort(input, 0).values


def _install() -> None:
    for name in (
        "sum",
        "sum_to_size",
        "mean",
        "nansum",
        "prod",
        "amax",
        "amin",
        "max",
        "min",
        "argmax",
        "argmin",
        "var",
        "std",
        "norm",
        "logsumexp",
        "softmax",
        "log_softmax",
        "cumsum",
        "cumprod",
        "all",
        "any",
        "count_nonzero",
        "sort",
        "argsort",
        "topk",
        "msort",
    ):
        setattr(Tensor, name, globals()[name])


_install()
