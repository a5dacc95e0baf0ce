"""Padding layers: add a border around the last 1, 2 or 3 dims of the input.

Each one stores ``padding`` as a tuple ``(left, right, top, bottom, front,
back)`` (as many pairs as it has dims, last dim first) and calls
:func:`minitorch.nn.functional.pad` with its mode: ``constant`` fills with a
value, ``reflect`` mirrors the input, ``replicate`` repeats the edge and
``circular`` wraps around. Negative amounts crop.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Tuple

from ...tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = [
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
]


def _ntuple(padding: Any, n: int) -> Tuple[int, ...]:
    """One int means the same amount on all ``n`` sides; a sequence is kept as given."""
    return tuple(padding) if isinstance(padding, Iterable) else (padding,) * n


class _PadNd(Module):
    """A padding layer: ``padding`` holds 2 amounts per padded dim, ``mode`` says how to fill."""

    mode = "constant"
    _dims = 1  # how many trailing dims the layer pads

    def __init__(self, padding: Any) -> None:
        super().__init__()
        self.padding = _ntuple(padding, 2 * self._dims)

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    """Fill the border with a constant ``value``."""

    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with ``value``: ``padding`` is an int or ``(left, right)``."""


class ConstantPad2d(_ConstantPadNd):
    """Pad the last 2 dims with ``value``: ``padding`` is an int or ``(left, right, top, bottom)``."""

    _dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last 3 dims with ``value``: ``padding`` is an int or ``(left, right, top, bottom, front, back)``."""

    _dims = 3


class ZeroPad1d(ConstantPad1d):
    """ConstantPad1d with ``value=0.0``."""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """ConstantPad2d with ``value=0.0``."""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    """ConstantPad3d with ``value=0.0``."""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ReflectionPadNd(_PadNd):
    """Mirror the input at its edges (the edge itself is not repeated): ``3 2 1 | 0 1 2 3 | 2 1 0``."""

    mode = "reflect"


class ReflectionPad1d(_ReflectionPadNd):
    """Reflection-pad the last dim: ``padding`` is an int or ``(left, right)``."""


class ReflectionPad2d(_ReflectionPadNd):
    """Reflection-pad the last 2 dims: ``padding`` is an int or ``(left, right, top, bottom)``."""

    _dims = 2


class ReflectionPad3d(_ReflectionPadNd):
    """Reflection-pad the last 3 dims: ``padding`` is an int or ``(left, right, top, bottom, front, back)``."""

    _dims = 3


class _ReplicationPadNd(_PadNd):
    """Repeat the edge value outwards: ``0 0 0 | 0 1 2 3 | 3 3 3``."""

    mode = "replicate"


class ReplicationPad1d(_ReplicationPadNd):
    """Replication-pad the last dim: ``padding`` is an int or ``(left, right)``."""


class ReplicationPad2d(_ReplicationPadNd):
    """Replication-pad the last 2 dims: ``padding`` is an int or ``(left, right, top, bottom)``."""

    _dims = 2


class ReplicationPad3d(_ReplicationPadNd):
    """Replication-pad the last 3 dims: ``padding`` is an int or ``(left, right, top, bottom, front, back)``."""

    _dims = 3


class _CircularPadNd(_PadNd):
    """Wrap around, as if the input were periodic: ``1 2 3 | 0 1 2 3 | 0 1 2``."""

    mode = "circular"

    def forward(self, input: Tensor) -> Tensor:
        lo = self._dims + 1  # unbatched input; one more dim when batched
        if input.ndim not in (lo, lo + 1):
            raise ValueError(f"expected {lo}D or {lo + 1}D input (got {input.ndim}D input)")
        return super().forward(input)


class CircularPad1d(_CircularPadNd):
    """Circular-pad the last dim of a 2D or 3D input: ``padding`` is an int or ``(left, right)``."""


class CircularPad2d(_CircularPadNd):
    """Circular-pad the last 2 dims of a 3D or 4D input: ``padding`` is an int or ``(left, right, top, bottom)``."""

    _dims = 2


class CircularPad3d(_CircularPadNd):
    """Circular-pad the last 3 dims of a 4D or 5D input: ``padding`` is an int or 6 amounts."""

    _dims = 3
