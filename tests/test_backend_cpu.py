"""The CPU backend's malloc tuning: on by default on glibc, off with MINITORCH_MALLOC_TUNING=0."""

import platform
import subprocess
import sys

import pytest

import minitorch.backends.cpu as cpu


def tuned_in_fresh_process(env_value):
    env = {"MINITORCH_MALLOC_TUNING": env_value} if env_value is not None else {}
    code = "import minitorch.backends.cpu as c; print(c.MALLOC_TUNED)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**env, "PATH": ""}, check=True
    )
    return out.stdout.strip() == "True"


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the tuning applies to glibc's malloc only")
def test_malloc_tuning_is_on_by_default_and_can_be_switched_off():
    assert cpu.MALLOC_TUNED
    assert tuned_in_fresh_process(None)
    assert not tuned_in_fresh_process("0")
