"""The matmul kernels of csrc/cuda/matmul.cu, run on the CPU emulator and compared with NumPy.

The wrapper, its planner and the kernel source are exactly what runs on a GPU; only the launcher differs. Results are
compared with a float64 product within the worst-case rounding error of a sum of K products, so a wrong index, a
missing barrier or a read outside the matrix (the emulator's guard bytes are NaN) fails, while any summation order
passes. The tensor-core kernels cannot be emulated: for them only the planner's choice is checked here.
"""

import dataclasses

import numpy as np
import pytest

from minitorch.backends.cuda_kernels import KERNELS
from minitorch.backends.cuda_kernels import matmul as mm

from cuda_emulation import Recorder, assert_within_rounding, emulate

VECTOR = tuple(mm.VECTOR_TILES)  # rungs 6 and 7 in their tile configurations
EMULATED = ("naive", "coalesced", "smem", "regblock", "warptile", *VECTOR, None)
DTYPES = (np.float32, np.float64)
SHAPES = [(1, 1, 1), (7, 33, 65), (33, 7, 1), (65, 129, 33), (129, 65, 7), (7, 1, 129)]  # (M, N, K)


def check_product(c, a, b):
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    assert c.dtype == a.dtype and c.flags.c_contiguous
    assert_within_rounding(c, np.matmul(a64, b64), np.matmul(np.abs(a64), np.abs(b64)), a.shape[-1])


def random(shape, dtype, rng):
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("variant", EMULATED)
def test_variant_matches_numpy(variant, dtype, shape):
    M, N, K = shape
    rng = np.random.default_rng(0)
    a, b = random((M, K), dtype, rng), random((K, N), dtype, rng)
    check_product(mm.matmul(a, b, variant=variant, launcher=emulate), a, b)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_every_emulatable_instantiation_is_checked(dtype, monkeypatch):
    """Both tile sizes (SMS = 1 makes one block count as enough to fill the GPU) and both load paths of each kernel."""
    rng = np.random.default_rng(1)
    record = Recorder()
    for sms in (mm.SMS, 1):
        monkeypatch.setattr(mm, "SMS", sms)
        for shape in ((33, 64, 64), (33, 65, 7)):  # 16-byte vector loads possible, then not
            M, N, K = shape
            a, b = random((M, K), dtype, rng), random((K, N), dtype, rng)
            for variant in EMULATED:
                check_product(mm.matmul(a, b, variant=variant, launcher=record), a, b)
    ctype = mm.CTYPES[np.dtype(dtype).name]
    registered = {name for name, emulated in KERNELS["matmul.cu"].items() if emulated and f"<{ctype}" in name}
    assert set(record.kernels) == registered


def layouts(M, N, K, dtype, rng):
    """(name, a, b) with the values of (M, K) and (K, N) matrices in different memory layouts."""
    a, b = random((M, K), dtype, rng), random((K, N), dtype, rng)
    big_a, big_b = random((2 * M, 3 * K), dtype, rng), random((K, 2 * N), dtype, rng)
    yield "transposed", np.ascontiguousarray(a.T).T, np.ascontiguousarray(b.T).T
    yield "sliced", big_a[::2, 1::3], big_b[:, ::2]
    yield "reversed", a[::-1], b[:, ::-1]
    yield "broadcast rows", np.broadcast_to(a[:1], (M, K)), np.broadcast_to(b[:, :1], (K, N))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("variant", EMULATED)
def test_strided_operands_need_no_copy(variant, dtype):
    rng = np.random.default_rng(2)
    for layout, a, b in layouts(33, 65, 7, dtype, rng):
        record = Recorder()
        c = mm.matmul(a, b, variant=variant, launcher=record)
        check_product(c, a, b)
        (launch,) = record.launches
        assert launch.args[0] is a and launch.args[1] is b, layout  # the views themselves reach the kernel


