"""Reductions, scans, softmax and sorting against PyTorch, plus gradchecks."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitorch
from minitorch.autograd import gradcheck, gradgradcheck

from helpers import LAYOUTS, check, check_raises, requires_torch, torch
from strategies import floats, shapes


def _dims_for(shape, draw_int):
    return draw_int % (len(shape) + 1) - 1 if shape else None


@requires_torch
@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "logsumexp", "nansum"])
@given(shape=shapes(min_dims=1, max_dims=4, min_side=1), pick=st.integers(0, 10), keepdim=st.booleans())
def test_reductions_over_one_dim(name, shape, pick, keepdim):
    a = floats(shape, seed=pick)
    dim = pick % len(shape)
    check(lambda x: getattr(x, name)(dim, keepdim=keepdim), None, a, layouts=LAYOUTS)


@requires_torch
@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "logsumexp"])
@given(shape=shapes(min_dims=2, max_dims=4, min_side=1), keepdim=st.booleans())
def test_reductions_over_several_dims(name, shape, keepdim):
    a = floats(shape, seed=3)
    dims = (0, -1)
    check(lambda x: getattr(x, name)(dims, keepdim=keepdim), None, a, layouts=("contiguous", "transposed"))


@requires_torch
@given(shape=shapes(max_dims=3))
def test_full_reductions_including_empty_and_scalar(shape):
    a = floats(shape, seed=4)
    check(lambda x: x.sum(), None, a)
    if a.size:
        check(lambda x: x.mean(), None, a)
        check(lambda x: x.max(), None, a)
        check(lambda x: x.min(), None, a)
        check(lambda x: x.prod(), None, a)
    check(lambda x: x.sum(dtype=minitorch.float64), lambda x: x.sum(dtype=torch.float64), a.astype(np.float32))


@requires_torch
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
def test_integer_sum_and_prod_are_int64(dtype):
    a = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    check(lambda x: x.sum(), None, a, grad=False)
    check(lambda x: x.sum(1), None, a, grad=False)
    check(lambda x: x.prod(0), None, a, grad=False)
    check(lambda x: x.cumsum(1), None, a, grad=False)
    check(lambda x: x.all(1), None, a, grad=False)
    check(lambda x: x.any(), None, a, grad=False)


@requires_torch
@given(shape=shapes(min_dims=1, max_dims=3, min_side=1), pick=st.integers(0, 10), keepdim=st.booleans())
def test_max_min_with_dim_return_values_and_indices(shape, pick, keepdim):
    a = floats(shape, seed=pick)  # continuous values: no ties
    dim = pick % len(shape)
    check(lambda x: tuple(x.max(dim, keepdim=keepdim)), None, a, layouts=LAYOUTS)
    check(lambda x: tuple(x.min(dim=dim, keepdim=keepdim)), None, a)
    check(lambda x: x.argmax(dim, keepdim=keepdim), None, a, grad=False)
    check(lambda x: x.argmin(dim), None, a, grad=False)
    check(lambda x: x.argmax(), None, a, grad=False)
    values, indices = minitorch.tensor(a).max(dim)
    assert values.shape == indices.shape and indices.dtype is minitorch.int64


@requires_torch
def test_max_ties_share_gradient_like_torch():
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    check(lambda x: x.max(), None, a)
    check(lambda x: x.amax(1), None, a)
    check(lambda x: x.amin(0), None, a)


@requires_torch
@pytest.mark.parametrize("correction", [0, 1, 2])
@given(shape=shapes(min_dims=1, max_dims=3, min_side=3), keepdim=st.booleans())
def test_var_std(correction, shape, keepdim):
    a = floats(shape, seed=5)
    check(lambda x: x.var(-1, correction=correction, keepdim=keepdim), None, a)
    check(lambda x: x.std(0, correction=correction, keepdim=keepdim), None, a)
    check(lambda x: x.var(), None, a)
    check(lambda x: x.std(unbiased=False), None, a)


@requires_torch
@pytest.mark.parametrize("p", [1, 2, 3, 0.5, float("inf"), -float("inf"), "fro"])
def test_norm(p):
    a = floats((3, 4), seed=6)
    check(lambda x: x.norm(p), None, a)
    check(lambda x: x.norm(p, dim=1, keepdim=True), None, a)


def test_norm_gradient_at_zero_is_zero_like_torch():
    x = minitorch.zeros(3, requires_grad=True)
    x.norm().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


@requires_torch
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(shape=shapes(min_dims=1, max_dims=4, min_side=1), pick=st.integers(0, 10))
def test_softmax(name, shape, pick):
    a = floats(shape, seed=pick, low=-10, high=10)
    dim = pick % len(shape) - len(shape)
    check(lambda x: getattr(x, name)(dim), None, a, layouts=LAYOUTS)
    check(
        lambda x: getattr(minitorch, name)(x, dim=dim), lambda x: getattr(torch, name)(x, dim=dim), a.astype(np.float32)
    )


@requires_torch
def test_softmax_is_stable_on_extreme_logits():
    a = np.array([[1000.0, 0.0, -1000.0], [-1e30, -1e30, 5.0]])
    check(lambda x: x.softmax(-1), None, a)
    check(lambda x: x.log_softmax(-1), None, a)
    check(lambda x: x.logsumexp(-1), None, a)


@requires_torch
@given(shape=shapes(min_dims=1, max_dims=3, min_side=1), pick=st.integers(0, 10))
def test_cumsum_cumprod(shape, pick):
    a = floats(shape, seed=pick, low=0.5, high=1.5)
    dim = pick % len(shape)
    check(lambda x: x.cumsum(dim), None, a, layouts=LAYOUTS)
    check(lambda x: x.cumprod(dim), None, a)


@requires_torch
def test_cumprod_and_prod_gradients_with_zeros():
    a = np.array([[2.0, 0.0, 3.0, 4.0], [0.0, 0.0, 1.5, 2.0], [1.0, 2.0, 3.0, 0.0]])
    check(lambda x: x.cumprod(1), None, a)
    check(lambda x: x.prod(1), None, a)
    check(lambda x: x.prod(), None, a[:1])


@requires_torch
@given(shape=shapes(min_dims=1, max_dims=3, min_side=1), descending=st.booleans(), pick=st.integers(0, 10))
def test_sort_topk(shape, descending, pick):
    a = floats(shape, seed=pick)  # distinct values, so indices are unique
    dim = pick % len(shape)
    check(lambda x: tuple(x.sort(dim, descending=descending)), None, a)
    check(lambda x: x.argsort(dim, descending=descending), None, a, grad=False)
    k = pick % (shape[dim] + 1)
    check(lambda x: tuple(x.topk(k, dim)), None, a)
    check(lambda x: tuple(x.topk(k, dim, largest=False)), None, a)


@requires_torch
def test_stable_sort_keeps_order_of_ties():
    a = np.array([3, 1, 3, 2, 1, 3])
    check(lambda x: tuple(x.sort(stable=True)), None, a, grad=False)
    check(lambda x: tuple(x.sort(descending=True, stable=True)), None, a, grad=False)


REDUCTIONS = {
    "sum": lambda x: x.sum(1),
    "mean": lambda x: x.mean((0, 2), keepdim=True),
    "prod": lambda x: x.prod(2),
    "amax": lambda x: x.amax(1),
    "max_dim": lambda x: x.max(2).values,
    "min_dim": lambda x: x.min(0).values,
    "var": lambda x: x.var(1),
    "std": lambda x: x.std(2, keepdim=True),
    "norm": lambda x: x.norm(dim=1),
    "norm3": lambda x: x.norm(3, dim=1),
    "logsumexp": lambda x: x.logsumexp(2),
    "softmax": lambda x: x.softmax(1),
    "log_softmax": lambda x: x.log_softmax(-1),
    "cumsum": lambda x: x.cumsum(1),
    "cumprod": lambda x: x.cumprod(2),
    "sort": lambda x: x.sort(1).values,
    "topk": lambda x: x.topk(2, dim=2).values,
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reduction_gradcheck(name):
    x = minitorch.tensor(floats((2, 3, 4), seed=7, low=0.5, high=2.0), requires_grad=True)
    assert gradcheck(REDUCTIONS[name], (x,))
    assert gradgradcheck(REDUCTIONS[name], (x,))


@requires_torch
def test_reduction_errors_match_torch():
    check_raises(lambda: minitorch.ones(2, 3).sum(2), lambda: torch.ones(2, 3).sum(2), match="out of range")
    check_raises(lambda: minitorch.tensor([1, 2]).mean(), lambda: torch.tensor([1, 2]).mean(), match="floating point")
    check_raises(lambda: minitorch.ones(0).max(), lambda: torch.ones(0).max())
    check_raises(lambda: minitorch.ones(2, 0).max(1), lambda: torch.ones(2, 0).max(1))
    check_raises(lambda: minitorch.ones(3).topk(4), lambda: torch.ones(3).topk(4))
    check_raises(lambda: minitorch.ones(2, 3).sum((0, 0)), lambda: torch.ones(2, 3).sum((0, 0)))
    check_raises(lambda: minitorch.ones(3).softmax(), lambda: torch.ones(3).softmax())


def test_return_types_are_named_tuples():
    out = minitorch.tensor([[1.0, 5.0], [7.0, 2.0]]).max(dim=1)
    assert out.values.tolist() == [5.0, 7.0] and out.indices.tolist() == [1, 0]
    values, indices = out
    assert values is out.values
    assert type(out).__name__ == "max"


@requires_torch
def test_numpy_style_axis_and_keepdims_aliases():
    a = floats((2, 3, 4), seed=12)
    check(lambda x: x.sum(axis=1, keepdims=True), None, a)
    check(lambda x: x.mean(axis=(0, 2)), None, a)
    check(lambda x: tuple(x.max(axis=2)), None, a)
    check(lambda x: x.std(axis=0, keepdims=True), None, a)
    check(lambda x: x.softmax(axis=-1), None, a)
    check(lambda x: x.argmax(axis=1), None, a, grad=False)
    check(lambda x: minitorch.cat([x, x], axis=1), lambda x: torch.cat([x, x], axis=1), a)
