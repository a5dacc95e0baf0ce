"""The CPU backend: NumPy arrays in host memory, with C++ kernels where NumPy is slow.

**C++ kernels.** ``pip install -e .`` compiles csrc/cpu/*.cpp into the
extension ``minitorch._C`` when a C++ compiler is present. ``CpuBackend``
then sends convolution (im2col/col2im, direct for small layers, Winograd
for big 3x3 ones), pooling, training-mode batch norm, layer norm,
softmax / log_softmax, gather and the scatter-adds (embedding backward,
index_add), an LSTM step's elementwise part, and erf and GELU to it; the
matrix products stay with NumPy's BLAS. Without the extension every method is the NumPy one of
``Backend``, and a warning says so once. The environment variable
``MINITORCH_CPP`` chooses at import: ``0`` forces the NumPy path, ``1``
requires the extension (an ImportError if it did not build), unset uses it
when it built. ``use_extension`` switches at run time.

**Threads.** The kernels run on one thread unless ``set_num_threads`` asks
for more (a count of their own: ``torch.set_num_threads`` in the same
process does not change it). By default the cores belong to NumPy's BLAS
(OpenBLAS), which runs every matrix product on all of them, and its threads
keep spinning for a while after each product, waiting for the next. OpenMP
threads woken then wait for a core, and OpenBLAS's threads for theirs: with
two kernel threads beside it, a LeNet-5 training step took 35 ms instead of
7.4 ms on two cores. (``OMP_NUM_THREADS`` cannot choose for us: OpenBLAS
reads it too.) A model whose time goes to these kernels rather than to
matrix products (LeNet-5: its direct convolutions) runs faster with the
cores given to the kernels and BLAS held to one thread::

    from threadpoolctl import threadpool_limits   # or OPENBLAS_NUM_THREADS=1 before NumPy loads

    threadpool_limits(1, user_api="blas")
    minitorch.set_num_threads(2)

On two cores LeNet-5's step then took 4.2-5.0 ms instead of 5.1-6.9 ms;
ResNet-18's, whose time is in BLAS products, 118-130 ms instead of
108-112 ms (three runs; benchmarks/README.md).

**Memory.** NumPy gets the memory of every result from the C library's
``malloc``. glibc hands out big blocks (from 128 KB, a threshold it raises
as it goes) as fresh pages straight from the operating system and gives them
back on ``free``, so each large temporary of a training step pays for page
faults again: LeNet-5's step spends about a quarter of its time there. At
import we therefore ask glibc to keep freed blocks of up to 32 MB for reuse,
which is what a framework's caching allocator does (PyTorch keeps one for
the GPU). The process may then hold on to memory it has freed. Set the
environment variable ``MINITORCH_MALLOC_TUNING=0`` to leave malloc's
settings alone.
"""

from __future__ import annotations

import ctypes
import math
import os
import platform
import warnings
from types import ModuleType
from typing import Any, NamedTuple, Optional, Tuple

import numpy as np

from ..device import CPU
from .base import Backend
from .windows import Geometry


def _load_extension() -> Optional[ModuleType]:
    """``minitorch._C`` as ``MINITORCH_CPP`` asks: None when disabled or, with a warning, when not built."""
    choice = os.environ.get("MINITORCH_CPP", "")
    if choice not in ("", "0", "1"):
        raise ValueError(f"MINITORCH_CPP must be 0 (NumPy kernels), 1 (C++ kernels) or unset, not {choice!r}")
    if choice == "0":
        return None
    # OpenMP threads that spin after a kernel (libgomp's default) take the cores NumPy's BLAS threads need
    # next, which made the C++ path up to 10x slower; passive threads sleep instead. libgomp reads the
    # setting once, as it loads with _C, so the environment is restored right after (unless the user set it).
    user_set_policy = "OMP_WAIT_POLICY" in os.environ
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        from .. import _C
    except ImportError as err:
        if choice == "1":
            raise ImportError(
                "MINITORCH_CPP=1 requires the C++ extension minitorch._C, which is not built: "
                "install a C++ compiler and run `pip install -e .` again, or unset MINITORCH_CPP"
            ) from err
        warnings.warn(
            "minitorch._C (the C++ CPU kernels) is not built, so the CPU uses the slower NumPy kernels; "
            "install a C++ compiler and run `pip install -e .` to build it",
            RuntimeWarning,
            stacklevel=2,
        )
        return None
    finally:
        if not user_set_policy:
            os.environ.pop("OMP_WAIT_POLICY", None)
    return _C


