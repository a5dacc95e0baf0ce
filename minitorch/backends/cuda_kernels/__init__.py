"""minitorch's own CUDA kernels: the sources in csrc/cuda, what they instantiate, and how to launch them.

A kernel family module (softmax, matmul, conv2d) calls :func:`register` at import time with the template
instantiations its ``.cu`` file provides, and describes each launch as a :class:`Launch`. :func:`run` compiles the
file through CuPy's RawModule (NVRTC, cached on disk) and launches on the current stream. In CI, where there is no
GPU, ``tests/cuda_emulation.py`` runs the very same :class:`Launch` on the CPU, and ``tests/test_cuda_sources.py``
checks every registered instantiation with nvcc.
"""

from __future__ import annotations

import functools
import hashlib
import pathlib
from dataclasses import dataclass
from typing import Any, Dict, Tuple

import numpy as np

CSRC: pathlib.Path = pathlib.Path(__file__).resolve().parents[3] / "csrc" / "cuda"

# numpy/cupy dtype name -> the C type a kernel template is instantiated with.
CTYPES: Dict[str, str] = {"float32": "float", "float64": "double", "float16": "__half", "bfloat16": "__nv_bfloat16"}

# source file -> {name expression: whether the CPU emulator can run it (tensor-core code cannot)}
KERNELS: Dict[str, Dict[str, bool]] = {}

# Above this, a kernel must opt in to more dynamic shared memory (cudaFuncAttributeMaxDynamicSharedMemorySize).
DEFAULT_SHARED_MEM_LIMIT = 48 * 1024


def register(source: str, *name_expressions: str, emulate: bool = True) -> None:
    """Declare template instantiations ``source`` provides, e.g. ``register("matmul.cu", "matmul_tiled<float, 32>")``.

    The same list feeds NVRTC's name_expressions, the nvcc check and the emulator; pass ``emulate=False`` for
    tensor-core code, which the emulator cannot run.
    """
    names = KERNELS.setdefault(source, {})
    for name in name_expressions:
        names[name] = emulate


@dataclass(frozen=True)
class Launch:
    """One kernel launch, described independently of where it runs (CuPy on a GPU, or the CPU emulator).

    ``args`` follow the kernel's parameter order: arrays (their data pointer is passed) and NumPy scalars whose type
    matches the C parameter (``np.int32`` for ``int``, ``np.int64`` for ``long long``, ``np.float32`` for ``float``).
    """

    source: str
    kernel: str
    grid: Tuple[int, int, int]
    block: Tuple[int, int, int]
    args: Tuple[Any, ...]
    shared_mem: int = 0


def array_module(array: Any) -> Any:
    """``numpy`` for a NumPy array (emulation), else ``cupy``: wrappers allocate their outputs with it."""
    if isinstance(array, np.ndarray):
        return np
    import cupy

    return cupy


def element_strides(array: Any) -> Tuple[int, ...]:
    """The strides of a NumPy or CuPy array in elements, as kernels index (the arrays keep them in bytes)."""
    return tuple(s // array.itemsize for s in array.strides)


def source_path(source: str) -> pathlib.Path:
    """The path of a kernel source, with an error that says what is wrong when the tree has no csrc/cuda."""
    if not CSRC.is_dir():
        raise FileNotFoundError(
            f"minitorch's CUDA sources are not at {CSRC}: the kernels are read from the source checkout, so install "
            "minitorch with `pip install -e .` from a clone that has csrc/"
        )
    return CSRC / source


def sources_digest() -> str:
    """A hash of every file under csrc/cuda: CuPy's disk cache is keyed on the code text only, so the digest goes into
    that text to make an edit to an included header recompile the kernels that include it."""
    digest = hashlib.sha256()
    for path in sorted(source_path("").rglob("*")):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@functools.cache
def _module(source: str, names: Tuple[str, ...]) -> Any:
    import cupy

    code = f"// minitorch csrc digest {sources_digest()}\n" + source_path(source).read_text()
    return cupy.RawModule(code=code, options=("-std=c++17", f"-I{CSRC}"), name_expressions=names)


@functools.cache
def _function(source: str, kernel: str) -> Any:
    """The compiled kernel, looked up once: a launch then costs CuPy's argument packing and the driver call alone."""
    names = KERNELS.get(source, {})
    if kernel not in names:
        raise KeyError(f"{kernel!r} is not registered for {source}; call register() for it first")
    return _module(source, tuple(names)).get_function(kernel)


def run(launch: Launch) -> None:
    """Compile ``launch.source`` (once, with all its registered names) and launch the kernel on the current stream."""
    kernel = _function(launch.source, launch.kernel)
    if launch.shared_mem > DEFAULT_SHARED_MEM_LIMIT:
        kernel.max_dynamic_shared_size_bytes = launch.shared_mem
    kernel(launch.grid, launch.block, launch.args, shared_mem=launch.shared_mem)


def compile_all() -> Dict[str, str]:
    """Compile every registered instantiation through NVRTC now (filling CuPy's disk cache), and return
    ``{source: error message}`` for the sources that failed: ``python -m minitorch.backends.cuda_kernels`` prints it.
    """
    from . import conv2d, matmul, softmax  # noqa: F401  (importing a family registers its kernels)

    errors = {}
    for source, names in KERNELS.items():
        try:
            for name in names:
                _function(source, name)
        except Exception as err:  # NVRTC's CompileException, or a driver error at load
            errors[source] = f"{type(err).__name__}: {err}"
    return errors
