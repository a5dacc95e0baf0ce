"""Softmax and log-softmax on the GPU with csrc/cuda/softmax.cu: the planner and the array-level wrappers.

A softmax reads each row, reduces it twice (max, then sum of exponentials) and writes it, so its speed is memory
bandwidth. How a row maps to threads decides how often it is read (see softmax.cu):

- ``"warp"``: rows up to 1024 values, one warp per row holding it in registers;
- ``"block"``: rows that fit in shared memory (48 KB: no opt-in needed), one block per row reading it once;
- ``"online"``: longer rows, one block per row computing max and sum in a single pass, then writing.

The wrappers take any dim and any strides: the array is described as (outer, n, inner) with one stride each, which
covers every layout whose dims before and after ``dim`` can each be merged (contiguous, transposed, sliced ...);
anything else is copied to a contiguous array first. Outputs are contiguous. The same code runs on CuPy arrays with
``launcher=run`` and on NumPy arrays with the CPU emulator (tests/cuda_emulation.py).
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Tuple

import numpy as np

from . import CTYPES, Launch, array_module, element_strides, register, run

DTYPES = ("float32", "float64", "float16")  # float16 is computed in float
VARIANTS = ("warp", "block", "online")
WARP_ELEMS = (1, 2, 4, 8, 16, 32)  # values per lane the warp kernel is built for: rows up to 32 * 32 = 1024
WARP_ROWS = 4  # rows (warps) per block of the warp kernel
MAX_THREADS = 1024
SHARED_ROW_BYTES = 48 * 1024  # the block kernel's row cache; more needs a per-kernel opt-in and lowers occupancy
INT_MAX = 2**31 - 1

for _dtype in DTYPES:
    _c = CTYPES[_dtype]
    for _direction in ("forward", "backward"):
        register("softmax.cu", *(f"softmax_{_direction}_warp<{_c}, {e}>" for e in WARP_ELEMS))
        register("softmax.cu", f"softmax_{_direction}_block<{_c}>", f"softmax_{_direction}_online<{_c}>")

Launcher = Callable[[Launch], None]


def plan(n: int, dtype: Any, *, backward: bool = False) -> str:
    """The variant for rows of ``n`` values: warp up to 1024, block while the cache fits, else online."""
    if n <= 32 * WARP_ELEMS[-1]:
        return "warp"
    return "block" if _cache_bytes(n, dtype, backward) <= SHARED_ROW_BYTES else "online"


def softmax(x: Any, dim: int, *, log: bool = False, variant: Optional[str] = None, launcher: Launcher = run) -> Any:
    """softmax(x) along ``dim`` (log_softmax with ``log=True``), as a new contiguous array of x's dtype and module."""
    _check_dtype(x)
    if x.ndim == 0:  # a single value: PyTorch accepts dim 0 or -1
        _normalize_dim(dim, 0)
        return softmax(x.reshape(1), 0, log=log, variant=variant, launcher=launcher).reshape(())
    dim = _normalize_dim(dim, x.ndim)
    y = array_module(x).empty(x.shape, dtype=x.dtype)
    if x.size == 0:
        return y
    x, (rows, n, inner, strides) = _as_rows(x, dim)
    kernel, grid, block, shared = _configure("forward", x.dtype, rows, n, variant)
    args = (x, y, *_ints(rows, n, inner), *_longs(*strides), np.int32(log))
    launcher(Launch("softmax.cu", kernel, grid, block, args, shared))
    return y


def softmax_backward(
    y: Any, dy: Any, dim: int, *, log: bool = False, variant: Optional[str] = None, launcher: Launcher = run
) -> Any:
    """The input gradient of ``y = softmax(x, dim)``: ``(dy - sum(y * dy)) * y``, or ``dy - exp(y) * sum(dy)`` when
    ``y = log_softmax(x, dim)`` (``log=True``); sums run along ``dim``."""
    _check_dtype(y)
    if dy.dtype != y.dtype:
        raise TypeError(f"softmax_backward: dy has dtype {dy.dtype} but y has {y.dtype}; they must match")
    if dy.shape != y.shape:
        raise ValueError(f"softmax_backward: dy has shape {dy.shape} but y has {y.shape}; they must match")
    if y.ndim == 0:
        _normalize_dim(dim, 0)
        return softmax_backward(y.reshape(1), dy.reshape(1), 0, log=log, variant=variant, launcher=launcher).reshape(())
    dim = _normalize_dim(dim, y.ndim)
    dx = array_module(y).empty(y.shape, dtype=y.dtype)
    if y.size == 0:
        return dx
    y, (rows, n, inner, y_strides) = _as_rows(y, dim)
    dy, (_, _, _, d_strides) = _as_rows(dy, dim)
    kernel, grid, block, shared = _configure("backward", y.dtype, rows, n, variant)
    args = (y, dy, dx, *_ints(rows, n, inner), *_longs(*y_strides, *d_strides), np.int32(log))
    launcher(Launch("softmax.cu", kernel, grid, block, args, shared))
    return dx


