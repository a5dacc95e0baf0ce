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


def run_and_check(direction, x, w, g, geometry, out_hw, launcher=emulate):
    """Run one of the three kernels and compare it with the reference, within the rounding bound of its sums."""
    exact = reference(x, w, g, out_hw=out_hw, **geometry)
    magnitude = reference(np.abs(x), np.abs(w), np.abs(g), out_hw=out_hw, **geometry)
    N, (K, Cg, R, S) = x.shape[0], w.shape
    if direction == "forward":
        result = conv.conv2d_forward(x, w, out_hw=out_hw, launcher=launcher, **geometry)
        index, terms = 0, Cg * R * S
    elif direction == "backward_input":
        result = conv.conv2d_backward_input(g, w, x_hw=x.shape[2:], launcher=launcher, **geometry)
        index, terms = 1, K // geometry["groups"] * R * S
    else:
        result = conv.conv2d_backward_weight(x, g, w_shape=w.shape, launcher=launcher, **geometry)
        index, terms = 2, N * out_hw[0] * out_hw[1]
    assert result.dtype == x.dtype and result.flags.c_contiguous
    assert_within_rounding(result, exact[index], magnitude[index], terms)


DIRECTIONS = ("forward", "backward_input", "backward_weight")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_matches_the_cpu_convolution(direction, case, dtype):
    run_and_check(direction, *problem(case, dtype))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_every_emulatable_instantiation_is_checked(dtype, monkeypatch):
    """Both tile sizes: the large one needs both GEMM sides above 32 and enough blocks (SMS = 1 makes one enough)."""
    case = ((1, 33, 5, 7), (40, 3, 3), (1, 1), (1, 1), (1, 1), 1, None)
    record = Recorder()
    for sms in (conv.SMS, 1):
        monkeypatch.setattr(conv, "SMS", sms)
        for direction in DIRECTIONS:
            run_and_check(direction, *problem(case, dtype), launcher=record)
    ctype = conv.CTYPES[np.dtype(dtype).name]
    assert set(record.kernels) == {name for name in KERNELS["conv2d.cu"] if f"<{ctype}," in name}


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
