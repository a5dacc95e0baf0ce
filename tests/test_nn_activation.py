"""Activation functions and layers against PyTorch: values, gradients at and away from kinks,
double backward, in-place variants, softmax's implicit dim, errors and reprs."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given

import minitorch
import minitorch.nn as nn
import minitorch.nn.functional as F
from minitorch.autograd import gradcheck, gradgradcheck
from minitorch.backends.erf import erf_array
from minitorch.ops.special import Erf

from helpers import LAYOUTS, assert_close, check, check_raises, requires_torch, torch
from nn_helpers import check_module
from strategies import away_from, floats, shapes

# name -> (extra positional args, points where the derivative jumps)
ELEMENTWISE = {
    "relu": ((), (0.0,)),
    "relu6": ((), (0.0, 6.0)),
    "leaky_relu": ((0.2,), (0.0,)),
    "elu": ((0.7,), (0.0,)),
    "selu": ((), (0.0,)),
    "celu": ((1.5,), (0.0,)),
    "gelu": ((), ()),
    "silu": ((), ()),
    "mish": ((), ()),
    "softplus": ((2.0, 3.0), (1.5,)),
    "sigmoid": ((), ()),
    "tanh": ((), ()),
    "hardtanh": ((-2.0, 1.5), (-2.0, 1.5)),
    "hardsigmoid": ((), (-3.0, 3.0)),
    "hardswish": ((), (-3.0, 3.0)),
    "logsigmoid": ((), ()),
    "softsign": ((), (0.0,)),
    "tanhshrink": ((), ()),
    "threshold": ((0.5, -2.0), (0.5,)),
    "hardshrink": ((1.0,), (-1.0, 1.0)),
    "softshrink": ((1.0,), (-1.0, 1.0)),
}
# In float64 PyTorch's hardsigmoid derivative is 1/6 rounded to float32 (a relative error of
# 3e-8); ours is the exact 1/6, so that gradient is checked analytically below instead.
TORCH_FLOAT32_SIXTH = {"hardsigmoid"}


def _inputs(name, shape, dtype, seed=0):
    _, kinks = ELEMENTWISE[name]
    return np.asarray(away_from(floats(shape, "float64", -5.0, 5.0, seed), kinks, gap=0.05)).astype(dtype)


@requires_torch
@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@given(shape=shapes(max_dims=3))
def test_elementwise_matches_torch(name, dtype, shape):
    args, _ = ELEMENTWISE[name]
    mt, th = getattr(F, name), getattr(torch.nn.functional, name)
    grad = not (name in TORCH_FLOAT32_SIXTH and dtype == "float64")
    check(lambda x: mt(x, *args), lambda x: th(x, *args), _inputs(name, shape, dtype), layouts=LAYOUTS, grad=grad)


@requires_torch
@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_gradient_conventions_at_kinks_match_torch(name):
    """Exactly at a kink PyTorch picks one side; so do we."""
    args, kinks = ELEMENTWISE[name]
    points = np.array(sorted({0.0, 3.0, -3.0, *kinks, *(k + 1e-3 for k in kinks), *(k - 1e-3 for k in kinks)}))
    mt, th = getattr(F, name), getattr(torch.nn.functional, name)
    check(lambda x: mt(x, *args), lambda x: th(x, *args), points.astype("float32"))


def test_hardsigmoid_and_hardswish_gradients_are_exact_in_float64():
    x = minitorch.tensor([-4.0, -3.0, -1.5, 0.0, 2.0, 3.0, 4.0], dtype=minitorch.float64, requires_grad=True)
    F.hardsigmoid(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1 / 6, 1 / 6, 1 / 6, 0.0, 0.0]
    x.grad = None
    F.hardswish(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, -1.5 / 3 + 0.5, 0.5, 2 / 3 + 0.5, 1.0, 1.0]


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_first_and_second_derivatives(name):
    args, _ = ELEMENTWISE[name]
    x = minitorch.tensor(_inputs(name, (2, 3), "float64", seed=1), requires_grad=True)
    fn = lambda t: getattr(F, name)(t, *args)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


@requires_torch
@pytest.mark.parametrize(
    "call",
    [
        lambda F, x: F.gelu(x, approximate="tanh"),
        lambda F, x: F.glu(x, 0),
        lambda F, x: F.glu(x),
        lambda F, x: F.softmax(x, -1),
        lambda F, x: F.log_softmax(x, 0),
        lambda F, x: F.softmin(x, 1),
        lambda F, x: F.softmax(x, 1, dtype=x.dtype),
        lambda F, x: F.log_softmax(x, 1, dtype=minitorch.float64 if F is nn.functional else torch.float64),
        lambda F, x: F.elu(x, -0.5),
        lambda F, x: F.softplus(x, 0.5, 1.0),
        lambda F, x: F.rrelu(x),
        lambda F, x: F.hardshrink(x, -1.0),
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_other_activations_match_torch(call, dtype):
    a = floats((4, 6), dtype, seed=3)
    check(lambda x: call(F, x), lambda x: call(torch.nn.functional, x), a, layouts=LAYOUTS)


def test_glu_and_gelu_tanh_second_derivatives():
    x = minitorch.tensor(floats((2, 4), seed=4), requires_grad=True)
    for fn in (lambda t: F.glu(t, 1), lambda t: F.gelu(t, approximate="tanh"), lambda t: F.rrelu(t)):
        assert gradcheck(fn, (x,))
        assert gradgradcheck(fn, (x,))


# ---- the error function and the exact GELU -----------------------------------------------------------
@requires_torch
def test_erf_is_accurate_to_float64_rounding():
    x = np.concatenate(
        [
            np.linspace(-30, 30, 20001),
            np.geomspace(1e-300, 30, 2000),
            -np.geomspace(1e-300, 30, 2000),
            [0.0, -0.0, 0.46875, -0.46875, 4.0, -4.0, 26.6, 5e-324, np.inf, -np.inf, np.nan],
        ]
    )
    ours = erf_array(np, x)
    expected = torch.erf(torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, expected, rtol=1e-15, atol=0, equal_nan=True)
    assert np.signbit(ours[np.flatnonzero((x == 0) & np.signbit(x))]).all()  # erf(-0) = -0
    np.testing.assert_allclose(
        erf_array(np, x.astype(np.float32)), torch.erf(torch.tensor(x, dtype=torch.float32)).numpy(), atol=3e-7
    )


def test_erf_derivatives():
    x = minitorch.tensor(floats((7,), low=-3, high=3), requires_grad=True)
    assert gradcheck(Erf.apply, (x,))
    assert gradgradcheck(Erf.apply, (x,))


@requires_torch
def test_exact_gelu_matches_torch_to_1e_12_in_float64():
    a = np.concatenate([np.linspace(-12, 12, 2001), [0.0, -40.0, 40.0, np.inf, -np.inf]])
    x, t = minitorch.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = F.gelu(x), torch.nn.functional.gelu(t)
    assert_close(y, ty, 1e-12, 1e-12, "gelu")
    y.sum().backward()
    ty.sum().backward()
    assert_close(x.grad, t.grad, 1e-12, 1e-12, "gelu gradient")


# ---- softmax family -----------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize(
    "row",
    [
        [1e4, -1e4, 0.0],
        [-math.inf, 1.0, 2.0],
        [math.inf, 1.0, 2.0],
        [-math.inf] * 3,
        [1e308, -1e308, 0.0],
        [88.0, 89.0],
    ],
)
def test_softmax_family_with_extreme_logits_matches_torch(name, row):
    a = np.array([row, np.zeros(len(row))])
    with np.errstate(over="ignore"):  # 1e308 becomes inf in float32, as in PyTorch
        a32 = a.astype("float32")
    for values in (a, a32):
        check(lambda x: getattr(F, name)(x, 1), lambda x: getattr(torch.nn.functional, name)(x, 1), values)


@requires_torch
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize("ndim", [0, 1, 2, 3, 4])
def test_implicit_softmax_dim_warns_and_follows_torch(name, ndim):
    a = floats((2, 3, 2, 3)[:ndim], seed=5)
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        ours = getattr(F, name)(minitorch.tensor(a))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = getattr(torch.nn.functional, name)(torch.tensor(a))
    assert_close(ours, theirs, 1e-12, 1e-12, name)


def test_softmax_module_with_no_dim_warns():
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        out = nn.Softmax()(minitorch.ones(2, 3))
    assert out.sum(1).tolist() == [1.0, 1.0]


# ---- integer input --------------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize(
    "call",
    [
        lambda F, x: F.relu(x),
        lambda F, x: F.relu6(x),
        lambda F, x: F.hardtanh(x, -1.5, 2.5),
        lambda F, x: F.threshold(x, 1, 20),
        lambda F, x: F.softsign(x),
        lambda F, x: F.tanhshrink(x),
    ],
)
def test_integer_input_where_torch_accepts_it(call):
    check(lambda x: call(F, x), lambda x: call(torch.nn.functional, x), np.arange(-4, 5), grad=False)


@pytest.mark.parametrize(
    "name", ["leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish", "softplus", "hardsigmoid", "hardswish",
             "logsigmoid", "hardshrink", "softshrink", "glu", "rrelu"]
)  # fmt: skip
def test_integer_input_is_rejected_like_torch(name):
    check_raises(
        lambda: getattr(F, name)(minitorch.arange(-3, 3)),
        (lambda: getattr(torch.nn.functional, name)(torch.arange(-3, 3))) if torch else None,
        match="not implemented for",
    )


# ---- errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, match",
    [
        (lambda F, lib: F.hardtanh(lib.zeros(3), 2.0, 1.0), "min_val cannot be greater than max_val"),
        (lambda F, lib: F.hardtanh(lib.zeros(3), 2.0, 1.0, inplace=True), "min_val"),
        (lambda F, lib: F.gelu(lib.zeros(3), approximate="erf"), "approximate argument"),
        (lambda F, lib: F.celu(lib.zeros(3), 0.0), "alpha cannot be 0"),
        (lambda F, lib: F.softshrink(lib.zeros(3), -1.0), "lambda"),
        (lambda F, lib: F.glu(lib.zeros(3)), "Halving dimension must be even"),
        (lambda F, lib: F.glu(lib.zeros(())), "does not support scalars"),
        (lambda F, lib: F.glu(lib.zeros(2, 4), 2), "out of range"),
        (lambda F, lib: F.prelu(lib.zeros(2, 4), lib.zeros(3)), "Mismatch of parameter numbers"),
        (lambda F, lib: F.prelu(lib.zeros(4), lib.zeros(4)), "channel size = 1"),
        (lambda F, lib: F.prelu(lib.zeros(2, 4), lib.zeros(2, 2)), "scalar or 1D"),
        (lambda F, lib: F.rrelu(lib.zeros(3), 0.5, 0.1, training=True), "Lower bound"),
        (lambda F, lib: F.softmax(lib.zeros(3), 1), "out of range"),
    ],
)
def test_errors_match_torch(call, match):
    check_raises(lambda: call(F, minitorch), (lambda: call(torch.nn.functional, torch)) if torch else None, match=match)


# ---- prelu ----------------------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("shape, channels", [((3, 4), 4), ((2, 3, 5), 3), ((2, 3, 2, 2), 1), ((5,), 1), ((), 1)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_prelu_matches_torch(shape, channels, dtype):
    x = away_from(floats(shape, dtype, seed=6)).astype(dtype)
    w = floats((channels,), dtype, 0.0, 0.5, seed=7)
    check(F.prelu, torch.nn.functional.prelu, x, w, layouts=LAYOUTS)


def test_prelu_second_derivatives():
    x = minitorch.tensor(away_from(floats((2, 3), seed=8)), requires_grad=True)
    w = minitorch.tensor([0.1, 0.2, 0.3], dtype=minitorch.float64, requires_grad=True)
    assert gradcheck(F.prelu, (x, w))
    assert gradgradcheck(F.prelu, (x, w))


# ---- rrelu ----------------------------------------------------------------------------------------
def test_rrelu_training_draws_a_slope_per_negative_element():
    x = minitorch.tensor(-np.ones((50, 40)), requires_grad=True)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    slopes = -y.detach().numpy()
    assert 0.1 <= slopes.min() and slopes.max() <= 0.3 and abs(slopes.mean() - 0.2) < 0.01
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), slopes)
    minitorch.manual_seed(3)
    a = F.rrelu(minitorch.ones(5) * -1, training=True)
    minitorch.manual_seed(3)
    assert minitorch.equal(a, F.rrelu(minitorch.ones(5) * -1, training=True))
    positive = minitorch.tensor([1.0, 2.0])
    assert F.rrelu(positive, training=True).tolist() == [1.0, 2.0]


# ---- in-place variants --------------------------------------------------------------------------------
INPLACE = {
    "relu": lambda F, x: F.relu(x, inplace=True),
    "relu_": lambda F, x: F.relu_(x),
    "relu6": lambda F, x: F.relu6(x, inplace=True),
    "leaky_relu": lambda F, x: F.leaky_relu(x, 0.1, inplace=True),
    "leaky_relu_": lambda F, x: F.leaky_relu_(x, 0.1),
    "elu": lambda F, x: F.elu(x, 0.5, inplace=True),
    "elu_": lambda F, x: F.elu_(x),
    "selu": lambda F, x: F.selu(x, inplace=True),
    "celu": lambda F, x: F.celu(x, 2.0, inplace=True),
    "silu": lambda F, x: F.silu(x, inplace=True),
    "mish": lambda F, x: F.mish(x, inplace=True),
    "hardtanh_": lambda F, x: F.hardtanh_(x, -0.5, 0.5),
    "hardsigmoid": lambda F, x: F.hardsigmoid(x, inplace=True),
    "hardswish": lambda F, x: F.hardswish(x, inplace=True),
    "threshold_": lambda F, x: F.threshold_(x, 0.1, 5.0),
}


@requires_torch
@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_variants_write_through_and_backpropagate(name):
    """In place on a non-leaf and on a view of it: same object returned, gradients as PyTorch's."""
    fn = INPLACE[name]
    a = away_from(floats((3, 4), seed=9), (0.0, 0.1, 0.5, -0.5), gap=0.05).astype("float32")

    def run(lib, F, x):
        y = x * 1
        out = fn(F, y)
        assert out is y
        z = x * 2
        fn(F, z[1])  # through a view: the base z must see the write, and its history
        return y, z

    check(lambda x: run(minitorch, F, x), lambda x: run(torch, torch.nn.functional, x), a)


