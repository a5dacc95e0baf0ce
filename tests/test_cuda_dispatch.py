"""The CUDA backend's logic, tested without a GPU.

The ``fake_cuda`` fixture registers, for device cuda:0, the real ``CudaBackend`` class over NumPy arrays, with the
CPU emulator (tests/cuda_emulation.py) as its kernel launcher: the dispatch decisions, the kernel wrappers and the
kernels themselves all run, only the memory is host memory. With it we check device moves, modules on 'cuda',
whole models against the CPU, the mixed-device error, and which kernels run (by recording every launch). The rest
checks ``minitorch.cuda`` on a machine without a GPU and the pure-Python parts of the kernel benchmark.
"""

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import minitorch
from minitorch import backends, nn
from minitorch.backends import cuda as cuda_backend
from minitorch.backends.base import Backend
from minitorch.backends.cuda import CudaBackend
from minitorch.nn import functional as F

from cuda_emulation import emulate
from helpers import HostMemoryCuda, assert_close, check, requires_torch, torch
from nn_helpers import check_module

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "kernels"))
import bench_kernels  # noqa: E402

CUDA0 = minitorch.device("cuda", 0)


class EmulatedCudaBackend(CudaBackend):
    """``CudaBackend``'s kernel dispatch over NumPy arrays. Its "device memory" is host memory, so the memory
    methods are ``Backend``'s, except that moving to and from the device copies, as it does on a GPU."""

    as_strided = Backend.as_strided
    data_ptr = Backend.data_ptr
    synchronize = Backend.synchronize

    def from_host(self, array: np.ndarray) -> np.ndarray:
        return np.array(array, copy=True)

    def to_host(self, array: np.ndarray) -> np.ndarray:
        return np.array(array, copy=True)


class Launches:
    """A kernel launcher that records each launch's kernel name, then runs it (in the emulator) unless told not to."""

    def __init__(self, run=emulate) -> None:
        self.kernels = []
        self.run = run

    def __call__(self, launch) -> None:
        self.kernels.append(launch.kernel)
        if self.run is not None:
            self.run(launch)

    def named(self, prefix: str) -> list:
        return [k for k in self.kernels if k.startswith(prefix)]


@pytest.fixture
def fake_cuda(monkeypatch):
    """'cuda' and 'cuda:0' resolve to an emulated CudaBackend; yields the launch recorder."""
    launches = Launches()
    backend = EmulatedCudaBackend(np, CUDA0, launcher=launches, tensor_cores=False)
    monkeypatch.setitem(backends._cache, minitorch.device("cuda"), backend)
    monkeypatch.setitem(backends._cache, CUDA0, backend)
    return launches


def leaf(*shape, seed=0, device="cpu"):
    values = np.random.default_rng(seed).standard_normal(shape)
    return minitorch.tensor(values, device=device, requires_grad=True)


# ---- moving tensors and modules ---------------------------------------------------------------------------------
def test_round_trips_keep_values_and_dtype(fake_cuda):
    x = minitorch.randn(3, 4)
    y = x.cuda()
    assert y.is_cuda and not y.is_cpu and y.device == CUDA0 and y.get_device() == 0 and y.dtype is minitorch.float32
    assert y.to("cuda") is y and y.to("cuda:0") is y and y.cuda() is y and y.to(CUDA0) is y
    z = y.cpu()
    assert z.device == minitorch.device("cpu") and np.array_equal(z.numpy(), x.numpy())
    assert x.to("cuda", minitorch.float64).dtype is minitorch.float64
    assert minitorch.zeros(2, device="cuda").device == CUDA0
    assert minitorch.tensor([1, 2], device="cuda:0").dtype is minitorch.int64
    x.add_(1.0)  # the GPU copy is a copy: it does not see later writes to the CPU tensor
    assert np.array_equal(y.cpu().numpy() + 1.0, x.numpy())
    with pytest.raises(TypeError, match="Tensor.cpu()"):
        y.numpy()


