"""Data types and PyTorch's type-promotion rules.

A ``dtype`` names how each element is stored. Each one wraps the NumPy
dtype that backs it (CuPy uses the same dtype objects). Promotion follows
PyTorch, not NumPy: a Python scalar or a 0-d tensor only changes the result
dtype when it belongs to a higher *category* (bool < integer < floating),
so ``int_tensor + 2.5`` is float32 (the default dtype) and
``float16_tensor * 3.0`` stays float16.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

# Python's own types, kept before this module defines dtypes named float/int/bool.
_py_float, _py_int, _py_bool = float, int, bool


class dtype:
    """One element type, e.g. ``minitorch.float32``."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_category")

    def __init__(self, name: str, np_dtype: Any, category: int) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.is_floating_point = category == 2
        self.is_signed = self.np.kind in "if"
        self._category = category  # 0 bool, 1 integer, 2 floating

    @property
    def is_complex(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"minitorch.{self.name}"

    def __reduce__(self) -> str:
        return self.name


BOOL, INTEGER, FLOATING = 0, 1, 2

bool = dtype("bool", np.bool_, BOOL)  # noqa: A001 - mirrors torch.bool
uint8 = dtype("uint8", np.uint8, INTEGER)
int8 = dtype("int8", np.int8, INTEGER)
int16 = dtype("int16", np.int16, INTEGER)
int32 = dtype("int32", np.int32, INTEGER)
int64 = dtype("int64", np.int64, INTEGER)
float16 = dtype("float16", np.float16, FLOATING)
float32 = dtype("float32", np.float32, FLOATING)
float64 = dtype("float64", np.float64, FLOATING)

# PyTorch's aliases.
half, float, double = float16, float32, float64  # noqa: A001
short, int, long = int16, int32, int64  # noqa: A001

ALL = (bool, uint8, int8, int16, int32, int64, float16, float32, float64)
_FROM_NUMPY = {d.np: d for d in ALL}

_default_dtype = float32


def get_default_dtype() -> dtype:
    """The floating dtype used for Python floats and for ``randn`` etc."""
    return _default_dtype


def set_default_dtype(d: dtype) -> None:
    """Change the default floating dtype (float32, float64 or float16)."""
    global _default_dtype
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_dtype = d


def from_numpy_dtype(np_dtype: Any) -> dtype:
    """The minitorch dtype backed by a NumPy dtype, or TypeError."""
    try:
        return _FROM_NUMPY[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        raise TypeError(
            f"can't convert np.ndarray of type {np.dtype(np_dtype)}. The only supported types are: "
            "float64, float32, float16, int64, int32, int16, int8, uint8, and bool."
        ) from None


def to_dtype(d: Any) -> dtype:
    """Accept a minitorch dtype, a NumPy dtype or a Python type (float, int, bool)."""
    if isinstance(d, dtype):
        return d
    if d is _py_float:  # PyTorch maps Python's float to float64, whatever the default
        return float64
    if d is _py_int:
        return int64
    if d is _py_bool:
        return bool
    return from_numpy_dtype(d)


def _promote_two(a: dtype, b: dtype) -> dtype:
    """Promotion of two dtypes of the same standing.

    An integer or bool meeting a float gives the float, as in PyTorch (NumPy
    would widen: int64 + float32 -> float64); otherwise NumPy's table agrees.
    """
    if a is b:
        return a
    if a.is_floating_point != b.is_floating_point:
        return a if a.is_floating_point else b
    return _FROM_NUMPY[np.promote_types(a.np, b.np)]


def scalar_dtype(value: Any) -> dtype:
    """The dtype a Python scalar would get as a tensor."""
    if isinstance(value, _py_bool):
        return bool
    if isinstance(value, _py_int):
        return int64
    return _default_dtype


def result_type(tensors: Iterable[Any], scalars: Iterable[Any] = ()) -> dtype:
    """PyTorch's result dtype for an op over ``tensors`` and Python ``scalars``.

    Three tiers, highest first: tensors with one or more dims, 0-d tensors,
    Python scalars. A lower tier only counts when its category (bool <
    integer < floating) is higher than everything above it.
    """
    dims_dtype = zero_dim_dtype = None
    for t in tensors:
        if t.ndim:
            dims_dtype = t.dtype if dims_dtype is None else _promote_two(dims_dtype, t.dtype)
        else:
            zero_dim_dtype = t.dtype if zero_dim_dtype is None else _promote_two(zero_dim_dtype, t.dtype)
    scalar_cat = -1
    for s in scalars:
        scalar_cat = max(scalar_cat, scalar_dtype(s)._category)
    result = dims_dtype
    if zero_dim_dtype is not None and (result is None or zero_dim_dtype._category > result._category):
        result = zero_dim_dtype
    if scalar_cat >= 0:
        if result is None:
            result = (bool, int64, _default_dtype)[scalar_cat]
        elif scalar_cat > result._category:
            result = int64 if scalar_cat == INTEGER else _default_dtype
    return result
