"""Dtypes and type promotion against PyTorch: every pair of dtypes, tensors vs 0-d tensors vs Python scalars."""

from __future__ import annotations

import itertools
import operator

import numpy as np
import pytest

import minitorch

from helpers import check, check_raises, requires_torch, torch

pytestmark = requires_torch

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
PAIRS = list(itertools.product(NAMES, NAMES))
OPS = {
    "+": operator.add,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "<": operator.lt,
    "==": operator.eq,
}
SCALARS = [True, 2, 2.5]


def make(L, name: str, ndim: int):
    """A small tensor of dtype ``name`` in framework ``L`` (values 1..3 so every op is defined)."""
    values = [1, 2, 3] if name != "bool" else [True, True, False]
    return L.tensor(values if ndim else values[0], dtype=getattr(L, name))


def run(fn):
    """fn's result dtype name, or the exception type it raised."""
    try:
        out = fn()
    except Exception as e:  # noqa: BLE001 - we compare which error
        return type(e)
    return str(getattr(out, "dtype", out)).split(".")[-1]  # "float32" from a tensor or a dtype


def assert_same_outcome(mt_fn, th_fn) -> None:
    ours, theirs = run(mt_fn), run(th_fn)
    if isinstance(theirs, type):  # torch refuses: so must we, with a compatible exception
        assert isinstance(ours, type) and (issubclass(ours, theirs) or issubclass(theirs, ours)), (
            f"torch raised {theirs.__name__}, we gave {ours}"
        )
    else:
        assert ours == theirs


@pytest.mark.parametrize("a, b", PAIRS)
def test_promote_types_matches_torch(a, b):
    ours = minitorch.promote_types(getattr(minitorch, a), getattr(minitorch, b))
    assert ours.name == str(torch.promote_types(getattr(torch, a), getattr(torch, b))).split(".")[-1]


@pytest.mark.parametrize("a, b", PAIRS)
@pytest.mark.parametrize("dims", [(1, 1), (1, 0), (0, 1), (0, 0)], ids=["tt", "t0", "0t", "00"])
def test_result_type_and_ops_tensor_tensor(a, b, dims):
    """Tensors with dims outrank 0-d tensors, which only win with a higher category."""
    x = (make(minitorch, a, dims[0]), make(minitorch, b, dims[1]))
    y = (make(torch, a, dims[0]), make(torch, b, dims[1]))
    assert run(lambda: minitorch.result_type(*x)) == run(lambda: torch.result_type(*y))
    for symbol, op in OPS.items():
        assert_same_outcome(lambda: op(*x), lambda: op(*y))


@pytest.mark.parametrize("a", NAMES)
@pytest.mark.parametrize("scalar", SCALARS, ids=repr)
@pytest.mark.parametrize("ndim", [1, 0])
def test_result_type_and_ops_tensor_scalar(a, scalar, ndim):
    """A Python scalar only changes the dtype when its category (bool < int < float) is higher."""
    x, y = make(minitorch, a, ndim), make(torch, a, ndim)
    assert run(lambda: minitorch.result_type(x, scalar)) == run(lambda: torch.result_type(y, scalar))
    for symbol, op in OPS.items():
        assert_same_outcome(lambda: op(x, scalar), lambda: op(y, scalar))
        assert_same_outcome(lambda: op(scalar, x), lambda: op(scalar, y))


@pytest.mark.parametrize("default", ["float32", "float64", "float16"])
def test_default_dtype_drives_promotion(default):
    minitorch.set_default_dtype(getattr(minitorch, default))
    torch.set_default_dtype(getattr(torch, default))
    try:
        assert minitorch.get_default_dtype().name == default
        for a in NAMES:
            for scalar in SCALARS:
                x, y = make(minitorch, a, 1), make(torch, a, 1)
                assert_same_outcome(lambda: x + scalar, lambda: y + scalar)
                assert_same_outcome(lambda: x / x, lambda: y / y)  # int / int is the default float
        assert minitorch.tensor([1, 2]).dtype is minitorch.int64
        assert minitorch.tensor([1.0]).dtype.name == default
    finally:
        torch.set_default_dtype(torch.float32)


def test_integer_true_division_gives_default_float():
    check(lambda a, b: a / b, None, np.array([1, 2, 7]), np.array([2, 4, 2]))
    assert (minitorch.tensor([1, 2]) / 2).tolist() == [0.5, 1.0]
    assert (minitorch.tensor([True]) / minitorch.tensor([True])).dtype is minitorch.float32


