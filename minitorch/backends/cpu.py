"""The CPU backend: NumPy arrays in host memory."""

import numpy as np

from ..device import CPU
from .base import Backend

CPU_BACKEND = Backend(np, CPU)
