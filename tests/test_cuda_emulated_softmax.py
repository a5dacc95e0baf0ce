"""The CUDA softmax kernels, run on the CPU by the emulator and compared with NumPy; and the emulator itself.

The NumPy reference is the base backend's softmax (the formulas PyTorch uses, in float64). Every variant (registers,
block, online) is forced on odd row lengths, along every dim, on non-contiguous inputs and on rows holding -inf,
+inf or NaN; the register kernel's 16-byte vector path and its scalar fallback (odd lengths, misaligned views) are
checked on their own.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import minitorch
from minitorch.backends.base import Backend
from minitorch.backends.cuda_kernels import CSRC
from minitorch.backends.cuda_kernels import softmax as sm

from cuda_emulation import EMU_DIR, EmulatedModule, emulate
from helpers import TOLERANCES, requires_torch, torch

REFERENCE = Backend(np, minitorch.device("cpu"))
LENGTHS = (1, 7, 33, 65, 129, 1024, 1025, 4096, 4097)


def reference(x: np.ndarray, dim: int, log: bool) -> np.ndarray:
    x = x.astype(np.float64)
    return REFERENCE.log_softmax(x, dim) if log else REFERENCE.softmax(x, dim)


def reference_backward(y: np.ndarray, dy: np.ndarray, dim: int, log: bool) -> np.ndarray:
    y, dy = y.astype(np.float64), dy.astype(np.float64)
    return REFERENCE.log_softmax_backward(y, dy, dim) if log else REFERENCE.softmax_backward(y, dy, dim)


def close(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    atol, rtol = TOLERANCES[actual.dtype.name][0]
    assert actual.shape == expected.shape and actual.flags.c_contiguous, what
    np.testing.assert_allclose(actual.astype(np.float64), expected, atol=atol, rtol=rtol, equal_nan=True, err_msg=what)


def recording(kernels: list):
    """A launcher that emulates and remembers which kernel ran."""

    def launch(launch: sm.Launch) -> None:
        kernels.append(launch.kernel)
        emulate(launch)

    return launch


def variants_for(n: int, dtype: str):
    """The variants that hold rows of n values: 16 warps of 8 scalars in registers, y and dy in shared memory."""
    fits = {"registers": n <= 4096, "block": 2 * n * np.dtype(dtype).itemsize <= sm.SHARED_ROW_BYTES, "online": True}
    return [v for v in sm.VARIANTS if fits[v]]


def counting(launches: list):
    """A launcher that only records each launch: for planning questions on arrays too big to emulate quickly."""
    return launches.append


# ---- the kernels ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", LENGTHS)
def test_every_variant_matches_numpy_forward_and_backward(n: int, dtype: str) -> None:
    rng = np.random.default_rng(n)
    x = (rng.standard_normal((3, n)) * 4).astype(dtype)
    dy = rng.standard_normal((3, n)).astype(dtype)
    for variant in variants_for(n, dtype):
        for log in (False, True):
            kernels: list = []
            what = f"{variant} log={log}"
            y = sm.softmax(x, -1, log=log, variant=variant, launcher=recording(kernels))
            close(y, reference(x, 1, log), what)
            dx = sm.softmax_backward(y, dy, 1, log=log, variant=variant, launcher=recording(kernels))
            close(dx, reference_backward(y, dy, 1, log), what + " backward")
            assert all(f"_{variant}<" in k for k in kernels), kernels


@pytest.mark.parametrize("n", (7, 129))
def test_float16_is_computed_in_float(n: int) -> None:
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((5, n)) * 3).astype(np.float16)
    dy = rng.standard_normal((5, n)).astype(np.float16)
    for variant in sm.VARIANTS:
        for log in (False, True):
            y = sm.softmax(x, 1, log=log, variant=variant, launcher=emulate)
            assert y.dtype == np.float16
            close(y, reference(x, 1, log), f"{variant} log={log}")
            dx = sm.softmax_backward(y, dy, 1, log=log, variant=variant, launcher=emulate)
            close(dx, reference_backward(y, dy, 1, log), f"{variant} log={log} backward")


def layouts(x: np.ndarray):
    """``x``'s values in memory laid out several ways: each yields an array equal to x."""
    yield "contiguous", x.copy()
    yield "transposed", np.ascontiguousarray(x.transpose(2, 1, 0)).transpose(2, 1, 0)
    big = np.zeros(x.shape[:-1] + (2 * x.shape[-1],), x.dtype)
    big[..., 1::2] = x
    yield "sliced", big[..., 1::2]
    yield "reversed", np.ascontiguousarray(x[::-1])[::-1]
    # dims 0 and 2 swapped in memory: around dim 1 neither side merges into one stride, so the wrapper copies
    yield "permuted", np.ascontiguousarray(x.transpose(1, 0, 2)).transpose(1, 0, 2)