def test_gradients_flow_back_across_devices(fake_cuda):
    x = leaf(2, 3)
    ((x.cuda() * 3.0).sum()).backward()
    assert x.grad.device == minitorch.device("cpu") and np.array_equal(x.grad.numpy(), np.full((2, 3), 3.0))


def test_module_to_cuda_keeps_the_same_parameters(fake_cuda):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    params = list(model.parameters())
    opt = minitorch.optim.SGD(model.parameters(), lr=0.1)  # built before the move, as users do
    assert model.to("cuda") is model
    assert list(model.parameters()) == params and all(p is q for p, q in zip(model.parameters(), params))
    assert all(p.device == CUDA0 for p in params) and model[1].running_mean.device == CUDA0
    before = params[0].detach().cpu().numpy()
    F.cross_entropy(
        model(minitorch.randn(5, 3, device="cuda")), minitorch.tensor([0, 1, 1, 0, 1], device="cuda")
    ).backward()
    opt.step()
    assert params[0].grad.device == CUDA0 and not np.array_equal(params[0].detach().cpu().numpy(), before)
    model.cpu()
    assert all(p.device == minitorch.device("cpu") for p in model.parameters()) and params[0].grad.is_cpu


def test_mixed_devices_raise_pytorchs_error(fake_cuda):
    a, b = minitorch.ones(2, 2, device="cuda"), minitorch.ones(2, 2)
    message = "Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!"
    probs, labels = minitorch.full((2, 2), 0.5, device="cuda"), minitorch.tensor([0, 1])
    for op in (
        lambda: a + b,
        lambda: a @ b,
        lambda: minitorch.cat([a, b]),
        lambda: minitorch.where(a > 0, a, b),
        lambda: a.add_(b),
        # these read the arrays of several tensors directly, so they check the devices themselves
        lambda: F.nll_loss(a, labels.cuda(), weight=minitorch.ones(2)),
        lambda: F.cross_entropy(a, labels),
        lambda: F.binary_cross_entropy(probs, b * 0.5),
        lambda: F.binary_cross_entropy(probs, probs, weight=b),
    ):
        with pytest.raises(RuntimeError, match=message.replace("cuda:0 and cpu", "(cuda:0 and cpu|cpu and cuda:0)")):
            op()
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        nn.Linear(2, 2)(a)


