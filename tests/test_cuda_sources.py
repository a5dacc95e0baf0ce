"""Every CUDA source compiles cleanly for the GPUs we target, with nothing NVRTC lacks.

There is no GPU in CI, so this is the GPU side's first line of defence: for each file in
``minitorch.backends.cuda_kernels.KERNELS`` a translation unit includes the ``.cu`` and takes the address of every
registered name expression (which instantiates the template, as NVRTC's name_expressions do), and nvcc compiles it to
PTX for sm_80 (A100) and sm_90 (H100) with warnings as errors. Without nvcc the test skips, unless
MINITORCH_REQUIRE_NVCC=1 (as in CI) makes that a failure.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Dict, List, Tuple

import pytest

import minitorch.backends.cuda_kernels.conv2d  # noqa: F401  (importing a family registers its kernels)
import minitorch.backends.cuda_kernels.matmul  # noqa: F401
import minitorch.backends.cuda_kernels.softmax  # noqa: F401
from minitorch.backends.cuda_kernels import CSRC, KERNELS

ARCHS = ("sm_80", "sm_90")
NVCC = shutil.which("nvcc") or next(
    (p for p in ("/usr/local/bin/nvcc", "/usr/local/cuda/bin/nvcc") if os.path.exists(p)), None
)
# The headers NVRTC ships; anything else (<cmath>, <cstdint>, <algorithm> ...) exists only for nvcc's host compiler.
NVRTC_HEADERS = {"cuda_fp16.h", "cuda_bf16.h"}
# Macros of the C headers NVRTC lacks (nvcc would accept them, NVRTC fails): use mt::infinity<T>() and friends.
HOST_MACROS = ("INFINITY", "NAN", "HUGE_VAL", "FLT_MAX", "FLT_MIN", "DBL_MAX", "DBL_MIN", "M_PI", "assert")


@pytest.fixture(scope="module")
def nvcc() -> str:
    if NVCC is None:
        reason = "nvcc is not installed: the CUDA sources cannot be compiled here"
        if os.environ.get("MINITORCH_REQUIRE_NVCC") == "1":
            pytest.fail(reason + " (MINITORCH_REQUIRE_NVCC=1 requires it)")
        pytest.skip(reason)
    return NVCC


def test_each_kernel_family_registers_its_sources() -> None:
    assert {"softmax.cu", "matmul.cu", "conv2d.cu"} <= set(KERNELS)
    for source, names in KERNELS.items():
        assert (CSRC / source).is_file(), f"{source} is registered but {CSRC / source} does not exist"
        assert names, f"{source} registers no kernels"


def instantiation_unit(source: str) -> str:
    """A translation unit that makes nvcc emit every registered instantiation of ``source``."""
    addresses = ",\n".join(f"    reinterpret_cast<const void*>(&{name})" for name in KERNELS[source])
    return f'#include "{source}"\n\nconst void* mt_registered_kernels[] = {{\n{addresses}\n}};\n'


@pytest.fixture(scope="module")
def compilations(nvcc: str, tmp_path_factory: pytest.TempPathFactory) -> Dict[Tuple[str, str], Future]:
    """Start every (source, arch) compilation at once, one per core: each takes seconds, mostly in one process."""
    folder = tmp_path_factory.mktemp("nvcc")
    pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2)
    jobs = {}
    for source in sorted(KERNELS):
        unit = folder / f"check_{pathlib.Path(source).stem}.cu"
        unit.write_text(instantiation_unit(source))
        for arch in ARCHS:
            ptx = folder / f"{unit.stem}_{arch}.ptx"
            command = [nvcc, "-std=c++17", f"-arch={arch}", "-ptx", "-Werror", "all-warnings", f"-I{CSRC}", str(unit)]
            jobs[source, arch] = pool.submit(_compile, command, ptx)
    pool.shutdown(wait=False)
    return jobs


def _compile(command: List[str], ptx: pathlib.Path) -> Tuple[str, int, str, str]:
    result = subprocess.run([*command, "-o", str(ptx)], capture_output=True, text=True)
    return " ".join(command), result.returncode, result.stderr, ptx.read_text() if ptx.exists() else ""


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("source", sorted(KERNELS))
def test_source_compiles_with_nvcc_without_warnings(compilations, source: str, arch: str) -> None:
    command, returncode, stderr, ptx = compilations[source, arch].result()
    assert returncode == 0 and stderr == "", f"{command}\n{stderr}"
    entries = re.findall(r"^\.visible \.entry (\S+)\(", ptx, flags=re.M)
    assert len(set(entries)) == len(KERNELS[source]), f"{source}: PTX has kernels {entries}"


def conditional_includes(path: pathlib.Path):
    """(line number, < or ", header) of each #include outside `#ifdef MT_EMULATION` branches, which only g++ sees."""
    emulation_depth = []  # per open #if: whether its current branch is the emulation-only one
    for number, line in enumerate(path.read_text().splitlines(), 1):
        directive = line.strip()
        if re.match(r"#\s*elif", directive) and emulation_depth:
            emulation_depth[-1] = False
        elif re.match(r"#\s*if", directive):
            emulation_depth.append(bool(re.match(r"#\s*ifdef\s+MT_EMULATION\b", directive)))
        elif re.match(r"#\s*else", directive) and emulation_depth:
            emulation_depth[-1] = False
        elif re.match(r"#\s*endif", directive) and emulation_depth:
            emulation_depth.pop()
        elif not any(emulation_depth):
            match = re.match(r'#\s*include\s*([<"])([^>"]+)[>"]', directive)
            if match:
                yield number, match.group(1), match.group(2)


@pytest.mark.parametrize("path", sorted(CSRC.glob("*.cu*")), ids=lambda p: p.name)
def test_source_includes_only_what_nvrtc_has(path: pathlib.Path) -> None:
    """NVRTC compiles from text with -I csrc/cuda: only its own fp16/bf16 headers and our files can be included."""
    for number, kind, header in conditional_includes(path):
        where = f"{path.name}:{number} includes {header}"
        if kind == "<":
            assert header in NVRTC_HEADERS, f"{where}, a host header NVRTC does not have"
        else:
            assert (CSRC / header).is_file(), f"{where}, which is not a file in {CSRC}"
    code = re.sub(r"//[^\n]*", "", path.read_text())  # comments may mention what the code must not use
    assert "std::" not in code, f"{path.name} uses the C++ standard library, which NVRTC does not provide"
    for macro in HOST_MACROS:
        assert not re.search(rf"\b{macro}\b", code), f"{path.name} uses {macro}, which NVRTC does not define"
