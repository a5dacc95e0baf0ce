"""What the tests of the C++ kernels (``minitorch._C``) share: the module where it was built, a mark that
skips without it, and the NumPy path they are compared with. The ``cpp`` fixture (conftest.py) switches the
kernels on for a test module, so these tests run under MINITORCH_CPP=0 as well."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from minitorch.backends.base import Backend
from minitorch.device import CPU

try:
    _C = importlib.import_module("minitorch._C")
except ImportError:
    _C = None

requires_extension = pytest.mark.skipif(_C is None, reason="minitorch._C is not built (pip install -e .)")
NUMPY = Backend(np, CPU)  # the reference: the base class is the NumPy path
