import importlib.abc
import os
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import minitorch

if os.environ.get("MINITORCH_TEST_WITHOUT_TORCH"):
    # Check that the suite runs where PyTorch is not installed: importing it now fails.
    # (A finder, not sys.modules["torch"] = None: SciPy looks that entry up and trips over None.)

    class _NoTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    sys.modules.pop("torch", None)
    sys.meta_path.insert(0, _NoTorch())

settings.register_profile(
    "ci", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile("dev", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: needs a CUDA GPU and CuPy; skipped without one")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    # MINITORCH_TEST_DEVICE=cuda moves the minitorch side of every check()/check_module() comparison to the GPU.
    from helpers import HOST_CUDA, TEST_DEVICE  # imported here, after the no-torch finder above is in place

    if TEST_DEVICE != "cpu" and HOST_CUDA:
        _install_host_memory_cuda()
    elif TEST_DEVICE != "cpu" and not minitorch.cuda.is_available():
        raise pytest.UsageError(f"MINITORCH_TEST_DEVICE={TEST_DEVICE}: {minitorch.backends.cuda.unavailable_reason()}")


def _install_host_memory_cuda():
    """MINITORCH_TEST_HOST_CUDA=1: a stand-in 'cuda' device whose arrays are NumPy arrays in host memory.

    With MINITORCH_TEST_DEVICE=cuda this runs the suite's comparisons with minitorch's side on a second device on a
    machine without a GPU: every tensor a test or the library makes on the CPU by mistake then meets a 'cuda' tensor
    and raises the mixed-device error, as it would on a GPU. (The kernels and CuPy are not exercised: that needs the
    real device; see tests/test_cuda.py.)
    """
    from minitorch import backends

    from helpers import HostMemoryCuda

    backend = HostMemoryCuda(np, minitorch.device("cuda", 0))
    backends._cache[minitorch.device("cuda")] = backends._cache[minitorch.device("cuda", 0)] = backend


def pytest_collection_modifyitems(config, items):
    if minitorch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="CUDA is not available (needs CuPy and an NVIDIA GPU)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _seed_and_restore_defaults():
    """Each test starts from the same seed and the default dtype float32."""
    minitorch.manual_seed(0)
    np.random.seed(0)
    yield
    minitorch.set_default_dtype(minitorch.float32)


@pytest.fixture(scope="module")
def cpp():
    """CpuBackend with the C++ kernels switched on for a test module whatever MINITORCH_CPP says; skips where
    minitorch._C was not built. The module's check() comparisons stay on the CPU, where these kernels run, whatever
    MINITORCH_TEST_DEVICE says."""
    from minitorch.backends import cpu

    import helpers
    import nn_helpers
    from cpp_kernels import _C

    if _C is None:
        pytest.skip("minitorch._C is not built (pip install -e .)")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cpu, "_C", _C)
        patch.setattr(cpu, "_enabled", True)
        patch.setattr(helpers, "TEST_DEVICE", "cpu")
        patch.setattr(nn_helpers, "TEST_DEVICE", "cpu")
        yield cpu.CPU_BACKEND
