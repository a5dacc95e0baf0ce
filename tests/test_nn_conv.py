"""Convolutions (functional and layers) against PyTorch, plus first and second derivatives."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitorch
import minitorch.nn as nn
import minitorch.nn.functional as F

from helpers import check, check_raises, grads_ok, leaf64, requires_torch, torch
from nn_helpers import check_module
from strategies import floats

TF = torch.nn.functional if torch is not None else None


def _both(name, **kwargs):
    """The functional ``name`` with fixed keyword arguments, for minitorch and for torch."""
    return (lambda *xs: getattr(F, name)(*xs, **kwargs)), (lambda *xs: getattr(TF, name)(*xs, **kwargs))


@st.composite
def conv_cases(draw, nd):
    """A valid conv configuration: input and weight shapes plus keyword arguments."""
    groups = draw(st.sampled_from([1, 2]))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(nd))
    size = tuple(draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), 7)) for k, d, p in zip(kernel, dilation, padding))
    batch = draw(st.integers(0, 2))
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return (batch, cin) + size, (cout, cin // groups) + kernel, kwargs


@requires_torch
@given(case=conv_cases(2), bias=st.booleans())
def test_conv2d_matches_torch(case, bias):
    x_shape, w_shape, kwargs = case
    arrays = [floats(x_shape, seed=1), floats(w_shape, seed=2)] + ([floats(w_shape[:1], seed=3)] if bias else [])
    mt, th = _both("conv2d", **kwargs)
    check(mt, th, *arrays, layouts=("contiguous", "transposed"))


@requires_torch
@given(case=conv_cases(1))
def test_conv1d_matches_torch(case):
    x_shape, w_shape, kwargs = case
    mt, th = _both("conv1d", **kwargs)
    check(mt, th, floats(x_shape, seed=1), floats(w_shape, seed=2), floats(w_shape[:1], seed=3))


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv_float32_stays_float32_and_matches(dtype):
    x, w, b = floats((4, 3, 9, 8), dtype, seed=1), floats((5, 3, 3, 2), dtype, seed=2), floats((5,), dtype, seed=3)
    mt, th = _both("conv2d", stride=2, padding=1)
    check(mt, th, x, w, b)
    assert F.conv2d(minitorch.tensor(x), minitorch.tensor(w)).dtype is getattr(minitorch, dtype)


@requires_torch
@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("kernel,dilation", [(3, 1), (4, 1), (2, 3), ((2, 3), (2, 1))])
def test_string_padding_same_and_valid(padding, kernel, dilation):
    k = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    mt, th = _both("conv2d", padding=padding, dilation=dilation)
    check(mt, th, floats((2, 2, 7, 6), seed=1), floats((3, 2) + k, seed=2))
    mt1, th1 = _both("conv1d", padding=padding, dilation=dilation if isinstance(dilation, int) else dilation[1])
    check(mt1, th1, floats((2, 2, 9), seed=1), floats((3, 2, k[1]), seed=2))


@requires_torch
def test_conv3d_and_unbatched_input():
    mt, th = _both("conv3d", stride=(1, 2, 1), padding=1, groups=2)
    check(mt, th, floats((2, 4, 4, 5, 3), seed=1), floats((2, 2, 2, 3, 2), seed=2), floats((2,), seed=3))
    mt, th = _both("conv2d", padding=1)
    check(mt, th, floats((3, 5, 5), seed=1), floats((2, 3, 3, 3), seed=2))


@requires_torch
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(),
        dict(stride=2),
        dict(stride=2, padding=1, output_padding=1),
        dict(stride=(3, 2), padding=(1, 0), output_padding=(2, 1), dilation=(1, 2)),
        dict(stride=2, groups=2, dilation=2, output_padding=1),
    ],
)
def test_conv_transpose2d_matches_torch(kwargs):
    w_shape = (4, 3, 3, 2)
    mt, th = _both("conv_transpose2d", **kwargs)
    check(mt, th, floats((2, 4, 4, 5), seed=1), floats(w_shape, seed=2), floats((3 * kwargs.get("groups", 1),), seed=3))


@requires_torch
def test_conv_transpose1d_3d_and_unbatched():
    mt, th = _both("conv_transpose1d", stride=3, padding=1, output_padding=2)
    check(mt, th, floats((2, 2, 5), seed=1), floats((2, 3, 4), seed=2))
    mt, th = _both("conv_transpose3d", stride=2)
    check(mt, th, floats((1, 2, 2, 3, 2), seed=1), floats((2, 1, 2, 2, 2), seed=2))
    mt, th = _both("conv_transpose2d", stride=2)
    check(mt, th, floats((2, 3, 3), seed=1), floats((2, 2, 3, 3), seed=2))


@requires_torch
def test_integer_convolution_like_torch():
    x = np.arange(2 * 2 * 5 * 5).reshape(2, 2, 5, 5) % 7
    w = np.arange(3 * 2 * 2 * 2).reshape(3, 2, 2, 2) % 3 - 1
    check(lambda x, w: F.conv2d(x, w), lambda x, w: TF.conv2d(x, w), x, w, grad=False)


def test_grad_fn_is_convolution_backward():
    x, w = minitorch.randn(1, 2, 5, 5, requires_grad=True), minitorch.randn(3, 2, 3, 3)
    assert type(F.conv2d(x, w).grad_fn).__name__ == "ConvolutionBackward0"
    assert type(F.conv1d(x[:, :, 0], w[..., 0]).grad_fn).__name__ == "ConvolutionBackward0"


@pytest.mark.parametrize(
    "fn,shapes",
    [
        (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, groups=2), [(2, 4, 5, 5), (2, 2, 3, 3), (2,)]),
        (lambda x, w, b: F.conv2d(x, w, b, padding="same", dilation=2), [(1, 2, 5, 4), (2, 2, 2, 3), (2,)]),
        (lambda x, w, b: F.conv1d(x, w, b, stride=2, dilation=2), [(2, 2, 7), (3, 2, 2), (3,)]),
        (
            lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=2),
            [(2, 4, 3, 3), (4, 1, 3, 3), (2,)],
        ),
    ],
)
def test_gradcheck_and_gradgradcheck(fn, shapes):
    grads_ok(fn, *[leaf64(*s, seed=i) for i, s in enumerate(shapes)])


@requires_torch
def test_double_backward_matches_torch():
    """A gradient penalty: d/dw of |d loss / dx|^2 goes through all three conv Functions."""
    xs, ws = floats((2, 2, 6, 5), seed=1), floats((3, 2, 3, 2), seed=2)
    results = []
    for lib, fn in ((minitorch, F.conv2d), (torch, TF.conv2d)):
        x, w = lib.tensor(xs, requires_grad=True), lib.tensor(ws, requires_grad=True)
        y = fn(x, w, stride=2, padding=1)
        (gx,) = lib.autograd.grad((y * y).sum(), [x], create_graph=True)
        (gx * gx).sum().backward()
        results.append((w.grad.numpy(), x.grad.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-10, atol=1e-10)


@requires_torch
def test_conv_errors_match_torch():
    x, w = np.zeros((2, 3, 8, 8), np.float32), np.zeros((4, 3, 3, 3), np.float32)

    def both(f, match):
        check_raises(lambda: f(F, minitorch, minitorch.tensor), lambda: f(TF, torch, torch.tensor), match)

    both(lambda f, lib, t: f.conv2d(t(x).double(), t(w)), "weight type")
    both(lambda f, lib, t: f.conv2d(t(x), t(w), t(np.zeros(4))), "bias type")
    both(lambda f, lib, t: f.conv2d(t(x), t(w[:, :2])), "to have 2 channels, but got 3 channels")
    both(lambda f, lib, t: f.conv2d(t(x), t(w), groups=2), "Given groups=2")
    both(lambda f, lib, t: f.conv2d(t(x), t(w), t(np.zeros(5, np.float32))), "expected bias to be 1-dimensional with 4")
    both(lambda f, lib, t: f.conv2d(t(x), t(w[:3, :1]), groups=3, stride=2, padding="same"), "strided convolutions")
    both(lambda f, lib, t: f.conv2d(t(x), t(w), padding="foo"), "Invalid padding string")
    both(lambda f, lib, t: f.conv2d(t(x), t(np.zeros((4, 3, 10, 10), np.float32))), "Kernel size can't be greater")
    both(lambda f, lib, t: f.conv2d(t(x), t(w), stride=0), "non-positive stride")
    both(lambda f, lib, t: f.conv2d(t(x), t(w), padding=-1), "negative padding")
    both(lambda f, lib, t: f.conv2d(t(x[0, 0]), t(w)), "Expected 3D (unbatched) or 4D (batched) input to conv2d")
    both(lambda f, lib, t: f.conv2d(t(x), t(w), stride=(1, 1, 1)), "list of 2 values")
    both(
        lambda f, lib, t: f.conv_transpose2d(t(x), t(w[:, :2]), stride=2, output_padding=2),
        "output padding must be smaller",
    )


# ---- layers ------------------------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "cls,args,kwargs,x_shape",
    [
        ("Conv2d", (3, 4, 3), dict(), (2, 3, 7, 6)),
        ("Conv2d", (4, 6, (3, 2)), dict(stride=2, padding=1, dilation=(1, 2), groups=2, bias=False), (2, 4, 7, 8)),
        ("Conv2d", (2, 3, 4), dict(padding="same", padding_mode="reflect"), (1, 2, 6, 5)),
        ("Conv2d", (2, 3, 3), dict(padding=2, padding_mode="circular"), (1, 2, 5, 5)),
        ("Conv2d", (2, 3, 3), dict(padding=(1, 2), padding_mode="replicate"), (1, 2, 5, 5)),
        ("Conv1d", (2, 3, 3), dict(stride=2, padding="valid"), (2, 2, 9)),
        ("Conv3d", (2, 2, 2), dict(padding=1), (1, 2, 3, 3, 3)),
        ("ConvTranspose2d", (4, 2, 3), dict(stride=2, padding=1, output_padding=1), (2, 4, 4, 3)),
        ("ConvTranspose1d", (2, 4, 3), dict(stride=3, groups=2, bias=False), (2, 2, 5)),
    ],
)
def test_layers_match_torch(dtype, cls, args, kwargs, x_shape):
    check_module(
        getattr(nn, cls)(*args, **kwargs), getattr(torch.nn, cls)(*args, **kwargs), floats(x_shape, seed=1), dtype=dtype
    )


@requires_torch
def test_conv_transpose_output_size_argument():
    m, t = nn.ConvTranspose2d(2, 3, 3, stride=2), torch.nn.ConvTranspose2d(2, 3, 3, stride=2)
    x = floats((1, 2, 4, 4), seed=1)
    check_module(m, t, x, kwargs=dict(output_size=(10, 9)))
    check_raises(
        lambda: m(minitorch.tensor(x), output_size=(12, 9)),
        lambda: t(torch.tensor(x), output_size=(12, 9)),
        "valid sizes range",
    )


@requires_torch
@pytest.mark.parametrize(
    "cls,args,kwargs",
    [
        ("Conv2d", (3, 4, 3), dict()),
        ("Conv2d", (4, 6, (3, 2)), dict(stride=2, padding=1, dilation=2, groups=2, bias=False, padding_mode="reflect")),
        ("Conv1d", (2, 4, 3), dict(padding="same")),
        ("Conv3d", (2, 4, 3), dict(stride=(1, 2, 1))),
        ("ConvTranspose2d", (3, 4, 3), dict(stride=2, output_padding=1)),
        ("ConvTranspose1d", (2, 4, 3), dict(groups=2, dilation=2)),
    ],
)
def test_repr_matches_torch(cls, args, kwargs):
    assert repr(getattr(nn, cls)(*args, **kwargs)) == repr(getattr(torch.nn, cls)(*args, **kwargs))


@requires_torch
def test_layer_argument_errors_match_torch():
    for args, kwargs, match in [
        ((3, 4, 3), dict(groups=2), "in_channels must be divisible by groups"),
        ((4, 3, 3), dict(groups=2), "out_channels must be divisible by groups"),
        ((4, 4, 3), dict(groups=0), "groups must be a positive integer"),
        ((3, 4, 3), dict(padding="full"), "Invalid padding string"),
        ((3, 4, 3), dict(padding="same", stride=2), "strided convolutions"),
        ((3, 4, 3), dict(padding_mode="mirror"), "padding_mode must be one of"),
    ]:
        check_raises(lambda: nn.Conv2d(*args, **kwargs), lambda: torch.nn.Conv2d(*args, **kwargs), match)
    check_raises(
        lambda: nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect"),
        lambda: torch.nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect"),
        'Only "zeros" padding mode',
    )


def test_default_init_follows_torch_rule():
    """weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in_channels / groups * kernel area."""
    minitorch.manual_seed(0)
    m = nn.Conv2d(8, 64, 3, groups=2)
    bound = 1 / math.sqrt(4 * 9)
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert w.shape == (64, 4, 3, 3) and w.dtype == np.float32
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound  # the std of U(-a, a) is a / sqrt(3)
    assert np.abs(b).max() <= bound
    t = nn.ConvTranspose2d(8, 6, 3, groups=2)
    assert tuple(t.weight.shape) == (8, 3, 3, 3)
    assert np.abs(t.weight.detach().numpy()).max() <= 1 / math.sqrt(3 * 9)
    assert nn.Conv2d(2, 2, 3, dtype=minitorch.float64).weight.dtype is minitorch.float64
