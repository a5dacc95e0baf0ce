"""The CPU backend: NumPy arrays in host memory.

NumPy gets the memory of every result from the C library's ``malloc``.
glibc hands out big blocks (from 128 KB, a threshold it raises as it goes)
as fresh pages straight from the operating system and gives them back on
``free``, so each large temporary of a training step pays for page faults
again: LeNet-5's step spends about a quarter of its time there. At import we
therefore ask glibc to keep freed blocks of up to 32 MB for reuse, which is
what a framework's caching allocator does (PyTorch keeps one for the GPU).
The process may then hold on to memory it has freed. Set the environment
variable ``MINITORCH_MALLOC_TUNING=0`` to leave malloc's settings alone.
"""

import ctypes
import os
import platform

import numpy as np

from ..device import CPU
from .base import Backend

CPU_BACKEND = Backend(np, CPU)

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameter numbers in glibc's malloc.h
_KEEP_BLOCKS_UP_TO = 32 * 1024 * 1024  # glibc's largest allowed mmap threshold on 64-bit systems
_KEEP_FREE_AT_TOP = 256 * 1024 * 1024  # freed memory kept before it is returned to the system


def _tune_malloc() -> bool:
    """Raise glibc's mmap and trim thresholds; returns whether it was done."""
    if os.environ.get("MINITORCH_MALLOC_TUNING", "1") == "0" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(
        libc.mallopt(_M_MMAP_THRESHOLD, _KEEP_BLOCKS_UP_TO) and libc.mallopt(_M_TRIM_THRESHOLD, _KEEP_FREE_AT_TOP)
    )


MALLOC_TUNED = _tune_malloc()