@pytest.mark.parametrize("shape", [(128, 256, 16), (129, 257, 17), (255, 127, 9), (1, 300, 1)], ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("variant", VECTOR)
def test_vector_tiles_whole_and_partial(variant, dtype, shape):
    """Shapes that are whole multiples of the block tiles and shapes that leave partial tiles in m, n and k, with
    row-major, transposed and batched operands (the batch also runs through a grid capped at fewer blocks)."""
    M, N, K = shape
    rng = np.random.default_rng(8)
    a, b = random((M, K), dtype, rng), random((K, N), dtype, rng)
    check_product(mm.matmul(a, b, variant=variant, launcher=emulate), a, b)
    a_t, b_t = np.ascontiguousarray(a.T).T, np.ascontiguousarray(b.T).T
    check_product(mm.matmul(a_t, b_t, variant=variant, launcher=emulate), a_t, b_t)
    a3, b3 = random((3, M, K), dtype, rng), random((3, K, N), dtype, rng)
    record = Recorder(execute=False)
    c = mm.matmul(a3, b3, variant=variant, launcher=record)
    emulate(dataclasses.replace(record.launches[0], grid=record.launches[0].grid[:2] + (2,)))
    check_product(c, a3, b3)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("variant", ("warptile", *VECTOR))
def test_vector_loads_follow_each_operands_contiguous_index(variant, dtype):
    rng = np.random.default_rng(3)
    M, N, K = 64, 32, 16
    a, b = random((M, K), dtype, rng), random((K, N), dtype, rng)
    a_t, b_t = np.ascontiguousarray(a.T).T, np.ascontiguousarray(b.T).T
    padded = random((M, K + 1), dtype, rng)
    cases = [
        (a, b, True),  # rows of A and B are contiguous: vectors along k for A, along n for B
        (a_t, b_t, True),  # transposed storage: vectors along m for A, along k for B
        (padded[:, :K], b, False),  # A's rows start K + 1 elements apart: not 16-byte aligned
        (padded[:, 1:], b, False),  # A's first element is not 16-byte aligned
    ]
    for a_, b_, vectorized in cases:
        record = Recorder()
        check_product(mm.matmul(a_, b_, variant=variant, launcher=record), a_, b_)
        assert record.kernels[0].endswith(f"{str(vectorized).lower()}>")


BATCHES = [
    ((2, 3, 7, 5), (5, 9)),  # a shared B: folded into one tall product
    ((7, 5), (4, 5, 9)),  # a shared A
    ((3, 1, 7, 5), (1, 4, 5, 9)),  # batches that broadcast against each other: one operand is copied
    ((2, 1, 7, 5), (3, 5, 9)),
    ((1, 7, 5), (1, 5, 9)),
    ((4, 3, 7, 5), (4, 3, 5, 9)),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("shapes", BATCHES, ids=str)
def test_broadcast_batches(shapes, dtype):
    rng = np.random.default_rng(4)
    a, b = random(shapes[0], dtype, rng), random(shapes[1], dtype, rng)
    for variant in ("smem", "warptile", "pipelined", None):
        check_product(mm.matmul(a, b, variant=variant, launcher=emulate), a, b)


def test_strided_and_expanded_batches():
    rng = np.random.default_rng(5)
    a = random((4, 5, 7, 3), np.float64, rng)[:, :3]  # (4, 3) batch with strides 5 * 21 and 21: not one stride
    b = np.broadcast_to(random((3, 1, 3, 6), np.float64, rng), (3, 4, 3, 6)).transpose(1, 0, 2, 3)
    record = Recorder()
    check_product(mm.matmul(a, b, launcher=record), a, b)
    assert record.launches[0].args[1] is not b  # b (stride 0 inside a strided batch) had to be made contiguous


def test_a_shared_operand_folds_the_batch_into_rows():
    rng = np.random.default_rng(6)
    a, b = random((2, 3, 7, 5), np.float32, rng), random((5, 9), np.float32, rng)
    record = Recorder()
    check_product(mm.matmul(a, b, launcher=record), a, b)
    batch, M = record.launches[0].args[3:5]
    assert (batch, M) == (1, 42)


@pytest.mark.parametrize("variant", EMULATED)
def test_kernels_loop_over_batches_beyond_the_grid(variant):
    """The grid's z size is capped at 65535; a block then handles batch entries z, z + 65535, ..."""
    rng = np.random.default_rng(7)
    a, b = random((5, 7, 3), np.float64, rng), random((5, 3, 4), np.float64, rng)
    record = Recorder(execute=False)
    c = mm.matmul(a, b, variant=variant, launcher=record)
    (launch,) = record.launches
    assert launch.grid[2] == 5
    emulate(dataclasses.replace(launch, grid=launch.grid[:2] + (2,)))
    check_product(c, a, b)


def test_the_grid_is_capped_at_cudas_limit():
    a = np.zeros((70000, 1, 1), np.float32)
    record = Recorder(execute=False)
    mm.matmul(a, a, launcher=record)
    assert record.launches[0].grid[2] == 65535


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("variant", EMULATED)
def test_an_empty_inner_dimension_gives_zeros(variant, dtype):
    c = mm.matmul(np.ones((7, 0), dtype), np.ones((0, 5), dtype), variant=variant, launcher=emulate)
    assert c.shape == (7, 5) and c.dtype == dtype and (c == 0).all()


@pytest.mark.parametrize("shapes", [((0, 5), (5, 7)), ((7, 5), (5, 0)), ((0, 7, 5), (5, 3)), ((2, 0, 0), (0, 3))])
def test_empty_results_launch_nothing(shapes):
    def no_launch(launch):
        raise AssertionError("an empty result needs no kernel")

    a, b = np.ones(shapes[0], np.float32), np.ones(shapes[1], np.float32)
    c = mm.matmul(a, b, launcher=no_launch)
    assert c.shape == np.matmul(a, b).shape and c.dtype == np.float32


def test_default_variant_by_shape():
    record = Recorder(execute=False)
    small = np.ones((65, 65), np.float32)
    large = np.ones((2048, 2048), np.float32)  # 256 warp tiles: more blocks than SMs
    mm.matmul(small, small, launcher=record)
    mm.matmul(large, large, launcher=record)
    mm.matmul(large.astype(np.float64), large.astype(np.float64), launcher=record)
    assert record.kernels == [
        "matmul_regblock<float, 64, 64, 8, 4, 4>",
        "matmul_warptile<float, 128, 128, 16, 64, 64, 4, 8, 4, true>",
        "matmul_warptile<double, 64, 64, 8, 32, 32, 2, 4, 4, true>",
    ]
    assert record.launches[1].grid == (16, 16, 1) and record.launches[1].block == (128, 1, 1)
    assert record.launches[2].grid == (32, 32, 1) and record.launches[2].block == (128, 1, 1)


def test_tensor_core_plans():
    """GPU-only kernels: registered without emulation, chosen for float16 and for float32 with allow_tf32."""
    record = Recorder(execute=False)
    half = np.ones((3, 200, 40), np.float16)
    out = mm.matmul(half, half.transpose(0, 2, 1), launcher=record)
    single = np.ones((200, 40), np.float32)
    mm.matmul(single, single.T, allow_tf32=True, launcher=record)
    mm.matmul(single, single.T, variant="tf32", launcher=record)
    assert out.shape == (3, 200, 200) and out.dtype == np.float16
    assert record.kernels == ["matmul_mma<__half>", "matmul_mma<float>", "matmul_mma<float>"]
    assert [(launch.grid, launch.block) for launch in record.launches] == [((2, 2, 3), (256, 1, 1))] + [
        ((2, 2, 1), (256, 1, 1))
    ] * 2
    for name in ("matmul_mma<float>", "matmul_mma<__half>", "matmul_mma<__nv_bfloat16>"):
        assert KERNELS["matmul.cu"][name] is False


@pytest.mark.parametrize(
    "a, b, variant, error, match",
    [
        (np.ones((2, 2), np.int32), np.ones((2, 2), np.int32), None, TypeError, "support"),
        (np.ones((2, 2), np.float32), np.ones((2, 2), np.float64), None, TypeError, "same dtype"),
        (np.ones(3, np.float32), np.ones((3, 2), np.float32), None, ValueError, "at least 2 dimensions"),
        (np.ones((3, 4), np.float32), np.ones((5, 6), np.float32), None, ValueError, "cannot be multiplied"),
        (np.ones((2, 3, 4), np.float32), np.ones((3, 4, 5), np.float32), None, ValueError, "do not broadcast"),
        (np.ones((2, 2), np.float32), np.ones((2, 2), np.float32), "fastest", ValueError, "unknown variant"),
        (np.ones((2, 2), np.float64), np.ones((2, 2), np.float64), "tf32", TypeError, "takes float32"),
        (np.ones((2, 2), np.float16), np.ones((2, 2), np.float16), "naive", TypeError, "float32 and float64"),
        (np.ones((2, 2), np.float32), np.ones((2, 2), np.float32), "fp16", TypeError, "takes float16"),
    ],
)
def test_errors(a, b, variant, error, match):
    with pytest.raises(error, match=match):
        mm.matmul(a, b, variant=variant, launcher=emulate)
