"""The gradient-check suite: every differentiable op through gradcheck and gradgradcheck in float64.

Each entry says how to build the op's inputs from a hypothesis-drawn shape:
values are moved away from non-differentiable points by construction (never
by looser tolerances), and each input is laid out contiguous, transposed or
step-sliced in memory. Broadcasting ops get a second input of a shape that
broadcasts against the first.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Tuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch
from minitorch.autograd import gradcheck, gradgradcheck

from helpers import with_layout
from strategies import away_from, shapes

Build = Callable[[Tuple[int, ...], np.random.Generator], List[np.ndarray]]


def one(transform=lambda a: a, low=-2.0, high=2.0) -> Build:
    return lambda shape, rng: [transform(rng.uniform(low, high, shape))]


def pair(transform_b=lambda b: b, broadcast=True) -> Build:
    """Two inputs; the second drops the leading dim and keeps size 1 in the last, when it can."""

    def build(shape, rng):
        a = rng.uniform(-2, 2, shape)
        b_shape = shape[1:] if (broadcast and len(shape) > 1) else shape
        if broadcast and b_shape:
            b_shape = b_shape[:-1] + (1,)
        return [a, transform_b(rng.uniform(-2, 2, b_shape))]

    return build


def nonzero(a):
    return away_from(a, gap=0.3)


def positive(a):
    return np.abs(a) + 0.3


def distinct(a):
    """Values far apart from each other, so max/sort/median are differentiable."""
    flat = np.random.default_rng(1).permutation(a.size).astype(np.float64) * 0.5 - a.size / 4
    return flat.reshape(a.shape)


def fractional(a):
    return np.floor(a) + 0.5 + 0.3 * np.tanh(a - np.floor(a) - 0.5)


# name: (function of the inputs, builder, smallest ndim it needs)
OPS: Dict[str, Tuple[Callable, Build, int]] = {
    # pointwise, unary
    **{
        name: (lambda x, n=name: getattr(x, n)(), one(), 0)
        for name in (
            "neg",
            "exp",
            "exp2",
            "expm1",
            "sin",
            "cos",
            "atan",
            "sinh",
            "cosh",
            "tanh",
            "sigmoid",
            "square",
            "erf",
        )
    },
    **{
        name: (lambda x, n=name: getattr(x, n)(), one(positive), 0)
        for name in ("sqrt", "rsqrt", "log", "log1p", "log2", "log10")
    },
    "abs": (lambda x: x.abs(), one(nonzero), 0),
    "relu": (lambda x: x.relu(), one(nonzero), 0),
    "reciprocal": (lambda x: x.reciprocal(), one(nonzero), 0),
    "tan": (lambda x: x.tan(), one(low=-1.2, high=1.2), 0),
    "asin": (lambda x: x.asin(), one(low=-0.9, high=0.9), 0),
    "acos": (lambda x: x.acos(), one(low=-0.9, high=0.9), 0),
    "frac": (lambda x: x.frac(), one(fractional), 0),
    "clamp": (lambda x: x.clamp(-1, 1), one(lambda a: away_from(a, points=(-1.0, 1.0))), 0),
    "pow_scalar": (lambda x: x**3, one(), 0),
    "pow_fractional": (lambda x: x**1.5, one(positive), 0),
    "rpow": (lambda x: 2.0**x, one(), 0),
    # pointwise, binary with broadcasting
    "add": (lambda a, b: a + b, pair(), 0),
    "add_alpha": (lambda a, b: minitorch.add(a, b, alpha=-2.5), pair(), 0),
    "sub": (lambda a, b: a - b, pair(), 0),
    "mul": (lambda a, b: a * b, pair(), 0),
    "div": (lambda a, b: a / b, pair(nonzero), 0),
    "pow": (lambda a, b: a.abs() ** b, pair(), 0),
    "maximum": (lambda a, b: minitorch.maximum(a, b), pair(broadcast=False), 0),
    "minimum": (lambda a, b: minitorch.minimum(a, b), pair(broadcast=False), 0),
    "where": (lambda a, b: minitorch.where(a > 0, a, b), pair(), 0),
    "lerp": (lambda a, b: a.lerp(b, 0.3), pair(), 0),
    "addcmul": (lambda a, b: minitorch.addcmul(a, b, a, value=0.5), pair(), 0),
    "addcdiv": (lambda a, b: a.addcdiv(a, b, value=-2), pair(nonzero), 0),
    "masked_fill": (lambda a: a.masked_fill(a > 0.5, 3.0), one(lambda a: away_from(a, points=(0.5,))), 0),
    # reductions
    "sum": (lambda x: x.sum(), one(), 0),
    "sum_dim": (lambda x: x.sum(0, keepdim=True), one(), 1),
    "mean": (lambda x: x.mean(-1), one(), 1),
    "prod": (lambda x: x.prod(0), one(nonzero), 1),
    "amax": (lambda x: x.amax(-1), one(distinct), 1),
    "max_dim": (lambda x: x.max(0).values, one(distinct), 1),
    "min_all": (lambda x: x.min(), one(distinct), 1),
    # var/std need two distinct values per slice to be differentiable: pair x with 2x + 0.37
    "var": (lambda x: minitorch.cat([x, x * 2 + 0.37], -1).var(-1), one(distinct), 1),
    "std": (lambda x: minitorch.cat([x, x * 2 + 0.37], 0).std(0, correction=0), one(distinct), 1),
    "norm": (lambda x: x.norm(), one(nonzero), 1),
    "norm_p3": (lambda x: x.norm(3, dim=-1), one(nonzero), 1),
    "logsumexp": (lambda x: x.logsumexp(-1), one(), 1),
    "softmax": (lambda x: x.softmax(-1), one(), 1),
    "log_softmax": (lambda x: x.log_softmax(0), one(), 1),
    "cumsum": (lambda x: x.cumsum(-1), one(), 1),
    "cumprod": (lambda x: x.cumprod(0), one(nonzero), 1),
    "sort": (lambda x: x.sort(-1, descending=True).values, one(distinct), 1),
    "topk": (lambda x: x.topk(1, dim=0).values, one(distinct), 1),
    # views
    "view": (lambda x: x.reshape(-1), one(), 0),
    "transpose": (lambda x: x.transpose(0, -1), one(), 1),
    "permute": (lambda x: x.permute(*reversed(range(x.ndim))), one(), 0),
    "expand": (lambda x: x.unsqueeze(0).expand(2, *x.shape), one(), 0),
    "squeeze_unsqueeze": (lambda x: x.unsqueeze(-1).squeeze(), one(), 0),
    "narrow": (lambda x: x.narrow(-1, x.shape[-1] // 2, (x.shape[-1] + 1) // 2), one(), 1),
    "select": (lambda x: x.select(0, -1), one(), 1),
    "diagonal": (lambda x: x.diagonal(0, 0, -1), one(), 2),
    "unfold": (lambda x: x.unfold(-1, 1 if x.shape[-1] < 2 else 2, 1), one(), 1),
    "as_strided": (lambda x: x.reshape(-1).repeat(3).as_strided((2, 2), (1, 1)), one(), 1),
    "getitem_basic": (lambda x: x[..., ::2], one(), 1),
    "getitem_advanced": (lambda x: x[[0, -1, 0]], one(), 1),
    "getitem_mask": (lambda x: x[x > 0], one(nonzero), 0),
    "setitem": (lambda a: _setitem(a), one(), 1),
    # indexing
    "gather": (lambda x: x.gather(-1, minitorch.zeros(x.shape[:-1] + (2,), dtype=minitorch.int64)), one(), 1),
    "index_select": (lambda x: x.index_select(0, minitorch.tensor([0, 0])), one(), 1),
    "take_along_dim": (lambda x: x.take_along_dim(minitorch.zeros(x.shape, dtype=minitorch.int64), 0), one(), 1),
    "masked_select": (lambda x: x.masked_select(x > 0), one(nonzero), 0),
    "scatter_add": (
        lambda x: minitorch.zeros(x.shape[0] + 1, *x.shape[1:], dtype=x.dtype).scatter_add(
            0, minitorch.zeros(x.shape, dtype=minitorch.int64), x
        ),
        one(),
        1,
    ),
    # joining
    "cat": (lambda a, b: minitorch.cat([a, b.expand_as(a)], -1), pair(), 1),
    "stack": (lambda a, b: minitorch.stack([a, b.expand_as(a)]), pair(), 0),
    "repeat": (lambda x: x.repeat(2, *([1] * x.ndim)), one(), 0),
    "flip": (lambda x: x.flip(0), one(), 1),
    "roll": (lambda x: x.roll(1, 0), one(), 1),
    "tril": (lambda x: x.tril(), one(), 2),
    "triu": (lambda x: x.triu(1), one(), 2),
    # linear algebra
    "matmul": (lambda a: a @ a.transpose(-1, -2), one(), 2),
    "matmul_1d": (lambda a: a.reshape(-1) @ a.reshape(-1), one(), 1),
    "matmul_vec": (lambda a: a @ a.new_ones(a.shape[-1]) if a.ndim else a * a, one(), 1),
    "einsum": (lambda a: minitorch.einsum("...i,...j->...ij", a, a), one(), 1),
    # in place and dtype moves
    "inplace_chain": (lambda x: _inplace_chain(x), one(), 0),
    "to_float32_and_back": (lambda x: (x * 1).double(), one(), 0),
}


def _setitem(a):
    out = a * 1
    out[0] = a[0] * 3
    return out


def _inplace_chain(x):
    y = x * 1
    y.mul_(2).add_(x).tanh_()
    return y


@st.composite
def case(draw, min_ndim):
    shape = draw(shapes(min_dims=min_ndim, max_dims=3, min_side=1, max_side=3))
    layout = draw(st.sampled_from(["contiguous", "transposed", "sliced"]))
    seed = draw(st.integers(0, 2**16))
    return shape, layout, seed


def _inputs(name, shape, layout, seed):
    fn, build, _ = OPS[name]
    arrays = [np.asarray(a, dtype=np.float64) for a in build(tuple(shape), np.random.default_rng(seed))]
    return fn, tuple(with_layout(a, layout if a.ndim else "contiguous", True) for a in arrays)


@pytest.mark.parametrize("name", sorted(OPS))
@settings(max_examples=15)
@given(data=st.data())
def test_gradcheck(name, data):
    shape, layout, seed = data.draw(case(OPS[name][2]))
    fn, inputs = _inputs(name, shape, layout, seed)
    assert gradcheck(fn, inputs)


@pytest.mark.parametrize("name", sorted(OPS))
@settings(max_examples=6)
@given(data=st.data())
def test_gradgradcheck(name, data):
    shape, layout, seed = data.draw(case(OPS[name][2]))
    fn, inputs = _inputs(name, shape, layout, seed)
    assert gradgradcheck(fn, inputs)


def test_every_op_reaches_every_input():
    """No op silently bypasses autograd: each input gets a gradient (not None)."""
    for name, (fn, build, min_ndim) in OPS.items():
        shape = (3,) * max(min_ndim, 2)
        arrays = build(shape, np.random.default_rng(0))
        inputs = [minitorch.tensor(a, requires_grad=True) for a in arrays]
        out = fn(*inputs)
        out.sum().backward()
        for i, t in enumerate(inputs):
            assert t.grad is not None, f"{name}: input {i} got no gradient"
