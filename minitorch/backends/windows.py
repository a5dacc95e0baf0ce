"""Sliding windows over an array, the layout math of convolution and pooling.

For an input of shape ``(N, C, *size)``, ``windows`` returns a *view* of
shape ``(N, C, *kernel, *out)``: entry ``[n, c, *k, *o]`` is the input
element that kernel tap ``k`` sees when the window sits at output position
``o``. Nothing is copied until a reshape needs it (that copy is "im2col").
``add_windows`` is its adjoint ("col2im"): it adds every window's values
back where they came from, one kernel tap at a time.

These work on raw arrays of any array module ``xp`` (NumPy or CuPy).
"""

from __future__ import annotations

import itertools
from typing import Any, NamedTuple, Tuple


class Geometry(NamedTuple):
    """Where the windows of a convolution or pooling sit, one entry per spatial dim."""

    size: Tuple[int, ...]  # input spatial size
    out: Tuple[int, ...]  # number of window positions
    kernel: Tuple[int, ...]
    stride: Tuple[int, ...]
    dilation: Tuple[int, ...]
    padding: Tuple[Tuple[int, int], ...]  # (before, after) fill added around the input


def out_size(size: int, kernel: int, stride: int, dilation: int, before: int, after: int) -> int:
    """How many windows fit: ``(size + pads - span) // stride + 1``, span being the dilated kernel."""
    return (size + before + after - dilation * (kernel - 1) - 1) // stride + 1


def _padded(arr: Any, geom: Geometry, fill: Any, xp: Any) -> Any:
    """The array with ``fill`` around each spatial dim (the array itself when nothing is added)."""
    if not any(b or a for b, a in geom.padding):
        return arr
    shape = arr.shape[:2] + tuple(n + b + a for n, (b, a) in zip(geom.size, geom.padding))
    out = xp.full(shape, fill, dtype=arr.dtype)
    out[(slice(None), slice(None)) + tuple(slice(b, b + n) for n, (b, _) in zip(geom.size, geom.padding))] = arr
    return out


def windows(arr: Any, geom: Geometry, xp: Any, fill: Any = 0) -> Any:
    """A strided view ``(N, C, *kernel, *out)`` of every window of the (padded) input."""
    padded = _padded(arr, geom, fill, xp)
    s = padded.strides
    taps = tuple(st * d for st, d in zip(s[2:], geom.dilation))
    steps = tuple(st * k for st, k in zip(s[2:], geom.stride))
    shape = padded.shape[:2] + geom.kernel + geom.out
    return xp.lib.stride_tricks.as_strided(padded, shape, s[:2] + taps + steps)


def add_windows(cols: Any, geom: Geometry, xp: Any) -> Any:
    """The adjoint of ``windows``: sum ``cols`` ``(N, C, *kernel, *out)`` into ``(N, C, *size)``.

    One vectorised add per kernel tap: tap ``k`` touches the positions
    ``k * dilation + o * stride`` for every output position ``o``.
    """
    n, c = cols.shape[:2]
    padded_size = tuple(size + b + a for size, (b, a) in zip(geom.size, geom.padding))
    if cols.strides[0] < cols.strides[1]:  # batch-last columns: sum into a batch-last buffer, for long rows
        padded = xp.moveaxis(xp.zeros((c,) + padded_size + (n,), dtype=cols.dtype), -1, 0)
    else:
        padded = xp.zeros((n, c) + padded_size, dtype=cols.dtype)
    if 0 not in geom.out:
        for tap in itertools.product(*(range(k) for k in geom.kernel)):
            where = tuple(
                slice(t * d, t * d + s * (o - 1) + 1, s)
                for t, d, s, o in zip(tap, geom.dilation, geom.stride, geom.out)
            )
            padded[(slice(None), slice(None)) + where] += cols[(slice(None), slice(None)) + tap]
    inside = tuple(slice(b, b + size) for size, (b, _) in zip(geom.size, geom.padding))
    return padded[(slice(None), slice(None)) + inside]
