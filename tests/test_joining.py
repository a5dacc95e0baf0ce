"""Joining and rearranging ops (cat, stack, repeat, flip, roll, tril, meshgrid, ...) against PyTorch."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitorch

from helpers import LAYOUTS, both, check, check_raises, grads_ok, leaf64, requires_torch, torch
from strategies import floats, shapes

pytestmark = requires_torch

DTYPES = st.sampled_from(["float32", "float64"])


# ---- cat / stack -------------------------------------------------------------------------------
@given(shape=shapes(min_dims=1), data=st.data(), dtype=DTYPES)
def test_cat_matches_torch(shape, data, dtype):
    d = data.draw(st.integers(-len(shape), len(shape) - 1))
    sizes = data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=3))
    arrays = []
    for i, n in enumerate(sizes):
        s = list(shape)
        s[d] = n
        arrays.append(floats(tuple(s), dtype, seed=i))
    check(*both(lambda m, *xs: m.cat(xs, dim=d)), *arrays, layouts=LAYOUTS)


def test_cat_aliases_and_grad_fn():
    a, b = floats((2, 3)), floats((1, 3), seed=1)
    check(*both(lambda m, x, y: m.concat([x, y])), a, b)
    check(*both(lambda m, x, y: m.concatenate((x, y), 0)), a, b)
    assert minitorch.cat([leaf64(2), leaf64(3)]).grad_fn.name() == "CatBackward0"


@pytest.mark.parametrize(
    "dtypes",
    [
        ("int64", "float32"),
        ("int32", "uint8"),
        ("bool", "int64"),
        ("float32", "float64"),
        ("int8", "float16"),
        ("bool", "bool"),
    ],
)
def test_cat_promotes_dtypes(dtypes):
    arrays = [np.arange(6).reshape(2, 3).astype(d) for d in dtypes]
    check(*both(lambda m, *xs: m.cat(xs, 1)), *arrays)


def test_cat_skips_legacy_empty_tensors():
    empty64 = np.zeros((0,), "float64")
    check(*both(lambda m, e, x: m.cat([e, x])), empty64, floats((2, 3), "float32"))
    check(*both(lambda m, e, x: m.cat([x, e, x], 1)), empty64, floats((2, 3)))
    check(*both(lambda m, e, x: m.cat([e, x])), empty64, np.ones((2, 3), "int64"))  # the empty one still promotes
    check(*both(lambda m, e: m.cat([e, e])), empty64)


def test_cat_errors():
    a, b = minitorch.zeros(2, 3), minitorch.zeros(3, 3)
    ta, tb = torch.zeros(2, 3), torch.zeros(3, 3)
    check_raises(
        lambda: minitorch.cat([a, b], 1),
        lambda: torch.cat([ta, tb], 1),
        match="Sizes of tensors must match except in dimension 1. Expected size 2 but got size 3 for tensor number 1 in the list.",
    )
    check_raises(lambda: minitorch.cat([]), lambda: torch.cat([]), match="non-empty")
    check_raises(
        lambda: minitorch.cat([a, a.unsqueeze(0)]),
        lambda: torch.cat([ta, ta.unsqueeze(0)]),
        match="same number of dimensions",
    )
    check_raises(lambda: minitorch.cat([a, a], 2), lambda: torch.cat([ta, ta], 2), match="Dimension out of range")
    check_raises(
        lambda: minitorch.cat([minitorch.tensor(1.0)]), lambda: torch.cat([torch.tensor(1.0)]), match="zero-dimensional"
    )
    check_raises(lambda: minitorch.cat(a), lambda: torch.cat(ta), match="tuple of Tensors")
    check_raises(lambda: minitorch.cat([a, 3]), lambda: torch.cat([ta, 3]), match="expected Tensor as element 1")


@given(shape=shapes(max_dims=3), n=st.integers(1, 3), data=st.data(), dtype=DTYPES)
def test_stack_matches_torch(shape, n, data, dtype):
    d = data.draw(st.integers(-len(shape) - 1, len(shape)))
    arrays = [floats(shape, dtype, seed=i) for i in range(n)]
    check(*both(lambda m, *xs: m.stack(xs, d)), *arrays, layouts=LAYOUTS)


def test_stack_promotes_and_errors():
    check(*both(lambda m, x, y: m.stack([x, y], -1)), floats((2, 3), "float32"), np.ones((2, 3), "int64"))
    assert minitorch.stack([leaf64(2), leaf64(2)]).grad_fn.name() == "StackBackward0"
    a, b = minitorch.zeros(2, 3), minitorch.zeros(2, 4)
    check_raises(
        lambda: minitorch.stack([a, b]),
        lambda: torch.stack([torch.zeros(2, 3), torch.zeros(2, 4)]),
        match="stack expects each tensor to be equal size, but got [2, 3] at entry 0 and [2, 4] at entry 1",
    )
    check_raises(lambda: minitorch.stack([]), lambda: torch.stack([]), match="non-empty TensorList")
    check_raises(
        lambda: minitorch.stack([a, a], 3),
        lambda: torch.stack([torch.zeros(2, 3)] * 2, 3),
        match="Dimension out of range",
    )


@pytest.mark.parametrize("name", ["hstack", "vstack", "dstack", "column_stack"])
@pytest.mark.parametrize("shapes_", [[(), ()], [(3,), (3,)], [(2, 3), (2, 3)], [(2, 3, 2), (2, 3, 2)], [(3,), ()]])
def test_hstack_vstack_dstack_column_stack(name, shapes_):
    arrays = [floats(s, seed=i) for i, s in enumerate(shapes_)]
    try:
        getattr(torch, name)([torch.tensor(a) for a in arrays])
    except RuntimeError:
        check_raises(
            lambda: getattr(minitorch, name)([minitorch.tensor(a) for a in arrays]),
            lambda: getattr(torch, name)([torch.tensor(a) for a in arrays]),
        )
        return
    check(*both(lambda m, *xs: getattr(m, name)(xs)), *arrays)


def test_stack_family_mixed_shapes_and_empty_list():
    check(*both(lambda m, x, y: m.hstack([x, y])), floats((2, 1)), floats((2, 3), seed=1))
    check(
        *both(lambda m, x, y, z: m.column_stack([x, y, z])), floats((3,)), floats((3, 2), seed=1), floats((3,), seed=2)
    )
    for name in ("hstack", "vstack", "dstack", "column_stack"):
        check_raises(
            lambda n=name: getattr(minitorch, n)([]),
            lambda n=name: getattr(torch, n)([]),
            match=f"{name} expects a non-empty TensorList",
        )


def test_cat_stack_gradcheck():
    grads_ok(lambda x, y: minitorch.cat([x, y], 1), leaf64(2, 3), leaf64(2, 2, seed=1))
    grads_ok(lambda x, y: minitorch.stack([x, y], 1), leaf64(2, 3), leaf64(2, 3, seed=1))
    grads_ok(lambda x, y: minitorch.dstack([x, y]), leaf64(2, 3), leaf64(2, 3, seed=1))


# ---- repeat / tile / repeat_interleave ----------------------------------------------------------------
@given(shape=shapes(max_dims=3), data=st.data(), dtype=DTYPES)
def test_repeat_matches_torch(shape, data, dtype):
    reps = tuple(data.draw(st.lists(st.integers(0, 3), min_size=len(shape), max_size=len(shape) + 2)))
    check(lambda x: x.repeat(reps), None, floats(shape, dtype), layouts=LAYOUTS)
    if reps:  # x.repeat() with no sizes is a TypeError in both
        check(lambda x: x.repeat(*reps), None, floats(shape, dtype))


@given(shape=shapes(max_dims=3), data=st.data())
def test_tile_matches_torch(shape, data):
    reps = tuple(data.draw(st.lists(st.integers(0, 3), max_size=4)))
    check(*both(lambda m, x: m.tile(x, reps)), floats(shape), layouts=LAYOUTS)


def test_repeat_errors_grad_fn_and_gradcheck():
    x = minitorch.zeros(2, 3)
    check_raises(lambda: x.repeat(2), lambda: torch.zeros(2, 3).repeat(2), match="can not be smaller")
    check_raises(lambda: x.repeat(-1, 2), lambda: torch.zeros(2, 3).repeat(-1, 2), match="negative")
    assert leaf64(2).repeat(3).grad_fn.name() == "RepeatBackward0"
    grads_ok(lambda t: t.repeat(2, 1, 3), leaf64(2, 3))
    grads_ok(lambda t: t.tile((2,)), leaf64(2, 3))
    grads_ok(lambda t: t.repeat(()), leaf64())


@pytest.mark.parametrize("repeats,dim", [(2, None), (2, 0), (3, 1), (0, 1), (2, -1)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_repeat_interleave_int(repeats, dim, dtype):
    check(*both(lambda m, x: m.repeat_interleave(x, repeats, dim=dim)), floats((2, 3), dtype), layouts=LAYOUTS)
    check(lambda x: x.repeat_interleave(repeats, dim), None, floats((2, 3), dtype))


@pytest.mark.parametrize("counts,dim", [([1, 2], 0), ([0, 3, 1], 1), ([2], 0), ([1, 0, 2, 0, 1, 1], None), ([0, 0], 0)])
def test_repeat_interleave_tensor(counts, dim):
    check(*both(lambda m, x: m.repeat_interleave(x, m.tensor(counts), dim=dim)), floats((2, 3)), layouts=LAYOUTS)
    check(*both(lambda m, x: m.repeat_interleave(x, m.tensor(2), dim=dim)), floats((2, 3)))


def test_repeat_interleave_counts_only_and_errors():
    counts = [1, 2, 0, 3]
    assert (
        minitorch.repeat_interleave(minitorch.tensor(counts)).tolist()
        == torch.repeat_interleave(torch.tensor(counts)).tolist()
    )
    check(*both(lambda m, x: m.repeat_interleave(x, 3)), floats(()))
    x, tx = minitorch.zeros(2, 3), torch.zeros(2, 3)
    for bad in (
        lambda m: m.tensor([1, 2, 3]),
        lambda m: m.tensor([1, -2]),
        lambda m: m.tensor([[1, 2]]),
        lambda m: m.tensor([1.0, 2.0]),
    ):
        check_raises(
            lambda b=bad: minitorch.repeat_interleave(x, b(minitorch), dim=0),
            lambda b=bad: torch.repeat_interleave(tx, b(torch), dim=0),
        )
    check_raises(lambda: x.repeat_interleave(-1, 0), lambda: tx.repeat_interleave(-1, 0), match="non-negative")
    grads_ok(lambda t: t.repeat_interleave(2, 1), leaf64(2, 3))
    grads_ok(lambda t: t.repeat_interleave(minitorch.tensor([2, 0, 1]), 1), leaf64(2, 3))


# ---- flip / roll -----------------------------------------------------------------------------------------
@given(shape=shapes(), data=st.data(), dtype=DTYPES)
def test_flip_matches_torch(shape, data, dtype):
    dims = data.draw(
        st.lists(st.integers(-max(len(shape), 1), max(len(shape), 1) - 1), unique_by=lambda d: d % max(len(shape), 1))
    )
    check(*both(lambda m, x: m.flip(x, dims)), floats(shape, dtype), layouts=LAYOUTS)
    if dims:
        check(lambda x: x.flip(*dims), None, floats(shape, dtype))


def test_flip_variants_errors_and_gradcheck():
    check(*both(lambda m, x: m.fliplr(x)), floats((2, 3, 2)))
    check(*both(lambda m, x: m.flipud(x)), floats((3, 2)))
    check(lambda x: x.flip(0).flipud().fliplr(), None, floats((2, 3)))
    assert minitorch.flip(minitorch.tensor([True, False]), (0,)).tolist() == [False, True]
    x, tx = minitorch.zeros(2, 3), torch.zeros(2, 3)
    check_raises(lambda: minitorch.flip(x, (0, 0)), lambda: torch.flip(tx, (0, 0)), match="appears multiple times")
    check_raises(lambda: minitorch.flip(x, (2,)), lambda: torch.flip(tx, (2,)), match="Dimension out of range")
    check_raises(lambda: minitorch.flip(x, 0), lambda: torch.flip(tx, 0), match="tuple of ints")
    check_raises(lambda: x.flip(), lambda: tx.flip(), match="dims")
    check_raises(lambda: minitorch.fliplr(x[0]), lambda: torch.fliplr(tx[0]), match=">= 2-d")
    check_raises(lambda: minitorch.flipud(x[0, 0]), lambda: torch.flipud(tx[0, 0]), match=">= 1-d")
    assert leaf64(3).flip(0).grad_fn.name() == "FlipBackward0"
    grads_ok(lambda t: t.flip(0, 2), leaf64(2, 3, 2))


@given(shape=shapes(min_dims=1), data=st.data(), dtype=DTYPES)
def test_roll_matches_torch(shape, data, dtype):
    dims = data.draw(st.lists(st.integers(-len(shape), len(shape) - 1), min_size=1, max_size=3))
    shifts = data.draw(st.lists(st.integers(-7, 7), min_size=len(dims), max_size=len(dims)))
    check(*both(lambda m, x: m.roll(x, tuple(shifts), tuple(dims))), floats(shape, dtype), layouts=LAYOUTS)
    check(lambda x: x.roll(shifts[0], dims[0]), None, floats(shape, dtype))
    check(lambda x: x.roll(shifts[0]), None, floats(shape, dtype))


def test_roll_errors_and_gradcheck():
    x, tx = minitorch.zeros(2, 3), torch.zeros(2, 3)
    check(lambda t: t.roll(2), None, floats(()))
    check_raises(lambda: x.roll((1, 2), (0,)), lambda: tx.roll((1, 2), (0,)), match="shifts and dimensions must align")
    check_raises(lambda: x.roll((1, 2)), lambda: tx.roll((1, 2)), match="shifts and dimensions must align")
    check_raises(lambda: x.roll(1, 2), lambda: tx.roll(1, 2), match="Dimension out of range")
    check_raises(lambda: x[0, 0].roll(1, 0), lambda: tx[0, 0].roll(1, 0), match="no dimensions")
    assert leaf64(3).roll(1, 0).grad_fn.name() == "RollBackward0"
    grads_ok(lambda t: t.roll((1, -4), (0, 1)), leaf64(2, 3))
    grads_ok(lambda t: t.roll(5), leaf64(2, 3))


# ---- tril / triu ----------------------------------------------------------------------------------------
@given(shape=shapes(min_dims=2), k=st.integers(-4, 4), dtype=DTYPES)
def test_tril_triu_match_torch(shape, k, dtype):
    check(*both(lambda m, x: m.tril(x, k)), floats(shape, dtype), layouts=LAYOUTS)
    check(*both(lambda m, x: m.triu(x, diagonal=k)), floats(shape, dtype), layouts=LAYOUTS)
    check(lambda x: x.tril(k) + x.triu(k + 1), None, floats(shape, dtype))


def test_tril_triu_dtypes_errors_and_gradcheck():
    for dtype in ("int64", "int32", "bool"):
        check(*both(lambda m, x: m.triu(x, -1)), np.ones((2, 3, 3), dtype))
    check_raises(
        lambda: minitorch.tril(minitorch.zeros(3)), lambda: torch.tril(torch.zeros(3)), match="at least 2 dimensions"
    )
    check_raises(
        lambda: minitorch.triu(minitorch.zeros(3)), lambda: torch.triu(torch.zeros(3)), match="at least 2 dimensions"
    )
    assert leaf64(2, 2).tril().grad_fn.name() == "TrilBackward0"
    assert leaf64(2, 2).triu().grad_fn.name() == "TriuBackward0"
    grads_ok(lambda t: t.tril(1), leaf64(2, 3, 4))
    grads_ok(lambda t: t.triu(-1), leaf64(3, 4))


# ---- meshgrid / cartesian_prod ---------------------------------------------------------------------------
@pytest.mark.parametrize("indexing", ["ij", "xy"])
@pytest.mark.parametrize("sizes", [[2], [2, 3], [2, 0, 4], [3, 1, 2], [(), 3]])
def test_meshgrid_matches_torch(indexing, sizes):
    arrays = [floats(s if isinstance(s, tuple) else (s,), seed=i) for i, s in enumerate(sizes)]
    check(*both(lambda m, *xs: m.meshgrid(*xs, indexing=indexing)), *arrays)
    check(*both(lambda m, *xs: m.meshgrid(list(xs), indexing=indexing)), *arrays)


def test_meshgrid_default_warns_and_errors():
    a, b = minitorch.zeros(2), minitorch.zeros(3)
    with pytest.warns(UserWarning, match="indexing argument"):
        x, y = minitorch.meshgrid(a, b)
    assert x.shape == (2, 3) and y.shape == (2, 3)
    ta, tb = torch.zeros(2), torch.zeros(3)
    check_raises(
        lambda: minitorch.meshgrid(a, b, indexing="zz"),
        lambda: torch.meshgrid(ta, tb, indexing="zz"),
        match='"xy" or "ij"',
    )
    check_raises(
        lambda: minitorch.meshgrid(a, b.reshape(3, 1), indexing="ij"),
        lambda: torch.meshgrid(ta, tb.reshape(3, 1), indexing="ij"),
        match="0D or 1D",
    )
    check_raises(
        lambda: minitorch.meshgrid(a, b.long(), indexing="ij"),
        lambda: torch.meshgrid(ta, tb.long(), indexing="ij"),
        match="same dtype",
    )
    check_raises(lambda: minitorch.meshgrid(indexing="ij"), lambda: torch.meshgrid(indexing="ij"), match="non-empty")
    grads_ok(lambda s, t: minitorch.meshgrid(s, t, indexing="xy"), leaf64(2), leaf64(3, seed=1))


def test_cartesian_prod():
    check(*both(lambda m, x, y: m.cartesian_prod(x, y)), floats((2,)), floats((3,), seed=1))
    check(*both(lambda m, x, y, z: m.cartesian_prod(x, y, z)), floats((2,)), floats((0,), seed=1), floats((2,), seed=2))
    check(*both(lambda m, x: m.cartesian_prod(x)), floats((2,)))
    check_raises(
        lambda: minitorch.cartesian_prod(minitorch.zeros(2, 2)),
        lambda: torch.cartesian_prod(torch.zeros(2, 2)),
        match="1D vector",
    )
    grads_ok(lambda s, t: minitorch.cartesian_prod(s, t), leaf64(2), leaf64(3, seed=1))


def test_names_used_by_other_modules():
    """reduction.py's prod/cumsum backward use cat, Tensor.flip(int) and Tensor.triu."""
    x = minitorch.tensor([[1.0, 0.0, 2.0], [3.0, 4.0, 0.0]], dtype=minitorch.float64, requires_grad=True)
    grads_ok(lambda t: t.prod(1), x)
    grads_ok(lambda t: t.cumsum(0), leaf64(3, 2))