def test_set_default_dtype_rejects_non_floats():
    for bad in (minitorch.int64, minitorch.bool):
        check_raises(
            lambda: minitorch.set_default_dtype(bad), lambda: torch.set_default_dtype(getattr(torch, bad.name))
        )
    assert minitorch.get_default_dtype() is minitorch.float32


@pytest.mark.parametrize("name", NAMES)
def test_dtype_attributes_match_torch(name):
    ours, theirs = getattr(minitorch, name), getattr(torch, name)
    assert ours.is_floating_point == theirs.is_floating_point
    assert ours.is_signed == theirs.is_signed
    assert ours.itemsize == theirs.itemsize
    assert ours.is_complex is False
    assert repr(ours) == repr(theirs).replace("torch.", "minitorch.")


def test_aliases():
    assert (
        minitorch.half is minitorch.float16
        and minitorch.float is minitorch.float32
        and minitorch.double is minitorch.float64
    )
    assert minitorch.short is minitorch.int16 and minitorch.int is minitorch.int32 and minitorch.long is minitorch.int64


# ---- conversions ----------------------------------------------------------------------------
METHODS = {
    "float": "float32",
    "double": "float64",
    "half": "float16",
    "long": "int64",
    "int": "int32",
    "short": "int16",
    "char": "int8",
    "byte": "uint8",
    "bool": "bool",
}
VALUES = np.array([[0.0, 1.7, -2.5], [3.0, -0.2, 100.0]])


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("source", ["float32", "float64", "int64", "int16", "bool", "float16"])
def test_conversion_methods_match_torch(method, source):
    values = np.abs(VALUES) if method == "byte" else VALUES  # negative -> uint8 is undefined behaviour
    mt_src = minitorch.tensor(values).to(getattr(minitorch, source))
    th_src = torch.tensor(values).to(getattr(torch, source))
    mt_out, th_out = getattr(mt_src, method)(), getattr(th_src, method)()
    assert mt_out.dtype.name == METHODS[method] == str(th_out.dtype)[6:]
    np.testing.assert_array_equal(mt_out.numpy(), th_out.numpy())
    assert (mt_out is mt_src) == (th_out is th_src)  # no copy when nothing changes
    assert mt_src.to(getattr(minitorch, METHODS[method])).tolist() == mt_out.tolist()
    assert mt_src.type(getattr(minitorch, METHODS[method])).tolist() == mt_out.tolist()


def test_to_forms():
    t = minitorch.tensor([1.5, -2.5])
    assert t.to(minitorch.float32) is t and t.to("cpu") is t and t.to(t) is t
    assert t.to(minitorch.float32, copy=True) is not t
    assert t.to(dtype=minitorch.int64).tolist() == [1, -2]
    assert t.to("cpu", minitorch.float64).dtype is minitorch.float64
    assert t.to(minitorch.tensor([1], dtype=minitorch.int16)).dtype is minitorch.int16
    assert t.type_as(minitorch.tensor([True])).tolist() == [True, True]
    assert t.type() == "minitorch.FloatTensor" and t.long().type() == "minitorch.LongTensor"


@pytest.mark.parametrize(
    "src, dst", [("float64", "float32"), ("float32", "float64"), ("float32", "float16"), ("float16", "float64")]
)
def test_conversion_gradients_come_back_in_the_source_dtype(src, dst):
    check(lambda x: x.to(getattr(minitorch, dst)) * 3, lambda x: x.to(getattr(torch, dst)) * 3, VALUES.astype(src))
    x = minitorch.tensor(VALUES, dtype=getattr(minitorch, src), requires_grad=True)
    y = x.to(getattr(minitorch, dst))
    assert y.grad_fn.name() == "ToCopyBackward0"
    (y * 2).sum().backward()
    assert x.grad.dtype.name == src and (x.grad.numpy() == 2).all()


def test_conversion_to_integer_stops_gradients():
    x = minitorch.tensor([1.5, 2.5], requires_grad=True)
    for y, z in ((x.long(), torch.tensor([1.5, 2.5], requires_grad=True).long()), (x.bool(), None)):
        assert not y.requires_grad and y.grad_fn is None
        if z is not None:
            assert z.requires_grad == y.requires_grad
