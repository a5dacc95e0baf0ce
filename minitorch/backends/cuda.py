"""The CUDA backend: CuPy arrays in GPU memory.

Everything the NumPy backend does carries over through CuPy's matching API;
only memory handling differs here. Our own CUDA kernels (matmul, conv2d,
softmax) plug in by overriding the kernel methods of ``Backend``.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from ..device import device
from .base import Backend


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


class CudaBackend(Backend):
    """Backend over CuPy; memory views are built from device pointers."""

    def as_strided(self, buffer: Any, shape: Sequence[int], strides: Sequence[int], offset: int) -> Any:
        item = buffer.itemsize
        return self.xp.ndarray(
            tuple(shape),
            buffer.dtype,
            memptr=buffer.data + offset * item,
            strides=tuple(s * item for s in strides),
        )

    def from_host(self, array: np.ndarray) -> Any:
        with self.xp.cuda.Device(self.device.index or 0):
            return self.xp.asarray(array)

    def to_host(self, array: Any) -> np.ndarray:
        return array.get()

    def data_ptr(self, array: Any) -> int:
        return int(array.data.ptr)

    def synchronize(self) -> None:
        self.xp.cuda.Device(self.device.index or 0).synchronize()


def make_backend(dev: device) -> Backend:
    """The backend for ``dev``, or a RuntimeError that says what is missing."""
    reason = unavailable_reason()
    if reason is not None:
        raise RuntimeError(reason)
    index = dev.index or 0
    if index >= device_count():
        raise RuntimeError(
            f"CUDA error: invalid device ordinal {index}; this machine has {device_count()} CUDA device(s)"
        )
    return CudaBackend(_cupy(), device("cuda", index))
