"""Property tests for the stride arithmetic in minitorch/layout.py (checked against NumPy, PyTorch and brute force)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minitorch import layout

from helpers import requires_torch, torch

shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)
nonempty_shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=5)


@st.composite
def strided_layouts(draw, min_side=0):
    """(shape, strides, offset) of a random view of a contiguous buffer: permuted, step-sliced, maybe expanded."""
    shape = list(draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=min_side, max_side=6)))
    strides = list(layout.contiguous_strides(shape))
    offset = 0
    for d in range(len(shape)):  # slice [start::step] along each dim
        if shape[d] > 1 and draw(st.booleans()):
            start = draw(st.integers(0, shape[d] - 1))
            step = draw(st.integers(1, 3))
            offset += start * strides[d]
            shape[d] = len(range(start, shape[d], step))
            strides[d] *= step
    order = draw(st.permutations(range(len(shape))))
    shape, strides = [shape[i] for i in order], [strides[i] for i in order]
    if shape and draw(st.booleans()):  # broadcast one size-1 dim (stride 0), as expand does
        d = draw(st.integers(0, len(shape) - 1))
        if shape[d] == 1:
            shape[d], strides[d] = draw(st.integers(1, 4)), 0
    return tuple(shape), tuple(strides), offset


def positions(shape, strides, offset=0):
    """Every element's buffer position, in row-major index order (brute force)."""
    return [layout.index_to_position(i, strides, offset) for i in itertools.product(*map(range, shape))]


def torch_view(shape, strides, offset):
    """A torch tensor with this layout over a buffer holding 0, 1, 2, ..."""
    size = offset + 1 + sum((n - 1) * s for n, s in zip(shape, strides)) if 0 not in shape else offset + 1
    return torch.arange(size).as_strided(shape, strides, offset)


@given(nonempty_shapes)
def test_index_position_round_trip(shape):
    strides = layout.contiguous_strides(shape)
    for k in range(layout.numel(shape)):
        index = layout.position_to_index(k, shape)
        assert all(0 <= i < n for i, n in zip(index, shape))
        assert layout.index_to_position(index, strides) == k


@given(shapes)
def test_contiguous_strides_match_numpy_and_torch(shape):
    strides = layout.contiguous_strides(shape)
    if layout.numel(shape):  # NumPy 2 gives empty arrays all-zero strides; torch does not
        assert strides == tuple(s // 8 for s in np.empty(shape).strides)
    if torch is not None:
        assert strides == torch.empty(shape).stride()
    assert layout.numel(shape) == int(np.prod(shape, dtype=np.int64))


@given(st.lists(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3), min_size=1, max_size=3))
def test_broadcast_shapes_matches_numpy(shapes_):
    try:
        expected = np.broadcast_shapes(*shapes_)
    except ValueError:
        with pytest.raises(RuntimeError, match="must match"):
            layout.broadcast_shapes(*shapes_)
        return
    assert layout.broadcast_shapes(*shapes_) == expected


@given(hnp.mutually_broadcastable_shapes(num_shapes=3, min_side=0, max_side=4))
def test_broadcast_shapes_of_compatible_shapes(shapes_):
    assert layout.broadcast_shapes(*shapes_.input_shapes) == shapes_.result_shape


@given(nonempty_shapes, st.data())
def test_broadcast_strides_read_the_right_elements(shape, data):
    target = np.broadcast_shapes(shape, data.draw(hnp.broadcastable_shapes(shape, min_side=1, max_side=4)))
    strides = layout.broadcast_strides(shape, layout.contiguous_strides(shape), target)
    values = np.arange(layout.numel(shape)).reshape(shape)
    expected = np.broadcast_to(values, target)
    assert positions(target, strides) == expected.reshape(-1).tolist()


