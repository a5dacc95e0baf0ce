"""What the tests of the C++ kernels (``minitorch._C``) share: the module where it was built, a mark that
skips without it, the NumPy path they are compared with, a spy on the calls that reach the module,
non-contiguous layouts of test arrays, and a run on one thread and on two. The ``cpp`` fixture (conftest.py) switches the
kernels on for a test module, so these tests run under MINITORCH_CPP=0 as well."""

from __future__ import annotations

import importlib
from typing import Any, Callable, List

import numpy as np
import pytest

from minitorch.backends import cpu
from minitorch.backends.base import Backend
from minitorch.device import CPU

from helpers import TOLERANCES

try:
    _C = importlib.import_module("minitorch._C")
except ImportError:
    _C = None

requires_extension = pytest.mark.skipif(_C is None, reason="minitorch._C is not built (pip install -e .)")
NUMPY = Backend(np, CPU)  # the reference: the base class is the NumPy path


class Spy:
    """Stands in for minitorch._C (``monkeypatch.setattr(cpu, "_C", Spy())``) and records which of its functions
    were called."""

    def __init__(self) -> None:
        self.called = []

    def __getattr__(self, name):
        self.called.append(name)
        return getattr(_C, name)


def on_one_and_two_threads(compute: Callable[[], Any]) -> List[Any]:
    """``compute()`` with the C++ kernels on one thread, then on two; the thread count is restored after."""
    before = cpu.get_num_threads()
    try:
        results = []
        for n in (1, 2):
            cpu.set_num_threads(n)
            results.append(compute())
        return results
    finally:
        cpu.set_num_threads(before)


LAYOUTS = ("contiguous", "transposed", "sliced", "reversed", "expanded")


def layout(a: np.ndarray, kind: str, dim: int) -> np.ndarray:
    """``a``'s values in another memory order, as a view NumPy will not copy; ``dim`` is the dim that is stepped,
    reversed or broadcast. "expanded" broadcasts the first slice along ``dim`` (stride 0), so its values change."""
    if kind == "transposed":  # memory holds the dims in reverse order
        return np.ascontiguousarray(a.transpose()).transpose()
    if kind == "sliced":  # every other element of a bigger buffer along `dim`
        big = np.zeros(a.shape[:dim] + (2 * a.shape[dim],) + a.shape[dim + 1 :], a.dtype)
        big[(slice(None),) * dim + (slice(None, None, 2),)] = a
        return big[(slice(None),) * dim + (slice(None, None, 2),)]
    if kind == "reversed":  # a negative stride along `dim`
        return np.flip(np.flip(a, dim).copy(), dim)
    if kind == "expanded":
        return np.broadcast_to(a[(slice(None),) * dim + (slice(0, 1),)], a.shape)
    return a


def close_to_reference(actual: np.ndarray, expected: np.ndarray, dtype, grad: bool = False) -> None:
    """A kernel's result within the guide's tolerances for ``dtype`` (a gradient's when ``grad``) of the NumPy
    path's, computed in float64 (nan where it is nan), as a new contiguous array of ``dtype``."""
    (fa, fr), (ga, gr) = TOLERANCES[str(dtype)]
    assert actual.dtype == dtype and actual.shape == expected.shape and actual.flags.c_contiguous
    np.testing.assert_allclose(actual, expected, atol=ga if grad else fa, rtol=gr if grad else fr)
