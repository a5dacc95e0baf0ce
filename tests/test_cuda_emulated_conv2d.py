"""The conv2d implicit-GEMM kernels of csrc/cuda/conv2d.cu, run on the CPU emulator.

The reference is minitorch's CPU conv2d and autograd in float64 (forward, input gradient and weight gradient in one
pass), so these tests need no PyTorch. Results must lie within the worst-case rounding error of their sums (see
assert_within_rounding); an index slip, a missed padding check or a read outside an array (NaN in the emulator) fails.
"""

import numpy as np
import pytest

import minitorch
import minitorch.nn.functional as F
from minitorch.backends.cuda_kernels import KERNELS
from minitorch.backends.cuda_kernels import conv2d as conv

from cuda_emulation import Recorder, assert_within_rounding, emulate

DTYPES = (np.float32, np.float64)

# (N, C, H, W), (K, R, S), stride, padding (before), dilation, groups, output size or None (symmetric padding)
CASES = {
    "1x1": ((1, 1, 5, 7), (1, 1, 1), (1, 1), (0, 0), (1, 1), 1, None),
    "3x3 same": ((3, 3, 9, 9), (5, 3, 3), (1, 1), (1, 1), (1, 1), 1, None),
    "odd stride dilation": ((1, 5, 5, 7), (3, 3, 2), (2, 1), (1, 0), (1, 2), 1, None),
    "groups": ((3, 6, 9, 9), (4, 3, 2), (2, 1), (1, 0), (1, 2), 2, None),
    "depthwise": ((3, 3, 5, 7), (3, 3, 3), (1, 1), (1, 1), (1, 1), 3, None),
    "depthwise x2": ((1, 5, 9, 9), (10, 3, 3), (2, 2), (2, 2), (2, 1), 5, None),
    "same, even filter": ((3, 3, 5, 7), (5, 2, 2), (1, 1), (0, 0), (1, 1), 1, (5, 7)),  # padding 0 before, 1 after
    "stride beyond filter": ((1, 3, 9, 9), (5, 2, 2), (3, 3), (0, 0), (1, 1), 1, None),  # some inputs unused
    "padding beyond filter": ((1, 3, 5, 7), (5, 3, 3), (1, 1), (3, 3), (1, 1), 1, None),  # all-padding windows
    "stride 2": ((2, 3, 9, 8), (4, 3, 3), (2, 2), (1, 1), (1, 1), 1, None),
    "stride 2x3, groups, even filter": ((2, 4, 11, 10), (6, 4, 2), (2, 3), (0, 1), (1, 1), 2, (5, 4)),
}


def out_size(x_hw, kernel, stride, padding, dilation):
    return tuple(
        (n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, s, p, d in zip(x_hw, kernel, stride, padding, dilation)
    )


def reference(x, w, g, stride, padding, dilation, groups, out_hw):
    """(y, gx, gw) in float64 from minitorch's CPU conv2d and autograd. The input is zero-padded explicitly, by
    ``padding`` before and whatever the output size needs after, so asymmetric padding is covered too."""
    (H, W), (R, S) = x.shape[2:], w.shape[2:]
    after = [
        max(0, (o - 1) * s + d * (k - 1) + 1 - n - p)
        for o, s, d, k, n, p in zip(out_hw, stride, dilation, (R, S), (H, W), padding)
    ]
    x_padded = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (padding[0], after[0]), (padding[1], after[1])))
    xt = minitorch.tensor(x_padded, requires_grad=True)
    wt = minitorch.tensor(w.astype(np.float64), requires_grad=True)
    y = F.conv2d(xt, wt, stride=stride, dilation=dilation, groups=groups)[:, :, : out_hw[0], : out_hw[1]]
    y.backward(minitorch.tensor(g.astype(np.float64)))
    gx = xt.grad.numpy()[:, :, padding[0] : padding[0] + H, padding[1] : padding[1] + W]
    return y.detach().numpy(), gx, wt.grad.numpy()