_C = _load_extension()
_enabled = _C is not None


def has_extension() -> bool:
    """Whether the C++ kernels were built and loaded (``MINITORCH_CPP=0`` reports False)."""
    return _C is not None


def use_extension(enabled: bool) -> None:
    """Route CPU kernels to C++ (True) or to NumPy (False); True needs the extension."""
    global _enabled
    if enabled and _C is None:
        raise RuntimeError("the C++ extension minitorch._C is not loaded (see has_extension())")
    _enabled = enabled


def set_num_threads(n: int) -> None:
    """How many OpenMP threads the C++ kernels use (as ``torch.set_num_threads``); 1 by default."""
    if n < 1:
        raise ValueError(f"set_num_threads expects a positive integer, but got {n}")
    if _C is not None:
        _C.set_num_threads(n)


def get_num_threads() -> int:
    """How many threads the C++ kernels use (1 without the extension)."""
    return _C.get_num_threads() if _C is not None else 1


def _geometry_2d(geom: Geometry) -> Geometry:
    """A 1-d geometry as a 2-d one over a height of 1, so one C++ kernel serves both."""
    if len(geom.size) == 2:
        return geom
    height_one = Geometry((1,), (1,), (1,), (1,), (1,), ((0, 0),))
    return Geometry(*(a + b for a, b in zip(height_one, geom)))


# The largest weight (O * C * kh * kw values) convolved directly; bigger layers keep im2col + GEMM, which BLAS
# runs near its peak. Forward + weight gradient on a 2-core AVX-512 machine (benchmarks/README.md): LeNet-5's
# first layer (150 values) takes 0.45x the time of im2col + GEMM, layers of 2,300-2,400 values tie, and from
# 9,216 values (3x3, 32 channels) BLAS wins, by 1.7-1.9x at ResNet's 3x3 layers.
_DIRECT_MAX_WEIGHT = 4096

# Stride-1 3x3 layers above that run as Winograd's F(2x2, 3x3) (csrc/cpu/winograd.cpp) when the batch has at least
# this many 2x2 output tiles per channel (the larger of in and out); with fewer, the weight's transform (16 values
# per weight pair, on every call) and the 16 short BLAS products cost more than the 2.25x fewer multiplies save.
# Forward and input gradient, Winograd / im2col + BLAS, 2-core AVX-512 machine (benchmarks/bench_winograd.py):
# from 0.5 tiles per channel 0.62-0.93x (ResNet-18's 8x64x16x16: 0.70-0.72x, 8x128x8x8: 0.82-0.93x), at 0.38 a
# tie (2x256x14x14), at 0.25 and below mostly 1.0-3.4x (8x256x4x4: 1.15-1.45x; 64x512x2x2 is an exception).
# In training the forward keeps its transformed input V (``_Transformed``) and the weight gradient stays in the
# Winograd domain: dU[k]ᵀ = dM[k]ᵀ V[k], 16 products of (O x N * tiles) by (N * tiles x C), then Gᵀ dU G. The same
# threshold suits it: forward + weight gradient, Winograd / im2col + BLAS (bench_winograd.py, on a shared machine;
# with BLAS on one thread in brackets) 1.82 / 2.23 ms (2.31 / 3.59) at 8x64x16x16, 1.94 / 1.91 (2.09 / 3.01) at
# 8x128x8x8, but 3.38 / 1.80 (3.66 / 2.86) at 8x256x4x4. Those products are long sums into small results, which
# OpenBLAS does not split between its threads, so on two cores the gain is mostly the forward's: conv2d fwd+bwd
# against PyTorch (`bench_winograd.py --steps --resnet`, four runs), 8x64x16x16 1.60-1.87x -> 1.37-1.56x, 8x128x8x8
# 1.42-1.56x -> 1.35-1.53x, ResNet-18's step 1.37-1.72x -> 1.22-1.54x (one thread: 1.32x -> 1.02x, 1.21x -> 0.94x).
_WINOGRAD_MIN_TILES_PER_CHANNEL = 0.5

