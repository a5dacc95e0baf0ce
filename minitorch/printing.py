"""Printing tensors exactly as PyTorch does, e.g. ``tensor([1.5000, 2.0000], requires_grad=True)``.

Every element of a tensor is printed with one shared format, chosen by
looking at all the values that will be shown:

* integers and booleans print as Python prints them;
* floats that are all whole numbers print as ``1.``, ``-3.``;
* floats whose magnitudes span more than 1000x (or exceed 1e8, or go below
  1e-4) use scientific notation, ``1.0000e-05``;
* other floats print with ``precision`` (4) decimals.

Elements are right-aligned to the widest one, rows wrap at ``linewidth``
characters, and a tensor of more than ``threshold`` elements shows only
``edgeitems`` elements at each end of every dimension, with ``...`` between.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, List

import numpy as np

from . import dtypes as dt


@dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrintOptions()
_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, math.inf, 3, 80)}


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Change how tensors print; ``profile`` ('default', 'short', 'full') resets the first four options.

    ``sci_mode`` True/False forces scientific notation on/off; None (also
    what every call without it sets) lets the values decide.
    """
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"unknown print profile {profile!r}: use 'default', 'short' or 'full'")
        opts = PRINT_OPTS
        opts.precision, opts.threshold, opts.edgeitems, opts.linewidth = _PROFILES[profile]
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


class _Formatter:
    """One format for all shown elements, so that columns line up."""

    def __init__(self, shown: np.ndarray) -> None:
        self.floating = shown.dtype.kind == "f"
        self.int_mode, self.sci_mode = True, False
        values = shown.ravel()
        if self.floating:  # only finite, nonzero values decide the float format
            values = values[np.isfinite(values) & (values != 0)].astype(np.float64)
            if values.size:
                big, small = np.abs(values).max(), np.abs(values).min()
                self.int_mode = bool((values == np.ceil(values)).all())
                self.sci_mode = PRINT_OPTS.sci_mode
                if self.sci_mode is None:
                    self.sci_mode = bool(big / small > 1000.0 or big > 1.0e8 or small < 1.0e-4)
        self.width = max([1] + [len(self._plain(v)) for v in values.tolist()])

    def _plain(self, value: Any) -> str:
        if not self.floating:
            return str(value)
        if self.sci_mode:
            return f"{value:.{PRINT_OPTS.precision}e}"
        if self.int_mode:  # "3." marks a whole float; nan and inf get no dot
            return f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        return f"{value:.{PRINT_OPTS.precision}f}"

    def format(self, value: Any) -> str:
        return self._plain(value).rjust(self.width)


def _shown_values(a: np.ndarray) -> np.ndarray:
    """The elements a summarized print shows: ``edgeitems`` at each end of every long dim."""
    e = PRINT_OPTS.edgeitems
    for axis, n in enumerate(a.shape):
        if n > 2 * e:
            a = a.take([*range(e), *range(n - e, n)], axis=axis)
    return a


def _array_str(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    """The nested-bracket text of ``a``; ``indent`` is the column its "[" sits at."""
    if a.ndim == 0:
        return fmt.format(a.item())
    e = PRINT_OPTS.edgeitems
    cut = summarize and len(a) > 2 * e
    head, tail = a[:e], a[len(a) - e :]
    if a.ndim == 1:
        if summarize and not e:
            items = ["..."]
        elif cut:
            items = [fmt.format(v) for v in head.tolist()] + [" ..."] + [fmt.format(v) for v in tail.tolist()]
        else:
            items = [fmt.format(v) for v in a.tolist()]
        per_line = max(1, (PRINT_OPTS.linewidth - indent) // (fmt.width + 2))
        lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows = [_array_str(row, indent + 1, summarize, fmt) for row in (head if cut else a)]
    if cut:
        rows += ["..."] + [_array_str(row, indent + 1, summarize, fmt) for row in tail]
    # Sub-tensors of an n-d tensor are separated by n-1 newlines (blank lines between matrices).
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _add_suffixes(text: str, suffixes: List[str], indent: int) -> str:
    """Append ``, dtype=...`` etc., moving a suffix to its own line when it would pass ``linewidth``."""
    last_line_len = len(text) - text.rfind("\n") + 1  # PyTorch's count, off by two on one-liners
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            text += ",\n" + " " * indent + suffix
            last_line_len = indent + len(suffix)
        else:
            text += ", " + suffix
            last_line_len += len(suffix) + 2
    return text + ")"


def tensor_repr(t: Any) -> str:
    """``repr(t)``: the values, then whatever the reader could not guess (dtype, device, grad)."""
    a = np.asarray(t._backend.to_host(t._data))
    name = type(t).__name__
    prefix = "tensor(" if name in ("Tensor", "Parameter") else name + "("
    indent = len(prefix)
    suffixes = []
    if t.device.type != "cpu":
        suffixes.append(f"device='{t.device}'")
    if a.size == 0:  # no values to show the dtype, so print it unless it is the default
        body = "[]"
        if a.ndim != 1:
            suffixes.append(f"size={tuple(a.shape)}")
        if t.dtype is not dt.get_default_dtype():
            suffixes.append(f"dtype={t.dtype!r}")
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append(f"size={tuple(a.shape)}")
        if t.dtype not in (dt.get_default_dtype(), dt.int64, dt.bool):
            suffixes.append(f"dtype={t.dtype!r}")
        summarize = a.size > PRINT_OPTS.threshold
        fmt = _Formatter(_shown_values(a) if summarize else a)
        body = _array_str(a, indent, summarize, fmt)
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)
