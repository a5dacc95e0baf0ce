"""Pooling (functional and layers) against PyTorch, plus first and second derivatives."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import minitorch
import minitorch.nn as nn
import minitorch.nn.functional as F

from helpers import check, check_raises, grads_ok, leaf64, requires_torch, torch
from nn_helpers import check_module
from strategies import floats

TF = torch.nn.functional if torch is not None else None


def _both(name, **kwargs):
    return (lambda *xs: getattr(F, name)(*xs, **kwargs)), (lambda *xs: getattr(TF, name)(*xs, **kwargs))


@st.composite
def pool_cases(draw, dilation=True):
    """Kernel, stride, padding (at most half the kernel, as PyTorch requires) and an input size that fits."""
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(2))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(2))
    dil = tuple(draw(st.integers(1, 2)) for _ in range(2)) if dilation else (1, 1)
    pad = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    size = tuple(draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), 7)) for k, d, p in zip(kernel, dil, pad))
    return (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + size, kernel, stride, pad, dil


@requires_torch
@given(case=pool_cases(), ceil_mode=st.booleans())
def test_max_pool2d_matches_torch_with_indices(case, ceil_mode):
    shape, kernel, stride, pad, dil = case
    mt, th = _both(
        "max_pool2d",
        kernel_size=kernel,
        stride=stride,
        padding=pad,
        dilation=dil,
        ceil_mode=ceil_mode,
        return_indices=True,
    )
    # A window lying wholly in the padding makes PyTorch's backward index out of bounds (it aborts);
    # that case has its own test below.
    assume(bool((mt(minitorch.ones(shape))[0] > float("-inf")).all()))
    check(mt, th, floats(shape, seed=1), layouts=("contiguous", "transposed"))


@requires_torch
def test_max_pool2d_window_wholly_in_padding():
    """Dilation can make a window skip the input: its value is -inf, its index PyTorch's, no gradient."""
    args = dict(kernel_size=(2, 1), stride=1, padding=(1, 0), dilation=(2, 1), return_indices=True)
    x = minitorch.tensor([[[[5.0]]]], requires_grad=True)
    y, i = F.max_pool2d(x, **args)
    ty, ti = TF.max_pool2d(torch.tensor([[[[5.0]]]]), **args)
    assert y.tolist() == ty.tolist() == [[[[float("-inf")]]]] and i.tolist() == ti.tolist()
    y.sum().backward()
    assert x.grad.tolist() == [[[[0.0]]]]


def test_max_pool2d_padding_never_wins_over_real_minus_infinity():
    x = minitorch.full((1, 1, 2, 2), float("-inf"), requires_grad=True)
    y, i = F.max_pool2d(x, 3, stride=1, padding=1, return_indices=True)
    assert i.tolist() == [[[[0, 0], [0, 0]]]]  # the first real element, as PyTorch picks it
    y.sum().backward()
    assert x.grad.tolist() == [[[[4.0, 0.0], [0.0, 0.0]]]]


@requires_torch
@given(case=pool_cases(dilation=False), ceil_mode=st.booleans(), include=st.booleans())
def test_avg_pool2d_matches_torch(case, ceil_mode, include):
    shape, kernel, stride, pad, _ = case
    mt, th = _both(
        "avg_pool2d", kernel_size=kernel, stride=stride, padding=pad, ceil_mode=ceil_mode, count_include_pad=include
    )
    check(mt, th, floats(shape, seed=1), layouts=("contiguous", "transposed"))


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pools_keep_dtype(dtype):
    x = floats((4, 3, 8, 8), dtype, seed=1)
    for name, kwargs in [("max_pool2d", dict(kernel_size=2)), ("avg_pool2d", dict(kernel_size=2))]:
        check(*_both(name, **kwargs), x)
        assert getattr(F, name)(minitorch.tensor(x), **kwargs).dtype is getattr(minitorch, dtype)


@requires_torch
def test_avg_pool2d_divisor_override_and_unbatched():
    check(*_both("avg_pool2d", kernel_size=3, stride=2, padding=1, divisor_override=4), floats((2, 2, 7, 6), seed=1))
    check(*_both("avg_pool2d", kernel_size=2), floats((3, 6, 5), seed=1))
    check(*_both("max_pool2d", kernel_size=2, stride=1, return_indices=True), floats((3, 6, 5), seed=1))


@requires_torch
def test_max_pool_ties_and_nan_like_torch():
    x = np.array([[[[1.0, 1.0, 0.0], [1.0, 1.0, 2.0], [2.0, 0.0, 2.0]]]])
    check(*_both("max_pool2d", kernel_size=2, stride=1, return_indices=True), x)
    with_nan = x.copy()
    with_nan[0, 0, 0, 1] = np.nan
    check(*_both("max_pool2d", kernel_size=2, stride=1), with_nan, grad=False)


@requires_torch
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_pool1d_matches_torch(ceil_mode):
    x = floats((2, 3, 9), seed=1)
    check(
        *_both("max_pool1d", kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=ceil_mode, return_indices=True),
        x,
    )
    check(*_both("avg_pool1d", kernel_size=3, stride=2, padding=1, ceil_mode=ceil_mode, count_include_pad=False), x)
    check(*_both("max_pool1d", kernel_size=2), x[0])