# ---- whole models on the emulated GPU equal the CPU -------------------------------------------------------------
def _forward_backward(model, x, target, device):
    minitorch.manual_seed(0)
    model = model.to(device)
    x = x.detach().to(device).requires_grad_(True)
    loss = F.cross_entropy(model(x), target.to(device))
    loss.backward()
    return [loss, x.grad] + [p.grad for p in model.parameters()]


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_small_models_match_the_cpu(fake_cuda, kind):
    def build():
        minitorch.manual_seed(1)
        if kind == "mlp":
            return nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3)).double()
        return nn.Sequential(
            nn.Conv2d(2, 4, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(4, 3, 3, stride=2, groups=1),
            nn.Flatten(),
            nn.Linear(3, 3),
        ).double()

    shape = (4, 6) if kind == "mlp" else (2, 2, 7, 7)
    x = minitorch.tensor(np.random.default_rng(0).standard_normal(shape))
    target = minitorch.tensor([0, 2, 1, 2][: shape[0]])
    on_cpu = _forward_backward(build(), x, target, "cpu")
    on_gpu = _forward_backward(build(), x, target, "cuda")
    for i, (c, g) in enumerate(zip(on_cpu, on_gpu)):
        assert g.device == CUDA0
        assert_close(g, c.detach().numpy(), 1e-12, 1e-10, f"result {i}")
    assert fake_cuda.named("matmul_") and fake_cuda.named("softmax_forward")
    if kind == "cnn":
        for kernel in ("conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight"):
            assert fake_cuda.named(kernel), f"{kernel} never ran"


@requires_torch
def test_helpers_check_runs_on_the_test_device(fake_cuda):
    """What MINITORCH_TEST_DEVICE=cuda does to the suite: check() and check_module() put minitorch on 'cuda'."""
    a, b = np.random.default_rng(0).standard_normal((2, 3, 4)), np.random.default_rng(1).standard_normal((4, 5))
    check(lambda x, y: (x @ y).softmax(-1), None, a, b, device="cuda", layouts=("contiguous", "transposed"))
    assert fake_cuda.named("matmul_") and fake_cuda.named("softmax_backward")
    check_module(
        nn.Conv2d(2, 3, 3, padding=1), torch.nn.Conv2d(2, 3, 3, padding=1), a.reshape(1, 2, 3, 4), device="cuda"
    )
    assert fake_cuda.named("conv2d_backward_weight")


# ---- which kernel runs ------------------------------------------------------------------------------------------
def test_matmul_runs_our_kernel_for_floats_and_falls_back_for_integers(fake_cuda):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((5, 7)), rng.standard_normal((7, 3))
    for x, y in ((a, b), (a[0], b), (a, b[:, 0]), (a[0], b[:, 0]), (np.stack([a, a]), b)):
        out = minitorch.tensor(x, device="cuda") @ minitorch.tensor(y, device="cuda")
        assert out.shape == np.matmul(x, y).shape and out.device == CUDA0
        assert_close(out, np.matmul(x, y), 1e-12, 1e-12, f"{x.shape} @ {y.shape}")
    assert len(fake_cuda.named("matmul_")) == 5
    ints = minitorch.tensor([[1, 2], [3, 4]], device="cuda")
    assert (ints @ ints).cpu().tolist() == [[7, 10], [15, 22]]
    assert minitorch.mm(minitorch.ones(2, 0, device="cuda"), minitorch.ones(0, 3, device="cuda")).shape == (2, 3)
    assert len(fake_cuda.named("matmul_")) == 5  # integers and empty products went to the array library


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_forward_and_backward_run_our_kernels(fake_cuda, fn):
    x = leaf(3, 4, 5, device="cuda")
    for dim in range(3):
        y = getattr(minitorch, fn)(x, dim)
        y.backward(minitorch.ones_like(y))
    assert len(fake_cuda.named("softmax_forward")) == 3 and len(fake_cuda.named("softmax_backward")) == 3
    with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
        getattr(minitorch, fn)(minitorch.tensor([1, 2], device="cuda"), 0)


def test_cross_entropy_runs_the_log_softmax_kernel(fake_cuda):
    scores = leaf(4, 3, device="cuda")
    F.cross_entropy(scores, minitorch.tensor([0, 2, 1, 1], device="cuda")).backward()
    assert fake_cuda.named("softmax_forward") and scores.grad.device == CUDA0


def test_softmax_gradients_of_gradients_on_cuda(fake_cuda):
    from minitorch.autograd import gradcheck, gradgradcheck

    x = leaf(2, 3, device="cuda")
    grad_out = leaf(2, 3, seed=1, device="cuda")
    for fn in (lambda t: minitorch.softmax(t, 1), lambda t: minitorch.log_softmax(t, 0)):
        assert gradcheck(fn, (x,)) and gradgradcheck(fn, (x,), (grad_out,))
    assert fake_cuda.named("softmax_backward")
    grad = minitorch.autograd.grad(minitorch.softmax(x, 1).pow(2).sum(), x, create_graph=True)[0]
    assert grad.grad_fn.name() == "SoftmaxBackwardDataBackward0"


def test_only_2d_convolutions_run_our_kernel(fake_cuda):
    for conv, shape in ((nn.Conv1d(2, 3, 3), (1, 2, 6)), (nn.Conv3d(2, 3, 2), (1, 2, 3, 3, 3))):
        conv.double().to("cuda")(leaf(*shape, device="cuda")).sum().backward()
    assert not fake_cuda.named("conv2d")
    nn.Conv2d(2, 3, 3).double().to("cuda")(leaf(1, 2, 4, 4, device="cuda")).sum().backward()
    assert {k.split("<")[0] for k in fake_cuda.named("conv2d")} == {
        "conv2d_forward",
        "conv2d_backward_input",
        "conv2d_backward_weight",
    }


def test_float16_matmul_needs_tensor_cores(monkeypatch):
    a = np.ones((4, 4), dtype=np.float16)
    without, with_cores = Launches(run=None), Launches(run=None)
    CudaBackend(np, CUDA0, launcher=without, tensor_cores=False).matmul(a, a)
    CudaBackend(np, CUDA0, launcher=with_cores, tensor_cores=True).matmul(a, a)
    assert without.kernels == [] and with_cores.kernels == ["matmul_mma<__half>"]


def test_allow_tf32_selects_the_tensor_core_kernel(monkeypatch):
    launches = Launches(run=None)  # record the choice only: the emulator cannot run tensor-core code
    backend = CudaBackend(np, CUDA0, launcher=launches)
    a32, a64 = np.ones((64, 64), dtype=np.float32), np.ones((64, 64))
    assert minitorch.backends.cuda.matmul.allow_tf32 is False  # PyTorch 2.x's default
    backend.matmul(a32, a32)
    monkeypatch.setattr(minitorch.backends.cuda.matmul, "allow_tf32", True)
    backend.matmul(a32, a32)
    backend.matmul(a64, a64)  # float64 never takes TF32
    assert "mma" not in launches.kernels[0]
    assert launches.kernels[1] == "matmul_mma<float>"
    assert "mma" not in launches.kernels[2] and "double" in launches.kernels[2]
    with pytest.raises(AttributeError):
        minitorch.backends.cuda.matmul.allow_tf23 = True


# ---- minitorch.cuda without a GPU -------------------------------------------------------------------------------
@pytest.mark.skipif(minitorch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_api_without_a_gpu_says_what_is_missing(monkeypatch):
    assert minitorch.cuda.is_available() is False and minitorch.cuda.device_count() == 0
    calls = [
        minitorch.cuda.current_device,
        minitorch.cuda.synchronize,
        minitorch.cuda.get_device_name,
        minitorch.cuda.memory_allocated,
        minitorch.cuda.max_memory_allocated,
        minitorch.cuda.memory_reserved,
        minitorch.cuda.reset_peak_memory_stats,
        minitorch.cuda.empty_cache,
        lambda: minitorch.cuda.set_device(0),
        lambda: minitorch.cuda.Event(enable_timing=True),
        lambda: minitorch.ones(1, device="cuda"),
    ]
    missing_cupy = cuda_backend._cupy() is None
    for call in calls:
        with pytest.raises(RuntimeError, match="CuPy is not installed" if missing_cupy else "no CUDA device"):
            call()

    # CuPy present but no driver: the probe fails the way CuPy's does, and the message names the GPU instead.
    def no_driver():
        raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

    stub = types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=no_driver)))
    monkeypatch.setattr(cuda_backend, "_cupy", lambda: stub)
    assert minitorch.cuda.is_available() is False
    for call in calls:
        with pytest.raises(RuntimeError, match="CuPy is installed but found no CUDA device"):
            call()