@pytest.mark.parametrize("dim", (0, 1, 2, -1, -3))
def test_every_dim_and_layout(dim: int) -> None:
    rng = np.random.default_rng(dim + 3)
    x = rng.standard_normal((5, 7, 33)).astype(np.float32)
    dy = rng.standard_normal((5, 7, 33)).astype(np.float32)
    for (name, xv), (_, dyv) in zip(layouts(x), layouts(dy)):
        for variant in (None, *sm.VARIANTS):
            for log in (False, True):
                what = f"{name} {variant} log={log}"
                before = xv.copy()
                y = sm.softmax(xv, dim, log=log, variant=variant, launcher=emulate)
                close(y, reference(x, dim, log), what)
                np.testing.assert_array_equal(xv, before, err_msg=f"{what}: the input was modified")
                dx = sm.softmax_backward(y, dyv, dim, log=log, variant=variant, launcher=emulate)
                close(dx, reference_backward(y, dy, dim, log), what + " backward")


def special_rows() -> np.ndarray:
    inf, nan = np.inf, np.nan
    return np.array(
        [
            [-inf] * 40,  # only -inf: nan
            [1.0, -inf] * 20,  # -inf among finite values: probability 0
            [inf] + [1.0] * 39,  # +inf: nan
            [nan] + [1.0] * 39,  # nan: nan
            [1e38, -1e38] * 20,  # near float32's limit: the shift by the max keeps exp finite
            [-inf] * 39 + [2.0],  # the max arrives last: the online rescaling starts from -inf
        ],
        dtype=np.float32,
    )


@pytest.mark.parametrize("variant", sm.VARIANTS)
def test_rows_with_infinities_and_nan_behave_like_pytorch(variant: str) -> None:
    x = special_rows()
    for dtype in ("float32", "float64"):
        for log in (False, True):
            with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
                expected = reference(x.astype(dtype), 1, log)
            close(sm.softmax(x.astype(dtype), 1, log=log, variant=variant, launcher=emulate), expected, f"{dtype}")


@requires_torch
def test_the_reference_rows_agree_with_pytorch() -> None:
    x = special_rows()
    for log in (False, True):
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            ours = reference(x, 1, log)
        fn = torch.log_softmax if log else torch.softmax
        np.testing.assert_allclose(ours, fn(torch.from_numpy(x).double(), 1).numpy(), rtol=1e-12, equal_nan=True)


def test_long_rows_use_the_online_kernel_with_threads_looping() -> None:
    n = sm.SHARED_ROW_BYTES // 4 + 1  # one value more than the block kernel's float cache holds
    x = np.random.default_rng(1).standard_normal((1, n)).astype(np.float32)
    kernels: list = []
    close(sm.softmax(x, 1, launcher=recording(kernels)), reference(x, 1, False), "online")
    assert kernels == ["softmax_forward_online<float>"]


def test_planner_picks_by_row_length() -> None:
    assert sm.plan(4096, np.float32) == "registers" and sm.plan(4097, np.float32) == "block"
    assert sm.plan(16384, np.float32, width=4) == "registers" and sm.plan(16388, np.float32, width=4) == "online"
    assert sm.plan(12288, np.float32) == "block" and sm.plan(12289, np.float32) == "online"
    assert sm.plan(6144, np.float64) == "block" and sm.plan(6145, np.float64) == "online"
    assert sm.plan(6144, np.float32, backward=True) == "block"  # caches y and dy
    assert sm.plan(6145, np.float32, backward=True) == "online"


