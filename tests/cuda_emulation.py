"""Run minitorch's CUDA kernels on the CPU, so CI can check them without a GPU.

``emulate(launch)`` is a drop-in for ``minitorch.backends.cuda_kernels.run``: kernel wrappers called with NumPy arrays
and ``launcher=emulate`` execute the very kernel source the GPU would. Each ``.cu`` file is built once (cached in a
temp directory keyed by a hash of the sources) into a shared library with g++ and csrc/emu/cuda_emulation.h. The
library exposes every registered instantiation through an ``extern "C"`` entry taking (grid, block, shared_mem,
void** args), the cuLaunchKernel convention, plus the C types of its parameters, which ``emulate`` checks the
arguments against (a Python int where the kernel takes ``int`` is caught here, not as garbage on the GPU).

Arrays are copied into buffers with a guard region of 0xff bytes (NaN in every float type) on each side: reading out
of bounds yields NaN in the result, and writing out of bounds raises an error.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import pathlib
import shutil
import subprocess
import tempfile
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

from minitorch.backends.cuda_kernels import CSRC, KERNELS, Launch

EMU_DIR = CSRC.parent / "emu"
CXX = os.environ.get("CXX", "g++")
CXXFLAGS = ("-std=c++20", "-O1", "-pthread", "-shared", "-fPIC", "-fno-strict-aliasing", "-DMT_EMULATION")
GUARD = 4096  # bytes of 0xff around every array
ALIGN = 256  # CuPy allocations are 256-byte aligned; arrays keep their address modulo this in the guarded copy
MAX_THREADS = 1024
MAX_BLOCK = (1024, 1024, 64)
MAX_GRID = (2**31 - 1, 65535, 65535)
MAX_SHARED_MEM = 227 * 1024  # per block, on an H100 (an A100 allows 163 KB)


def _type_code(dtype: np.dtype) -> str:
    """The emulator's code for a C type (see mt_emu::type_code): f4 float, i4 int, f2 __half, b2 __nv_bfloat16 ..."""
    if dtype.name == "bfloat16":
        return "b2"
    if dtype.kind == "b":
        return "u1"
    return f"{dtype.kind}{dtype.itemsize}"


