"""``minitorch.cuda``: whether a GPU can be used, as ``torch.cuda`` reports it."""

from __future__ import annotations

from .backends.cuda import device_count

__all__ = ["is_available", "device_count", "synchronize"]


def is_available() -> bool:
    """True when CuPy is installed and sees at least one CUDA device."""
    return device_count() > 0


def synchronize() -> None:
    """Wait for all queued GPU work (raises when CUDA is unavailable)."""
    from .backends import get_backend
    from .device import device

    get_backend(device("cuda", 0)).synchronize()
