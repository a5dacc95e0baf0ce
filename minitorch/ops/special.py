"""Special functions: the error function erf, differentiable.

Its values come from the backend (``erf_array``, W. J. Cody's rational
approximations on arrays, in backends/erf.py; C++ on the CPU), its derivative
is 2/sqrt(pi) * exp(-x²).
"""

from __future__ import annotations

from typing import Any

from ..autograd.function import Function
from ..backends.erf import INV_SQRT_PI
from ..tensor import Tensor
from . import pointwise as pw

__all__ = ["erf"]


class Erf(Function):
    """The error function erf(x) = 2/sqrt(pi) * integral_0^x exp(-t²) dt."""

    grad_fn_name = "ErfBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return x._new(x._backend.erf(x._data))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return g * (2 * INV_SQRT_PI) * pw.exp(-x * x)


def erf(input: Tensor) -> Tensor:
    """The error function, elementwise (integer input gives the default float dtype)."""
    if not input.dtype.is_floating_point:
        from .. import dtypes as dt

        input = input.to(dt.get_default_dtype())
    return Erf.apply(input)


def _install() -> None:
    Tensor.erf = erf


_install()