# ---- the register kernel's vectors -------------------------------------------------------------------------------
VECTOR_KERNELS = {"float32": "float, 4", "float64": "double, 2", "float16": "__half, 8"}


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("rows, n", [(5, 8), (6, 64), (3, 1024), (3, 2048), (2, 4096)])
def test_aligned_contiguous_rows_move_as_vectors(rows: int, n: int, dtype: str) -> None:
    """1 to 4 warps per row; 5 and 3 rows leave rows of the last block empty (they must still meet the barriers).
    Rows padded by a whole vector stay aligned, so they take vectors too."""
    rng = np.random.default_rng(n)
    x = (rng.standard_normal((rows, n)) * 4).astype(dtype)
    dy = rng.standard_normal((rows, n)).astype(dtype)
    padded = np.zeros((rows, n + 16), dtype)
    padded[:, :n] = x
    for name, view in (("contiguous", x), ("padded", padded[:, :n])):
        for log in (False, True):
            kernels: list = []
            what = f"{name} log={log}"
            y = sm.softmax(view, 1, log=log, launcher=recording(kernels))
            close(y, reference(x, 1, log), what)
            dx = sm.softmax_backward(y, dy, -1, log=log, launcher=recording(kernels))
            close(dx, reference_backward(y, dy, 1, log), what + " backward")
            assert all(f"_registers<{VECTOR_KERNELS[dtype]}," in k for k in kernels), (what, kernels)


def misaligned_views(x: np.ndarray):
    """Arrays equal to ``x`` (rows of a length that vectors divide) that the vector path must refuse."""
    rows, n = x.shape
    shifted = np.zeros((rows, n + 8), x.dtype)
    shifted[:, 1 : n + 1] = x
    yield "shifted by one value", shifted[:, 1 : n + 1]
    padded = np.zeros((rows, n + 1), x.dtype)
    padded[:, :n] = x
    yield "rows one value apart from alignment", padded[:, :n]
    yield "strided", np.repeat(x, 2, axis=1)[:, ::2]
    yield "column of a transposed array", np.ascontiguousarray(x.T).T


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", (1024, 4096))
def test_the_vector_path_falls_back_to_scalars(n: int, dtype: str) -> None:
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((3, n)) * 4).astype(dtype)
    dy = rng.standard_normal((3, n)).astype(dtype)
    for name, view in misaligned_views(x):
        kernels: list = []
        y = sm.softmax(view, 1, launcher=recording(kernels))
        close(y, reference(x, 1, False), name)
        assert kernels[-1].startswith(f"softmax_forward_registers<{VECTOR_KERNELS[dtype].split(',')[0]}, 1,"), name
        dx = sm.softmax_backward(y, view, 1, log=True, launcher=recording(kernels))  # only dy misaligned
        close(dx, reference_backward(y, x, 1, True), name + " backward")
        assert ", 1, " in kernels[-1], (name, kernels)
    odd = x[:, : n - 1].copy()  # contiguous and aligned, but a length no vector divides
    close(sm.softmax(odd, 1, launcher=recording(kernels)), reference(odd, 1, False), "odd length")
    assert ", 1, " in kernels[-1]
    close(sm.softmax_backward(y, dy, 1, launcher=emulate), reference_backward(y, dy, 1, False), "aligned again")


@pytest.mark.parametrize("warps", (4, 8, 16))
def test_warps_per_row_can_be_chosen(warps: int) -> None:
    x = np.random.default_rng(warps).standard_normal((3, 4096)).astype(np.float32)
    launches: list = []
    y = sm.softmax(x, 1, warps=warps, launcher=lambda launch: (launches.append(launch), emulate(launch)))
    close(y, reference(x, 1, False), f"{warps} warps")
    assert launches[0].block == (32 * warps, 1, 1) and f"<float, 4, {32 // warps}>" in launches[0].kernel
    dx = sm.softmax_backward(y, x, 1, warps=warps, launcher=emulate)
    close(dx, reference_backward(y, x, 1, False), f"{warps} warps backward")


