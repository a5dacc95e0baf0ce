"""Elementwise ops against PyTorch: values, dtypes, broadcasting, layouts and gradients."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitorch
from minitorch.autograd import gradcheck, gradgradcheck

from helpers import LAYOUTS, check, check_raises, requires_torch, torch
from strategies import away_from, broadcastable_pair, floats, shapes

# name -> (input transform keeping it in the op's domain and off kinks)
UNARY = {
    "neg": None,
    "abs": lambda a: away_from(a),
    "sqrt": lambda a: np.abs(a) + 0.5,
    "rsqrt": lambda a: np.abs(a) + 0.5,
    "exp": None,
    "exp2": None,
    "expm1": None,
    "log": lambda a: np.abs(a) + 0.5,
    "log1p": lambda a: np.abs(a),
    "log2": lambda a: np.abs(a) + 0.5,
    "log10": lambda a: np.abs(a) + 0.5,
    "reciprocal": lambda a: away_from(a, gap=0.5),
    "square": None,
    "sin": None,
    "cos": None,
    "tan": lambda a: np.clip(a, -1.2, 1.2),
    "asin": lambda a: np.clip(a / 4, -0.9, 0.9),
    "acos": lambda a: np.clip(a / 4, -0.9, 0.9),
    "atan": None,
    "sinh": None,
    "cosh": None,
    "tanh": None,
    "sigmoid": None,
    "erf": None,
    "relu": lambda a: away_from(a),
    "sign": lambda a: away_from(a),
    "floor": lambda a: away_from(a - np.round(a), gap=0.05) + np.round(a),
    "ceil": lambda a: away_from(a - np.round(a), gap=0.05) + np.round(a),
    "trunc": lambda a: away_from(a - np.round(a), gap=0.05) + np.round(a),
    "round": lambda a: away_from(a - np.round(a) - 0.5, gap=0.05) + np.round(a) + 0.5,
    "frac": lambda a: away_from(a - np.round(a), gap=0.05) + np.round(a),
}


@requires_torch
@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@given(shape=shapes(max_dims=3))
def test_unary_matches_torch(name, dtype, shape):
    fix = UNARY[name] or (lambda a: a)
    a = np.asarray(fix(floats(shape, dtype))).astype(dtype)
    check(lambda x: getattr(x, name)(), lambda x: getattr(x, name)(), a, layouts=LAYOUTS)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradcheck(name):
    fix = UNARY[name] or (lambda a: a)
    x = minitorch.tensor(fix(floats((2, 3))), requires_grad=True)
    fn = lambda t: getattr(t, name)()
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


@requires_torch
@pytest.mark.parametrize("name", ["abs", "neg", "sign", "square", "relu"])
@pytest.mark.parametrize("dtype", ["int64", "int32", "int8"])
def test_integer_unary_keeps_dtype(name, dtype):
    a = np.array([[-3, 0, 2], [5, -1, 7]], dtype=dtype)
    check(lambda x: getattr(x, name)(), None, a, grad=False)


@requires_torch
@pytest.mark.parametrize("name", ["exp", "sqrt", "sin", "log", "sigmoid", "tanh"])
def test_integer_input_to_float_op_gives_default_float(name):
    a = np.array([1, 2, 3], dtype=np.int64)
    check(lambda x: getattr(x, name)(), None, a, grad=False)


BINARY = {
    "add": (lambda a, b: a + b, None),
    "sub": (lambda a, b: a - b, None),
    "mul": (lambda a, b: a * b, None),
    "div": (lambda a, b: a / b, "b_away"),
    "pow": (lambda a, b: a**b, "a_positive"),
    "maximum": (lambda a, b: a.maximum(b), "distinct"),
    "minimum": (lambda a, b: a.minimum(b), "distinct"),
    "remainder": (lambda a, b: a % b, "b_away"),
    "fmod": (lambda a, b: a.fmod(b), "b_away"),
    "atan_sum": (lambda a, b: (a * b).atan() + a, None),
}


def _prepare(kind, a, b):
    if kind == "b_away":
        b = away_from(b, gap=0.5)
    elif kind == "a_positive":
        a = np.abs(a) + 0.5
    elif kind == "distinct":
        b = a.mean() + away_from(b - a.mean(), gap=0.05) if a.size else b
        b = np.broadcast_to(b, b.shape).copy()
    return a, b


@requires_torch
@pytest.mark.parametrize("name", sorted(BINARY))
@given(pair=broadcastable_pair())
def test_binary_broadcasting_matches_torch(name, pair):
    fn, kind = BINARY[name]
    a, b = floats(pair[0], seed=1), floats(pair[1], seed=2)
    a, b = _prepare(kind, a, b)
    if kind == "distinct":  # keep every pair of broadcast elements apart
        bb = np.broadcast_arrays(a, b)
        if (np.abs(bb[0] - bb[1]) < 1e-3).any():
            return
    if name in ("remainder", "fmod"):  # the gradient jumps where a / b is an integer
        q = np.broadcast_arrays(a, b)
        r = q[0] / q[1]
        if (np.abs(r - np.round(r)) < 1e-3).any():
            return
    check(fn, None, a, b, layouts=("contiguous", "transposed"))


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_gradcheck_with_broadcasting(name):
    fn, kind = BINARY[name]
    a, b = _prepare(kind, floats((3, 1, 4), seed=3), floats((2, 1), seed=4))
    ta = minitorch.tensor(a, requires_grad=True)
    tb = minitorch.tensor(b, requires_grad=True)
    assert gradcheck(fn, (ta, tb))
    assert gradgradcheck(fn, (ta, tb))


@requires_torch
@pytest.mark.parametrize("op", ["+", "-", "*", "/", "**", "//", "%"])
@pytest.mark.parametrize("scalar", [2, 2.5, -1.5, True])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "uint8", "bool"])
def test_scalar_operands_promote_like_torch(op, scalar, dtype):
    if dtype == "bool" and op in ("-", "//", "%", "**"):
        return
    if op in ("//", "%") and scalar is True and dtype != "bool":
        pass
    rng = np.random.default_rng(0)
    a = (rng.uniform(1, 4, size=(2, 3))).astype(dtype) if dtype != "bool" else rng.uniform(size=(2, 3)) > 0.5
    fwd = eval(f"lambda x: x {op} s", {"s": scalar})
    rev = eval(f"lambda x: s {op} x", {"s": scalar})
    for f in (fwd, rev):
        try:
            expected = f(torch.tensor(a))
        except Exception as e:  # torch refuses: we must refuse with the same type
            check_raises(lambda: f(minitorch.tensor(a)), None)
            assert isinstance(e, (RuntimeError, TypeError, ZeroDivisionError))
            continue
        got = f(minitorch.tensor(a))
        assert got.dtype.name == str(expected.dtype).replace("torch.", ""), (op, scalar, dtype)
        np.testing.assert_allclose(got.numpy().astype(np.float64), expected.numpy().astype(np.float64), rtol=1e-3)


@requires_torch
@pytest.mark.parametrize("op", ["eq", "ne", "lt", "le", "gt", "ge"])
@given(pair=broadcastable_pair())
def test_comparisons_give_bool(op, pair):
    a = np.round(floats(pair[0], seed=5))
    b = np.round(floats(pair[1], seed=6))
    check(lambda x, y: getattr(x, op)(y), None, a, b, grad=False)


@requires_torch
@pytest.mark.parametrize("op", ["logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor"])
def test_logical_and_bitwise(op):
    a = np.array([[True, False, True], [False, False, True]])
    b = np.array([True, False, False])
    check(lambda x, y: getattr(x, op)(y), None, a, b, grad=False)
    i = np.array([[3, 5, 7], [1, 0, 12]])
    if op.startswith("bitwise"):
        check(lambda x, y: getattr(x, op)(y), None, i, i[::-1].copy(), grad=False)
    check(lambda x: ~x, None, a, grad=False)
    check(lambda x: x.logical_not(), None, i, grad=False)


@requires_torch
def test_where_clamp_masked_fill_lerp():
    a = away_from(floats((3, 4), seed=7), points=(-1.0, 1.0))
    b = floats((4,), seed=8)
    c = a > 0
    check(lambda x, y, m: minitorch.where(m, x, y), lambda x, y, m: torch.where(m, x, y), a, b, c)
    check(lambda x: x.clamp(-1, 1), None, a)
    check(lambda x: x.clamp(min=-1), None, a)
    check(lambda x: x.clamp(max=1.0), None, a)
    check(lambda x, m: x.masked_fill(m, -5.0), None, a, c)
    check(lambda x, y: x.lerp(y, 0.3), None, a, b)
    check(lambda x, y: x.addcmul(x, y, value=0.5), None, a, b)
    check(lambda x, y: x.addcdiv(y, x, value=2), None, a, b)
    check(lambda x, y: x.clone().addcdiv_(y, x, value=2), None, a, b)
    check(lambda x, y: x.clone().addcmul_(y, x), None, a, b)
    check_raises(
        lambda: minitorch.addcdiv(
            minitorch.ones(2), minitorch.ones(2, dtype=minitorch.int64), minitorch.ones(2, dtype=minitorch.int64)
        ),
        lambda: torch.addcdiv(torch.ones(2), torch.ones(2, dtype=torch.int64), torch.ones(2, dtype=torch.int64)),
        "Integer division",
    )
    check(lambda x, y: minitorch.where(x > 0, x, 0.0) + y, lambda x, y: torch.where(x > 0, x, 0.0) + y, a, b)


def test_where_clamp_gradcheck():
    a = minitorch.tensor(away_from(floats((3, 4), seed=9), points=(-1.0, 1.0)), requires_grad=True)
    b = minitorch.tensor(floats((4,), seed=10), requires_grad=True)
    for fn in (
        lambda x, y: minitorch.where(x > 0, x, y),
        lambda x, y: x.clamp(-1, 1) * y,
        lambda x, y: x.masked_fill(x > 0.5, 2.0) + y,
        lambda x, y: x.lerp(y, 0.25),
    ):
        assert gradcheck(fn, (a, b))
        assert gradgradcheck(fn, (a, b))


@requires_torch
def test_maximum_tie_splits_gradient_like_torch():
    a = np.array([1.0, 2.0, 3.0])
    b = np.array([1.0, 5.0, 0.0])
    check(lambda x, y: minitorch.maximum(x, y), lambda x, y: torch.maximum(x, y), a, b)
    check(lambda x, y: minitorch.minimum(x, y), lambda x, y: torch.minimum(x, y), a, b)


@requires_torch
def test_division_and_rounding_modes():
    a = np.array([[-7, 7, 5], [3, -3, 8]])
    b = np.array([2, -2, 3])
    for mode in (None, "floor", "trunc"):
        check(
            lambda x, y: minitorch.div(x, y, rounding_mode=mode),
            lambda x, y: torch.div(x, y, rounding_mode=mode),
            a,
            b,
            grad=False,
        )
    check(lambda x, y: x // y, None, a, b, grad=False)
    check(lambda x, y: x % y, None, a, b, grad=False)
    check(lambda x, y: x.fmod(y), None, a, b, grad=False)
    f = a.astype(np.float64) + 0.25
    check(
        lambda x, y: minitorch.div(x, y, rounding_mode="trunc"),
        lambda x, y: torch.div(x, y, rounding_mode="trunc"),
        f,
        b.astype(np.float64),
    )


@requires_torch
def test_errors_match_torch():
    check_raises(
        lambda: minitorch.ones(2, 3) + minitorch.ones(4), lambda: torch.ones(2, 3) + torch.ones(4), match="must match"
    )
    check_raises(lambda: minitorch.tensor([1, 2]) // 0, lambda: torch.tensor([1, 2]) // 0, match="division by zero")
    check_raises(lambda: minitorch.tensor([2]) ** -1, lambda: torch.tensor([2]) ** -1, match="negative")
    check_raises(
        lambda: minitorch.tensor([True]) - minitorch.tensor([False]),
        lambda: torch.tensor([True]) - torch.tensor([False]),
        match="logical_xor",
    )
    check_raises(
        lambda: minitorch.div(minitorch.ones(1), 2, rounding_mode="up"),
        lambda: torch.div(torch.ones(1), 2, rounding_mode="up"),
    )
    check_raises(lambda: minitorch.ones(2) + "a", lambda: torch.ones(2) + "a")
    check_raises(lambda: minitorch.ones(2).clamp(), lambda: torch.ones(2).clamp(), match="at least one")


def test_float_division_by_zero_gives_inf_like_torch():
    out = minitorch.tensor([1.0, -1.0, 0.0]) / 0
    assert out.tolist()[:2] == [math.inf, -math.inf] and math.isnan(out.tolist()[2])


@requires_torch
@given(st.sampled_from(["float16", "float32", "float64"]))
def test_half_precision_arithmetic(dtype):
    a = floats((3, 4), dtype, seed=11)
    b = floats((4,), dtype, seed=12)
    check(lambda x, y: (x * y + x).sigmoid(), None, a, b, grad=False)


def test_out_of_place_ops_do_not_mutate_inputs():
    a = minitorch.randn(3, 4)
    b = minitorch.randn(4)
    before_a, before_b = a.numpy().copy(), b.numpy().copy()
    for fn in (
        lambda: a + b,
        lambda: a * b,
        lambda: a.exp(),
        lambda: a.clamp(0, 1),
        lambda: a.relu(),
        lambda: a / b,
        lambda: -a,
    ):
        fn()
    np.testing.assert_array_equal(a.numpy(), before_a)
    np.testing.assert_array_equal(b.numpy(), before_b)
    assert a._version == 0 and b._version == 0


@requires_torch
def test_isclose_allclose_equal():
    a = np.array([1.0, 2.0, np.nan, 1e-9])
    b = np.array([1.0, 2.0 + 1e-6, np.nan, 0.0])
    for kwargs in ({}, {"equal_nan": True}, {"rtol": 1e-8, "atol": 0.0}):
        check(
            lambda x, y: minitorch.isclose(x, y, **kwargs), lambda x, y: torch.isclose(x, y, **kwargs), a, b, grad=False
        )
        assert minitorch.allclose(minitorch.tensor(a), minitorch.tensor(b), **kwargs) == torch.allclose(
            torch.tensor(a), torch.tensor(b), **kwargs
        )
    x = minitorch.tensor([1, 2, 3])
    assert minitorch.equal(x, x.clone()) and not x.equal(minitorch.tensor([1, 2])) and not x.equal(x + 1)
