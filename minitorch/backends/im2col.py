"""Convolution as a matrix product over windows (im2col), for any array module.

``windows`` views the input as ``(N, C, *kernel, *out)`` without copying;
one reshape copies it into columns, and one batched matmul with the weight
gives every output at once. The three functions are the three kernels a
convolution needs: the output, the input-gradient (the transpose
convolution) and the weight-gradient. Backends without kernels of their own
use these; ``Backend.conv`` and friends are the entry points.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Tuple

from .windows import Geometry, add_windows, windows


def columns(x: Any, geom: Geometry, groups: int, xp: Any) -> Any:
    """im2col: the windows of ``x`` as ``(N, groups, C/groups * kernel taps, output positions)``."""
    taps = x.shape[1] // groups * math.prod(geom.kernel)
    return windows(x, geom, xp).reshape(x.shape[0], groups, taps, math.prod(geom.out))


def conv(x: Any, w: Any, geom: Geometry, groups: int, xp: Any, keep_columns: bool) -> Tuple[Any, Optional[Any]]:
    """``y[n, o] = sum over c, taps of w[o, c, tap] * x[n, c, at o's window + tap]``; also the columns if kept."""
    n, o = x.shape[0], w.shape[0]
    cols = columns(x, geom, groups, xp)
    y = w.reshape(groups, o // groups, -1) @ cols  # (N, groups, O/groups, positions)
    return y.reshape((n, o) + geom.out), cols if keep_columns else None


def conv_input_grad(g: Any, w: Any, geom: Geometry, groups: int, xp: Any) -> Any:
    """The adjoint of ``conv`` in its input: spread each ``g`` value over its window, weighted by ``w``."""
    n, o, c = g.shape[0], w.shape[0], w.shape[1] * groups
    # The batch goes last in memory, so that each kernel tap's add in add_windows is one long run.
    g_last = xp.moveaxis(g, 0, -1).reshape(groups, o // groups, -1)  # (groups, O/groups, positions * N)
    cols = w.reshape(groups, o // groups, -1).swapaxes(1, 2) @ g_last  # (groups, C/groups * taps, positions * N)
    cols = xp.moveaxis(cols.reshape((c,) + geom.kernel + geom.out + (n,)), -1, 0)  # (N, C, *kernel, *out) view
    return add_windows(cols, geom, xp)


def conv_weight_grad(x: Any, g: Any, geom: Geometry, groups: int, xp: Any, cols: Optional[Any]) -> Any:
    """The adjoint of ``conv`` in its weight: correlate the input windows with ``g`` (``cols`` may be reused)."""
    n, o, c = g.shape[0], g.shape[1], x.shape[1]
    if cols is None:
        cols = columns(x, geom, groups, xp)
    g_cols = g.reshape(n, groups, o // groups, math.prod(geom.out))
    gw = (g_cols @ cols.swapaxes(2, 3)).sum(axis=0)  # (groups, O/groups, C/groups * taps)
    return gw.reshape((o, c // groups) + geom.kernel)