def test_inplace_bumps_version_and_refuses_leaves_that_require_grad():
    x = minitorch.randn(3)
    before = x._version
    assert F.elu(x, inplace=True) is x
    assert x._version > before
    leaf = minitorch.randn(3, requires_grad=True)
    check_raises(
        lambda: F.silu(leaf, inplace=True),
        (lambda: torch.nn.functional.silu(torch.randn(3, requires_grad=True), inplace=True)) if torch else None,
        match="leaf Variable",
    )


# ---- autograd node names -------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize(
    "call",
    [
        lambda F, x: F.leaky_relu(x),
        lambda F, x: F.elu(x),
        lambda F, x: F.selu(x),
        lambda F, x: F.celu(x),
        lambda F, x: F.gelu(x),
        lambda F, x: F.gelu(x, approximate="tanh"),
        lambda F, x: F.silu(x),
        lambda F, x: F.mish(x),
        lambda F, x: F.softplus(x),
        lambda F, x: F.hardtanh(x),
        lambda F, x: F.relu6(x),
        lambda F, x: F.hardsigmoid(x),
        lambda F, x: F.hardswish(x),
        lambda F, x: F.logsigmoid(x),
        lambda F, x: F.threshold(x, 0.1, 2.0),
        lambda F, x: F.hardshrink(x),
        lambda F, x: F.softshrink(x),
        lambda F, x: F.softmax(x, 0),
        lambda F, x: F.log_softmax(x, 0),
    ],
)
def test_grad_fn_names_match_torch(call):
    ours = call(F, minitorch.randn(4, requires_grad=True))
    theirs = call(torch.nn.functional, torch.randn(4, requires_grad=True))
    assert ours.grad_fn.name() == theirs.grad_fn.name()


