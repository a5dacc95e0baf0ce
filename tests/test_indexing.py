"""Indexing: x[...] (views for basic indices, copies for advanced ones), gather/scatter and the index_* family."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitorch
from minitorch.autograd import gradcheck, gradgradcheck

from helpers import LAYOUTS, check, check_raises, requires_torch, torch
from strategies import floats, shapes


def shares_storage(a, b):
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


# ---- index strategies ---------------------------------------------------------------------------
@st.composite
def basic_indices(draw, shape):
    """A tuple of ints, slices (step > 0), None and at most one Ellipsis that fits ``shape``."""
    k = draw(st.integers(0, len(shape)))
    items = []
    for n in shape[:k]:
        if n and draw(st.booleans()):
            items.append(draw(st.integers(-n, n - 1)))
        else:
            bound = st.one_of(st.none(), st.integers(-7, 7))
            items.append(slice(draw(bound), draw(bound), draw(st.one_of(st.none(), st.integers(1, 3)))))
    for _ in range(draw(st.integers(0, 2))):
        items.insert(draw(st.integers(0, len(items))), None)
    if draw(st.booleans()):  # where the ints still meet the dims they were drawn for
        items.insert(draw(st.integers(0, len(items))) if k == len(shape) else len(items), Ellipsis)
    return tuple(items)


@st.composite
def advanced_indices(draw, shape):
    """Basic entries mixed with integer lists (broadcasting, negative) and boolean masks, for non-empty dims."""
    index_shape = draw(shapes(min_dims=0, max_dims=2, min_side=0, max_side=3))
    items, dim = [], 0
    while dim < len(shape):
        kind = draw(st.sampled_from(["int_list", "int_list", "mask", "slice", "int", "stop"]))
        n = shape[dim]
        if kind == "stop":
            break
        if kind == "int_list":
            own = tuple(s if draw(st.booleans()) else 1 for s in index_shape)
            items.append(
                np.asarray(
                    draw(st.lists(st.integers(-n, n - 1), min_size=int(np.prod(own)), max_size=int(np.prod(own))))
                )
                .reshape(own)
                .tolist()
            )
            dim += 1
        elif kind == "mask":
            k = draw(st.integers(1, min(2, len(shape) - dim)))
            mask_shape = shape[dim : dim + k]
            bits = draw(st.lists(st.booleans(), min_size=int(np.prod(mask_shape)), max_size=int(np.prod(mask_shape))))
            items.append(np.asarray(bits, dtype=bool).reshape(mask_shape).tolist())
            dim += k
        elif kind == "slice":
            items.append(slice(draw(st.one_of(st.none(), st.integers(-n, n))), None, draw(st.integers(1, 2))))
            dim += 1
        else:
            items.append(draw(st.integers(-n, n - 1)))
            dim += 1
        if draw(st.integers(0, 4)) == 0:
            items.append(None)
    return tuple(items)


def _count_index_arrays(index):
    return sum(isinstance(i, list) for i in index)


# ---- x[index] reads -------------------------------------------------------------------------------
@requires_torch
@given(data=st.data(), shape=shapes(min_dims=1, max_dims=4))
def test_basic_indexing_matches_torch_and_is_a_view(data, shape):
    index = data.draw(basic_indices(shape))
    x = floats(shape)
    check(lambda t: t[index], None, x, layouts=LAYOUTS)
    base = minitorch.tensor(x)
    view = base[index]
    assert shares_storage(view, base)
    expected_view = torch.tensor(x)[index]
    if view.numel():  # (views.slice_dim gives empty slices offset 0; PyTorch keeps the start)
        assert view.storage_offset() == expected_view.storage_offset()
        assert view.data_ptr() == base.data_ptr() + view.storage_offset() * 8
    assert view.stride() == expected_view.stride() or view.numel() <= 1
    view.fill_(7.0)  # a write through the view shows in the base
    expected = x.copy()
    expected[index] = 7.0
    np.testing.assert_array_equal(base.numpy(), expected)


@requires_torch
@given(data=st.data(), shape=shapes(min_dims=1, max_dims=4, min_side=1))
def test_advanced_indexing_matches_torch(data, shape):
    index = data.draw(advanced_indices(shape))
    try:
        torch.zeros(shape)[index]
    except IndexError:  # e.g. index lists that do not broadcast together: both must refuse
        check_raises(lambda: minitorch.zeros(shape)[index], lambda: torch.zeros(shape)[index])
        return
    check(lambda t: t[index], None, floats(shape), layouts=LAYOUTS)


@requires_torch
@pytest.mark.parametrize(
    "index",
    [
        ([0, 0, 1],),  # repeated indices: gradients add up
        (slice(None), [0, 1], slice(None), [0, 1]),  # separated by a slice: broadcast dims go first
        ([0, 1], slice(None), [0, 1]),
        (0, slice(None), [0, 1]),  # an int counts as a basic index here (PyTorch), so dims stay in place
        (slice(None), 0, slice(None), [0, 1]),
        ([0, 1], None, [0, 1]),
        (None, [0, 1], None, [0, 1]),
        (True, [0, 1]),
        ([0, 1], True, [0, 1]),
        (False,),
        (True,),
        ([[0], [1]], slice(None), [1, 2, 0]),  # broadcast to (2, 3)
        ([-1, -2], Ellipsis, [-5, 4]),
        (Ellipsis, [True, False, True, True, False]),
        ([[True, False, True], [False, False, True]], 1),
        ([[True, False, True], [False, False, True]], slice(1, 3)),
        (1, [[True, False, True, True], [False] * 4, [True] * 4]),
        ([], slice(None)),
        ([True, False], [2, 0]),
        (slice(None), []),
    ],
)
def test_advanced_indexing_cases(index):
    x = floats((2, 3, 4, 5))
    check(lambda t: t[index], None, x, layouts=LAYOUTS)
    out = minitorch.tensor(x, requires_grad=True)[index]
    assert out.grad_fn.name() == "IndexBackward0"


@requires_torch
def test_mask_tensors_cover_several_dims():
    x = floats((2, 3, 4))
    check(lambda t, m: t[..., m], None, x, floats((3, 4)) > 0, layouts=LAYOUTS)  # a mask of the last two dims
    check(lambda t, m: t[m, 1:], None, x, floats((2, 3)) > 0, layouts=LAYOUTS)
    check(lambda t, m: t[m], None, x, x > 0, layouts=LAYOUTS)


@requires_torch
def test_index_with_tensors_arrays_and_0d_tensors():
    x = floats((3, 4))

    def index_tensor(t, data, dtype):
        m = minitorch if isinstance(t, minitorch.Tensor) else torch
        return m.tensor(data, dtype=getattr(m, dtype))

    for dtype in ("int64", "int32", "int16", "uint8", "bool"):  # 0-d: integers act like ints, bool/uint8 like masks
        check(lambda t: t[index_tensor(t, 1, dtype)], None, x)
    for dtype in ("int64", "int32", "uint8", "bool"):  # uint8 is a (deprecated) mask in PyTorch
        check(lambda t: t[index_tensor(t, [[1, 0, 1, 1]] * 3, dtype)], None, x)
    check(lambda t: t[np.array([2, 0]), np.array([1, 1])], None, x)
    check(lambda t: t[np.array([[True, False, True, False]] * 3)], None, x)
    check(lambda t: t[np.int64(1), slice(np.int64(1), None)], None, x)
    a = minitorch.tensor(x)
    assert a[minitorch.tensor(1)].grad_fn is None and shares_storage(a[minitorch.tensor(1)], a)  # 0-d int: a view


def test_grad_fn_names_of_basic_indexing():
    x = minitorch.randn(3, 4, requires_grad=True)
    assert x[0].grad_fn.name() == "SelectBackward0"
    assert x[1:].grad_fn.name() == "SliceBackward0"
    assert x[None].grad_fn.name() == "UnsqueezeBackward0"
    assert x[...].grad_fn.name() == "AliasBackward0"
    assert x[()].grad_fn.name() == "AliasBackward0" and x[()] is not x and shares_storage(x[()], x)
    assert x[[0]].grad_fn.name() == "IndexBackward0"


def test_advanced_indexing_copies():
    x = minitorch.arange(6.0)
    y = x[[1, 2]]
    y.fill_(0.0)
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert not shares_storage(y, x)


@requires_torch
@pytest.mark.parametrize(
    "shape, index, match",
    [
        ((3,), 5, "index 5 is out of bounds for dimension 0 with size 3"),
        ((3, 4), (0, 5), "index 5 is out of bounds for dimension 0 with size 4"),
        ((3, 4), (slice(None), 5), "index 5 is out of bounds for dimension 1 with size 4"),
        ((3,), [0, 5], "index 5 is out of bounds for dimension 0 with size 3"),
        ((3,), [-4], "index -4 is out of bounds for dimension 0 with size 3"),
        ((3, 4), (slice(None), [0, 4]), "index 4 is out of bounds for dimension 1 with size 4"),
        ((3, 4), (0, 0, 0), "too many indices for tensor of dimension 2"),
        ((3, 4), ([[True, False]],), "shape of the mask"),
        ((3, 4), ([True, False],), "shape of the mask [2] at index 0 does not match"),
        ((), 0, "invalid index of a 0-dim tensor"),
        ((3, 4), ([0, 1], [0, 1, 2]), "shape mismatch: indexing tensors could not be broadcast together"),
        ((3,), 1.0, "only integers, slices"),
    ],
)
def test_indexing_errors(shape, index, match):
    check_raises(lambda: minitorch.zeros(shape)[index], lambda: torch.zeros(shape)[index], match=match)


@requires_torch
def test_indexing_errors_for_steps_and_index_dtypes():
    check_raises(lambda: minitorch.zeros(3)[::-1], lambda: torch.zeros(3)[::-1], match="step must be greater than zero")
    check_raises(lambda: minitorch.zeros(3)[::0], lambda: torch.zeros(3)[::0], match="step must be greater than zero")
    for d in ("float32", "int16"):
        check_raises(
            lambda: minitorch.zeros(3)[minitorch.tensor([0, 1], dtype=getattr(minitorch, d))],
            lambda: torch.zeros(3)[torch.tensor([0, 1], dtype=getattr(torch, d))],
            match="tensors used as indices must be long, int, byte or bool tensors",
        )
    check_raises(
        lambda: minitorch.zeros(3)[minitorch.tensor(1.0)], lambda: torch.zeros(3)[torch.tensor(1.0)], match="long, int"
    )
    check_raises(
        lambda: minitorch.zeros(3, 4)[..., 0, ...], None, match="single ellipsis"
    )  # NumPy's rule; PyTorch ignores the second


def test_index_gradcheck_and_gradgradcheck():
    x = minitorch.randn(3, 4, dtype=minitorch.float64, requires_grad=True)
    for index in ([0, 2, 0], (slice(None), [[1, 1], [3, 0]]), ([2, 0], slice(1, None), None), (x.detach() > 0,)):
        assert gradcheck(lambda t: t[index], (x,))
        assert gradgradcheck(lambda t: t[index], (x,))


# ---- gather / scatter / scatter_add -----------------------------------------------------------------
@st.composite
def gather_case(draw, max_dims=3):
    """An input shape, a dim, and an index array no larger than the input apart from ``dim``."""
    shape = draw(shapes(min_dims=1, max_dims=max_dims, min_side=1, max_side=4))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    d = dim % len(shape)
    index_shape = tuple(draw(st.integers(0, 5)) if k == d else draw(st.integers(0, n)) for k, n in enumerate(shape))
    values = draw(
        st.lists(st.integers(0, shape[d] - 1), min_size=int(np.prod(index_shape)), max_size=int(np.prod(index_shape)))
    )
    return shape, dim, np.asarray(values, dtype=np.int64).reshape(index_shape)


def _unique_scatter_index(shape, dim, index_shape, seed):
    """An index with no repeats along ``dim`` (scatter with repeats has no defined winner)."""
    rng = np.random.default_rng(seed)
    d = dim % len(shape)
    moved = np.moveaxis(np.zeros(index_shape, dtype=np.int64), d, -1)
    for pos in np.ndindex(moved.shape[:-1]):
        moved[pos] = rng.permutation(shape[d])[: moved.shape[-1]]
    return np.ascontiguousarray(np.moveaxis(moved, -1, d))


@requires_torch
@given(case=gather_case())
def test_gather_matches_torch(case):
    shape, dim, index = case
    check(lambda x, i: x.gather(dim, i), None, floats(shape), index, layouts=LAYOUTS)
    check(
        lambda x, i: minitorch.gather(x, dim, i) if isinstance(x, minitorch.Tensor) else torch.gather(x, dim, i),
        None,
        floats(shape),
        index,
    )


@requires_torch
@given(case=gather_case(), seed=st.integers(0, 100), scalar=st.booleans())
def test_scatter_matches_torch(case, seed, scalar):
    shape, dim, index = case
    d = dim % len(shape)
    index_shape = index.shape[:d] + (min(index.shape[d], shape[d]),) + index.shape[d + 1 :]
    index = _unique_scatter_index(shape, dim, index_shape, seed)
    if scalar:
        check(lambda x, i: x.scatter(dim, i, 2.5), None, floats(shape), index, layouts=LAYOUTS)
    else:
        check(
            lambda x, i, s: x.scatter(dim, i, s),
            None,
            floats(shape),
            index,
            floats(index_shape, seed=1),
            layouts=LAYOUTS,
        )


@requires_torch
@given(case=gather_case())
def test_scatter_add_matches_torch(case):
    shape, dim, index = case
    src = floats(index.shape, seed=1)
    check(lambda x, i, s: x.scatter_add(dim, i, s), None, floats(shape), index, src, layouts=LAYOUTS)
    check(lambda x, i, s: x.detach().clone().scatter_add_(dim, i, s), None, floats(shape), index, src, grad=False)


def test_gather_scatter_grad_fn_names_and_0d():
    x = minitorch.randn(3, 4, requires_grad=True)
    i = minitorch.tensor([[0, 1]])
    assert x.gather(1, i).grad_fn.name() == "GatherBackward0"
    assert x.scatter(1, i, x[:1, :2]).grad_fn.name() == "ScatterBackward0"
    assert x.scatter(1, i, 1.0).grad_fn.name() == "ScatterBackward1"
    assert x.scatter_add(1, i, x[:1, :2]).grad_fn.name() == "ScatterAddBackward0"
    s = minitorch.tensor(3.0)
    assert s.gather(0, minitorch.tensor(0)).shape == () and s.gather(0, minitorch.tensor([0, 0])).tolist() == [3.0, 3.0]
    assert s.scatter(0, minitorch.tensor(0), minitorch.tensor(2.0)).item() == 2.0


@requires_torch
def test_gather_scatter_errors():
    for m in (minitorch, torch):
        m.x = m.zeros(3, 4)
    cases = [
        (lambda m: m.x.gather(1, m.tensor([[0, 7]])), "index 7 is out of bounds for dimension 1 with size 4"),
        (lambda m: m.x.gather(1, m.tensor([[0, -1]])), "index -1 is out of bounds"),
        (lambda m: m.x.gather(1, m.tensor([[0.0, 1.0]])), "gather(): Expected dtype int32/int64 for index"),
        (lambda m: m.x.gather(1, m.tensor([0, 1])), "same number of dimensions"),
        (lambda m: m.x.gather(1, m.tensor([[0, 1]] * 4)), "expected index [4, 2] to be no larger than self [3, 4]"),
        (lambda m: m.x.gather(5, m.tensor([[0]])), "Dimension out of range"),
        (lambda m: m.x.scatter(1, m.tensor([[0, 7]]), 1.0), "index 7 is out of bounds for dimension 1 with size 4"),
        (
            lambda m: m.x.scatter(1, m.tensor([[0, 1]]), m.ones(1, 2, dtype=m.float64)),
            "Expected self.dtype to be equal to src.dtype",
        ),
        (lambda m: m.x.scatter(1, m.tensor([[0, 1, 2]]), m.ones(1, 2)), "no larger size than src"),
        (lambda m: m.x.scatter(1, m.tensor([[0, 1]], dtype=m.float32), 1.0), "scatter(): Expected dtype int32/int64"),
        (lambda m: m.x.scatter_add(1, m.tensor([[0, 1]]), m.ones(1, 2, dtype=m.float64)), "Expected self.dtype"),
    ]
    for fn, match in cases:
        check_raises(lambda: fn(minitorch), lambda: fn(torch), match=match)


def test_scatter_src_larger_than_index_gets_zero_grad_outside():
    # PyTorch's backward fails here ("invalid gradient"); the right answer is zeros outside the index.
    x = minitorch.zeros(3, 4, dtype=minitorch.float64)
    src = minitorch.randn(3, 4, dtype=minitorch.float64, requires_grad=True)
    i = minitorch.tensor([[0, 1], [2, 0]])
    assert gradcheck(lambda s: x.scatter(0, i, s), (src,))
    assert gradcheck(lambda s: x.scatter_add(0, i, s), (src,))


def test_gather_scatter_gradcheck_and_gradgradcheck():
    x = minitorch.randn(3, 4, dtype=minitorch.float64, requires_grad=True)
    src = minitorch.randn(2, 4, dtype=minitorch.float64, requires_grad=True)
    i = minitorch.tensor([[0, 2, 1, 0], [2, 2, 0, 1]])
    u = minitorch.tensor([[0, 2, 1, 0], [2, 1, 0, 1]])  # no repeats down each column
    for fn, inputs in (
        (lambda a: a.gather(0, i), (x,)),
        (lambda a, s: a.scatter(0, u, s), (x, src)),
        (lambda a: a.scatter(0, u, 2.0), (x,)),
        (lambda a, s: a.scatter_add(0, i, s), (x, src)),
    ):
        assert gradcheck(fn, inputs)
        assert gradgradcheck(fn, inputs)


# ---- take_along_dim / take ---------------------------------------------------------------------------
@requires_torch
@given(case=gather_case(), data=st.data())
def test_take_along_dim_matches_torch(case, data):
    shape, dim, index = case
    check(lambda x, i: x.take_along_dim(i), None, floats(shape), np.minimum(index, 0))  # dim=None: flattened
    d = dim % len(shape)
    ones = data.draw(st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)))
    in_shape = tuple(1 if one and k != d else n for k, (n, one) in enumerate(zip(shape, ones)))
    index_shape = tuple(
        index.shape[d] if k == d else (1 if not one else n) for k, (n, one) in enumerate(zip(shape, ones))
    )
    index = np.random.default_rng(0).integers(0, shape[d], size=index_shape)
    check(lambda x, i: x.take_along_dim(i, dim), None, floats(in_shape), index, layouts=LAYOUTS)  # broadcasting


@requires_torch
@given(shape=shapes(min_dims=0, max_dims=3, min_side=1), index_shape=shapes(max_dims=2), seed=st.integers(0, 50))
def test_take_matches_torch(shape, index_shape, seed):
    n = int(np.prod(shape))
    index = np.random.default_rng(seed).integers(-n, n, size=index_shape)
    check(lambda x, i: x.take(i), None, floats(shape), index, layouts=LAYOUTS)


@requires_torch
def test_take_errors():
    check_raises(
        lambda: minitorch.zeros(3, 4).take(minitorch.tensor([12])),
        lambda: torch.zeros(3, 4).take(torch.tensor([12])),
        match="out of range: tried to access index 12 on a tensor of 12 elements",
    )
    check_raises(
        lambda: minitorch.zeros(3).take(minitorch.tensor([0], dtype=minitorch.int32)),
        lambda: torch.zeros(3).take(torch.tensor([0], dtype=torch.int32)),
        match="Expected a long tensor",
    )
    check_raises(
        lambda: minitorch.zeros(3).take_along_dim(minitorch.tensor([0], dtype=minitorch.int32), 0),
        lambda: torch.zeros(3).take_along_dim(torch.tensor([0], dtype=torch.int32), 0),
        match="should be Long",
    )
    check_raises(
        lambda: minitorch.zeros(3, 4).take_along_dim(minitorch.tensor([0]), 1),
        lambda: torch.zeros(3, 4).take_along_dim(torch.tensor([0]), 1),
        match="same number of dimensions",
    )


def test_take_and_take_along_dim_gradchecks():
    x = minitorch.randn(3, 4, dtype=minitorch.float64, requires_grad=True)
    for fn in (
        lambda a: a.take(minitorch.tensor([[0, -1], [5, 5]])),
        lambda a: a.take_along_dim(minitorch.tensor([[1], [3], [3]]), 1),
        lambda a: a.take_along_dim(minitorch.tensor([0, 11, 0])),
        lambda a: minitorch.take_along_dim(a[:1], minitorch.tensor([[1], [3], [3]]), dim=1),
    ):
        assert gradcheck(fn, (x,))
        assert gradgradcheck(fn, (x,))
    assert x.take(minitorch.tensor([0])).grad_fn.name() == "TakeBackward0"
    assert x.take_along_dim(minitorch.tensor([0])).grad_fn.name() == "GatherBackward0"


# ---- masked_select / nonzero ---------------------------------------------------------------------
@requires_torch
@given(pair=st.data())
def test_masked_select_matches_torch_with_broadcasting(pair):
    from strategies import broadcastable_pair

    x_shape, m_shape = pair.draw(broadcastable_pair())
    mask = np.asarray(
        pair.draw(st.lists(st.booleans(), min_size=int(np.prod(m_shape)), max_size=int(np.prod(m_shape)))), dtype=bool
    ).reshape(m_shape)
    check(lambda x, m: x.masked_select(m), None, floats(x_shape), mask, layouts=LAYOUTS)


def test_masked_select_errors_and_gradchecks():
    x = minitorch.randn(3, 4, dtype=minitorch.float64, requires_grad=True)
    mask = minitorch.tensor([True, False, True, True])
    assert x.masked_select(mask).grad_fn.name() == "MaskedSelectBackward0"
    assert gradcheck(lambda a: a.masked_select(mask), (x,))
    assert gradgradcheck(lambda a: a.masked_select(mask), (x,))
    if torch is not None:
        check_raises(
            lambda: x.masked_select(minitorch.tensor([1, 0, 1, 0])),
            lambda: torch.zeros(3, 4).masked_select(torch.tensor([1, 0, 1, 0])),
            match="expected BoolTensor for mask",
        )
        check_raises(
            lambda: x.masked_select(minitorch.tensor([True, False])),
            lambda: torch.zeros(3, 4).masked_select(torch.tensor([True, False])),
        )


@requires_torch
@given(shape=shapes(), seed=st.integers(0, 100), dtype=st.sampled_from(["float32", "int64", "bool"]))
def test_nonzero_argwhere_and_where_match_torch(shape, seed, dtype):
    x = (
        np.random.default_rng(seed).integers(0, 3, size=shape) * (np.random.default_rng(seed + 1).random(shape) > 0.5)
    ).astype(dtype)
    a, b = minitorch.tensor(x), torch.tensor(x)
    assert a.nonzero().dtype is minitorch.int64
    assert a.nonzero().tolist() == b.nonzero().tolist() and a.nonzero().shape == tuple(b.nonzero().shape)
    assert minitorch.argwhere(a).tolist() == torch.argwhere(b).tolist()
    assert [t.tolist() for t in a.nonzero(as_tuple=True)] == [t.tolist() for t in b.nonzero(as_tuple=True)]
    if x.ndim:
        assert [t.tolist() for t in minitorch.where(a)] == [t.tolist() for t in torch.where(b)]


# ---- index_select / index_add / index_fill ------------------------------------------------------------
@st.composite
def vector_index_case(draw):
    shape = draw(shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[dim % len(shape)]
    index = np.asarray(draw(st.lists(st.integers(0, n - 1), max_size=5)), dtype=np.int64)
    return shape, dim, index


@requires_torch
@given(case=vector_index_case())
def test_index_select_and_index_add_match_torch(case):
    shape, dim, index = case
    d = dim % len(shape)
    src_shape = shape[:d] + (len(index),) + shape[d + 1 :]
    check(lambda x, i: x.index_select(dim, i), None, floats(shape), index, layouts=LAYOUTS)
    check(
        lambda x, i: (
            minitorch.index_select(x, dim, i) if isinstance(x, minitorch.Tensor) else torch.index_select(x, dim, i)
        ),
        None,
        floats(shape),
        index,
    )
    check(
        lambda x, i, s: x.index_add(dim, i, s), None, floats(shape), index, floats(src_shape, seed=2), layouts=LAYOUTS
    )
    check(lambda x, i, s: x.index_add(dim, i, s, alpha=-2.0), None, floats(shape), index, floats(src_shape, seed=2))
    check(
        lambda x, i, s: x.detach().clone().index_add_(dim, i, s),
        None,
        floats(shape),
        index,
        floats(src_shape, seed=2),
        grad=False,
    )


@requires_torch
@given(case=vector_index_case(), tensor_value=st.booleans())
def test_index_fill_matches_torch(case, tensor_value):
    shape, dim, index = case
    if tensor_value:
        check(lambda x, i, v: x.index_fill(dim, i, v), None, floats(shape), index, np.array(1.5), layouts=LAYOUTS)
    else:
        check(lambda x, i: x.index_fill(dim, i, -1.0), None, floats(shape), index, layouts=LAYOUTS)
    check(
        lambda x, i: x.detach().clone().index_fill_(dim, i, 2.0),
        None,
        floats(shape),
        index - shape[dim % len(shape)],
        grad=False,
    )


def test_index_family_grad_fn_names_0d_and_gradchecks():
    x = minitorch.randn(3, 4, dtype=minitorch.float64, requires_grad=True)
    src = minitorch.randn(3, 3, dtype=minitorch.float64, requires_grad=True)
    v = minitorch.tensor(2.0, dtype=minitorch.float64, requires_grad=True)
    i = minitorch.tensor([3, 0, 3])
    assert x.index_select(1, i).grad_fn.name() == "IndexSelectBackward0"
    assert x.index_add(1, i, src).grad_fn.name() == "IndexAddBackward0"
    assert x.index_fill(1, i, 1.0).grad_fn.name() == "IndexFillBackward0"
    assert x.index_fill(1, i, v).grad_fn.name() == "IndexFillBackward1"
    for fn, inputs in (
        (lambda a: a.index_select(1, i), (x,)),
        (lambda a, s: a.index_add(1, i, s, alpha=3), (x, src)),
        (lambda a: a.index_fill(1, i, 1.0), (x,)),
        (lambda a, w: a.index_fill(1, i, w), (x, v)),
    ):
        assert gradcheck(fn, inputs)
        assert gradgradcheck(fn, inputs)
    s = minitorch.tensor(3.0)
    assert s.index_select(0, minitorch.tensor([0])).shape == ()
    assert s.index_add(0, minitorch.tensor([0]), minitorch.tensor(2.0)).item() == 5.0
    assert s.index_fill(0, minitorch.tensor([0]), 1.0).item() == 1.0


@requires_torch
def test_index_family_errors():
    for m in (minitorch, torch):
        m.x = m.zeros(3, 4)
    cases = [
        (lambda m: m.x.index_select(0, m.tensor([0, 7])), "index 7 is out of range"),
        (lambda m: m.x.index_select(1, m.tensor([0.0])), "Expected dtype int32 or int64 for index"),
        (lambda m: m.x.index_select(1, m.tensor([[0]])), "Index is supposed to be a vector"),
        (lambda m: m.tensor(1.0).index_select(0, m.tensor([0, 0])), "Index to scalar can have only 1 value"),
        (
            lambda m: m.x.index_add(1, m.tensor([0, 1]), m.ones(3, 3)),
            "Number of indices (2) should be equal to source.size(dim): (3)",
        ),
        (lambda m: m.x.index_add(1, m.tensor([0, 1]), m.ones(3, 2, dtype=m.float64)), "must have the same scalar type"),
        (
            lambda m: m.x.index_add(1, m.tensor([0, 9]), m.ones(3, 2)),
            "index 9 is out of bounds for dimension 1 with size 4",
        ),
        (lambda m: m.x.index_add(1, m.tensor([0]), m.ones(4, 1)), "source tensor shape must match self tensor shape"),
        (lambda m: m.x.index_add(1, m.tensor([0.0]), m.ones(3, 1)), "Expected dtype int32/int64 for index"),
        (lambda m: m.x.index_fill(1, m.tensor([0, 9]), 2.0), "index 9 is out of bounds for dimension 1 with size 4"),
        (lambda m: m.x.index_fill(1, m.tensor([-5]), 2.0), "index -5 is out of bounds"),
        (
            lambda m: m.x.index_fill(1, m.tensor([0, 1]), m.tensor([2.0, 3.0])),
            "only supports a 0-dimensional value tensor",
        ),
        (lambda m: m.x.index_fill(1, m.tensor([0.0]), 2.0), "Expected dtype int64 for index"),
    ]
    for fn, match in cases:
        check_raises(lambda: fn(minitorch), lambda: fn(torch), match=match)


# ---- index_put -----------------------------------------------------------------------------------------
@requires_torch
@given(data=st.data(), shape=shapes(min_dims=1, max_dims=3, min_side=1), accumulate=st.booleans())
def test_index_put_matches_torch(data, shape, accumulate):
    n = shape[0]
    index = np.asarray(data.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=4)))
    if not accumulate:
        index = np.unique(index % n)  # without accumulate, repeated positions have no defined winner
    value_shape = data.draw(st.sampled_from([(), shape[1:], (len(index),) + shape[1:]]))
    check(
        lambda x, i, v: x.index_put((i,), v, accumulate=accumulate),
        None,
        floats(shape),
        index,
        floats(value_shape, seed=3),
        layouts=LAYOUTS,
    )
    check(
        lambda x, i, v: x.detach().clone().index_put_((i,), v, accumulate=accumulate),
        None,
        floats(shape),
        index,
        floats(value_shape, seed=3),
        grad=False,
    )


@requires_torch
def test_index_put_with_masks_and_several_indices():
    x = floats((3, 4))
    check(lambda a, m, v: a.index_put((m,), v), None, x, x > 0, np.array(9.0))
    check(
        lambda a, i, j, v: a.index_put((i, j), v, accumulate=True),
        None,
        x,
        np.array([0, 0, 2]),
        np.array([1, 1, -1]),
        floats((3,), seed=4),
    )
    check(
        lambda a, i, v: (
            minitorch.index_put(a, [i], v) if isinstance(a, minitorch.Tensor) else torch.index_put(a, [i], v)
        ),
        None,
        x,
        np.array([2]),
        floats((4,)),
    )


def test_index_put_gradchecks_and_grad_fn():
    x = minitorch.randn(3, 4, dtype=minitorch.float64, requires_grad=True)
    v = minitorch.randn(3, 4, dtype=minitorch.float64, requires_grad=True)
    i = minitorch.tensor([0, 2, 0])
    for accumulate in (True, False):
        idx = i if accumulate else minitorch.tensor([0, 2, 1])
        fn = lambda a, w: a.index_put((idx,), w, accumulate=accumulate)  # noqa: E731
        assert fn(x, v).grad_fn.name() == "IndexPutBackward0"
        assert gradcheck(fn, (x, v))
        assert gradgradcheck(fn, (x, v))


@requires_torch
def test_index_put_errors():
    for m in (minitorch, torch):
        m.x = m.zeros(3, 4)
    cases = [
        (
            lambda m: m.x.index_put((m.tensor([0, 1]),), m.ones(4, dtype=m.float64)),
            "source and destination dtypes match",
        ),
        (
            lambda m: m.x.index_put((m.tensor([0, 1]),), m.ones(3)),
            "shape mismatch: value tensor of shape [3] cannot be broadcast to indexing result of shape [2, 4]",
        ),
        (
            lambda m: m.x.index_put((m.tensor([0]),) * 3, m.ones(1)),
            "too many indices for tensor of dimension 2 (got 3)",
        ),
        (
            lambda m: m.x.index_put((m.tensor([0, 5]),), m.ones(1)),
            "index 5 is out of bounds for dimension 0 with size 3",
        ),
        (lambda m: m.x.index_put((m.tensor([0.0]),), m.ones(1)), "tensors used as indices"),
        (lambda m: m.x.index_put((m.tensor([0]),), 1.0), "must be Tensor"),
    ]
    for fn, match in cases:
        check_raises(lambda: fn(minitorch), lambda: fn(torch), match=match)


# ---- x[index] = value -------------------------------------------------------------------------------------
def _assign(index, value_fn):
    def fn(x, *vals):
        y = x * 1  # a non-leaf, so the write is recorded by autograd
        y[index] = value_fn(*vals) if vals else value_fn()
        return y

    return fn


@requires_torch
@given(data=st.data(), shape=shapes(min_dims=1, max_dims=3))
def test_setitem_basic_matches_torch(data, shape):
    index = data.draw(basic_indices(shape))
    target = torch.zeros(shape)[index].shape
    value_shape = data.draw(st.sampled_from([(), tuple(target), tuple(target)[1:], (1,) + tuple(target)]))
    check(_assign(index, lambda v: v * 2), None, floats(shape), floats(value_shape, seed=5), layouts=LAYOUTS)
    check(_assign(index, lambda: 3.5), None, floats(shape), layouts=LAYOUTS)


@requires_torch
@given(data=st.data(), shape=shapes(min_dims=1, max_dims=3, min_side=1))
def test_setitem_advanced_matches_torch(data, shape):
    n = shape[0]
    index = (np.unique(np.asarray(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=3)))).tolist(),)
    if len(shape) > 1 and data.draw(st.booleans()):
        index = (slice(None), [shape[1] - 1])  # a slice then an index list
    target = torch.zeros(shape)[index].shape
    value_shape = data.draw(st.sampled_from([(), tuple(target), tuple(target)[-1:], (1, 1) + tuple(target)]))
    check(_assign(index, lambda v: v * 2), None, floats(shape), floats(value_shape, seed=6), layouts=LAYOUTS)
    check(_assign(index, lambda: -1.0), None, floats(shape), layouts=LAYOUTS)
    mask = (floats(shape) > 0).tolist()
    check(_assign((mask,), lambda: 0.0), None, floats(shape))


@requires_torch
def test_setitem_values_of_other_dtypes_and_errors():
    for value in (1, True, 2.7, np.float64(1.5)):
        a, b = minitorch.zeros(3, dtype=minitorch.int64), torch.zeros(3, dtype=torch.int64)
        a[1], b[1] = value, value
        assert a.tolist() == b.tolist() and a.dtype is minitorch.int64
    a, b = minitorch.zeros(3), torch.zeros(3)
    a[1:], b[1:] = minitorch.tensor([1, 2]), torch.tensor([1, 2])  # copy_ converts the dtype...
    assert a.tolist() == b.tolist()
    check_raises(
        lambda: a.__setitem__([0, 2], minitorch.tensor([1, 2])),
        lambda: b.__setitem__([0, 2], torch.tensor([1, 2])),
        match="dtypes match",
    )  # ...index_put_ does not
    check_raises(
        lambda: minitorch.zeros(3).__setitem__(slice(0, 2), minitorch.ones(3)),
        lambda: torch.zeros(3).__setitem__(slice(0, 2), torch.ones(3)),
    )
    check_raises(
        lambda: minitorch.zeros(3).__setitem__([0, 1], minitorch.ones(3)),
        lambda: torch.zeros(3).__setitem__([0, 1], torch.ones(3)),
        match="shape mismatch",
    )
    check_raises(
        lambda: minitorch.zeros(3).__setitem__(0, [1.0]),
        lambda: torch.zeros(3).__setitem__(0, [1.0]),
        match="can't assign a list",
    )
    check_raises(
        lambda: minitorch.zeros(3).__setitem__(5, 1.0),
        lambda: torch.zeros(3).__setitem__(5, 1.0),
        match="out of bounds",
    )