@requires_torch
@pytest.mark.parametrize("out", [1, 2, (3, 4), (5, None), (9, 7), (2, 1)])
def test_adaptive_pool2d_matches_torch(out):
    x = floats((2, 3, 7, 6), seed=1)
    check(*_both("adaptive_avg_pool2d", output_size=out), x)
    check(*_both("adaptive_max_pool2d", output_size=out, return_indices=True), x)
    check(*_both("adaptive_avg_pool2d", output_size=out), x[0], layouts=("transposed",))


@requires_torch
@pytest.mark.parametrize("out", [1, 3, 4, 11])
def test_adaptive_pool1d_matches_torch(out):
    x = floats((2, 3, 7), seed=1)
    check(*_both("adaptive_avg_pool1d", output_size=out), x)
    check(*_both("adaptive_max_pool1d", output_size=out, return_indices=True), x)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: F.max_pool2d(x, 3, 2, 1, dilation=(1, 2), ceil_mode=True),
        lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
        lambda x: F.avg_pool2d(x, 2, divisor_override=3),
        lambda x: F.adaptive_avg_pool2d(x, (3, 2)),
        lambda x: F.adaptive_max_pool2d(x, 3),
        lambda x: F.max_pool1d(x.flatten(2), 4),
    ],
)
def test_gradcheck_and_gradgradcheck(fn):
    grads_ok(fn, leaf64(2, 2, 5, 6))


def test_grad_fn_names():
    x = minitorch.randn(1, 1, 4, 4, requires_grad=True)
    assert type(F.max_pool2d(x, 2).grad_fn).__name__ == "MaxPool2DWithIndicesBackward0"
    assert type(F.avg_pool2d(x, 2).grad_fn).__name__ == "AvgPool2DBackward0"
    _, indices = F.max_pool2d(x, 2, return_indices=True)
    assert indices.dtype is minitorch.int64 and not indices.requires_grad


@requires_torch
def test_pool_errors_match_torch():
    x = np.zeros((2, 3, 8, 8), np.float32)

    def both(f, match):
        check_raises(lambda: f(F, minitorch.tensor), lambda: f(TF, torch.tensor), match)

    both(lambda f, t: f.max_pool2d(t(x), 2, padding=2), "pad should be at most half of kernel size")
    both(lambda f, t: f.avg_pool2d(t(x), 3, padding=2), "pad should be at most half")
    both(lambda f, t: f.max_pool2d(t(x), 10), "Output size is too small")
    both(lambda f, t: f.avg_pool2d(t(x), 10), "Output size is too small")
    both(lambda f, t: f.max_pool2d(t(x[0, 0]), 2), "3D or 4D (batch mode) tensor expected")
    both(lambda f, t: f.max_pool2d(t(x), 2, stride=0), "stride should not be zero")
    both(lambda f, t: f.max_pool1d(t(x), 2), "Expected 2D or 3D input")
    both(lambda f, t: f.adaptive_avg_pool2d(t(x[0, 0, 0]), 2), "Expected 3D or 4D tensor")
    both(lambda f, t: f.avg_pool2d(t(x), 2, divisor_override=0), "divisor must be not zero")


# ---- layers ------------------------------------------------------------------------------------------
LAYERS = [
    ("MaxPool2d", (2,), dict(), (2, 3, 6, 6)),
    ("MaxPool2d", (3,), dict(stride=2, padding=1, dilation=(1, 2), ceil_mode=True, return_indices=True), (2, 3, 7, 8)),
    ("MaxPool1d", (3,), dict(stride=2, padding=1), (2, 3, 9)),
    ("AvgPool2d", ((3, 2),), dict(stride=(2, 1), padding=1, ceil_mode=True, count_include_pad=False), (2, 3, 7, 6)),
    ("AvgPool2d", (2,), dict(divisor_override=3), (2, 3, 6, 6)),
    ("AvgPool1d", (3,), dict(stride=2, padding=1), (2, 3, 9)),
    ("AdaptiveAvgPool2d", ((3, None),), dict(), (2, 3, 7, 6)),
    ("AdaptiveAvgPool1d", (4,), dict(), (2, 3, 9)),
    ("AdaptiveMaxPool2d", (3,), dict(return_indices=True), (2, 3, 7, 6)),
    ("AdaptiveMaxPool1d", (4,), dict(), (2, 3, 9)),
]


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cls,args,kwargs,shape", LAYERS)
def test_layers_match_torch(dtype, cls, args, kwargs, shape):
    check_module(
        getattr(nn, cls)(*args, **kwargs), getattr(torch.nn, cls)(*args, **kwargs), floats(shape, seed=1), dtype=dtype
    )


@requires_torch
@pytest.mark.parametrize("cls,args,kwargs,shape", LAYERS)
def test_repr_matches_torch(cls, args, kwargs, shape):
    assert repr(getattr(nn, cls)(*args, **kwargs)) == repr(getattr(torch.nn, cls)(*args, **kwargs))