class EmulatedModule:
    """The kernels ``names`` of one source file, compiled for the CPU (the emulator's RawModule)."""

    def __init__(self, path: pathlib.Path, names: Sequence[str]) -> None:
        self.path = path.resolve()
        self.names = list(names)
        self._lib = ctypes.CDLL(str(self._build()))
        self._entries: Dict[str, Tuple[Any, List[str]]] = {}
        for i, name in enumerate(self.names):
            entry = getattr(self._lib, f"mt_emu_launch_{i}")
            entry.restype = ctypes.c_char_p
            entry.argtypes = [
                ctypes.POINTER(ctypes.c_uint),
                ctypes.POINTER(ctypes.c_uint),
                ctypes.c_size_t,
                ctypes.POINTER(ctypes.c_void_p),
            ]
            signature = getattr(self._lib, f"mt_emu_signature_{i}")
            signature.restype = ctypes.c_char_p
            self._entries[name] = (entry, [code for code in signature().decode().split(",") if code])

    def _translation_unit(self) -> str:
        lines = [f'#include "{self.path}"']
        for i, name in enumerate(self.names):
            lines += [
                f'extern "C" const char* mt_emu_launch_{i}(const unsigned* grid, const unsigned* block, '
                "unsigned long shared_mem, void** args) {",
                f"    return ::mt_emu::launch(&{name}, grid, block, shared_mem, args);",
                "}",
                f'extern "C" const char* mt_emu_signature_{i}() {{ return ::mt_emu::signature(&{name}); }}',
            ]
        return "\n".join(lines) + "\n"

    def _build(self) -> pathlib.Path:
        if shutil.which(CXX) is None:
            raise RuntimeError(f"the CUDA emulator needs a C++20 compiler: {CXX} was not found (set CXX)")
        code = self._translation_unit()
        digest = hashlib.sha256(code.encode() + " ".join(CXXFLAGS).encode())
        for folder in (CSRC, EMU_DIR, self.path.parent):
            for file in sorted(folder.rglob("*")):
                if file.is_file():
                    digest.update(str(file).encode() + file.read_bytes())
        cache = pathlib.Path(tempfile.gettempdir()) / "minitorch-cuda-emulation"
        cache.mkdir(exist_ok=True)
        library = cache / f"{self.path.stem}-{digest.hexdigest()[:16]}.so"
        if library.exists():
            return library
        with tempfile.TemporaryDirectory(dir=cache) as work:
            unit = pathlib.Path(work) / f"{self.path.stem}.cpp"
            unit.write_text(code)
            built = pathlib.Path(work) / library.name
            result = subprocess.run(
                [CXX, *CXXFLAGS, f"-I{CSRC}", str(unit), "-o", str(built)], capture_output=True, text=True
            )
            if result.returncode != 0:
                raise RuntimeError(f"building the emulation of {self.path.name} failed:\n{result.stderr}")
            os.replace(built, library)  # atomic: a parallel test process sees the whole file or none
        return library

    def launch(
        self, kernel: str, grid: Sequence[int], block: Sequence[int], args: Sequence[Any], shared_mem: int = 0
    ) -> None:
        """Run ``kernel`` over ``grid`` with CUDA's launch limits and argument types checked."""
        if kernel not in self._entries:
            raise KeyError(f"{kernel!r} is not an emulated kernel of {self.path.name}; registered: {self.names}")
        entry, params = self._entries[kernel]
        _check_config(kernel, tuple(grid), tuple(block), shared_mem)
        if len(args) != len(params):
            raise TypeError(f"{kernel} takes {len(params)} arguments ({', '.join(params)}), got {len(args)}")
        buffers = _GuardedBuffers([a for a in args if isinstance(a, np.ndarray)])
        keep: List[Any] = []  # every ctypes value must outlive the call
        pointers = []
        for i, (arg, param) in enumerate(zip(args, params)):
            if isinstance(arg, np.ndarray):
                code, value = "*" + _type_code(arg.dtype), ctypes.c_void_p(buffers.address(arg))
            else:
                # What CuPy does with Python numbers: int -> long long, float -> double.
                scalar = np.asarray(
                    np.int64(arg) if type(arg) is int else np.float64(arg) if type(arg) is float else arg
                )
                if scalar.ndim != 0:
                    raise TypeError(f"{kernel} argument {i}: pass an array or a NumPy scalar, not {type(arg).__name__}")
                code, value = _type_code(scalar.dtype), scalar
            if code != param:
                raise TypeError(
                    f"{kernel} argument {i} has C type code {code} but the parameter is {param} "
                    "(f4 float, f8 double, i4 int, i8 long long, * a pointer): pass e.g. np.int32(n) for an int"
                )
            keep.append(value)
            pointers.append(ctypes.addressof(value) if isinstance(value, ctypes.c_void_p) else value.ctypes.data)
        error = entry(
            (ctypes.c_uint * 3)(*grid),
            (ctypes.c_uint * 3)(*block),
            shared_mem,
            (ctypes.c_void_p * max(len(pointers), 1))(*pointers),
        )
        if error:
            raise RuntimeError(f"{kernel}: {error.decode()}")
        buffers.copy_back(kernel)


def _check_config(kernel: str, grid: Tuple[int, ...], block: Tuple[int, ...], shared_mem: int) -> None:
    if len(grid) != 3 or len(block) != 3 or min(grid + block) < 1:
        raise ValueError(f"{kernel}: grid {grid} and block {block} must be three positive sizes")
    if any(b > m for b, m in zip(block, MAX_BLOCK)) or block[0] * block[1] * block[2] > MAX_THREADS:
        raise ValueError(f"{kernel}: block {block} exceeds CUDA's limits ({MAX_THREADS} threads, {MAX_BLOCK})")
    if any(g > m for g, m in zip(grid, MAX_GRID)):
        raise ValueError(f"{kernel}: grid {grid} exceeds CUDA's limits {MAX_GRID}")
    if not 0 <= shared_mem <= MAX_SHARED_MEM:
        raise ValueError(f"{kernel}: {shared_mem} bytes of dynamic shared memory (at most {MAX_SHARED_MEM})")