def _configure(
    direction: str, dtype: Any, rows: int, n: int, variant: Optional[str]
) -> Tuple[str, Tuple[int, int, int], Tuple[int, int, int], int]:
    """(kernel name, grid, block, dynamic shared memory) for ``rows`` rows of ``n`` values."""
    backward = direction == "backward"
    variant = plan(n, dtype, backward=backward) if variant is None else variant
    c = CTYPES[np.dtype(dtype).name]
    if variant == "warp":
        if n > 32 * WARP_ELEMS[-1]:
            raise ValueError(f"the warp softmax holds rows of at most {32 * WARP_ELEMS[-1]} values, got {n}")
        elems = next(e for e in WARP_ELEMS if 32 * e >= n)
        grid = (-(-rows // WARP_ROWS), 1, 1)
        return f"softmax_{direction}_warp<{c}, {elems}>", grid, (32, WARP_ROWS, 1), 0
    if variant not in VARIANTS:
        raise ValueError(f"unknown softmax variant {variant!r}; choose one of {VARIANTS} or None for the planner's")
    threads = min(MAX_THREADS, -(-n // 32) * 32)  # whole warps: the reductions shuffle across all 32 lanes
    shared = 0
    if variant == "block":
        shared = _cache_bytes(n, dtype, backward)
        if shared > SHARED_ROW_BYTES:
            raise ValueError(f"a row of {n} values needs {shared} bytes of shared memory (> {SHARED_ROW_BYTES})")
    return f"softmax_{direction}_{variant}<{c}>", (rows, 1, 1), (threads, 1, 1), shared


def _cache_bytes(n: int, dtype: Any, backward: bool) -> int:
    """Shared memory of the block kernel: the row (y and dy for the backward) in the accumulation type."""
    accumulate = 8 if np.dtype(dtype) == np.float64 else 4
    return n * accumulate * (2 if backward else 1)


def _as_rows(a: Any, dim: int) -> Tuple[Any, Tuple[int, int, int, Tuple[int, int, int]]]:
    """``a`` (copied to contiguous if its layout needs it) and its (rows, n, inner, (s_outer, s_dim, s_inner))."""
    shape, strides = a.shape, element_strides(a)
    outer, s_outer = _merge(shape[:dim], strides[:dim])
    inner, s_inner = _merge(shape[dim + 1 :], strides[dim + 1 :])
    if s_outer is None or s_inner is None:
        return _as_rows(array_module(a).ascontiguousarray(a), dim)
    rows, n = outer * inner, shape[dim]
    if max(rows, n) > INT_MAX:
        raise ValueError(f"softmax kernels index rows and columns with int: {rows} rows of {n} values is too many")
    return a, (rows, n, inner, (s_outer, strides[dim], s_inner))


def _merge(shape: Sequence[int], strides: Sequence[int]) -> Tuple[int, Optional[int]]:
    """The size of dims seen as one, and the stride that steps through them (None when no single stride does)."""
    size = int(np.prod(shape, dtype=np.int64))
    dims = [(n, s) for n, s in zip(shape, strides) if n != 1]
    for (_, s0), (n1, s1) in zip(dims, dims[1:]):
        if s0 != s1 * n1:
            return size, None
    return size, dims[-1][1] if dims else 0


def _check_dtype(a: Any) -> None:
    if a.dtype.name not in DTYPES:
        raise TypeError(f"the softmax kernels support {', '.join(DTYPES)}, not {a.dtype.name}")


def _normalize_dim(dim: int, ndim: int) -> int:
    rank = max(ndim, 1)
    if not -rank <= dim < rank:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-rank}, {rank - 1}], but got {dim})")
    return dim % rank


def _ints(*values: int) -> Tuple[np.int32, ...]:
    return tuple(np.int32(v) for v in values)


def _longs(*values: int) -> Tuple[np.int64, ...]:
    return tuple(np.int64(v) for v in values)