# ---- layers --------------------------------------------------------------------------------------
MODULES = [
    "ReLU()", "ReLU(True)", "ReLU6()", "ReLU6(inplace=True)", "LeakyReLU()", "LeakyReLU(0.2, True)", "ELU()",
    "ELU(0.5, True)", "SELU()", "SELU(True)", "CELU()", "CELU(2.0)", "GELU()", "GELU('tanh')", "SiLU()",
    "SiLU(True)", "Sigmoid()", "Tanh()", "Softmax(1)", "Softmax()", "LogSoftmax(dim=-1)", "Softmin(0)",
    "Softplus()", "Softplus(2, 10)", "Mish()", "Mish(True)", "Hardtanh()", "Hardtanh(-2, 2, True)", "Hardswish()",
    "Hardsigmoid(True)", "GLU()", "GLU(1)", "LogSigmoid()", "Softsign()", "Tanhshrink()", "Threshold(0.1, 20)",
    "Threshold(0.1, 20, True)", "PReLU()", "PReLU(4, 0.1)", "Hardshrink()", "Softshrink(1)", "RReLU()",
    "RReLU(0.1, 0.3, True)", "Softmax2d()",
]  # fmt: skip


@requires_torch
@pytest.mark.parametrize("expr", MODULES)
def test_layer_repr_matches_torch(expr):
    assert repr(eval("nn." + expr)) == repr(eval("torch.nn." + expr))