class _GuardedBuffers:
    """Copies of the memory the argument arrays span, each between two guard regions of 0xff bytes.

    Arrays whose spans overlap (a view and its base, an in-place output) share one copy, as they share memory.
    """

    def __init__(self, arrays: Sequence[np.ndarray]) -> None:
        spans = sorted((self._span(a) for a in arrays), key=lambda s: s[0])
        merged: List[List[int]] = []
        for lo, hi in spans:
            if merged and lo < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        self.regions = []  # (original address, size, guarded copy, offset of the data in the copy)
        for lo, hi in merged:
            copy = np.full(2 * GUARD + 2 * ALIGN + (hi - lo), 0xFF, dtype=np.uint8)
            start = GUARD + (-copy.ctypes.data) % ALIGN + lo % ALIGN
            ctypes.memmove(copy.ctypes.data + start, lo, hi - lo)
            self.regions.append((lo, hi - lo, copy, start))
        self.arrays = list(arrays)

    @staticmethod
    def _span(a: np.ndarray) -> Tuple[int, int]:
        """The [first, last + 1) byte addresses a strided array can touch."""
        lo = hi = a.ctypes.data
        if a.size == 0:
            return lo, hi
        for n, stride in zip(a.shape, a.strides):
            (lo, hi) = (lo + (n - 1) * stride, hi) if stride < 0 else (lo, hi + (n - 1) * stride)
        return lo, hi + a.itemsize

    def address(self, a: np.ndarray) -> int:
        """Where ``a``'s data pointer lands in the guarded copy."""
        address = a.ctypes.data
        for lo, size, copy, start in self.regions:
            if lo <= address <= lo + size:
                return copy.ctypes.data + start + (address - lo)
        raise AssertionError("array outside every region")

    def copy_back(self, kernel: str) -> None:
        """Check the guards, then write what the kernel changed back into the arrays."""
        for lo, size, copy, start in self.regions:
            before, after = copy[:start], copy[start + size :]
            if (before != 0xFF).any() or (after != 0xFF).any():
                raise RuntimeError(
                    f"{kernel} wrote out of bounds: {int((before != 0xFF).sum())} bytes before and "
                    f"{int((after != 0xFF).sum())} bytes after an argument array's memory"
                )
            original = (ctypes.c_uint8 * size).from_address(lo)
            data = copy[start : start + size]
            if size and (np.frombuffer(original, dtype=np.uint8) != data).any():
                written = [a for a in self.arrays if lo <= a.ctypes.data <= lo + size]
                if not all(a.flags.writeable for a in written):
                    raise RuntimeError(f"{kernel} wrote into a read-only argument array")
                ctypes.memmove(lo, data.ctypes.data, size)


_modules: Dict[Tuple[str, Tuple[str, ...]], EmulatedModule] = {}


def module(source: str) -> EmulatedModule:
    """The emulated module of a registered source (built on first use, then cached for the session)."""
    names = tuple(name for name, emulatable in KERNELS.get(source, {}).items() if emulatable)
    key = (source, names)
    if key not in _modules:
        _modules[key] = EmulatedModule(CSRC / source, names)
    return _modules[key]


def emulate(launch: Launch) -> None:
    """Run ``launch`` on the CPU; a drop-in for ``minitorch.backends.cuda_kernels.run``."""
    module(launch.source).launch(launch.kernel, launch.grid, launch.block, launch.args, launch.shared_mem)


class Recorder:
    """A launcher that records each Launch and, unless told not to, runs it on the emulator."""

    def __init__(self, execute=True):
        self.launches = []
        self.execute = execute

    def __call__(self, launch):
        self.launches.append(launch)
        if self.execute:
            emulate(launch)

    @property
    def kernels(self):
        return [launch.kernel for launch in self.launches]


def assert_within_rounding(actual, exact, magnitude, terms):
    """|actual - exact| <= 2 gamma_terms * magnitude, where gamma_n = n u / (1 - n u) with u the unit roundoff of
    actual's dtype: the forward error bound of a sum of `terms` products in any order (Higham, "Accuracy and Stability
    of Numerical Algorithms", section 3.1), twice over to cover the reference's own rounding. ``magnitude`` is the same
    sum taken over absolute values; ``exact`` is computed in float64."""
    assert actual.shape == exact.shape
    u = np.finfo(actual.dtype).eps / 2
    bound = 2 * terms * u / (1 - terms * u) * magnitude
    error = np.abs(actual.astype(np.float64) - exact)
    bad = ~(error <= bound)  # NaN (a read outside the matrix) counts as bad
    assert not bad.any(), f"{int(bad.sum())} of {actual.size} elements off, first at {np.argwhere(bad)[0]}"
