"""Backends: the small contract between tensor ops and an array library.

Ops never call NumPy or CuPy by name. They ask the tensor for its backend
and use ``backend.xp`` (the array module, ``numpy`` or ``cupy``, whose APIs
agree for everything elementwise) plus the few functions below that a
backend may implement with its own kernels. ``get_backend`` is the one
place where a device picks its implementation.
"""

from __future__ import annotations

from typing import Any, Dict

from ..device import device
from .base import Backend
from .cpu import CPU_BACKEND

_cache: Dict[device, Backend] = {}


def get_backend(dev: device) -> Backend:
    """The backend that owns storage on ``dev``; raises if it is unavailable."""
    if dev.type == "cpu":
        return CPU_BACKEND
    backend = _cache.get(dev)
    if backend is None:
        from . import cuda

        backend = _cache[dev] = cuda.make_backend(dev)
    return backend


__all__ = ["Backend", "get_backend", "CPU_BACKEND"]


def __getattr__(name: str) -> Any:  # minitorch.backends.cuda is imported lazily
    if name == "cuda":
        from . import cuda

        return cuda
    raise AttributeError(name)