_KERNEL_DTYPES = ({np.dtype(np.float32)}, {np.dtype(np.float64)})  # the dtype sets a call to _C may hold


def _height_one(a: Any, geom: Geometry) -> Any:
    """An array of a 1-d convolution (N, C, L) as a 2-d one over a height of 1 (a view), to go with
    ``_geometry_2d``."""
    return a[:, :, None] if len(geom.size) == 1 else a


def _full_convolution(geom: Geometry) -> Optional[Geometry]:
    """The 2-d geometry that turns a stride-1 convolution's output back into its input: over the output, with
    padding ``dilation * (kernel - 1)`` less the forward's on each side; None where that would be negative."""
    geom = _geometry_2d(geom)
    span = [d * (k - 1) for d, k in zip(geom.dilation, geom.kernel)]
    padding = tuple((s - before, s - after) for s, (before, after) in zip(span, geom.padding))
    if any(before < 0 for before, _ in padding):
        return None
    return Geometry(geom.out, geom.size, geom.kernel, geom.stride, geom.dilation, padding)


class _Columns(NamedTuple):
    """What the C++ forward keeps for the weight gradient: its columns, ``(groups, C/groups * taps, N * positions)``."""

    cols: Any


class _Transformed(NamedTuple):
    """What a Winograd forward keeps for the weight gradient: its transformed input V, ``(16, N * tiles, C)``."""

    v: Any


def _columns(x: Any, geom: Geometry, groups: int) -> Any:
    """im2col in C++, the batch beside the positions, so each product below is one GEMM over the whole batch."""
    taps = x.shape[1] // groups * math.prod(geom.kernel)
    return _C.im2col(_height_one(x, geom), *_geometry_args(_geometry_2d(geom))).reshape(
        groups, taps, x.shape[0] * math.prod(geom.out)
    )


def _winograd_input(x: Any, geom: Geometry) -> Any:
    """Winograd's transformed input V ``(16, N * tiles, C)`` of a stride-1 3x3 convolution (2-d)."""
    (top, _), (left, _) = geom.padding
    return _C.winograd_input(x, top, left, *geom.out)


