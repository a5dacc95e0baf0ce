"""The CUDA backend: CuPy arrays in GPU memory, and our own kernels for matmul, conv2d and softmax.

Everything elementwise and every reduction carries over from ``Backend`` through CuPy's NumPy-compatible API.
``CudaBackend`` adds the two things a GPU does differently:

* **Our kernels** (``backends/cuda_kernels``, sources in ``csrc/cuda``) for the matrix product, the 2-d convolution
  and its two gradients, and softmax / log_softmax with their gradients. This class is the one place that decides
  which kernel runs: a case the kernels do not cover (integer dtypes, empty arrays, 1-d and 3-d convolution) falls
  back to the ``Backend`` method, i.e. to CuPy's own routines or to im2col.
* **Device memory**: views built from device pointers, copies between host and device, and the peak-memory
  bookkeeping behind ``minitorch.cuda.max_memory_allocated``.

The array module and the kernel launcher are constructor arguments. On a GPU they are ``cupy`` and
``cuda_kernels.run``; the tests build the same class over ``numpy`` with the CPU emulator as launcher
(tests/test_cuda_dispatch.py), so the dispatch is checked on machines without a GPU.

``minitorch.backends.cuda.matmul.allow_tf32`` (default False, as in PyTorch 2.x) lets float32 matrix products use
TF32 tensor cores: about 8x the FP32 rate on an H100, with a 10-bit mantissa for the inputs. Convolutions always run
in full FP32 (there is no ``backends.cudnn.allow_tf32`` switch: our conv2d kernel has no TF32 path).
"""

from __future__ import annotations

import contextlib
import functools
import types
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from ..device import device
from .base import Backend
from .windows import Geometry


def _cupy() -> Optional[Any]:
    try:
        import cupy
    except ImportError:
        return None
    return cupy


def device_count() -> int:
    """Number of CUDA devices CuPy can see (0 without CuPy or a driver)."""
    cupy = _cupy()
    if cupy is None:
        return 0
    try:
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # no driver: CuPy raises CUDARuntimeError
        return 0


def unavailable_reason() -> Optional[str]:
    """Why CUDA cannot be used here, or None when it can."""
    if _cupy() is None:
        return (
            "CUDA is not available: CuPy is not installed. Install it with the cuda extra "
            "(pip install -e '.[cuda]') on a machine with an NVIDIA GPU, or use device='cpu'."
        )
    if device_count() == 0:
        return (
            "CUDA is not available: CuPy is installed but found no CUDA device or driver. "
            "Use device='cpu' on this machine."
        )
    return None


def require_cupy() -> Any:
    """The cupy module, or a RuntimeError that says whether CuPy or the GPU is missing."""
    reason = unavailable_reason()
    if reason is not None:
        raise RuntimeError(reason)
    return _cupy()


class _MatmulFlags:
    """``minitorch.backends.cuda.matmul``: switches for the float32 matrix product, as ``torch.backends.cuda.matmul``."""

    __slots__ = ("allow_tf32",)  # a misspelt flag raises AttributeError instead of silently doing nothing

    def __init__(self) -> None:
        self.allow_tf32 = False  # PyTorch 2.x's default: full FP32 unless asked


matmul = _MatmulFlags()