def test_the_row_warps_agree_with_the_kernels_launch_bounds() -> None:
    source = (CSRC / "softmax.cu").read_text()
    assert f"constexpr int kMaxRowThreads = {32 * sm.MAX_ROW_WARPS};" in source


def test_the_benchmark_shapes_take_float4_rows_in_registers() -> None:
    """softmax 4096x4096 and 32768x1024 float32 (benchmarks/kernels): one read and one write of 16-byte vectors."""
    for (rows, n), warps in (((4096, 4096), 4), ((32768, 1024), 1)):
        launches: list = []
        x = np.empty((rows, n), np.float32)
        sm.softmax(x, -1, launcher=counting(launches))
        sm.softmax_backward(x, x, -1, launcher=counting(launches))
        for launch, direction in zip(launches, ("forward", "backward")):
            assert launch.kernel == f"softmax_{direction}_registers<float, 4, 8>"
            per_block = 128 // (32 * warps)
            assert launch.block == (32 * warps, per_block, 1) and launch.grid == (rows // per_block, 1, 1)


def test_zero_dim_and_empty_arrays() -> None:
    one = np.array(2.5, dtype=np.float32)
    assert sm.softmax(one, 0, launcher=emulate) == 1.0 and sm.softmax(one, -1, log=True, launcher=emulate) == 0.0
    assert sm.softmax_backward(one, one, 0, launcher=emulate).shape == ()
    empty = np.zeros((0, 5), np.float32)
    assert sm.softmax(empty, 1, launcher=emulate).shape == (0, 5)
    assert sm.softmax_backward(empty, empty, 0, launcher=emulate).shape == (0, 5)


def test_bad_input_is_refused() -> None:
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(TypeError, match="float32"):
        sm.softmax(x.astype(np.int64), 1, launcher=emulate)
    with pytest.raises(IndexError, match=r"range of \[-2, 1\], but got 2"):
        sm.softmax(x, 2, launcher=emulate)
    with pytest.raises(ValueError, match="at most 4096"):
        sm.softmax(np.zeros((1, 4097), np.float32), 1, variant="registers", launcher=emulate)
    with pytest.raises(ValueError, match="2 warps of the register softmax hold rows of at most 2048"):
        sm.softmax(np.zeros((1, 4096), np.float32), 1, warps=2, launcher=emulate)
    with pytest.raises(ValueError, match="block per row"):
        sm.softmax(x, 1, variant="block", warps=2, launcher=emulate)
    with pytest.raises(ValueError, match="shared memory"):
        sm.softmax(np.zeros((1, 12289), np.float32), 1, variant="block", launcher=emulate)
    with pytest.raises(ValueError, match="unknown softmax variant"):
        sm.softmax(x, 1, variant="fast", launcher=emulate)
    with pytest.raises(ValueError, match="shape"):
        sm.softmax_backward(x, x[:1], 1, launcher=emulate)
    with pytest.raises(TypeError, match="dtype"):
        sm.softmax_backward(x, x.astype(np.float64), 1, launcher=emulate)


# ---- the emulator -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def selftest() -> EmulatedModule:
    names = [
        "emu_indices",
        "emu_reverse<true>",
        "emu_reverse<false>",
        "emu_reverse_static",
        "emu_warp<float>",
        "emu_warp<double>",
        "emu_atomic_sum<float>",
        "emu_atomic_sum<double>",
        "emu_copy4",
        "emu_early_exit",
        "emu_deadlock",
        "emu_out_of_bounds",
    ]
    return EmulatedModule(pathlib.Path(EMU_DIR / "selftest.cu"), names)


def test_emulator_maps_the_grid_to_block_and_thread_indices(selftest: EmulatedModule) -> None:
    grid, block = (2, 3, 2), (4, 2, 3)
    out = np.zeros(12 * 24, np.int32)
    selftest.launch("emu_indices", grid, block, (out,))
    z, y, x = np.meshgrid(range(3), range(2), range(4), indexing="ij")
    thread_ids = (100 * z + 10 * y + x).ravel()
    expected = np.concatenate([b * 10000 + thread_ids for b in range(12)])
    np.testing.assert_array_equal(out, expected)


def test_emulator_threads_run_concurrently_and_meet_at_barriers(selftest: EmulatedModule) -> None:
    x = np.arange(2 * 1024, dtype=np.float32)
    expected = x.reshape(2, -1)[:, ::-1].ravel()
    for kernel, shared in (("emu_reverse<true>", 4096), ("emu_reverse_static", 0)):
        y = np.zeros_like(x)
        selftest.launch(kernel, (2, 1, 1), (1024, 1, 1), (x, y), shared)
        np.testing.assert_array_equal(y, expected, err_msg=kernel)
    # Without __syncthreads, threads read the slots of threads that have not written yet.
    y = np.zeros_like(x)
    selftest.launch("emu_reverse<false>", (2, 1, 1), (1024, 1, 1), (x, y), 4096)
    assert np.isnan(y.reshape(2, -1)).any(axis=1).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_emulator_warp_shuffles(selftest: EmulatedModule, dtype: str) -> None:
    v = np.random.default_rng(0).standard_normal(96).astype(dtype)
    out = np.zeros((96, 5), dtype)
    selftest.launch(f"emu_warp<{'float' if dtype == 'float32' else 'double'}>", (1, 1, 1), (96, 1, 1), (v, out))
    warps = v.reshape(3, 32)
    np.testing.assert_allclose(out[:, 0], np.repeat(warps.sum(1), 32), rtol=1e-6)
    np.testing.assert_array_equal(out[:, 1], np.repeat(warps.max(1), 32))
    down = np.concatenate([np.append(w[1:], w[-1]) for w in warps])  # the last lane keeps its own value
    up = np.concatenate([np.concatenate([w[:2], w[:-2]]) for w in warps])
    np.testing.assert_array_equal(out[:, 2], down)
    np.testing.assert_array_equal(out[:, 3], up)
    np.testing.assert_array_equal(out[:, 4], np.repeat(warps[:, 3], 32))


def test_emulator_atomics_early_exit_and_argument_types(selftest: EmulatedModule) -> None:
    x = np.arange(200, dtype=np.float64)
    total = np.zeros(1)
    selftest.launch("emu_atomic_sum<double>", (3, 1, 1), (64, 1, 1), (x, total, np.int32(150)))
    assert total[0] == x[:150].sum()
    with pytest.raises(TypeError, match="np.int32"):  # a Python int is a long long, as CuPy passes it
        selftest.launch("emu_atomic_sum<double>", (3, 1, 1), (64, 1, 1), (x, total, 150))
    with pytest.raises(TypeError, match=r"\*f8"):
        selftest.launch("emu_atomic_sum<double>", (3, 1, 1), (64, 1, 1), (x.astype(np.float32), total, np.int32(1)))
    out = np.zeros(1, np.float32)
    selftest.launch("emu_early_exit", (1, 1, 1), (256, 1, 1), (x.astype(np.float32), out, np.int32(100)))
    assert out[0] == x[:100].sum()


def test_emulator_reports_gpu_faults(selftest: EmulatedModule) -> None:
    a = np.arange(65, dtype=np.float32)
    b = np.zeros(64, np.float32)
    selftest.launch("emu_copy4", (1, 1, 1), (16, 1, 1), (a[:64], b))
    np.testing.assert_array_equal(a[:64], b)
    with pytest.raises(RuntimeError, match="misaligned"):
        selftest.launch("emu_copy4", (1, 1, 1), (16, 1, 1), (a[1:], b))
    with pytest.raises(RuntimeError, match="deadlock"):
        selftest.launch("emu_deadlock", (1, 1, 1), (32, 1, 1), (b,))
    with pytest.raises(RuntimeError, match="out of bounds"):
        selftest.launch("emu_out_of_bounds", (1, 1, 1), (1, 1, 1), (b, np.int32(64)))
    with pytest.raises(ValueError, match="1024 threads"):
        selftest.launch("emu_indices", (1, 1, 1), (1025, 1, 1), (b,))
