"""Making tensors: from data (tensor, as_tensor, from_numpy) and by filling (zeros, arange, randn, ...).

Every factory takes ``dtype``, ``device`` and ``requires_grad`` keywords as
in PyTorch. Integer data becomes int64, Python floats the default dtype
(float32), booleans bool; NumPy arrays keep their dtype.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np

from .. import dtypes as dt
from ..backends import get_backend
from ..device import CPU, as_device
from ..random import Generator, rng
from ..tensor import Tensor


def size_from_args(size: Sequence[Any]) -> tuple:
    """Accept ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` and ``f(Size)``."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = s.item()
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"size must be a tuple of ints, but got an element of type {type(s).__name__}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
        out.append(int(s))
    return tuple(out)


_IGNORED_OPTIONS = ("layout", "pin_memory", "memory_format")


def _check_options(options: dict) -> None:
    """Accept PyTorch's layout/pin_memory/memory_format keywords; refuse others (e.g. ``out=``)."""
    for key in options:
        if key not in _IGNORED_OPTIONS:
            raise TypeError(f"got an unexpected keyword argument '{key}' (minitorch factories do not take it)")


def _finish(array: Any, dtype: Optional[dt.dtype], device: Any, requires_grad: bool) -> Tensor:
    """Move a host (NumPy) array to the device and wrap it."""
    backend = get_backend(as_device(device)) if device is not None else get_backend(CPU)
    if dtype is not None and array.dtype != dtype.np:
        array = array.astype(dtype.np)
    t = Tensor._make(backend.from_host(array), backend)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _infer_dtype(data: Any) -> dt.dtype:
    """PyTorch's dtype for ``data``: the promotion of its elements' dtypes.

    A Python bool/int/float counts as bool/int64/the default float dtype; a
    NumPy value or tensor counts with its own dtype; an empty list is float.
    """
    if isinstance(data, Tensor):
        return data.dtype
    if isinstance(data, (np.ndarray, np.generic)):
        return dt.from_numpy_dtype(data.dtype)
    if isinstance(data, int) and not isinstance(data, bool) and not -(2**63) <= data < 2**63:
        raise ValueError(f"Overflow when unpacking long long: {data} does not fit in int64; pass dtype=float64")
    if isinstance(data, (bool, int, float)):
        return dt.scalar_dtype(data)
    if isinstance(data, (list, tuple, range)):
        result = None
        for item in data:
            d = _infer_dtype(item)
            result = d if result is None else dt._promote_two(result, d)
        return result or dt.get_default_dtype()
    raise RuntimeError(f"Could not infer dtype of {type(data).__name__}")


def _to_host_array(data: Any) -> np.ndarray:
    if isinstance(data, Tensor):
        return data.detach().cpu().numpy()
    if isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in data):
        data = [_to_host_array(d) for d in data]
    try:
        array = np.array(data)
    except ValueError as e:
        raise ValueError(f"expected a rectangular nested sequence of numbers: {e}") from None
    if array.dtype == object:
        raise RuntimeError(
            f"Could not infer dtype of {type(data).__name__}: give a number, a (nested) list of numbers, "
            "a NumPy array or a tensor"
        )
    return array


def tensor(
    data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, pin_memory: bool = False
) -> Tensor:
    """A new tensor holding a copy of ``data`` (numbers, nested lists, arrays, tensors)."""
    array = _to_host_array(data)
    if array.dtype.kind in "US":
        raise TypeError(f"new(): invalid data type '{array.dtype.kind == 'U' and 'str'}'")
    if dtype is None:
        dtype = _infer_dtype(data)
    else:
        dtype = dt.to_dtype(dtype)
    if requires_grad and not dtype.is_floating_point:
        raise RuntimeError("Only Tensors of floating point dtype can require gradients")
    return _finish(np.array(array, dtype=dtype.np, copy=True), dtype, device, requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like ``tensor`` but shares memory with a NumPy array or tensor when it can."""
    dtype = dt.to_dtype(dtype) if dtype is not None else None
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype) if (device or dtype) else data
    if isinstance(data, np.ndarray) and (device is None or as_device(device).type == "cpu"):
        t = from_numpy(data)
        return t if dtype is None else t.to(dtype)
    return tensor(data, dtype=dtype, device=device)


asarray = as_tensor


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array``: a write to one shows in the other.

    The storage is the span of memory the array covers; the array's byte
    strides become element strides.
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    dt.from_numpy_dtype(array.dtype)  # raises TypeError for dtypes minitorch lacks
    item = array.itemsize
    if any(s < 0 for s in array.strides):
        raise ValueError(
            "At least one stride in the given numpy array is negative, and tensors with negative strides "
            "are not currently supported. (You can probably work around this by making a copy of your "
            "array  with array.copy().) "
        )
    if any(s % item for s in array.strides):
        raise ValueError(
            "given numpy array strides not a multiple of the element byte size. Copy the numpy array to reallocate the memory."
        )
    strides = tuple(s // item for s in array.strides)
    backend = get_backend(CPU)
    if array.flags.c_contiguous:
        return Tensor._make(array, backend)
    span = 1 + sum((n - 1) * s for n, s in zip(array.shape, strides))
    flat = np.lib.stride_tricks.as_strided(array, (span,), (item,), writeable=array.flags.writeable)
    owner = Tensor._make(flat, backend)  # the span of memory becomes the storage...
    t = owner._view(array.shape, strides, 0)  # ...seen with the array's own layout
    t._base = None
    return t


def from_dlpack(ext: Any) -> Tensor:
    """Zero-copy import of any object with ``__dlpack__`` (NumPy arrays, CuPy arrays, tensors)."""
    if isinstance(ext, Tensor):
        return ext
    array = np.from_dlpack(ext)
    return from_numpy(array)


def _fill(size: tuple, value: Any, dtype: Any, device: Any, requires_grad: bool, default: Any = None) -> Tensor:
    d = dt.to_dtype(dtype) if dtype is not None else (default or dt.get_default_dtype())
    backend = get_backend(as_device(device)) if device is not None else get_backend(CPU)
    t = Tensor._make(backend.xp.full(size, value, dtype=d.np), backend)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, **options: Any) -> Tensor:
    """A tensor of zeros of the given size."""
    _check_options(options)
    return _fill(size_from_args(size), 0, dtype, device, requires_grad)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, **options: Any) -> Tensor:
    """A tensor of ones of the given size."""
    _check_options(options)
    return _fill(size_from_args(size), 1, dtype, device, requires_grad)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, **options: Any) -> Tensor:
    """An uninitialised tensor (minitorch fills it with zeros, so reads are deterministic)."""
    _check_options(options)
    return _fill(size_from_args(size), 0, dtype, device, requires_grad)


def full(
    size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False, **options: Any
) -> Tensor:
    """A tensor filled with ``fill_value``; its dtype follows the value (bool, int64 or float)."""
    _check_options(options)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _fill(size_from_args((size,)), fill_value, dtype, device, requires_grad, dt.scalar_dtype(fill_value))


def _like(input: Tensor, dtype: Any, device: Any) -> tuple:
    """Default dtype and device of a ``*_like`` factory: those of ``input``."""
    return (dtype if dtype is not None else input.dtype, device if device is not None else input.device)


def _like_factory(factory: Any) -> Any:
    """``zeros_like`` from ``zeros``: a tensor of ``input``'s shape, dtype and device."""

    def like(
        input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False, **options: Any
    ) -> Tensor:
        _check_options(options)
        d, dev = _like(input, dtype, device)
        return factory(tuple(input.shape), dtype=d, device=dev, requires_grad=requires_grad)

    like.__name__ = like.__qualname__ = factory.__name__ + "_like"
    like.__doc__ = f"Like ``{factory.__name__}``, with the shape (and by default dtype and device) of ``input``."
    return like


def full_like(
    input: Tensor,
    fill_value: Any,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **options: Any,
) -> Tensor:
    _check_options(options)
    d, dev = _like(input, dtype, device)
    return full(tuple(input.shape), fill_value, dtype=d, device=dev, requires_grad=requires_grad)


def eye(
    n: int,
    m: Optional[int] = None,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **options: Any,
) -> Tensor:
    """The identity matrix (ones on the diagonal), n x m."""
    _check_options(options)
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"n must be greater or equal to 0, got {n if n < 0 else m}")
    d = dt.to_dtype(dtype) if dtype is not None else dt.get_default_dtype()
    return _finish(np.eye(n, m, dtype=d.np), d, device, requires_grad)


def arange(
    start: Any,
    end: Any = None,
    step: Any = 1,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **options: Any,
) -> Tensor:
    """Values from ``start`` up to (not including) ``end`` in steps of ``step``."""
    _check_options(options)
    if end is None:
        start, end = 0, start
    start, end, step = (v.item() if isinstance(v, Tensor) else v for v in (start, end, step))
    if not all(math.isfinite(v) for v in (start, end, step)):
        raise RuntimeError(f"unsupported range: {start} -> {end} (arange needs finite bounds and step)")
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(
            f"upper bound and larger bound inconsistent with step sign: start={start}, end={end}, step={step}"
        )
    if dtype is None:
        dtype = dt.get_default_dtype() if any(isinstance(v, float) for v in (start, end, step)) else dt.int64
    d = dt.to_dtype(dtype)
    n = max(0, math.ceil((end - start) / step))
    array = (start + step * np.arange(n, dtype=np.float64)) if d.is_floating_point else np.arange(start, end, step)
    return _finish(array.astype(d.np), d, device, requires_grad)


def linspace(
    start: Any,
    end: Any,
    steps: int,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **options: Any,
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    _check_options(options)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    d = dt.to_dtype(dtype) if dtype is not None else dt.get_default_dtype()
    return _finish(np.linspace(float(start), float(end), steps).astype(d.np), d, device, requires_grad)


def logspace(
    start: Any,
    end: Any,
    steps: int,
    base: float = 10.0,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **options: Any,
) -> Tensor:
    """``base ** linspace(start, end, steps)``."""
    _check_options(options)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    d = dt.to_dtype(dtype) if dtype is not None else dt.get_default_dtype()
    return _finish(np.logspace(float(start), float(end), steps, base=base).astype(d.np), d, device, requires_grad)


# ---- random --------------------------------------------------------------------------
def _random(size: tuple, draw: Any, dtype: Any, device: Any, requires_grad: bool) -> Tensor:
    d = dt.to_dtype(dtype) if dtype is not None else dt.get_default_dtype()
    if not d.is_floating_point:
        raise RuntimeError(f"\"check_uniform_bounds\" not implemented for '{d.name}': use a floating dtype")
    return _finish(np.asarray(draw(size)).astype(d.np), d, device, requires_grad)


def _below_one(values: np.ndarray, dtype: Any) -> np.ndarray:
    """Uniform [0, 1) draws in float64, rounded to ``dtype`` without reaching 1.0.

    Rounding to float32/float16 sends values just under 1 up to exactly 1;
    those become the largest value below 1, so the range stays [0, 1).
    """
    d = (dt.to_dtype(dtype) if dtype is not None else dt.get_default_dtype()).np
    below = np.nextafter(d.type(1), d.type(0))
    return np.minimum(values.astype(d), below)


def rand(
    *size: Any,
    generator: Optional[Generator] = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **options: Any,
) -> Tensor:
    """Uniform samples from [0, 1)."""
    _check_options(options)
    return _random(
        size_from_args(size),
        lambda shape: _below_one(rng(generator).random(shape), dtype),
        dtype,
        device,
        requires_grad,
    )


def randn(
    *size: Any,
    generator: Optional[Generator] = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **options: Any,
) -> Tensor:
    """Samples from the standard normal distribution N(0, 1)."""
    _check_options(options)
    return _random(size_from_args(size), rng(generator).standard_normal, dtype, device, requires_grad)


def randint(
    low: int,
    high: Any = None,
    size: Any = None,
    *,
    generator: Optional[Generator] = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **options: Any,
) -> Tensor:
    """Random integers from ``low`` (inclusive) to ``high`` (exclusive); int64 by default."""
    _check_options(options)
    if size is None:
        if not isinstance(high, (tuple, list)):
            raise TypeError("randint() missing required argument 'size' (e.g. randint(0, 10, (3,)))")
        low, high, size = 0, low, high
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    d = dt.to_dtype(dtype) if dtype is not None else dt.int64
    array = rng(generator).integers(low, high, size=size_from_args((size,) if isinstance(size, int) else size))
    return _finish(np.asarray(array).astype(d.np), d, device, requires_grad)


def normal(
    mean: Any = 0.0,
    std: Any = 1.0,
    size: Any = None,
    *,
    generator: Optional[Generator] = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **options: Any,
) -> Tensor:
    """Normal samples; ``mean``/``std`` may be numbers (then ``size`` is needed) or tensors."""
    _check_options(options)
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean.detach() if isinstance(mean, Tensor) else mean
        s = std.detach() if isinstance(std, Tensor) else std
        ref = m if isinstance(m, Tensor) else s
        if isinstance(s, Tensor) and bool((s < 0).any()):
            raise RuntimeError("normal expects all elements of std >= 0.0")
        return randn(*ref.shape, generator=generator, dtype=ref.dtype, device=ref.device) * s + m
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    if size is None:
        raise TypeError("normal() with float mean and std needs a size, e.g. normal(0.0, 1.0, size=(3,))")
    size = size_from_args((size,) if isinstance(size, int) else tuple(size))
    draw = lambda shape: rng(generator).normal(mean, std, shape)  # noqa: E731
    return _random(size, draw, dtype, device, requires_grad)


def randperm(
    n: int,
    *,
    generator: Optional[Generator] = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **options: Any,
) -> Tensor:
    """A random permutation of 0..n-1 (int64)."""
    _check_options(options)
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got {n}")
    d = dt.to_dtype(dtype) if dtype is not None else dt.int64
    return _finish(rng(generator).permutation(n).astype(d.np), d, device, requires_grad)


def randint_like(
    input: Tensor,
    low: int,
    high: Any = None,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **options: Any,
) -> Tensor:
    _check_options(options)
    d, dev = _like(input, dtype, device)
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), dtype=d, device=dev, requires_grad=requires_grad)


def bernoulli(input: Tensor, p: Optional[float] = None, *, generator: Optional[Generator] = None) -> Tensor:
    """0/1 samples: each element is 1 with probability ``input`` (or ``p``), in ``input``'s dtype."""
    probs = input.detach().cpu().numpy() if p is None else np.full(tuple(input.shape), p)
    if ((probs < 0) | (probs > 1)).any():
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    draws = rng(generator).random(probs.shape) < probs
    return _finish(draws.astype(input.dtype.np), input.dtype, input.device, False)


def multinomial(
    input: Tensor, num_samples: int, replacement: bool = False, *, generator: Optional[Generator] = None
) -> Tensor:
    """Indices drawn from each row's categorical distribution (weights need not sum to 1)."""
    if input.ndim not in (1, 2):
        raise RuntimeError(f"prob_dist must be 1 or 2 dim, got {input.ndim}")
    weights = input.detach().cpu().numpy().astype(np.float64).reshape(-1, input.shape[-1])
    if (weights < 0).any() or not np.isfinite(weights).all():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if (weights.sum(1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement and num_samples > (weights > 0).sum(1).min():
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    draw = rng(generator)
    rows = [draw.choice(weights.shape[1], size=num_samples, replace=replacement, p=w / w.sum()) for w in weights]
    out = np.stack(rows).reshape(tuple(input.shape[:-1]) + (num_samples,))
    return _finish(out.astype(np.int64), dt.int64, input.device, False)


zeros_like = _like_factory(zeros)
ones_like = _like_factory(ones)
empty_like = _like_factory(empty)
rand_like = _like_factory(rand)
randn_like = _like_factory(randn)

Tensor.bernoulli = bernoulli
Tensor.multinomial = multinomial