class CudaBackend(Backend):
    """Backend over CuPy whose matmul, conv2d and softmax run minitorch's own CUDA kernels.

    ``launcher`` runs a kernel launch (``cuda_kernels.run`` on a GPU). ``tensor_cores`` says whether float16
    matrix products may use the tensor-core kernel (compute capability 8.0 and up; the CPU emulator cannot run it).
    """

    def __init__(
        self, xp: Any, dev: device, launcher: Optional[Callable[[Any], None]] = None, tensor_cores: bool = True
    ) -> None:
        super().__init__(xp, dev)
        from . import cuda_kernels
        from .cuda_kernels import conv2d, softmax
        from .cuda_kernels import matmul as gemm

        self.launcher = launcher or cuda_kernels.run
        self._gemm, self._conv2d, self._softmax = gemm, conv2d, softmax
        # The dtypes each kernel family takes; anything else goes to the Backend method (CuPy).
        self.kernel_dtypes = {
            "matmul": ("float32", "float64") + (("float16",) if tensor_cores else ()),
            "conv2d": conv2d.DTYPES,
            "softmax": softmax.DTYPES,
        }

    # ---- memory --------------------------------------------------------------
    def as_strided(self, buffer: Any, shape: Sequence[int], strides: Sequence[int], offset: int) -> Any:
        item = buffer.itemsize
        if 0 in shape:
            # An empty view reads nothing, so where it points is moot; and CuPy refuses any offset from the null
            # pointer of an empty allocation (which a view like x[:, 1] of a (0, 2) tensor would ask for).
            offset = 0
        return self.xp.ndarray(
            tuple(shape),
            buffer.dtype,
            memptr=buffer.data + offset * item,
            strides=tuple(s * item for s in strides),
        )

    def from_host(self, array: np.ndarray) -> Any:
        with self.xp.cuda.Device(self.device.index):
            return self.xp.asarray(array)

    def to_host(self, array: Any) -> np.ndarray:
        return array.get()

    def data_ptr(self, array: Any) -> int:
        return int(array.data.ptr)

    def synchronize(self) -> None:
        self.xp.cuda.Device(self.device.index).synchronize()

    # ---- which kernel runs ----------------------------------------------------
    def _runs(self, family: str, *arrays: Any) -> bool:
        """Whether our ``family`` kernels take these operands: one dtype they support, and something to compute."""
        first = arrays[0].dtype
        return first.name in self.kernel_dtypes[family] and all(a.dtype == first and a.size for a in arrays)

    def matmul(self, a: Any, b: Any) -> Any:
        """Our GEMM for floating operands (vectors become one-row/one-column matrices); CuPy for the rest."""
        if not self._runs("matmul", a, b):
            return super().matmul(a, b)
        va, vb = a.ndim == 1, b.ndim == 1
        out = self._gemm.matmul(
            a[None, :] if va else a,
            b[:, None] if vb else b,
            allow_tf32=matmul.allow_tf32,
            launcher=self.launcher,
        )
        if va:
            out = out[..., 0, :]
        return out[..., 0] if vb else out

    def softmax(self, x: Any, axis: int) -> Any:
        if not self._runs("softmax", x):
            return super().softmax(x, axis)
        return self._softmax.softmax(x, axis, launcher=self.launcher)

    def log_softmax(self, x: Any, axis: int) -> Any:
        if not self._runs("softmax", x):
            return super().log_softmax(x, axis)
        return self._softmax.softmax(x, axis, log=True, launcher=self.launcher)

    def softmax_backward(self, y: Any, g: Any, axis: int) -> Any:
        if not self._runs("softmax", y, g):
            return super().softmax_backward(y, g, axis)
        return self._softmax.softmax_backward(y, g, axis, launcher=self.launcher)

    def log_softmax_backward(self, y: Any, g: Any, axis: int) -> Any:
        if not self._runs("softmax", y, g):
            return super().log_softmax_backward(y, g, axis)
        return self._softmax.softmax_backward(y, g, axis, log=True, launcher=self.launcher)

    def conv(self, x: Any, w: Any, geom: Geometry, groups: int, keep: bool = False) -> Tuple[Any, Optional[Any]]:
        """2-d convolutions run our implicit-GEMM kernel, which needs no im2col buffer (so nothing is kept)."""
        if len(geom.kernel) != 2 or not self._runs("conv2d", x, w):
            return super().conv(x, w, geom, groups, keep)
        y = self._conv2d.conv2d_forward(x, w, out_hw=geom.out, launcher=self.launcher, **_conv2d_options(geom, groups))
        return y, None

    def conv_input_grad(self, g: Any, w: Any, geom: Geometry, groups: int) -> Any:
        if len(geom.kernel) != 2 or not self._runs("conv2d", g, w):
            return super().conv_input_grad(g, w, geom, groups)
        return self._conv2d.conv2d_backward_input(
            g, w, x_hw=geom.size, launcher=self.launcher, **_conv2d_options(geom, groups)
        )

    def conv_weight_grad(self, x: Any, g: Any, geom: Geometry, groups: int, saved: Optional[Any] = None) -> Any:
        if len(geom.kernel) != 2 or not self._runs("conv2d", x, g):
            return super().conv_weight_grad(x, g, geom, groups, saved)
        w_shape = (g.shape[1], x.shape[1] // groups) + geom.kernel
        return self._conv2d.conv2d_backward_weight(
            x, g, w_shape=w_shape, launcher=self.launcher, **_conv2d_options(geom, groups)
        )


def _conv2d_options(geom: Geometry, groups: int) -> Dict[str, Any]:
    """The conv2d wrappers' geometry keywords; only the padding before each dim is passed, since the output size
    fixes the rest (which is how asymmetric 'same' padding gets through)."""
    padding = (geom.padding[0][0], geom.padding[1][0])
    return {"stride": geom.stride, "padding": padding, "dilation": geom.dilation, "groups": groups}


# ---- CuPy specifics -----------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _no_fp_traps(**_: Any) -> Any:
    """Stands in for ``numpy.errstate``: a GPU never traps floating-point errors, so there is nothing to silence."""
    yield


def _gpu_array_module(cupy: Any) -> Any:
    """CuPy as the ops see it: CuPy itself plus ``errstate``, the one NumPy name the ops use that CuPy lacks."""
    module = types.ModuleType(cupy.__name__, cupy.__doc__)
    module.__dict__.update(vars(cupy))
    module.__getattr__ = functools.partial(getattr, cupy)  # names CuPy only makes on first use
    module.errstate = _no_fp_traps
    return module


class PeakTracker:
    """CuPy's memory-pool allocator, wrapped to remember the most bytes ever in use per device.

    CuPy's pool reports the bytes in use now but no peak. In-use bytes only grow when something is allocated, so
    reading them after every allocation is enough to know the maximum.
    """

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.peak: Dict[int, int] = {}

    def __call__(self, nbytes: int) -> Any:
        memory = self.pool.malloc(nbytes)
        used = self.pool.used_bytes()  # of the current device, where malloc just allocated
        if used > self.peak.get(memory.device_id, 0):
            self.peak[memory.device_id] = used
        return memory


_backends: Dict[int, CudaBackend] = {}  # one per GPU: 'cuda' and 'cuda:0' must share it, or their tensors won't mix
peak_tracker: Optional[PeakTracker] = None


def current_device() -> int:
    """The index of the GPU that a bare 'cuda' means (CuPy's current device)."""
    return int(require_cupy().cuda.runtime.getDevice())


def device_index(dev: device) -> int:
    """The index of the GPU ``dev`` names (a bare 'cuda': the current one), or CUDA's invalid-ordinal error."""
    require_cupy()
    index = current_device() if dev.index is None else dev.index
    if index >= device_count():
        raise RuntimeError(
            f"CUDA error: invalid device ordinal {index}; this machine has {device_count()} CUDA device(s)"
        )
    return index


def make_backend(dev: device) -> Backend:
    """The backend for ``dev``, or a RuntimeError that says what is missing."""
    global peak_tracker
    index = device_index(dev)
    cupy = require_cupy()
    if peak_tracker is None:
        peak_tracker = PeakTracker(cupy.get_default_memory_pool())
        cupy.cuda.set_allocator(peak_tracker)
    if index not in _backends:
        tensor_cores = int(cupy.cuda.Device(index).compute_capability) >= 80  # mma.sync for half needs sm_80
        _backends[index] = CudaBackend(_gpu_array_module(cupy), device("cuda", index), tensor_cores=tensor_cores)
    return _backends[index]
