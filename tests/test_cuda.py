"""minitorch on a real GPU against PyTorch: ops, layers, our kernels, timing events and memory figures.

Every test here carries the ``cuda`` marker and skips where there is no GPU (see conftest.py). The references are
PyTorch on the GPU where this torch has CUDA, else on the CPU. Op and layer comparisons go through the suite's own
helpers (``check`` and ``check_module`` with ``device="cuda"``); the whole CPU suite can also be re-run with its
minitorch side on the GPU:

    MINITORCH_TEST_DEVICE=cuda python -m pytest -q -p no:cacheprovider

Our kernels are called through their wrappers on CuPy arrays, variant by variant, and through the backend to check
that minitorch's ops really reach them.
"""

import numpy as np
import pytest

import minitorch
from minitorch import nn
from minitorch.backends.cuda_kernels.matmul import TENSOR_CORE_DTYPES
from minitorch.nn import functional as F

from helpers import TOLERANCES, assert_close, both, check, requires_torch, torch
from nn_helpers import check_module

pytestmark = [pytest.mark.cuda, requires_torch]

FLOATS = ("float32", "float64")


@pytest.fixture
def cp():
    import cupy

    return cupy


@pytest.fixture
def ref_device():
    """Where the PyTorch reference runs: the GPU when this torch build has CUDA."""
    return "cuda" if torch.cuda.is_available() else "cpu"


@pytest.fixture
def launches(monkeypatch):
    """The kernel names the CUDA backend launches during a test (they still run)."""
    backend = minitorch.ones(1, device="cuda")._backend
    names = []
    real = backend.launcher

    def record(launch):
        names.append(launch.kernel)
        real(launch)

    monkeypatch.setattr(backend, "launcher", record)
    return names


def rand(*shape, dtype="float64", seed=0):
    return np.random.default_rng(seed).uniform(-2.0, 2.0, size=shape).astype(dtype)


# ---- devices, events, memory --------------------------------------------------------------------------------------
def test_device_queries_and_round_trip():
    assert minitorch.cuda.is_available() and minitorch.cuda.device_count() >= 1
    assert minitorch.cuda.current_device() == 0 and isinstance(minitorch.cuda.get_device_name(), str)
    minitorch.cuda.set_device(0)
    x = minitorch.randn(3, 5)
    y = x.cuda()
    assert y.device == minitorch.device("cuda", 0) and y.to("cuda") is y and y.to("cuda:0") is y
    assert np.array_equal(y.cpu().numpy(), x.numpy()) and y.cpu().device == minitorch.device("cpu")
    assert x.to("cuda", minitorch.float64).dtype is minitorch.float64
    with pytest.raises(RuntimeError, match="cuda:0 and cpu"):
        y + x
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        minitorch.ones(1, device=f"cuda:{minitorch.cuda.device_count()}")
    minitorch.cuda.synchronize()


def test_seed_gives_the_same_numbers_on_every_device():
    minitorch.cuda.manual_seed(3)
    a = minitorch.randn(4, device="cuda")
    minitorch.manual_seed(3)
    assert np.array_equal(a.cpu().numpy(), minitorch.randn(4).numpy())


def test_events_time_gpu_work():
    a = minitorch.randn(1024, 1024, device="cuda")
    start, end = minitorch.cuda.Event(enable_timing=True), minitorch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(5):
        a = a @ a / 32
    end.record()
    end.synchronize()
    assert end.query() and start.elapsed_time(end) > 0
    with pytest.raises(RuntimeError, match="enable_timing=True"):
        minitorch.cuda.Event().elapsed_time(end)