def test_cuda_manual_seed_seeds_the_one_generator(fake_cuda):
    minitorch.cuda.manual_seed(7)
    on_gpu = minitorch.randn(5, device="cuda")
    minitorch.cuda.manual_seed_all(7)
    on_cpu = minitorch.randn(5)
    assert on_gpu.device == CUDA0 and np.array_equal(on_gpu.cpu().numpy(), on_cpu.numpy())


def test_cupy_module_gains_a_do_nothing_errstate():
    fake_cupy = types.ModuleType("cupy")
    fake_cupy.ndarray, fake_cupy.exp = np.ndarray, np.exp
    fake_cupy.__getattr__ = lambda name: {"lazy": 42}[name]
    module = cuda_backend._gpu_array_module(fake_cupy)
    assert module.ndarray is np.ndarray and module.exp is np.exp and module.lazy == 42
    with module.errstate(invalid="ignore", over="ignore"):
        pass


def test_peak_tracker_remembers_the_most_bytes_in_use():
    class Pool:
        used = 0

        def malloc(self, n):
            self.used += n
            return types.SimpleNamespace(device_id=0, size=n)

        def used_bytes(self):
            return self.used

    pool = Pool()
    tracker = cuda_backend.PeakTracker(pool)
    tracker(100)
    tracker(50)
    pool.used = 20  # frees happen without the allocator
    tracker(10)
    assert tracker.peak == {0: 150}


