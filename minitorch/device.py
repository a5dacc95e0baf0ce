"""Devices: where a tensor's storage lives ("cpu", or "cuda:N" through CuPy)."""

from __future__ import annotations

from typing import Any, Optional, Union


class device:
    """A device such as ``minitorch.device("cpu")`` or ``minitorch.device("cuda", 0)``."""

    __slots__ = ("type", "index")

    def __init__(self, type: Union[str, "device"], index: Optional[int] = None) -> None:  # noqa: A002
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        if not isinstance(type, str):
            raise TypeError(f"device() expected a string like 'cpu' or 'cuda:0', got {type!r}")
        name, sep, idx = type.partition(":")
        if name not in ("cpu", "cuda"):
            raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {type}")
        if sep:
            if index is not None or not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(idx)
        self.type = name
        self.index = index

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, str):
            other = device(other)
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"


CPU = device("cpu")


def as_device(d: Any) -> device:
    """Accept a device, a string or an int (a CUDA ordinal, as PyTorch does)."""
    if isinstance(d, device):
        return d
    if isinstance(d, int):
        return device("cuda", d)
    return device(d)


def check_same_device(*tensors: Any) -> None:
    """Raise PyTorch's RuntimeError unless the given tensors (``None`` entries are skipped) share one device.

    An op that reads several tensors' arrays directly calls this first: mixing a NumPy and a CuPy array would
    otherwise fail deep inside the array library with a message that does not say what to do.
    """
    present = [t for t in tensors if t is not None]
    for t in present[1:]:
        if t._backend is not present[0]._backend:
            raise RuntimeError(
                f"Expected all tensors to be on the same device, but found at least two devices, "
                f"{present[0].device} and {t.device}! Move them with .to(device) first."
            )