def test_memory_figures_follow_allocations():
    minitorch.cuda.empty_cache()
    minitorch.cuda.reset_peak_memory_stats()
    base = minitorch.cuda.memory_allocated()
    x = minitorch.empty(1 << 20, device="cuda")  # 4 MiB
    assert minitorch.cuda.memory_allocated() >= base + 4 * (1 << 20)
    assert minitorch.cuda.max_memory_allocated() >= minitorch.cuda.memory_allocated()
    assert minitorch.cuda.memory_reserved() >= minitorch.cuda.memory_allocated()
    peak = minitorch.cuda.max_memory_allocated()
    del x
    assert minitorch.cuda.memory_allocated() == base and minitorch.cuda.max_memory_allocated() == peak
    minitorch.cuda.reset_peak_memory_stats()
    assert minitorch.cuda.max_memory_allocated() == base
    reserved = minitorch.cuda.memory_reserved()
    minitorch.cuda.empty_cache()  # the freed 4 MiB block goes back to the driver
    assert minitorch.cuda.memory_reserved() < reserved


# ---- every op family on the GPU, forward and backward, through the suite's helper --------------------------------
UNARY = ["exp", "log1p", "tanh", "sigmoid", "relu", "abs", "sqrt", "sin", "neg", "reciprocal"]
REDUCTIONS = [
    lambda x: x.sum(1),
    lambda x: x.mean((0, 2), keepdim=True),
    lambda x: x.max(1).values,
    lambda x: x.amin(-1),
    lambda x: x.var(1),
    lambda x: x.std(),
    lambda x: x.logsumexp(2),
    lambda x: x.prod(0),
    lambda x: x.norm(),
    lambda x: x.cumsum(1),
    lambda x: x.sort(-1).values,
    lambda x: x.topk(2, dim=1).values,
]
VIEWS_AND_INDEXING = [  # f(library, x)
    lambda lib, x: x.permute(2, 0, 1).reshape(-1, 3)[1:, ::2],
    lambda lib, x: x[:, [0, 2]].flip(0),
    lambda lib, x: x.transpose(0, 1).contiguous().unsqueeze(0).squeeze(0),
    lambda lib, x: x.masked_fill(x > 0.5, 0.0),
    lambda lib, x: x[:1].expand(4, 3, 5).narrow(2, 1, 3).clone(),
    lambda lib, x: lib.where(x > 0, x, x * 2),
    lambda lib, x: lib.cat([x, x.exp()], 1) * lib.stack([x, x]).sum(0).repeat(1, 2, 1),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", UNARY)
def test_unary_ops(name, dtype):
    a = np.abs(rand(3, 7, dtype=dtype)) + 0.1  # log1p, sqrt and reciprocal need positive inputs
    check(lambda x: getattr(x, name)(), None, a, device="cuda", layouts=("contiguous", "transposed"))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow", "maximum", "minimum"])
def test_binary_ops_broadcast(op, dtype):
    a, b = rand(3, 1, 5, dtype=dtype), np.abs(rand(4, 1, dtype=dtype, seed=1)) + 0.5
    check(lambda x, y: getattr(x, op)(y), None, a, b, device="cuda")


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("i", range(len(REDUCTIONS)))
def test_reductions(i, dtype):
    check(REDUCTIONS[i], None, rand(2, 3, 5, dtype=dtype), device="cuda", layouts=("contiguous", "transposed"))


@pytest.mark.parametrize("i", range(len(VIEWS_AND_INDEXING)))
def test_views_and_indexing(i):
    check(*both(VIEWS_AND_INDEXING[i]), rand(2, 3, 5), device="cuda")


def test_gather_scatter_and_integers():
    a, index = rand(2, 3), np.array([[0, 2, 1], [1, 1, 0]])
    check(lambda x, i: x.gather(1, i) + x.scatter_add(1, i, x), None, a, index, device="cuda")
    ints = minitorch.tensor([[3, -1], [2, 5]], device="cuda")
    assert (ints @ ints).cpu().tolist() == [[7, -8], [16, 23]] and (ints // 2).cpu().tolist() == [[1, -1], [1, 2]]
    assert ints.argmax(1).cpu().tolist() == [0, 1] and ints.sum().item() == 9


@pytest.mark.parametrize("dtype", ("float16",))
def test_half_precision_ops(dtype):
    a, b = rand(5, 8, dtype=dtype), rand(8, 3, dtype=dtype, seed=1)
    (fa, fr), (ga, gr) = TOLERANCES["float16"]
    x, y = minitorch.tensor(a, device="cuda"), minitorch.tensor(b, device="cuda")
    out = minitorch.softmax((x @ y).tanh() * 2, -1)
    ref = torch.softmax((torch.tensor(a).float() @ torch.tensor(b).float()).tanh() * 2, -1)
    assert out.dtype is minitorch.float16 and out.device == minitorch.device("cuda", 0)
    assert_close(out, ref, fa, fr, "float16 matmul-tanh-softmax")


# ---- layers --------------------------------------------------------------------------------------------------------
LAYERS = {
    "linear": (lambda lib: lib.nn.Linear(7, 5), (3, 7)),
    "conv2d": (lambda lib: lib.nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=1, groups=2), (2, 4, 9, 7)),
    "conv2d_dilated": (lambda lib: lib.nn.Conv2d(3, 4, (3, 2), padding=(2, 1), dilation=2), (2, 3, 8, 9)),
    "conv2d_same": (lambda lib: lib.nn.Conv2d(3, 4, 4, padding="same"), (1, 3, 7, 6)),
    "conv1d": (lambda lib: lib.nn.Conv1d(3, 4, 3, padding=1), (2, 3, 9)),
    "conv_transpose2d": (lambda lib: lib.nn.ConvTranspose2d(3, 2, 3, stride=2), (1, 3, 5, 4)),
    "batchnorm2d": (lambda lib: lib.nn.BatchNorm2d(3), (4, 3, 5, 5)),
    "layernorm": (lambda lib: lib.nn.LayerNorm(6), (3, 4, 6)),
    "maxpool2d": (lambda lib: lib.nn.MaxPool2d(3, stride=2, padding=1), (2, 3, 7, 9)),
    "avgpool2d": (lambda lib: lib.nn.AvgPool2d(2), (2, 3, 6, 5)),
    "lstm": (lambda lib: lib.nn.LSTM(5, 4, batch_first=True), (2, 3, 5)),
    "attention": (lambda lib: lib.nn.MultiheadAttention(8, 2, batch_first=True), (2, 5, 8)),
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layers_match_torch(name, dtype):
    make, shape = LAYERS[name]
    minitorch.manual_seed(0)
    torch.manual_seed(0)
    x = rand(*shape)
    inputs = (x, x, x) if name == "attention" else (x,)
    check_module(make(minitorch), make(torch), *inputs, dtype=dtype, device="cuda")


def test_embedding_and_losses():
    ids = np.array([[1, 4, 0], [2, 2, 3]])
    check_module(nn.Embedding(5, 3), torch.nn.Embedding(5, 3), ids, device="cuda")
    scores, target = rand(6, 5), np.array([0, 4, 1, 1, 3, 2])
    for kwargs in ({}, {"label_smoothing": 0.1}, {"reduction": "sum"}):
        check(
            *both(lambda lib, s, t, kw=kwargs: lib.nn.functional.cross_entropy(s, t, **kw)),
            scores,
            target,
            device="cuda",
        )


# ---- our kernels against PyTorch, variant by variant ---------------------------------------------------------------
def _torch(cp, a, ref_device):
    """A CuPy array as a torch tensor on the reference device."""
    return torch.as_tensor(cp.asnumpy(a), device=ref_device)


def _gemm_tolerance(k, accumulate, input_rounding=0.0):
    """The worst-case error of a K-term dot product of values in [-2, 2] (so each product is at most 4 in size):
    each input may be rounded by ``input_rounding`` (TF32 keeps 10 mantissa bits: 2**-11) and each of the K
    additions rounds at the unit roundoff of the accumulation type."""
    u = {"float64": 2.0**-53, "float32": 2.0**-24}[accumulate]
    return 4 * k * (2 * input_rounding + k * u)


VECTOR_GEMMS = ["vectorized", "pipelined", "pipelined_wide"]  # matmul.VECTOR_TILES


@pytest.mark.parametrize("variant", ["naive", "coalesced", "smem", "regblock", "warptile", *VECTOR_GEMMS, None])
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("layout", ["nn", "tn", "nt", "batched", "broadcast"])
def test_matmul_kernels(cp, ref_device, variant, dtype, layout):
    from minitorch.backends.cuda_kernels import matmul

    m, k, n = 65, 129, 33
    a, b = cp.asarray(rand(m, k, dtype=dtype)), cp.asarray(rand(k, n, dtype=dtype, seed=1))
    if layout == "tn":
        a = cp.asarray(rand(k, m, dtype=dtype)).T
    elif layout == "nt":
        b = cp.asarray(rand(n, k, dtype=dtype, seed=1)).T
    elif layout == "batched":
        a, b = cp.asarray(rand(3, m, k, dtype=dtype)), cp.asarray(rand(3, k, n, dtype=dtype, seed=1))
    elif layout == "broadcast":
        a = cp.asarray(rand(2, 1, m, k, dtype=dtype))
        b = cp.asarray(rand(4, k, n, dtype=dtype, seed=1))
    out = matmul.matmul(a, b, variant=variant)
    ref = torch.matmul(_torch(cp, a, ref_device).double(), _torch(cp, b, ref_device).double())
    assert out.dtype == a.dtype and out.flags.c_contiguous
    tol = _gemm_tolerance(k, dtype)
    assert_close(cp.asnumpy(out), ref, tol, 0, f"{variant} {layout} {dtype}")


@pytest.mark.parametrize("variant", VECTOR_GEMMS)
@pytest.mark.parametrize("shape", [(256, 512, 264), (257, 1031, 519)], ids=str)
@pytest.mark.parametrize("transposed", [False, True])
def test_vector_gemms_over_many_tiles(cp, ref_device, variant, shape, transposed):
    """Several whole block tiles and many k steps (the pipeline's steady state), then partial tiles everywhere."""
    from minitorch.backends.cuda_kernels import matmul

    m, k, n = shape
    a, b = cp.asarray(rand(m, k, dtype="float32")), cp.asarray(rand(k, n, dtype="float32", seed=1))
    if transposed:
        a, b = cp.ascontiguousarray(a.T).T, cp.ascontiguousarray(b.T).T
    out = matmul.matmul(a, b, variant=variant)
    ref = torch.matmul(_torch(cp, a, ref_device).double(), _torch(cp, b, ref_device).double())
    assert_close(cp.asnumpy(out), ref, _gemm_tolerance(k, "float32"), 0, f"{variant} {shape} {transposed}")


def _tensor_core_operand(cp, shape, dtype, seed):
    """A CuPy array of ``dtype`` with values in [-2, 2], and the float64 values it holds. bfloat16 is made by torch on
    the GPU and handed over through DLPack (CuPy alone makes bfloat16 only where ml_dtypes is installed)."""
    x = rand(*shape, seed=seed)
    if dtype != "bfloat16":
        a = cp.asarray(x.astype(dtype))
        return a, cp.asnumpy(a).astype(np.float64)
    if not torch.cuda.is_available():
        pytest.skip("bfloat16 operands are made by torch on the GPU")
    t = torch.as_tensor(x, device="cuda").to(torch.bfloat16)
    return cp.from_dlpack(t), t.double().cpu().numpy()


def _as_float64(cp, out, dtype):
    """The values of a result array, bfloat16 read through its bits (the upper half of a float32)."""
    if dtype != "bfloat16":
        return cp.asnumpy(out).astype(np.float64)
    bits = cp.asnumpy(out.view(cp.uint16)).astype(np.uint32) << 16
    return bits.view(np.float32).astype(np.float64)


@pytest.mark.parametrize("variant", list(TENSOR_CORE_DTYPES))
@pytest.mark.parametrize("layout", ["nn", "nt", "batched"])
# (M, N, K): partial tiles in every dimension; whole tiles; rows that are not whole 16-byte chunks (matmul_mma)
@pytest.mark.parametrize("shape", [(200, 72, 136), (256, 384, 512), (65, 33, 129)], ids=["partial", "whole", "odd"])
def test_tensor_core_matmul(cp, variant, layout, shape):
    """Every tensor-core variant (the pipelined ones take "nn" and "batched" with 16-byte rows, and hand the rest to
    matmul_mma) against the float64 product of the very values it was given."""
    from minitorch.backends.cuda_kernels import matmul

    dtype = TENSOR_CORE_DTYPES[variant]
    m, n, k = shape
    batch = (3,) if layout == "batched" else ()
    a, a64 = _tensor_core_operand(cp, batch + (m, k), dtype, seed=0)
    if layout == "nt":  # B stored (N, K): unit k stride
        b, b64 = _tensor_core_operand(cp, (n, k), dtype, seed=1)
        b, b64 = b.T, b64.T
    else:
        b, b64 = _tensor_core_operand(cp, batch + (k, n), dtype, seed=1)
    out = matmul.matmul(a, b, variant=variant, allow_tf32=True)
    assert out.dtype == a.dtype and out.shape == batch + (m, n)
    ref = np.matmul(a64, b64)
    # TF32 rounds each input to 10 mantissa bits (to nearest, or truncating for "_rz"); half results are stored with
    # 11 (fp16) or 8 (bf16) bits.
    input_rounding = (2.0**-10 if variant.endswith("_rz") else 2.0**-11) if dtype == "float32" else 0.0
    output_rounding = {"float32": 0.0, "float16": 2.0**-11, "bfloat16": 2.0**-8}[dtype]
    tol = _gemm_tolerance(k, "float32", input_rounding) + float(np.abs(ref).max()) * output_rounding
    assert_close(_as_float64(cp, out, dtype), ref, tol, 0, f"{variant} {layout} {shape}")


def test_backend_matmul_runs_our_kernels_and_honours_allow_tf32(monkeypatch, launches):
    a = minitorch.tensor(rand(64, 96, dtype="float32"), device="cuda")
    b = minitorch.tensor(rand(96, 80, dtype="float32", seed=1), device="cuda")
    exact = (a.double() @ b.double()).cpu().numpy()
    assert_close(a @ b, exact, _gemm_tolerance(96, "float32"), 0, "fp32")
    monkeypatch.setattr(minitorch.backends.cuda.matmul, "allow_tf32", True)
    assert_close(a @ b, exact, _gemm_tolerance(96, "float32", input_rounding=2.0**-11), 0, "tf32")
    ints = minitorch.tensor([[1, 2]], device="cuda")
    assert (ints @ ints.t()).item() == 5
    # The float64 reference, the FP32 product, the TF32 one; the integer product went to CuPy.
    assert len(launches) == 3 and "<double" in launches[0] and "<float" in launches[1] and "mma" not in launches[1]
    assert launches[2] == "matmul_mma<float>"


CONVS = [
    dict(stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=1),
    dict(stride=(2, 1), padding=(0, 2), dilation=(1, 1), groups=1),
    dict(stride=(1, 2), padding=(2, 1), dilation=(2, 1), groups=1),
    dict(stride=(2, 2), padding=(1, 1), dilation=(1, 1), groups=3),
    dict(stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=6),  # depthwise
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("geometry", CONVS)
def test_conv2d_kernels(cp, ref_device, geometry, dtype):
    from minitorch.backends.cuda_kernels import conv2d

    n, c, h, w, k, r, s = 2, 6, 11, 9, 12, 3, 3
    x = cp.asarray(rand(n, c, h, w, dtype=dtype))
    wt = cp.asarray(rand(k, c // geometry["groups"], r, s, dtype=dtype, seed=1))
    tx = _torch(cp, x, ref_device).double().requires_grad_(True)
    tw = _torch(cp, wt, ref_device).double().requires_grad_(True)
    ty = torch.nn.functional.conv2d(tx, tw, **geometry)
    g = cp.asarray(rand(*ty.shape, dtype=dtype, seed=2))
    ty.backward(_torch(cp, g, ref_device).double())
    y = conv2d.conv2d_forward(x, wt, out_hw=tuple(ty.shape[2:]), **geometry)
    gx = conv2d.conv2d_backward_input(g, wt, x_hw=(h, w), **geometry)
    gw = conv2d.conv2d_backward_weight(x, g, w_shape=wt.shape, **geometry)
    taps = c // geometry["groups"] * r * s
    tol = _gemm_tolerance(max(taps, n * h * w), dtype)
    assert_close(cp.asnumpy(y), ty, tol, 0, "forward")
    assert_close(cp.asnumpy(gx), tx.grad, tol, 0, "input gradient")
    assert_close(cp.asnumpy(gw), tw.grad, tol, 0, "weight gradient")


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("splits", [1, 3])
def test_conv2d_kernel_tiles_and_split_reductions(cp, ref_device, splits, dtype):
    """Every tile, unsplit and with the reduction in slices, on sizes that leave partial tiles (65 and 129 channels,
    odd images), strided (the input gradient phase by phase) and not."""
    from minitorch.backends.cuda_kernels import conv2d

    n, c, h, w, k, r, s = 2, 65, 13, 11, 129, 3, 3
    x = cp.asarray(rand(n, c, h, w, dtype=dtype))
    wt = cp.asarray(rand(k, c, r, s, dtype=dtype, seed=1))
    for geometry in (CONVS[0], dict(CONVS[0], stride=(2, 2))):
        tx = _torch(cp, x, ref_device).double().requires_grad_(True)
        tw = _torch(cp, wt, ref_device).double().requires_grad_(True)
        ty = torch.nn.functional.conv2d(tx, tw, **geometry)
        g = cp.asarray(rand(*ty.shape, dtype=dtype, seed=2))
        ty.backward(_torch(cp, g, ref_device).double())
        tol = _gemm_tolerance(max(c * r * s, k * r * s, n * h * w), dtype)
        for tile in conv2d.DTYPE_TILES[dtype]:
            plan = dict(tile=tile, splits=splits)
            y = conv2d.conv2d_forward(x, wt, out_hw=tuple(ty.shape[2:]), **geometry, **plan)
            gx = conv2d.conv2d_backward_input(g, wt, x_hw=(h, w), **geometry, **plan)
            gw = conv2d.conv2d_backward_weight(x, g, w_shape=wt.shape, **geometry, **plan)
            assert_close(cp.asnumpy(y), ty, tol, 0, f"forward {tile}")
            assert_close(cp.asnumpy(gx), tx.grad, tol, 0, f"input gradient {tile}")
            assert_close(cp.asnumpy(gw), tw.grad, tol, 0, f"weight gradient {tile}")


def test_conv2d_layer_runs_our_kernels(launches):
    check_module(nn.Conv2d(3, 4, 3, stride=2), torch.nn.Conv2d(3, 4, 3, stride=2), rand(2, 3, 8, 8), device="cuda")
    assert {name.split("<")[0] for name in launches} >= {
        "conv2d_forward",
        "conv2d_backward_input",
        "conv2d_backward_weight",
    }


@pytest.mark.parametrize("variant", ["registers", "block", "online", None])
@pytest.mark.parametrize("dtype", ("float32", "float64", "float16"))
@pytest.mark.parametrize("log", [False, True])
def test_softmax_kernels_every_dim(cp, ref_device, variant, dtype, log):
    from minitorch.backends.cuda_kernels import softmax

    x = cp.asarray(rand(3, 37, 5, dtype=dtype) * 4)
    if variant == "online":
        x = cp.asarray(rand(2, 5000, dtype=dtype) * 4)  # a long row is what the online kernel is for
    dy = cp.asarray(rand(*x.shape, dtype=dtype, seed=1))
    (fa, fr), (ga, gr) = TOLERANCES[dtype]
    for dim in range(x.ndim):
        if variant == "registers" and x.shape[dim] > 4096:  # 16 warps of 8 scalars: strided rows take no vectors
            continue
        tx = _torch(cp, x, ref_device).double().requires_grad_(True)
        ty = (torch.log_softmax if log else torch.softmax)(tx, dim)
        ty.backward(_torch(cp, dy, ref_device).double())
        y = softmax.softmax(x, dim, log=log, variant=variant)
        dx = softmax.softmax_backward(y, dy, dim, log=log, variant=variant)
        assert_close(cp.asnumpy(y), ty, fa, fr, f"{'log_' if log else ''}softmax dim {dim}")
        assert_close(cp.asnumpy(dx), tx.grad, ga, gr, f"its gradient, dim {dim}")


@pytest.mark.parametrize("dtype", ("float32", "float64", "float16"))
@pytest.mark.parametrize("shape", [(5, 8), (33, 1024), (3, 2048), (7, 4096), (2, 16384)])
def test_softmax_contiguous_rows_aligned_and_not(cp, ref_device, dtype, shape):
    """Aligned rows take the register kernel's 16-byte vectors; rows shifted by one value fall back to scalars."""
    from minitorch.backends.cuda_kernels import softmax

    rows, n = shape
    base = cp.asarray(rand(rows, n + 8, dtype=dtype) * 4)
    dy = cp.asarray(rand(rows, n, dtype=dtype, seed=1))
    (fa, fr), (ga, gr) = TOLERANCES[dtype]
    for name, x in (("aligned", cp.ascontiguousarray(base[:, :n])), ("misaligned", base[:, 1 : n + 1])):
        for log in (False, True):
            tx = _torch(cp, x, ref_device).double().requires_grad_(True)
            ty = (torch.log_softmax if log else torch.softmax)(tx, 1)
            ty.backward(_torch(cp, dy, ref_device).double())
            y = softmax.softmax(x, 1, log=log)
            dx = softmax.softmax_backward(y, dy, 1, log=log)
            assert_close(cp.asnumpy(y), ty, fa, fr, f"{name} log={log}")
            assert_close(cp.asnumpy(dx), tx.grad, ga, gr, f"{name} log={log} gradient")


@pytest.mark.parametrize("warps", [4, 8, 16])
def test_softmax_register_kernel_warps_per_row(cp, ref_device, warps):
    from minitorch.backends.cuda_kernels import softmax

    x, dy = cp.asarray(rand(9, 4096, dtype="float32") * 4), cp.asarray(rand(9, 4096, dtype="float32", seed=1))
    (fa, fr), (ga, gr) = TOLERANCES["float32"]
    tx = _torch(cp, x, ref_device).double().requires_grad_(True)
    torch.softmax(tx, 1).backward(_torch(cp, dy, ref_device).double())
    y = softmax.softmax(x, 1, warps=warps)
    assert_close(cp.asnumpy(y), torch.softmax(tx, 1), fa, fr, f"{warps} warps")
    assert_close(cp.asnumpy(softmax.softmax_backward(y, dy, 1, warps=warps)), tx.grad, ga, gr, "gradient")


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_ops_run_our_kernels_and_double_backward(fn, launches):
    a = rand(4, 9, 6)
    for dim in (0, 1, 2):
        check(lambda x, d=dim: getattr(x, fn)(d), None, a, device="cuda", layouts=("contiguous", "transposed"))
    assert any(k.startswith("softmax_forward") for k in launches)
    assert any(k.startswith("softmax_backward") for k in launches)
    from minitorch.autograd import gradcheck, gradgradcheck

    x = minitorch.tensor(rand(3, 4), device="cuda", requires_grad=True)
    grad_out = minitorch.tensor(rand(3, 4, seed=1), device="cuda", requires_grad=True)
    f = lambda t: getattr(minitorch, fn)(t, 1)  # noqa: E731
    assert gradcheck(f, (x,)) and gradgradcheck(f, (x,), (grad_out,))


# ---- a model end to end ------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_small_cnn_trains_on_the_gpu():
    minitorch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 4 * 4, 3)
    ).to("cuda")
    opt = minitorch.optim.Adam(model.parameters(), lr=1e-2)
    x = minitorch.randn(32, 1, 8, 8, device="cuda")
    y = (x.mean((1, 2, 3)) > 0).long() + (x[:, 0, 0, 0] > 1).long()
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