def _batch_last(g: Any, groups: int) -> Any:
    """An output gradient ``(N, O, *out)`` as ``(groups, O/groups, N * positions)``, the columns' layout."""
    n, o = g.shape[:2]
    positions = math.prod(g.shape[2:])
    return np.ascontiguousarray(g.reshape(n, o, positions).swapaxes(0, 1)).reshape(groups, o // groups, n * positions)


class CpuBackend(Backend):
    """NumPy's backend, with C++ kernels from ``minitorch._C`` taking over where they exist.

    Each override falls back to ``Backend`` (the NumPy path) when the
    extension is off or the case is not one the C++ kernel covers (3-d
    windows, integer or half dtypes, arrays of different dtypes).
    """

    def _native(self, *arrays: Optional[Any], spatial: int = 2) -> bool:
        """Whether ``_C`` takes this call: enabled, 1-d or 2-d windows, and the arrays (None ignored) all of one
        dtype, float32 or float64: each kernel runs in a single type, so a mixed call stays on NumPy."""
        dtypes = {a.dtype for a in arrays if a is not None}
        return _enabled and spatial <= 2 and dtypes in _KERNEL_DTYPES

    # ---- convolution: im2col and col2im in C++, the products in BLAS; small layers direct, big 3x3 ones Winograd
    @staticmethod
    def _direct(w_shape: Tuple[int, ...], geom: Geometry, groups: int) -> bool:
        """Whether a convolution is small enough for ``_C.conv2d_direct`` (stride 1, ungrouped, a weight of at
        most ``_DIRECT_MAX_WEIGHT`` values, a kernel 1, 3, 5 or 7 wide): there im2col's GEMM is so thin that
        BLAS runs far below its peak, and the columns cost more to write and read than the arithmetic."""
        return (
            groups == 1
            and all(s == 1 for s in geom.stride)
            and geom.kernel[-1] in (1, 3, 5, 7)
            and math.prod(w_shape) <= _DIRECT_MAX_WEIGHT
        )

    @staticmethod
    def _winograd(n: int, w_shape: Tuple[int, ...], geom: Geometry, groups: int) -> bool:
        """Whether a convolution of a batch of ``n`` runs as Winograd's F(2x2, 3x3): 2-d, 3x3, stride 1, no
        dilation, ungrouped, with ``_WINOGRAD_MIN_TILES_PER_CHANNEL`` 2x2 output tiles per channel or more."""
        tiles = n * math.prod((o + 1) // 2 for o in geom.out)
        return (
            groups == 1
            and geom.kernel == (3, 3)
            and geom.stride == geom.dilation == (1, 1)
            and tiles >= _WINOGRAD_MIN_TILES_PER_CHANNEL * max(w_shape[:2])
        )

    def _without_columns(self, x: Any, w: Any, geom: Geometry, groups: int) -> Optional[Tuple[Any, Optional[Any]]]:
        """The convolution of x with w by a kernel that needs no im2col columns, ``(y, V)`` with y ``(N, O, *out)``
        (over a height of 1 for a 1-d one), or None: direct for a small layer (V None); Winograd for a big 3x3
        one, V being its transformed input, which the weight gradient reuses."""
        if self._direct(w.shape, geom, groups):
            y = _C.conv2d_direct(_height_one(x, geom), _height_one(w, geom), *_geometry_args(_geometry_2d(geom)))
            return y, None
        if self._winograd(x.shape[0], w.shape, geom, groups):
            v = _winograd_input(x, geom)  # (16, N * tiles, C)
            return _C.winograd_output(v @ _C.winograd_weight(w), x.shape[0], *geom.out), v
        return None

    def conv(self, x: Any, w: Any, geom: Geometry, groups: int, keep: bool = False) -> Tuple[Any, Optional[Any]]:
        if not self._native(x, w, spatial=len(geom.size)):
            return super().conv(x, w, geom, groups, keep)
        done = self._without_columns(x, w, geom, groups)
        if done is not None:  # no columns: the weight gradient is direct, or Winograd's from V
            y, v = done
            return y.reshape((x.shape[0], w.shape[0]) + geom.out), _Transformed(v) if keep and v is not None else None
        n, o, positions = x.shape[0], w.shape[0], math.prod(geom.out)
        cols = _columns(x, geom, groups)
        y = w.reshape(groups, o // groups, cols.shape[1]) @ cols  # (groups, O/groups, N * positions)
        y = np.ascontiguousarray(y.reshape(o, n, positions).swapaxes(0, 1)).reshape((n, o) + geom.out)
        return y, _Columns(cols) if keep else None

    def conv_input_grad(self, g: Any, w: Any, geom: Geometry, groups: int) -> Any:
        if not self._native(g, w, spatial=len(geom.size)):
            return super().conv_input_grad(g, w, geom, groups)
        full = _full_convolution(geom)
        if full is not None:
            # The input gradient of a stride-1 convolution is itself one: g, padded by the kernel's span less
            # the padding, convolved with the kernel turned around (taps flipped, in and out channels swapped).
            turned = w[:, :, ::-1, ::-1].swapaxes(0, 1) if len(geom.size) == 2 else w[:, :, None, ::-1].swapaxes(0, 1)
            done = self._without_columns(_height_one(g, geom), turned, full, groups)
            if done is not None:
                return done[0].reshape(g.shape[:1] + w.shape[1:2] + geom.size)
        n, o, c = g.shape[0], w.shape[0], w.shape[1] * groups
        g_last = _batch_last(g, groups)
        cols = w.reshape(groups, o // groups, -1).swapaxes(1, 2) @ g_last  # (groups, C/groups * taps, N * positions)
        geom2 = _geometry_2d(geom)
        flat = cols.reshape(c * math.prod(geom.kernel), n * math.prod(geom.out))
        return _C.col2im(flat, n, *geom2.size, *_geometry_args(geom2)).reshape((n, c) + geom.size)

    def conv_weight_grad(self, x: Any, g: Any, geom: Geometry, groups: int, saved: Optional[Any] = None) -> Any:
        if not self._native(x, g, spatial=len(geom.size)):  # columns from the C++ forward do not fit the NumPy path
            own = isinstance(saved, (_Columns, _Transformed))
            return super().conv_weight_grad(x, g, geom, groups, None if own else saved)
        w_shape = (g.shape[1], x.shape[1] // groups) + geom.kernel
        if self._direct(w_shape, geom, groups):
            gw = _C.conv2d_direct_weight_grad(
                _height_one(x, geom), _height_one(g, geom), *_geometry_args(_geometry_2d(geom))
            )
            return gw.reshape(w_shape)
        if isinstance(saved, _Transformed) or (
            not isinstance(saved, _Columns) and self._winograd(x.shape[0], w_shape, geom, groups)
        ):
            # In the Winograd domain, the transpose of the forward: dM = A dY Aᵀ per output tile, dU[k] = V[k]ᵀ
            # dM[k] over the batch's tiles, the weight's gradient Gᵀ dU G.
            v = saved.v if isinstance(saved, _Transformed) else _winograd_input(x, geom)
            du = _C.winograd_output_grad(g) @ v  # dM[k]ᵀ (O, N * tiles) @ V[k] (N * tiles, C) = dU[k]ᵀ
            return _C.winograd_weight_grad(du.swapaxes(1, 2))
        cols = saved.cols if isinstance(saved, _Columns) else _columns(x, geom, groups)
        g_last = _batch_last(g, groups)
        if cols.shape[2] >= 2 * cols.shape[1]:
            # A long sum (over N * positions) into a small result: OpenBLAS runs it 10-25% faster as
            # (cols @ gᵀ)ᵀ (measured on the first layers of ResNet-18 and on LeNet-5).
            gw = (cols @ g_last.swapaxes(1, 2)).swapaxes(1, 2)
        else:
            gw = g_last @ cols.swapaxes(1, 2)  # (groups, O/groups, C/groups * taps)
        return gw.reshape((g.shape[1], x.shape[1] // groups) + geom.kernel)

    # ---- pooling --------------------------------------------------------------------------------
    def max_pool2d(self, x: Any, geom: Geometry) -> Tuple[Any, Any]:
        if not self._native(x):
            return super().max_pool2d(x, geom)
        return _C.max_pool2d(x, *_geometry_args(geom))

    def max_pool2d_backward(self, g: Any, taps: Any, geom: Geometry) -> Any:
        if not self._native(g):
            return super().max_pool2d_backward(g, taps, geom)
        return _C.max_pool2d_backward(g, taps, geom.size[0], geom.size[1], *_geometry_args(geom))

    def avg_pool2d(self, x: Any, geom: Geometry, divisor: Any) -> Any:
        if not self._native(x):
            return super().avg_pool2d(x, geom, divisor)
        return _C.avg_pool2d(x, self._divisors(divisor, geom, x.dtype), *_geometry_args(geom))

    def avg_pool2d_backward(self, g: Any, geom: Geometry, divisor: Any) -> Any:
        if not self._native(g):
            return super().avg_pool2d_backward(g, geom, divisor)
        div = self._divisors(divisor, geom, g.dtype)
        return _C.avg_pool2d_backward(g, div, geom.size[0], geom.size[1], *_geometry_args(geom))

    # ---- batch norm: two passes over the data instead of a temporary per operator -------------------
    def batch_norm(self, x: Any, weight: Any, bias: Any, eps: float) -> Tuple[Any, Any, Any]:
        if not self._native(x, weight, bias):
            return super().batch_norm(x, weight, bias, eps)
        return _C.batch_norm(x, *map(np.ascontiguousarray, (weight, bias)), eps)

    def batch_norm_backward(self, g: Any, x: Any, weight: Any, mean: Any, var: Any, eps: float) -> Tuple[Any, Any, Any]:
        if not self._native(g, x, weight, mean, var):
            return super().batch_norm_backward(g, x, weight, mean, var, eps)
        return _C.batch_norm_backward(g, x, *map(np.ascontiguousarray, (weight, mean, var)), eps)

    # ---- softmax and layer norm: a few passes over each slice instead of a temporary per operator ------
    def softmax(self, x: Any, axis: int) -> Any:
        return _C.softmax(x, axis) if self._native(x) else super().softmax(x, axis)

    def log_softmax(self, x: Any, axis: int) -> Any:
        return _C.log_softmax(x, axis) if self._native(x) else super().log_softmax(x, axis)

    def softmax_backward(self, y: Any, g: Any, axis: int) -> Any:
        if not self._native(y, g):
            return super().softmax_backward(y, g, axis)
        return _C.softmax_backward(y, g, axis)

    def log_softmax_backward(self, y: Any, g: Any, axis: int) -> Any:
        if not self._native(y, g):
            return super().log_softmax_backward(y, g, axis)
        return _C.log_softmax_backward(y, g, axis)

    def layer_norm(self, x: Any, weight: Optional[Any], bias: Optional[Any], eps: float) -> Tuple[Any, Any, Any]:
        if not self._native(x, weight, bias):
            return super().layer_norm(x, weight, bias, eps)
        weight, bias = (None if p is None else np.ascontiguousarray(p) for p in (weight, bias))
        return _C.layer_norm(x, weight, bias, eps)

    def layer_norm_backward(
        self, g: Any, x: Any, weight: Optional[Any], mean: Any, var: Any, eps: float
    ) -> Tuple[Any, Any, Any]:
        if not self._native(g, x, weight, mean, var):
            return super().layer_norm_backward(g, x, weight, mean, var, eps)
        weight = None if weight is None else np.ascontiguousarray(weight)
        return _C.layer_norm_backward(g, x, weight, *map(np.ascontiguousarray, (mean, var)), eps)

    # ---- along one axis: a plain add per element, where NumPy's add.at runs a generic loop for each -----
    def index_add(self, out: Any, axis: int, index: Any, src: Any) -> None:
        if not self._native(out, src):
            return super().index_add(out, axis, index, src)
        _C.index_add(out, axis, index.astype(np.int64, copy=False), src)

    def scatter_add(self, out: Any, axis: int, index: Any, src: Any) -> None:
        if not self._native(out, src):
            return super().scatter_add(out, axis, index, src)
        _C.scatter_add(out, axis, index.astype(np.int64, copy=False), src)

    def gather(self, x: Any, axis: int, index: Any) -> Any:
        if not self._native(x):
            return super().gather(x, axis, index)
        return _C.gather(x, axis, index.astype(np.int64, copy=False))

    # ---- an LSTM step: one pass over each row instead of a dozen NumPy passes ------------------------------
    def lstm_cell(self, gx: Any, hw: Any, c_prev: Any, gates: Any, c: Any, tanh_c: Any, h: Any) -> None:
        arrays = (gx, hw, c_prev, gates, c, tanh_c, h)
        if not (self._native(*arrays) and _rows_contiguous(*arrays)):
            return super().lstm_cell(*arrays)
        _C.lstm_cell(*arrays)

    def lstm_cell_backward(self, gates: Any, c_prev: Any, tanh_c: Any, d_h: Any, d_c: Any, d_gates: Any) -> None:
        arrays = (gates, c_prev, tanh_c, d_h, d_c, d_gates)
        if not (self._native(*arrays) and _rows_contiguous(*arrays)):
            return super().lstm_cell_backward(*arrays)
        _C.lstm_cell_backward(*arrays)

    # ---- erf and GELU: one vectorised pass, where NumPy evaluates erf in some twenty masked passes -------------
    def erf(self, x: Any) -> Any:
        return _C.erf(x) if self._native(x) else super().erf(x)

    def gelu(self, x: Any, approximate: str) -> Tuple[Any, Optional[Any]]:
        if not self._native(x):
            return super().gelu(x, approximate)
        return _C.gelu(x, approximate == "tanh"), None  # the backward recomputes Phi(x) in registers

    def gelu_backward(self, g: Any, x: Any, approximate: str, saved: Optional[Any] = None) -> Any:
        if not self._native(g, x):
            return super().gelu_backward(g, x, approximate, saved)
        return _C.gelu_backward(g, x, approximate == "tanh")

    # ---- tanh and sigmoid's input-gradients: one pass, where NumPy makes three, each with a temporary ----------
    def tanh_backward(self, g: Any, y: Any) -> Any:
        if not (self._native(g, y) and g.shape == y.shape):
            return super().tanh_backward(g, y)
        return _C.tanh_backward(g, y)

    def sigmoid_backward(self, g: Any, y: Any) -> Any:
        if not (self._native(g, y) and g.shape == y.shape):
            return super().sigmoid_backward(g, y)
        return _C.sigmoid_backward(g, y)

    @staticmethod
    def _divisors(divisor: Any, geom: Geometry, dtype: Any) -> np.ndarray:
        """The divisor of every window as an ``(oh, ow)`` array (it may be given as one number)."""
        return np.ascontiguousarray(np.broadcast_to(np.asarray(divisor, dtype=dtype), geom.out))


def _rows_contiguous(*arrays: Any) -> bool:
    """Whether every array is 2-d with unit stride along its rows, what ``_C.lstm_cell`` reads (rows may lie apart)."""
    return all(a.ndim == 2 and (a.shape[1] <= 1 or a.strides[1] == a.itemsize) for a in arrays)


def _geometry_args(geom: Geometry) -> Tuple[int, ...]:
    """A 2-d geometry as the flat integers the C++ kernels take: kernel, stride, dilation, leading padding."""
    (kh, kw), (sh, sw), (dh, dw) = geom.kernel, geom.stride, geom.dilation
    return kh, kw, sh, sw, dh, dw, geom.padding[0][0], geom.padding[1][0], geom.out[0], geom.out[1]


CPU_BACKEND = CpuBackend(np, CPU)

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameter numbers in glibc's malloc.h
_KEEP_BLOCKS_UP_TO = 32 * 1024 * 1024  # glibc's largest allowed mmap threshold on 64-bit systems
_KEEP_FREE_AT_TOP = 256 * 1024 * 1024  # freed memory kept before it is returned to the system


def _tune_malloc() -> bool:
    """Raise glibc's mmap and trim thresholds; returns whether it was done."""
    if os.environ.get("MINITORCH_MALLOC_TUNING", "1") == "0" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(
        libc.mallopt(_M_MMAP_THRESHOLD, _KEEP_BLOCKS_UP_TO) and libc.mallopt(_M_TRIM_THRESHOLD, _KEEP_FREE_AT_TOP)
    )


MALLOC_TUNED = _tune_malloc()