def problem(case, dtype, seed=0):
    x_shape, (K, R, S), stride, padding, dilation, groups, out_hw = case
    out_hw = out_hw or out_size(x_shape[2:], (R, S), stride, padding, dilation)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal((K, x_shape[1] // groups, R, S)).astype(dtype)
    g = rng.standard_normal((x_shape[0], K) + out_hw).astype(dtype)
    geometry = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return x, w, g, geometry, out_hw


def run_and_check(direction, x, w, g, geometry, out_hw, launcher=emulate, **plan):
    """Run one of the three kernels and compare it with the reference, within the rounding bound of its sums. ``plan``
    (tile, splits) goes to the wrapper."""
    exact = reference(x, w, g, out_hw=out_hw, **geometry)
    magnitude = reference(np.abs(x), np.abs(w), np.abs(g), out_hw=out_hw, **geometry)
    N, (K, Cg, R, S) = x.shape[0], w.shape
    if direction == "forward":
        result = conv.conv2d_forward(x, w, out_hw=out_hw, launcher=launcher, **geometry, **plan)
        index, terms = 0, Cg * R * S
    elif direction == "backward_input":
        result = conv.conv2d_backward_input(g, w, x_hw=x.shape[2:], launcher=launcher, **geometry, **plan)
        index, terms = 1, K // geometry["groups"] * R * S
    else:
        result = conv.conv2d_backward_weight(x, g, w_shape=w.shape, launcher=launcher, **geometry, **plan)
        index, terms = 2, N * out_hw[0] * out_hw[1]
    assert result.dtype == x.dtype and result.flags.c_contiguous
    assert_within_rounding(result, exact[index], magnitude[index], terms)


DIRECTIONS = ("forward", "backward_input", "backward_weight")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_matches_the_cpu_convolution(direction, case, dtype):
    run_and_check(direction, *problem(case, dtype))


# Odd sizes around the tiles: 65 and 129 channels leave one-channel remainders of 64 and 128 wide tiles, 31 and 97
# output pixels per image partial pixel tiles; the reductions span several k-steps (585, 873 and 126 terms).
TILE_CASE = ((2, 65, 9, 7), (129, 3, 3), (1, 1), (1, 1), (1, 1), 1, None)
TILE_CASE_STRIDED = ((1, 33, 13, 15), (65, 3, 3), (2, 2), (1, 0), (1, 2), 1, None)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_every_emulatable_instantiation_is_checked(dtype):
    """Every tile of the dtype runs the three directions, unsplit and split, where the tile covers a GEMM side with
    a remainder."""
    record = Recorder()
    for tile in conv.DTYPE_TILES[np.dtype(dtype).name]:
        for direction in DIRECTIONS:
            for case, splits in ((TILE_CASE, 1), (TILE_CASE_STRIDED, 3)):
                run_and_check(direction, *problem(case, dtype), launcher=record, tile=tile, splits=splits)
    ctype = conv.CTYPES[np.dtype(dtype).name]
    assert set(record.kernels) == {name for name in KERNELS["conv2d.cu"] if f"<{ctype}," in name}


@pytest.mark.parametrize("case", ["groups", "depthwise x2", "odd stride dilation", "same, even filter"])
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_split_reductions(direction, case, monkeypatch):
    """Slices of the reduction, each into its own partial output, summed by the host: with groups (grid z runs over
    group and slice), slices of unequal length, more slices than the grid's z holds (the kernel loops over the rest)."""
    monkeypatch.setattr(conv, "MAX_GRID_Y", 4)
    for splits in (2, 5):
        record = Recorder()
        run_and_check(direction, *problem(CASES[case], np.float32), launcher=record, splits=splits)
        assert int(record.launches[0].args[-2]) > 1  # every reduction here spans more than one k-step


def test_the_weight_gradient_splits_its_reduction_by_default(monkeypatch):
    """With the planner's constants scaled down to a small problem, the default plan splits the weight gradient."""
    monkeypatch.setattr(conv, "MIN_SLICE", 16)
    record = Recorder()
    x, w, g, geometry, out_hw = problem(TILE_CASE_STRIDED, np.float32)
    run_and_check("backward_weight", x, w, g, geometry, out_hw, launcher=record)
    (launch,) = record.launches
    splits, slice_k, pixels = int(launch.args[-2]), int(launch.args[-1]), out_hw[0] * out_hw[1]
    assert splits > 1 and launch.grid[2] == splits and (splits - 1) * slice_k < pixels <= splits * slice_k


# ResNet-18's 3x3 layers at batch 32 on an H100 (132 SMs): (M, N, K) of the forward, backward-data and
# backward-weight GEMMs, and the plans they get.
RESNET_PLANS = {
    "fwd 64->64 56x56": ((100352, 64, 576), ("128x64", 1)),
    "fwd 128->128 28x28": ((25088, 128, 1152), ("128x128", 1)),
    "fwd 256->256 14x14": ((6272, 256, 2304), ("128x128", 2)),
    "fwd 512->512 7x7": ((1568, 512, 4608), ("128x128", 5)),
    "dgrad 64->128 s2": ((100352, 64, 1152), ("128x64", 1)),
    "wgrad 64->64 56x56": ((64, 576, 100352), ("64x128", 52)),
    "wgrad 64->128 s2": ((128, 576, 25088), ("128x128", 52)),
    "wgrad 256->512 s2": ((512, 2304, 1568), ("128x128", 3)),
    "wgrad 512->512 7x7": ((512, 4608, 1568), ("128x128", 1)),
}


@pytest.mark.parametrize("gemm, expected", RESNET_PLANS.values(), ids=RESNET_PLANS.keys())
def test_plans_for_resnet18(gemm, expected):
    p = conv.plan(*gemm, 1, "float32")
    assert (p.tile, p.splits) == expected
    bk = conv.TILES[p.tile][2]
    assert p.slice_k % bk == 0 and (p.splits - 1) * p.slice_k < gemm[2] <= p.splits * p.slice_k
    assert p.splits == 1 or p.slice_k >= conv.MIN_SLICE


def test_plans_for_small_sides_and_float64():
    assert conv.plan(1000, 3, 27, 1, "float32").tile == "32x32"  # a depthwise-like side of 3 channels
    assert conv.plan(1000, 40, 27, 1, "float32").tile == "128x64"  # 40 fills more than half of 64
    assert conv.plan(32, 40, 27, 1, "float32").tile == "32x32"  # 32 rows fill no more than half of 64
    assert conv.plan(10**5, 512, 4608, 1, "float64").tile == "64x64"
    with pytest.raises(ValueError, match="tile"):
        conv.plan(10, 10, 10, 1, "float64", tile="128x128")


def test_a_strided_input_gradient_runs_one_dense_gemm_per_phase():
    """Stride 2x3 without dilation: a stride-1 launch per phase, over the phase's taps only. The 4x2 filter at column
    padding 1 has 2 filter rows in each row phase and 1, 0 and 1 filter columns in the three column phases: the
    phase with none is all zeros and needs no launch."""
    record = Recorder()
    run_and_check("backward_input", *problem(CASES["stride 2x3, groups, even filter"], np.float64), launcher=record)
    strides = [(int(launch.args[13]), int(launch.args[14])) for launch in record.launches]  # (sh, sw)
    assert strides == [(1, 1)] * 4


@pytest.mark.parametrize("seed", range(8))
def test_random_geometries(seed):
    """Random sizes, strides, paddings, dilations and groups, on a random tile and split (or the planner's)."""
    rng = np.random.default_rng(seed)
    while True:
        groups, Cg, Kg = (int(rng.choice(v)) for v in ((1, 2, 3), (1, 3, 7, 17, 33), (1, 5, 9, 33, 65)))
        R, S, sh, sw, ph, pw = (int(v) for v in rng.integers((1, 1, 1, 1, 0, 0), (5, 5, 4, 4, 3, 3)))
        dilation = (int(rng.choice((1, 1, 2))), int(rng.choice((1, 1, 3))))
        x_shape = (int(rng.integers(1, 4)), Cg * groups, int(rng.integers(1, 14)), int(rng.integers(1, 14)))
        case = (x_shape, (Kg * groups, R, S), (sh, sw), (ph, pw), dilation, groups, None)
        if min(out_size(x_shape[2:], (R, S), (sh, sw), (ph, pw), dilation)) >= 1:
            break
    dtype = (np.float32, np.float64)[seed % 2]
    tiles = (None, *conv.DTYPE_TILES[np.dtype(dtype).name])
    tile = tiles[seed // 2 % len(tiles)]
    for direction in DIRECTIONS:
        run_and_check(direction, *problem(case, dtype, seed), tile=tile, splits=(None, 1, 2, 5)[seed // 2 % 4])


def test_non_contiguous_inputs():
    x, w, g, geometry, out_hw = problem(CASES["groups"], np.float64)
    x = np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)  # the same values, column-major images
    w = np.asfortranarray(w)
    for direction in DIRECTIONS:
        run_and_check(direction, x, w, g, geometry, out_hw)


def test_an_empty_batch():
    x, w, g, geometry, out_hw = problem(CASES["3x3 same"], np.float32)
    x, g = x[:0], g[:0]

    def no_launch(launch):
        raise AssertionError("an empty result needs no kernel")

    assert conv.conv2d_forward(x, w, out_hw=out_hw, launcher=no_launch, **geometry).shape == (0, 5, 9, 9)
    assert conv.conv2d_backward_input(g, w, x_hw=(9, 9), launcher=no_launch, **geometry).shape == (0, 3, 9, 9)
    gw = conv.conv2d_backward_weight(x, g, w_shape=w.shape, launcher=emulate, **geometry)
    assert gw.shape == w.shape and (gw == 0).all()  # a sum over no pixels


GEOMETRY = dict(stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1)


@pytest.mark.parametrize(
    "x, w, geometry, error, match",
    [
        (np.ones((1, 2, 4, 4), np.int32), np.ones((3, 2, 2, 2), np.int32), GEOMETRY, TypeError, "float32 and float64"),
        (np.ones((1, 2, 4, 4), np.float32), np.ones((3, 2, 2, 2)), GEOMETRY, TypeError, "same dtype"),
        (np.ones((2, 4, 4)), np.ones((3, 2, 2, 2)), GEOMETRY, ValueError, "4-d"),
        (np.ones((1, 2, 4, 4)), np.ones((3, 1, 2, 2)), GEOMETRY, ValueError, "groups=1"),
        (np.ones((1, 4, 4, 4)), np.ones((3, 2, 2, 2)), dict(GEOMETRY, groups=2), ValueError, "divide"),
        (np.ones((1, 2, 4, 4)), np.ones((3, 2, 2, 2)), dict(GEOMETRY, stride=(0, 1)), ValueError, "stride"),
        (np.ones((1, 2, 4, 4)), np.ones((3, 2, 2, 2)), dict(GEOMETRY, padding=(-1, 0)), ValueError, "padding"),
    ],
)
def test_errors(x, w, geometry, error, match):
    with pytest.raises(error, match=match):
        conv.conv2d_forward(x, w, out_hw=(3, 3), launcher=emulate, **geometry)


def test_gradient_shape_errors():
    x, w, g = np.ones((2, 2, 4, 4)), np.ones((3, 2, 2, 2)), np.ones((2, 3, 3, 3))
    with pytest.raises(ValueError, match="batch"):
        conv.conv2d_backward_weight(x[:1], g, w_shape=w.shape, launcher=emulate, **GEOMETRY)
    with pytest.raises(ValueError, match="channels"):
        conv.conv2d_backward_input(g, w[:2], x_hw=(4, 4), launcher=emulate, **GEOMETRY)
