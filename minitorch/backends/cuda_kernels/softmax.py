"""Softmax and log-softmax on the GPU with csrc/cuda/softmax.cu: the planner and the array-level wrappers.

A softmax reads each row, reduces it twice (max, then sum of exponentials) and writes it, so its speed is memory
bandwidth. How a row maps to threads decides how often it is read (see softmax.cu):

- ``"registers"``: rows up to 4096 values (up to 16384 when contiguous rows take 16-byte vectors), 1 to 16 warps per
  row holding it in registers: one read of the input, one write of the output, 16-byte loads and stores;
- ``"block"``: rows that fit in shared memory (48 KB: no opt-in needed), one block per row reading it once;
- ``"online"``: longer rows, one block per row computing max and sum in a single pass, then writing.

The wrappers take any dim and any strides: the array is described as (outer, n, inner) with one stride each, which
covers every layout whose dims before and after ``dim`` can each be merged (contiguous, transposed, sliced ...);
anything else is copied to a contiguous array first. Outputs are contiguous. The same code runs on CuPy arrays with
``launcher=run`` and on NumPy arrays with the CPU emulator (tests/cuda_emulation.py).
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, Optional, Sequence, Tuple

import numpy as np

from . import CTYPES, Launch, array_module, element_strides, register, run

DTYPES = ("float32", "float64", "float16")  # float16 is computed in float
_DTYPES = frozenset(np.dtype(d) for d in DTYPES)
VARIANTS = ("registers", "block", "online")
VECTOR_BYTES = 16  # the widest load a thread issues: float4, double2, 8 x float16
ROW_VECTORS = (1, 2, 4, 8)  # vectors per thread the register kernel is built for (E) ...
ROW_VALUES = 32  # ... holding at most 32 values of each array: y and dy of the backward fit 128 registers unspilled
MAX_ROW_WARPS = 16  # warps per row of the register kernel: kMaxRowThreads / 32 in softmax.cu
ROW_BLOCK_THREADS = 128  # short rows share a block: 4 one-warp rows, 2 two-warp rows
MAX_THREADS = 1024
SHARED_ROW_BYTES = 48 * 1024  # the block kernel's row cache; more needs a per-kernel opt-in and lowers occupancy
INT_MAX = 2**31 - 1

for _dtype in DTYPES:
    _c = CTYPES[_dtype]
    for _direction in ("forward", "backward"):
        for _width in sorted({1, VECTOR_BYTES // np.dtype(_dtype).itemsize}):
            _names = (
                f"softmax_{_direction}_registers<{_c}, {_width}, {e}>" for e in ROW_VECTORS if e * _width <= ROW_VALUES
            )
            register("softmax.cu", *_names)
        register("softmax.cu", f"softmax_{_direction}_block<{_c}>", f"softmax_{_direction}_online<{_c}>")

Launcher = Callable[[Launch], None]


def plan(n: int, dtype: Any, *, backward: bool = False, width: int = 1) -> str:
    """The variant for rows of ``n`` values moved ``width`` at a time: registers while 16 warps hold the row, block
    while the shared-memory cache does, else online."""
    if -(-n // width) <= 32 * MAX_ROW_WARPS * _most_vectors(width):
        return "registers"
    return "block" if _cache_bytes(n, dtype, backward) <= SHARED_ROW_BYTES else "online"


def softmax(
    x: Any,
    dim: int,
    *,
    log: bool = False,
    variant: Optional[str] = None,
    warps: Optional[int] = None,
    launcher: Launcher = run,
) -> Any:
    """softmax(x) along ``dim`` (log_softmax with ``log=True``), as a new contiguous array of x's dtype and module.

    ``variant`` overrides the planner's choice, ``warps`` the register kernel's warps per row (to compare shapes)."""
    _check_dtype(x)
    if x.ndim == 0:  # a single value: PyTorch accepts dim 0 or -1
        _normalize_dim(dim, 0)
        return softmax(x.reshape(1), 0, log=log, variant=variant, warps=warps, launcher=launcher).reshape(())
    dim = _normalize_dim(dim, x.ndim)
    y = array_module(x).empty(x.shape, dtype=x.dtype)
    if x.size == 0:
        return y
    x, (rows, n, inner, strides) = _as_rows(x, dim)
    width = _vector_width(n, inner, (x, strides), (y, (n, 1, 0)))
    kernel, grid, block, shared = _configure("forward", x.dtype, rows, n, width, variant, warps)
    args = (x, y, *_ints(rows, n, inner), *_longs(*strides), np.int32(log))
    launcher(Launch("softmax.cu", kernel, grid, block, args, shared))
    return y


def softmax_backward(
    y: Any,
    dy: Any,
    dim: int,
    *,
    log: bool = False,
    variant: Optional[str] = None,
    warps: Optional[int] = None,
    launcher: Launcher = run,
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
        one = softmax_backward(y.reshape(1), dy.reshape(1), 0, log=log, variant=variant, warps=warps, launcher=launcher)
        return one.reshape(())
    dim = _normalize_dim(dim, y.ndim)
    dx = array_module(y).empty(y.shape, dtype=y.dtype)
    if y.size == 0:
        return dx
    y, (rows, n, inner, y_strides) = _as_rows(y, dim)
    dy, (_, _, _, d_strides) = _as_rows(dy, dim)
    width = _vector_width(n, inner, (y, y_strides), (dy, d_strides), (dx, (n, 1, 0)))
    kernel, grid, block, shared = _configure("backward", y.dtype, rows, n, width, variant, warps)
    args = (y, dy, dx, *_ints(rows, n, inner), *_longs(*y_strides, *d_strides), np.int32(log))
    launcher(Launch("softmax.cu", kernel, grid, block, args, shared))
    return dx


def _vector_width(n: int, inner: int, *rows: Tuple[Any, Tuple[int, int, int]]) -> int:
    """Values per load and store: a 16-byte vector's worth when every array's rows (given as (array, strides)) are
    contiguous, a whole number of vectors long and 16-byte aligned; else 1."""
    width = VECTOR_BYTES // rows[0][0].itemsize
    if inner != 1 or n % width:
        return 1
    for a, (s_outer, s_dim, _) in rows:
        if s_dim != 1 or s_outer % width or _address(a) % VECTOR_BYTES:
            return 1
    return width


def _address(a: Any) -> int:
    """Where a NumPy or CuPy array's first element lies in memory."""
    return a.ctypes.data if isinstance(a, np.ndarray) else a.data.ptr