# ---- the kernel benchmark's arithmetic and report ---------------------------------------------------------------
def test_benchmark_work_counts():
    assert bench_kernels.gemm_flops(4096, 4096, 4096) == 2 * 4096**3
    assert bench_kernels.gemm_flops(2, 3, 4, batch=5) == 240
    first, *_, last = bench_kernels.RESNET18_3X3
    assert first.out_hw == (56, 56) and bench_kernels.RESNET18_3X3[1].out_hw == (28, 28) and last.out_hw == (7, 7)
    assert first.flops() == 2 * (32 * 56 * 56) * 64 * (64 * 9)
    assert bench_kernels.conv_out_size(7, 3, 2, 1) == 4
    assert bench_kernels.softmax_bytes(4096, 4096, 4) == 2 * 4096 * 4096 * 4
    assert bench_kernels.copy_bytes(10) == 20
    assert bench_kernels.rate(2e12, 1000.0) == 2e12


def test_benchmark_rows_and_targets():
    Row, Target = bench_kernels.Row, bench_kernels.Target
    sgemm = Row("sgemm", 2.0, "cuBLAS", 1.9, 2e12, peak=1000.0, target=Target(of_reference=90))
    assert sgemm.ours_rate() == pytest.approx(1000.0) and sgemm.ref_rate() == pytest.approx(2e12 / 1.9e-3 / 1e12)
    assert sgemm.pct_of_reference() == pytest.approx(95.0) and sgemm.pct_of_peak() == pytest.approx(100.0)
    assert sgemm.met() is True
    softmax = Row("softmax", 0.05, "torch", 0.045, 134e6, unit="GB/s", peak=3000.0, target=Target(100, 85))
    assert softmax.ours_rate() == pytest.approx(2680.0) and softmax.met() is False  # slower than torch
    assert Row("no ref", 1.0, target=Target(of_reference=50)).met() is None
    assert Row("no target", 1.0).met() is None
    cells = bench_kernels.cells(sgemm)
    assert len(cells) == len(bench_kernels.COLUMNS) and cells[-1] == "met" and cells[6] == "95.0%"
    assert bench_kernels.cells(softmax)[-1] == "NOT met" and bench_kernels.cells(softmax)[4] == "2680.0 GB/s"
    table = bench_kernels.markdown_table([sgemm, Row("step", 3.0, "torch", 2.0, note="slow")])
    assert table[0].count("|") == len(bench_kernels.COLUMNS) + 1 and table[-1] == "- step: slow"
    report = bench_kernels.report("GPU X", {"copy GB/s": 3000.0}, [sgemm, softmax], "cmd")
    assert "Targets met: 1 of 2." in report[-1] and "copy GB/s 3000.0" in "\n".join(report)
    assert json.loads(json.dumps(sgemm.as_dict()))["met"] is True
    assert bench_kernels.slug("NVIDIA H100 80GB HBM3") == "nvidia-h100-80gb-hbm3"
    assert "[>= 90% of ref: met]" in bench_kernels.text_line(sgemm)


@pytest.mark.skipif(minitorch.cuda.is_available(), reason="this machine has a GPU")
def test_benchmark_without_a_gpu_exits_with_a_message(capsys, tmp_path):
    assert bench_kernels.main(["--out", str(tmp_path)]) == 2
    assert "needs a CUDA GPU" in capsys.readouterr().err and not list(tmp_path.iterdir())