@requires_torch
@pytest.mark.parametrize("expr", [e for e in MODULES if "True" not in e and e not in ("Softmax()", "RReLU()")])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layer_forward_and_backward_match_torch(expr, dtype):
    x = away_from(floats((2, 4, 3, 2), seed=10), (0.0, -1.0, 1.0, 0.1, -2.0, 2.0, 3.0, -3.0), gap=0.05)
    check_module(eval("nn." + expr), eval("torch.nn." + expr), x, dtype=dtype)


@requires_torch
def test_rrelu_layer_is_leaky_relu_with_mean_slope_in_eval():
    x = floats((3, 4), seed=11)
    check_module(nn.RReLU(0.1, 0.3), torch.nn.RReLU(0.1, 0.3), x, train=False)


def test_prelu_layer_parameter():
    m = nn.PReLU(3, init=0.1)
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    assert m.weight.shape == (3,) and m.weight.tolist() == pytest.approx([0.1] * 3)
    assert m.weight.dtype is minitorch.float32
    assert nn.PReLU(dtype=minitorch.float64).weight.dtype is minitorch.float64


def test_layer_construction_errors():
    check_raises(lambda: nn.Hardtanh(1.0, 1.0), (lambda: torch.nn.Hardtanh(1.0, 1.0)) if torch else None, "max_val")
    check_raises(
        lambda: nn.Softmax2d()(minitorch.zeros(2, 3)),
        (lambda: torch.nn.Softmax2d()(torch.zeros(2, 3))) if torch else None,
        "3D or 4D",
    )


def test_inplace_layers_modify_their_input():
    x = minitorch.tensor([-1.0, 2.0])
    assert nn.ReLU(inplace=True)(x) is x and x.tolist() == [0.0, 2.0]
    y = minitorch.tensor([-1.0, 2.0])
    assert nn.LeakyReLU(0.5, inplace=True)(y) is y and y.tolist() == [-0.5, 2.0]