@functools.lru_cache(maxsize=1024)
def _configure(
    direction: str, dtype: Any, rows: int, n: int, width: int, variant: Optional[str], warps: Optional[int]
) -> Tuple[str, Tuple[int, int, int], Tuple[int, int, int], int]:
    """(kernel name, grid, block, dynamic shared memory) for ``rows`` rows of ``n`` values moved ``width`` at once."""
    backward = direction == "backward"
    variant = plan(n, dtype, backward=backward, width=width) if variant is None else variant
    if variant not in VARIANTS:
        raise ValueError(f"unknown softmax variant {variant!r}; choose one of {VARIANTS} or None for the planner's")
    if warps is not None and variant != "registers":
        raise ValueError(f"warps sets the register kernel's warps per row; the {variant} kernel takes a block per row")
    c = CTYPES[np.dtype(dtype).name]
    if variant == "registers":
        return _configure_registers(direction, c, rows, n, width, warps)
    threads = min(MAX_THREADS, -(-n // 32) * 32)  # whole warps: the reductions shuffle across all 32 lanes
    shared = 0
    if variant == "block":
        shared = _cache_bytes(n, dtype, backward)
        if shared > SHARED_ROW_BYTES:
            raise ValueError(f"a row of {n} values needs {shared} bytes of shared memory (> {SHARED_ROW_BYTES})")
    return f"softmax_{direction}_{variant}<{c}>", (rows, 1, 1), (threads, 1, 1), shared


def _configure_registers(
    direction: str, c: str, rows: int, n: int, width: int, warps: Optional[int]
) -> Tuple[str, Tuple[int, int, int], Tuple[int, int, int], int]:
    """The register kernel: by default the fewest warps whose threads hold the row in ``_most_vectors`` vectors each
    (one warp, which needs no barrier, up to 256 float4), then the fewest vectors per thread that cover it."""
    vectors = -(-n // width)
    most = _most_vectors(width)
    warps = max(1, -(-vectors // (32 * most))) if warps is None else warps
    if warps > MAX_ROW_WARPS:
        raise ValueError(
            f"the register softmax holds rows of at most {32 * MAX_ROW_WARPS * most * width} values "
            f"({MAX_ROW_WARPS} warps of {most} vectors of {width} per thread), got {n}"
        )
    if warps < 1 or 32 * warps * most < vectors:
        raise ValueError(
            f"{warps} warps of the register softmax hold rows of at most {32 * warps * most * width} values, got {n}"
        )
    per_thread = next(e for e in ROW_VECTORS if 32 * warps * e >= vectors)  # <= most: the check above
    per_block = max(1, ROW_BLOCK_THREADS // (32 * warps))
    grid = (-(-rows // per_block), 1, 1)
    return f"softmax_{direction}_registers<{c}, {width}, {per_thread}>", grid, (32 * warps, per_block, 1), 0


def _most_vectors(width: int) -> int:
    """The register kernel's most vectors per thread for vectors of ``width`` values (ROW_VALUES at most)."""
    return max(e for e in ROW_VECTORS if e * width <= ROW_VALUES)


def _cache_bytes(n: int, dtype: Any, backward: bool) -> int:
    """Shared memory of the block kernel: the row (y and dy for the backward) in the accumulation type."""
    accumulate = 8 if np.dtype(dtype) == np.float64 else 4
    return n * accumulate * (2 if backward else 1)


def _as_rows(a: Any, dim: int) -> Tuple[Any, Tuple[int, int, int, Tuple[int, int, int]]]:
    """``a`` (copied to contiguous if its layout needs it) and its (rows, n, inner, (s_outer, s_dim, s_inner))."""
    geometry = _geometry(a.shape, element_strides(a), dim)
    if geometry is None:
        return _as_rows(array_module(a).ascontiguousarray(a), dim)
    return a, geometry


@functools.lru_cache(maxsize=1024)
def _geometry(
    shape: Tuple[int, ...], strides: Tuple[int, ...], dim: int
) -> Optional[Tuple[int, int, int, Tuple[int, int, int]]]:
    """(rows, n, inner, (s_outer, s_dim, s_inner)) of a layout, or None when the dims before or after ``dim`` do not
    merge into one stride. Cached, as is _configure: a call's planning time is added to its kernel's (tens of
    microseconds at the bandwidth), and programs call softmax on the same few layouts over and over."""
    outer, s_outer = _merge(shape[:dim], strides[:dim])
    inner, s_inner = _merge(shape[dim + 1 :], strides[dim + 1 :])
    if s_outer is None or s_inner is None:
        return None
    rows, n = outer * inner, shape[dim]
    if max(rows, n) > INT_MAX:
        raise ValueError(f"softmax kernels index rows and columns with int: {rows} rows of {n} values is too many")
    return rows, n, inner, (s_outer, strides[dim], s_inner)


def _merge(shape: Sequence[int], strides: Sequence[int]) -> Tuple[int, Optional[int]]:
    """The size of dims seen as one, and the stride that steps through them (None when no single stride does)."""
    size = math.prod(shape)
    dims = [(n, s) for n, s in zip(shape, strides) if n != 1]
    for (_, s0), (n1, s1) in zip(dims, dims[1:]):
        if s0 != s1 * n1:
            return size, None
    return size, dims[-1][1] if dims else 0


def _check_dtype(a: Any) -> None:
    if a.dtype not in _DTYPES:  # dtype objects: looking up a dtype's .name is slow enough to show in a launch
        raise TypeError(f"the softmax kernels support {', '.join(DTYPES)}, not {a.dtype.name}")


def _normalize_dim(dim: int, ndim: int) -> int:
    rank = max(ndim, 1)
    if not -rank <= dim < rank:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-rank}, {rank - 1}], but got {dim})")
    return dim % rank


@functools.lru_cache(maxsize=1024)  # the same sizes come back call after call: reuse their NumPy scalars
def _ints(*values: int) -> Tuple[np.int32, ...]:
    return tuple(np.int32(v) for v in values)


@functools.lru_cache(maxsize=1024)
def _longs(*values: int) -> Tuple[np.int64, ...]:
    return tuple(np.int64(v) for v in values)
