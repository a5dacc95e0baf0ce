"""Build script. Metadata lives in pyproject.toml; this file is where the C++
extension (csrc/cpu, through pybind11) will be declared when it lands."""

from setuptools import setup

setup()
