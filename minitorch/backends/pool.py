"""Max and average pooling over sliding windows, for any array module.

The window view of ``windows.py`` makes each pool a reduction over kernel
taps: ``max_pool`` keeps each window's largest value and which tap
(0 .. kh * kw - 1) held it, ``put_windows`` sends gradients back to those
taps, ``avg_pool`` sums the taps and divides. Backends without kernels of
their own use these; ``Backend.max_pool2d`` and friends are the entry points.
"""

from __future__ import annotations

import functools
import math
from typing import Any, List, Optional, Tuple

import numpy as np  # host-side only: which taps lie inside the input

from .windows import Geometry, add_windows, windows


def _tap_views(win: Any, geom: Geometry) -> List[Any]:
    """One ``(N, C, oh, ow)`` view per kernel tap of the ``(N, C, kh, kw, oh, ow)`` windows, in row-major order."""
    return [win[:, :, i, j] for i in range(geom.kernel[0]) for j in range(geom.kernel[1])]


def _taps_inside(geom: Geometry) -> Tuple[Optional[np.ndarray], np.ndarray]:
    """Which taps of each window lie inside the input (None when all do), and PyTorch's tap for a
    window that lies wholly in the padding: its first tap right of the left padding.

    Padding must never win a window that holds a real element, even one equal to the fill (-inf).
    """
    positions = [  # per spatial dim: (kernel, out) input coordinates of every tap of every window
        np.arange(k)[:, None] * d + np.arange(o)[None, :] * s - before
        for k, d, o, s, (before, _) in zip(geom.kernel, geom.dilation, geom.out, geom.stride, geom.padding)
    ]
    (ph, pw), (h, w) = positions, geom.size
    first = np.argmax(ph >= 0, axis=0)[:, None] * geom.kernel[1] + np.argmax(pw >= 0, axis=0)[None, :]
    if all(p.min() >= 0 and p.max() < n for p, n in zip(positions, geom.size)):
        return None, first
    in_h, in_w = (ph >= 0) & (ph < h), (pw >= 0) & (pw < w)
    inside = (in_h[:, None, :, None] & in_w[None, :, None, :]).reshape((-1,) + geom.out)  # (taps, oh, ow)
    return inside, first


def max_pool(x: Any, geom: Geometry, xp: Any) -> Tuple[Any, Any]:
    """Each window's largest value (NaN wins, as in PyTorch), and the int64 tap that held the first of them."""
    low = -xp.inf if x.dtype.kind == "f" else xp.iinfo(x.dtype).min
    views = _tap_views(windows(x, geom, xp, fill=low), geom)
    best = functools.reduce(xp.maximum, views)  # NaN propagates, as in PyTorch
    inside, first = _taps_inside(geom)
    inside = None if inside is None else xp.asarray(inside)
    taps = xp.broadcast_to(xp.asarray(first), best.shape).astype(xp.int64)
    for k in reversed(range(len(views))):  # going backwards, the first maximum (or NaN) wins
        v = views[k]
        wins = (v == best) | (v != v)
        taps = xp.where(wins if inside is None else wins & inside[k], k, taps)
    return best, taps


def put_windows(g: Any, taps: Any, geom: Geometry, xp: Any) -> Any:
    """The gradient of ``max_pool``: each ``g`` value goes back to the input element at its window's tap."""
    k = math.prod(geom.kernel)
    hit = taps[:, :, None] == xp.arange(k).reshape(k, 1, 1)  # (N, C, taps, oh, ow)
    cols = xp.where(hit, g[:, :, None], 0)
    return add_windows(cols.reshape(g.shape[:2] + geom.kernel + geom.out), geom, xp)


def avg_pool(x: Any, geom: Geometry, divisor: Any, xp: Any) -> Any:
    """Each window's sum divided by ``divisor`` (an ``(oh, ow)`` array or a number)."""
    return sum(_tap_views(windows(x, geom, xp), geom)) / divisor


def avg_pool_backward(g: Any, geom: Geometry, divisor: Any, xp: Any) -> Any:
    """The adjoint of ``avg_pool``: every tap of window ``o`` receives ``g[o] / divisor[o]``."""
    share = (g / divisor)[:, :, None, None]
    return add_windows(xp.broadcast_to(share, g.shape[:2] + geom.kernel + geom.out), geom, xp)