@pytest.mark.skipif(minitorch.cuda.is_available(), reason="this machine has a GPU")
def test_compile_all_names_each_source_that_fails():
    """``python -m minitorch.backends.cuda_kernels`` compiles every kernel up front; without a GPU every source
    fails, each with its own message, instead of the first failure hiding the rest."""
    from minitorch.backends import cuda_kernels

    errors = cuda_kernels.compile_all()
    assert set(errors) == set(cuda_kernels.KERNELS) >= {"matmul.cu", "conv2d.cu", "softmax.cu"}
    assert all(message for message in errors.values())


@pytest.mark.skipif(minitorch.cuda.is_available(), reason="this machine has a GPU")
def test_benchmark_failing_part_is_reported_and_the_rest_still_written(monkeypatch, tmp_path, capsys):
    """A part that raises is listed in the files, which are written after every part, and the exit status is 1."""
    monkeypatch.setattr(minitorch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(minitorch.cuda, "get_device_name", lambda: "Test GPU")

    class FakeBench:
        def __init__(self, repeats):
            self.peaks, self.rows = {"copy GB/s": 1000.0}, []

        def measure_peaks(self):
            pass

        def gemm_ladder(self):
            self.rows.append(bench_kernels.Row("sgemm", 2.0, "cuBLAS", 1.0, 1e12))

        def softmax_rows(self):
            raise RuntimeError("kernel failed")

        conv = resnet18_step = gemm_tensor_cores = gemm_ladder

    monkeypatch.setattr(bench_kernels, "Bench", FakeBench)
    assert bench_kernels.main(["--out", str(tmp_path)]) == 1
    record = json.loads((tmp_path / "test-gpu.json").read_text())
    assert record["failed_parts"] == ["softmax_rows"] and len(record["rows"]) == 4
    assert "Parts that failed (see the run's output): softmax_rows." in (tmp_path / "test-gpu.md").read_text()
    assert "kernel failed" in capsys.readouterr().err


def test_profile_step_prints_both_tables(monkeypatch, capsys):
    """profile_step.py on a host-memory stand-in for the GPU: both tables come out, and the engine is left as it was."""
    import profile_step

    from minitorch.autograd import engine

    backend = HostMemoryCuda(np, CUDA0)
    monkeypatch.setitem(backends._cache, minitorch.device("cuda"), backend)
    monkeypatch.setitem(backends._cache, CUDA0, backend)
    monkeypatch.setattr(minitorch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(minitorch.cuda, "synchronize", lambda: None)
    real = engine._call_backward
    assert profile_step.main(["--batch", "1", "--steps", "1"]) == 0
    out = capsys.readouterr().out
    assert "forward, per module type" in out and "Conv2d" in out
    assert "backward, per autograd node" in out and "ConvolutionBackward0" in out
    assert engine._call_backward is real


@requires_torch
@pytest.mark.parametrize("name", ["lenet5", "resnet18", "googlenet"])
def test_zoo_models_on_the_emulated_gpu_match_their_twins(fake_cuda, name):
    """Whole networks through the CUDA backend (our conv2d, matmul and softmax kernels, emulated) equal PyTorch."""
    from test_models_cnn import FLOAT64, SMALL_CASES, check_twin

    check_twin(SMALL_CASES[name], "float64", FLOAT64, device="cuda")
    assert fake_cuda.named("conv2d_forward") and fake_cuda.named("conv2d_backward_input")
    assert fake_cuda.named("conv2d_backward_weight")


@requires_torch
@pytest.mark.parametrize("name", ["transformer_rope_swiglu_rms", "decoder_alibi", "char_lstm"])
def test_sequence_models_on_the_emulated_gpu_match_their_twins(fake_cuda, name):
    """A Transformer (our batched matmul and softmax kernels, emulated) and an LSTM on 'cuda' equal PyTorch."""
    from twins_seq import CASES

    case = CASES[name]
    check_module(case.build(), case.build_torch(), *case.inputs(np.random.default_rng(0)), device="cuda")
    assert fake_cuda.named("matmul") and (name == "char_lstm" or fake_cuda.named("softmax"))