@requires_torch
@given(strided_layouts(), st.data())
def test_view_strides_agree_with_torch(old, data):
    shape, strides, offset = old
    n = layout.numel(shape)
    # A random new shape with the same number of elements: split n into factors, sprinkle 1s.
    factors = [d for d in range(2, n + 1) if n % d == 0]
    new_shape, rest = [], n
    while rest > 1:
        f = data.draw(st.sampled_from([d for d in factors if rest % d == 0]))
        new_shape.append(f)
        rest //= f
    new_shape += [1] * data.draw(st.integers(0, 2)) + ([0] if n == 0 else [])
    new_shape = data.draw(st.permutations(new_shape))
    ours = layout.view_strides(shape, strides, new_shape)
    try:
        theirs = torch_view(shape, strides, offset).view(new_shape).stride()
    except RuntimeError:
        theirs = None
    assert ours == theirs, f"view {shape}/{strides} as {new_shape}"


@requires_torch
@pytest.mark.parametrize(
    "shape, strides, new_shape",
    [
        ((0, 1), (1, 0), (0, 1)),  # an empty tensor viewed as its own shape keeps its strides
        ((3, 0), (1, 3), (3, 0)),
        ((2, 0, 3), (0, 1, 2), (0, 6)),
        ((), (), (1, 1)),
        ((), (), ()),
        ((1,), (5,), ()),
        ((2, 3), (1, 2), (6,)),  # transposed: needs a copy
        ((2, 3), (1, 2), (2, 3, 1)),
        ((4, 1, 3), (3, 7, 1), (12,)),  # a size-1 dim's stride does not matter
        ((2, 2), (0, 1), (4,)),  # expanded
        ((2, 2), (0, 1), (2, 1, 2)),
    ],
)
def test_view_strides_edge_cases_agree_with_torch(shape, strides, new_shape):
    try:
        theirs = torch_view(shape, strides, 0).view(new_shape).stride()
    except RuntimeError:
        theirs = None
    assert layout.view_strides(shape, strides, new_shape) == theirs


@given(strided_layouts(min_side=1), st.data())
def test_view_strides_read_the_same_elements(old, data):
    shape, strides, offset = old
    new_shape = data.draw(st.sampled_from([(layout.numel(shape),), tuple(reversed(shape)), shape + (1,)]))
    new_strides = layout.view_strides(shape, strides, new_shape)
    if new_strides is not None:  # a view must read the elements in the same row-major order
        assert positions(new_shape, new_strides, offset) == positions(shape, strides, offset)


@requires_torch
@given(strided_layouts())
def test_is_contiguous_matches_torch(old):
    shape, strides, offset = old
    assert layout.is_contiguous(shape, strides) == torch_view(shape, strides, offset).is_contiguous()


@given(strided_layouts())
@example(((2, 0), (0, 1), 0))  # empty: nothing to overlap
@example(((3, 2), (0, 1), 0))
def test_has_overlap_is_exact_on_views(old):
    shape, strides, offset = old
    seen = positions(shape, strides, offset)
    assert layout.has_overlap(shape, strides) == (len(set(seen)) < len(seen))


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 7)), max_size=4))
def test_has_overlap_never_misses_an_overlap(dims):
    """Any strides: a False answer must be right (PyTorch may also say True when unsure)."""
    shape, strides = tuple(n for n, _ in dims), tuple(s for _, s in dims)
    seen = positions(shape, strides)
    if len(set(seen)) < len(seen):
        assert layout.has_overlap(shape, strides)


@given(st.integers(0, 4), st.integers(-6, 6))
def test_normalize_dim(ndim, dim):
    bound = max(ndim, 1)
    if -bound <= dim < bound:
        assert layout.normalize_dim(dim, ndim) == range(bound)[dim]
    else:
        with pytest.raises(IndexError, match="Dimension out of range"):
            layout.normalize_dim(dim, ndim)


@given(nonempty_shapes, st.data())
def test_infer_size(shape, data):
    n = layout.numel(shape)
    assume(len(shape) > 0)
    i = data.draw(st.integers(0, len(shape) - 1))
    with_unknown = shape[:i] + (-1,) + shape[i + 1 :]
    assert layout.infer_size(with_unknown, n) == shape
    with pytest.raises(RuntimeError, match="only one dimension"):
        layout.infer_size((-1, -1), n)
    with pytest.raises(RuntimeError, match="invalid for input of size"):
        layout.infer_size(shape, n + 1)
