"""Builds the optional C++ extension minitorch._C from csrc/cpu/*.cpp (everything else is in pyproject.toml).

The extension is optional: without a C++ compiler or pybind11 the install
still succeeds, with a warning, and minitorch runs its NumPy kernels.
"""

import glob
import os
import sys
import tempfile

from setuptools import setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """build_ext that adds OpenMP when the compiler has it and turns a failed build into a warning."""

    def build_extensions(self) -> None:
        for ext in self.extensions:
            ext.extra_compile_args.append("-O3")
            if self._compiles_with("-fopenmp"):
                ext.extra_compile_args.append("-fopenmp")
                ext.extra_link_args.append("-fopenmp")
        super().build_extensions()

    def _compiles_with(self, flag: str) -> bool:
        """Whether the compiler accepts ``flag`` for a small OpenMP program (Apple's clang does not)."""
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "probe.cpp")
            with open(src, "w") as f:
                f.write("#include <omp.h>\nint main() { return omp_get_max_threads() > 0 ? 0 : 1; }\n")
            try:
                self.compiler.compile([src], output_dir=tmp, extra_postargs=[flag])
            except Exception:
                return False
        return True

    def run(self) -> None:
        self.failed = False
        try:
            super().run()
        except Exception as err:  # no compiler, no pybind11 headers, a compile error: fall back to NumPy
            if not self.failed:  # an in-place build then fails to copy the missing file; say it once
                self._warn(err)

    def build_extension(self, ext) -> None:
        try:
            super().build_extension(ext)
        except Exception as err:
            self.failed = True
            self._warn(err)

    @staticmethod
    def _warn(err: Exception) -> None:
        print(
            f"WARNING: the C++ extension minitorch._C was not built ({err}); minitorch will use its NumPy kernels. "
            "Install a C++ compiler and run `pip install -e .` again to build it.",
            file=sys.stderr,
        )


def extensions() -> list:
    try:
        from pybind11.setup_helpers import ParallelCompile, Pybind11Extension
    except ImportError:
        print("WARNING: pybind11 is missing, so minitorch._C is not built; NumPy kernels are used.", file=sys.stderr)
        return []
    ParallelCompile("NPY_NUM_BUILD_JOBS").install()
    sources = sorted(glob.glob(os.path.join("csrc", "cpu", "*.cpp")))
    return [Pybind11Extension("minitorch._C", sources, include_dirs=[os.path.join("csrc", "cpu")], cxx_std=17)]


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
