"""``minitorch.cuda``: the GPUs, as ``torch.cuda`` presents them (device choice, memory figures, timing events).

Everything here is backed by CuPy. Without CuPy or without a GPU, ``is_available()`` is False,
``device_count()`` is 0 and every other function raises a RuntimeError that says which of the two is missing.

Random numbers: minitorch has one generator for every device. Values are drawn on the host and copied to the
GPU, so a seed gives the same numbers on the CPU and on any GPU; ``manual_seed`` and ``manual_seed_all`` therefore
seed that one generator, exactly as ``minitorch.manual_seed`` does (in PyTorch they would leave the CPU's stream
alone). Drawing on the host costs a copy per random tensor, which dropout in a training step pays.
"""

from __future__ import annotations

from typing import Any, Optional

from . import random as _random
from .backends.cuda import current_device as _current_device
from .backends.cuda import device_count, device_index, require_cupy
from .device import as_device
from .device import device as _device

__all__ = [
    "is_available",
    "device_count",
    "current_device",
    "set_device",
    "get_device_name",
    "synchronize",
    "manual_seed",
    "manual_seed_all",
    "memory_allocated",
    "max_memory_allocated",
    "reset_peak_memory_stats",
    "memory_reserved",
    "empty_cache",
    "Event",
]


def is_available() -> bool:
    """True when CuPy is installed and sees at least one CUDA device."""
    return device_count() > 0


def current_device() -> int:
    """The index of the selected GPU: the one a bare ``'cuda'`` means."""
    return _current_device()


def _index(dev: Any) -> int:
    """A GPU index from None (the current one), an int, ``'cuda:1'`` or a ``minitorch.device``."""
    d = as_device("cuda" if dev is None else dev)
    if d.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {d}")
    return device_index(d)


def set_device(device: Any) -> None:
    """Select the GPU that a bare ``'cuda'`` means; a negative index does nothing, as in PyTorch."""
    if isinstance(device, int) and device < 0:
        return
    index = _index(device)
    require_cupy().cuda.Device(index).use()
    from . import backends

    backends._cache.pop(_device("cuda"), None)  # forget which backend 'cuda' resolved to: it now means this GPU


def get_device_name(device: Any = None) -> str:
    """The GPU's marketing name, e.g. ``'NVIDIA H100 80GB HBM3'``."""
    name = require_cupy().cuda.runtime.getDeviceProperties(_index(device))["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def synchronize(device: Any = None) -> None:
    """Wait until every kernel queued on the GPU has finished (kernel launches return before they run)."""
    require_cupy().cuda.Device(_index(device)).synchronize()


def manual_seed(seed: int) -> None:
    """Seed the random numbers of tensors made on the GPU: minitorch's one generator (see the module docstring).

    Safe to call without a GPU, as in PyTorch.
    """
    _random.manual_seed(seed)


def manual_seed_all(seed: int) -> None:
    """Seed the random numbers of every GPU (the same one generator)."""
    manual_seed(seed)


# ---- memory: CuPy's memory pool plays the part of PyTorch's caching allocator ------------------------------------
def _pool_bytes(device: Any, what: str) -> int:
    """``used_bytes`` or ``total_bytes`` of CuPy's default memory pool on one GPU."""
    cupy = require_cupy()
    with cupy.cuda.Device(_index(device)):
        return int(getattr(cupy.get_default_memory_pool(), what)())


def memory_allocated(device: Any = None) -> int:
    """Bytes held by live arrays on the GPU."""
    return _pool_bytes(device, "used_bytes")


def memory_reserved(device: Any = None) -> int:
    """Bytes the memory pool holds from the driver: live arrays plus freed blocks kept for reuse."""
    return _pool_bytes(device, "total_bytes")


def max_memory_allocated(device: Any = None) -> int:
    """The most bytes live arrays held at once since the start (or the last ``reset_peak_memory_stats``)."""
    from .backends import cuda as backend

    now = memory_allocated(device)
    tracker = backend.peak_tracker
    return max(now, tracker.peak.get(_index(device), 0)) if tracker is not None else now


def reset_peak_memory_stats(device: Any = None) -> None:
    """Start ``max_memory_allocated`` again from what is allocated now."""
    from .backends import cuda as backend

    now = memory_allocated(device)
    if backend.peak_tracker is not None:
        backend.peak_tracker.peak[_index(device)] = now


def empty_cache() -> None:
    """Give the freed blocks the memory pool keeps back to the driver (live arrays are untouched)."""
    require_cupy().get_default_memory_pool().free_all_blocks()


class Event:
    """A marker in the GPU's stream of work; two recorded events time the kernels between them.

    ``start.record(); ...; end.record(); end.synchronize(); start.elapsed_time(end)`` gives milliseconds of GPU
    time, which (unlike a host clock) does not count the Python that queued the kernels.
    """

    def __init__(self, enable_timing: bool = False, blocking: bool = False, interprocess: bool = False) -> None:
        cupy = require_cupy()
        self.enable_timing = enable_timing
        self._event = cupy.cuda.Event(block=blocking, disable_timing=not enable_timing, interprocess=interprocess)

    def record(self, stream: Optional[Any] = None) -> None:
        """Mark this point of ``stream`` (the current CuPy stream by default)."""
        self._event.record(stream)

    def query(self) -> bool:
        """Whether the work before the record has finished."""
        return bool(self._event.done)

    def synchronize(self) -> None:
        """Wait for the work before the record to finish."""
        self._event.synchronize()

    def elapsed_time(self, end_event: "Event") -> float:
        """Milliseconds from this event to ``end_event``; both need ``enable_timing=True`` and a record."""
        if not (self.enable_timing and end_event.enable_timing):
            raise RuntimeError("Both events must be created with argument 'enable_timing=True'.")
        return float(require_cupy().cuda.get_elapsed_time(self._event, end_event._event))

    def __repr__(self) -> str:
        return f"<minitorch.cuda.Event enable_timing={self.enable_timing}>"
