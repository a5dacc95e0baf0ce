"""The C++ scatter-add and gather kernels (csrc/cpu/scatter.cpp): against the NumPy path (the Backend base class)
and PyTorch, gradcheck through the ops that use them, the same bits on every thread count, and bad input.

The kernel tests switch the extension on for themselves (fixture ``cpp``), so they run under MINITORCH_CPP=0 too;
they skip only where the extension was not built.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch
import minitorch.nn.functional as F
from minitorch.backends import cpu

from cpp_kernels import _C, NUMPY, requires_extension
from helpers import check, grads_ok, requires_torch, torch


# ---- layouts: the same values in other memory orders, as views NumPy will not copy ---------------------------
def _layout(a: np.ndarray, kind: str) -> np.ndarray:
    if kind == "transposed":  # memory holds the transpose
        return np.ascontiguousarray(a.T).T
    if kind == "sliced":  # every other element of a bigger buffer, backwards on the last dim
        big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
        big[..., ::-2] = a
        return big[..., ::-2]
    return a


def _expanded(a: np.ndarray) -> np.ndarray:
    """``a``'s first row broadcast over its first dim (stride 0): a source read many times."""
    return np.broadcast_to(a[:1], a.shape)


LAYOUTS = st.sampled_from(["contiguous", "transposed", "sliced"])
SOURCE_LAYOUTS = st.sampled_from(["contiguous", "transposed", "sliced", "expanded"])
DTYPES = st.sampled_from(["float32", "float64"])


@st.composite
def shapes_and_axis(draw, max_dims: int = 4):
    shape = tuple(draw(st.lists(st.integers(1, 7), min_size=1, max_size=max_dims)))
    return shape, draw(st.integers(0, len(shape) - 1))


def _source(rng, shape, dtype, kind):
    a = rng.standard_normal(shape).astype(dtype)
    return _expanded(a) if kind == "expanded" else _layout(a, kind)


def _same(actual: np.ndarray, expected: np.ndarray) -> None:
    """Equal bit for bit: both paths add each element's contributions in the same order."""
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    np.testing.assert_array_equal(actual, expected)


# ---- the kernels against the NumPy path ------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    case=shapes_and_axis(),
    count=st.integers(0, 12),
    out_layout=LAYOUTS,
    src_layout=SOURCE_LAYOUTS,
    strided_index=st.booleans(),
    dtype=DTYPES,
    seed=st.integers(0, 99),
)
def test_index_add_matches_numpy_path(cpp, case, count, out_layout, src_layout, strided_index, dtype, seed):
    (shape, axis), rng = case, np.random.default_rng(seed)
    src_shape = shape[:axis] + (count,) + shape[axis + 1 :]
    index = rng.integers(0, shape[axis], 2 * count)[:: 2 if strided_index else 1][:count]  # repeats likely
    src = _source(rng, src_shape, dtype, src_layout)
    out = _layout(rng.standard_normal(shape).astype(dtype), out_layout)
    expected = out.copy()
    NUMPY.index_add(expected, axis, index, src)
    cpp.index_add(out, axis, index, src)
    _same(out, expected)


@settings(max_examples=60, deadline=None)
@given(
    case=shapes_and_axis(),
    out_layout=LAYOUTS,
    src_layout=SOURCE_LAYOUTS,
    index_layout=LAYOUTS,
    dtype=DTYPES,
    seed=st.integers(0, 99),
)
def test_scatter_add_and_gather_match_numpy_path(cpp, case, out_layout, src_layout, index_layout, dtype, seed):
    (shape, axis), rng = case, np.random.default_rng(seed)
    # The index may be longer than out along axis (repeated positions) and shorter on the other dims.
    index_shape = tuple(
        rng.integers(1, n + 1) if d != axis else rng.integers(0, 2 * n + 1) for d, n in enumerate(shape)
    )
    index = _layout(rng.integers(0, shape[axis], index_shape), index_layout)
    src = _source(rng, index_shape, dtype, src_layout)
    out = _layout(rng.standard_normal(shape).astype(dtype), out_layout)
    expected = out.copy()
    NUMPY.scatter_add(expected, axis, index, src)
    cpp.scatter_add(out, axis, index, src)
    _same(out, expected)
    _same(cpp.gather(out, axis, index), NUMPY.gather(out, axis, index))


@pytest.mark.parametrize("dtype", ["int64", "int32", "float16"])
def test_other_dtypes_take_the_numpy_path(cpp, dtype):
    """Integer and half arrays fall back to add.at; the result is the same."""
    rng = np.random.default_rng(0)
    out, src, index = np.zeros((4, 3), dtype), rng.integers(-5, 5, (6, 3)).astype(dtype), np.array([0, 3, 0, 1, 3, 3])
    expected = out.copy()
    NUMPY.index_add(expected, 0, index, src)
    cpp.index_add(out, 0, index, src)
    _same(out, expected)
    out2 = np.zeros((4, 3), dtype)
    cpp.scatter_add(out2, 0, index.reshape(6, 1).repeat(3, 1), src)
    _same(out2, expected)
    _same(cpp.gather(out, 0, index.reshape(6, 1).repeat(3, 1)), out[index])


def test_int32_indices_are_accepted(cpp):
    out, src = np.zeros((3, 2)), np.ones((4, 2))
    cpp.index_add(out, 0, np.array([2, 0, 2, 2], np.int32), src)
    np.testing.assert_array_equal(out, [[1, 1], [0, 0], [3, 3]])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("threads", [2, 3])
def test_threads_give_the_same_bits(cpp, dtype, threads):
    """Big enough to run in parallel: each thread owns whole output elements, so nothing changes but the speed."""
    rng = np.random.default_rng(threads)
    cases = [
        ((50, 64), 0, (5000, 64)),  # an embedding table: threads split the rows of out
        ((40, 30, 20), 1, (40, 999, 20)),  # outer positions split
        ((300, 7), 1, (300, 4000)),  # along the last dim
        ((100,), 0, (40000,)),  # single elements, threads split out
    ]
    try:
        for shape, axis, src_shape in cases:
            index, full_index = rng.integers(0, shape[axis], src_shape[axis]), rng.integers(0, shape[axis], src_shape)
            src = rng.standard_normal(src_shape).astype(dtype)
            results = []
            for n in (1, threads):
                cpu.set_num_threads(n)
                out, scattered = np.zeros(shape, dtype), np.zeros(shape, dtype)
                cpp.index_add(out, axis, index, src)
                cpp.scatter_add(scattered, axis, full_index, src)
                results.append((out, scattered, cpp.gather(src, axis, full_index)))
            for a, b in zip(*results):
                _same(a, b)
            expected = np.zeros(shape, dtype)
            NUMPY.index_add(expected, axis, index, src)
            _same(results[0][0], expected)
    finally:
        cpu.set_num_threads(1)


# ---- the ops that use them, against PyTorch ---------------------------------------------------------------------
@requires_torch
@settings(max_examples=20, deadline=None)
@given(
    vocab=st.integers(1, 40),
    dim=st.integers(1, 9),
    ids_shape=st.lists(st.integers(0, 6), min_size=1, max_size=3),
    padding=st.booleans(),
    freq=st.booleans(),
    dtype=DTYPES,
    seed=st.integers(0, 99),
)
def test_embedding_matches_torch(cpp, vocab, dim, ids_shape, padding, freq, dtype, seed):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab, ids_shape)  # few ids: repeats
    weight = rng.standard_normal((vocab, dim)).astype(dtype)
    kw = dict(padding_idx=int(rng.integers(0, vocab)) if padding else None, scale_grad_by_freq=freq)
    check(lambda w, i: F.embedding(i, w, **kw), lambda w, i: torch.nn.functional.embedding(i, w, **kw), weight, ids,
          layouts=("contiguous", "transposed"))  # fmt: skip


@requires_torch
@settings(max_examples=25, deadline=None)
@given(case=shapes_and_axis(max_dims=3), dtype=DTYPES, seed=st.integers(0, 99))
def test_scatter_add_index_add_gather_match_torch(cpp, case, dtype, seed):
    (shape, axis), rng = case, np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    index_shape = tuple(rng.integers(1, n + 1) if d != axis else 2 * n for d, n in enumerate(shape))
    index = rng.integers(0, shape[axis], index_shape)
    src = rng.standard_normal(index_shape).astype(dtype)
    layouts = ("contiguous", "transposed", "sliced")
    check(lambda x, i, s: x.scatter_add(axis, i, s), None, x, index, src, layouts=layouts)
    check(lambda x, i: x.gather(axis, i), None, x, index, layouts=layouts)
    check(lambda x, i: x.gather(-1, i), None, x, rng.integers(0, shape[-1], shape), layouts=layouts)
    vector = rng.integers(0, shape[axis], 2 * shape[axis] + 1)
    source = rng.standard_normal(shape[:axis] + vector.shape + shape[axis + 1 :]).astype(dtype)
    check(lambda x, i, s: x.index_add(axis, i, s, alpha=2), None, x, vector, source, layouts=layouts)
    check(lambda x, i: x.index_select(axis, i), None, x, vector, layouts=layouts)


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_advanced_index_accumulation_matches_torch(cpp, dtype):
    """x[idx]'s backward, take's and index_put(accumulate=True) add through index_add when one index tensor."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4, 3)).astype(dtype)
    rows, cols = rng.integers(0, 5, (3, 4)), rng.integers(0, 4, 7)
    check(lambda x, i: x[i], None, x, rows, layouts=("contiguous", "transposed", "sliced"))
    check(lambda x, i: x[:, i], None, x, cols, layouts=("contiguous", "sliced"))
    check(lambda x, i, j: x[i, :, j], None, x, rows[:, :1], rng.integers(0, 3, (1, 2)))  # two index tensors: add.at
    check(lambda x, i: x.take(i), None, x, rng.integers(-60, 60, (4, 9)))
    values = rng.standard_normal((7, 4, 3)).astype(dtype)
    index = rng.integers(0, 5, 7)
    check(lambda x, i, v: x.index_put((i,), v, accumulate=True), None, x, index, values)
    check(lambda x, i, v: x.index_put((i,), v, accumulate=True), None, x, index, values[0, 0])  # broadcast values


def test_the_ops_reach_the_kernels(cpp, monkeypatch):
    """Embedding backward, scatter_add, index_add, gather and x[idx]'s backward all run in C++."""
    calls = []

    class Spy:
        def __getattr__(self, name):
            calls.append(name)
            return getattr(_C, name)

    monkeypatch.setattr(cpu, "_C", Spy())
    w = minitorch.randn(6, 3, requires_grad=True)
    ids = minitorch.tensor([[1, 5, 1], [0, 1, 2]])
    F.embedding(ids, w).sum().backward()
    w.gather(1, minitorch.tensor([[0, 2, 1], [2, 2, 0]])).sum().backward()
    w[ids].sum().backward()
    w.detach().index_add(0, ids[0], minitorch.ones(3, 3))
    assert {"index_add", "gather", "scatter_add"} <= set(calls)
    assert calls.count("index_add") == 3  # embedding backward, x[idx] backward, index_add


# ---- gradients in float64 through the kernels ---------------------------------------------------------------------
def test_gradcheck_through_the_kernels(cpp):
    rng = np.random.default_rng(0)
    leaf = lambda *shape: minitorch.tensor(rng.standard_normal(shape), requires_grad=True)
    ids = minitorch.tensor(rng.integers(0, 5, (3, 4)))
    grads_ok(lambda w: F.embedding(ids, w), leaf(5, 3))
    grads_ok(lambda w: F.embedding(ids, w) ** 2, leaf(5, 3))  # the second order adds through index_add too
    index = minitorch.tensor(rng.integers(0, 4, (3, 5)))
    grads_ok(lambda x, s: x.scatter_add(1, index, s), leaf(3, 4), leaf(3, 6))
    grads_ok(lambda x: x.gather(1, index), leaf(3, 4))
    rows = minitorch.tensor(rng.integers(0, 3, (5, 4)))
    grads_ok(lambda x: x.gather(0, rows), leaf(3, 4))
    vector = minitorch.tensor([2, 0, 2, 1, 2])
    grads_ok(lambda x, s: x.index_add(1, vector, s, alpha=-0.5), leaf(2, 3, 4), leaf(2, 5, 4))
    grads_ok(lambda x: x.index_select(0, vector) * x.index_select(0, vector), leaf(3, 2))
    grads_ok(lambda x: x[vector] * x[vector], leaf(3, 2))
    grads_ok(lambda x: x.take(minitorch.tensor([[0, 5], [5, 3]])), leaf(2, 3))


# ---- bad input raises, never writes out of bounds -----------------------------------------------------------------
@requires_extension
def test_out_of_range_indices_raise_and_write_nothing():
    out = np.zeros((4, 3))
    for bad in (4, -1, 2**62, -(2**63)):
        with pytest.raises(IndexError, match=f"index_add: index {bad} is out of bounds for dimension 0 with size 4"):
            _C.index_add(out, 0, np.array([0, bad, 1]), np.ones((3, 3)))
        index = np.array([[0, 1, 2], [1, bad, 0]])
        with pytest.raises(IndexError, match=f"scatter_add: index {bad} is out of bounds for dimension 1 with size 3"):
            _C.scatter_add(out, 1, index, np.ones((2, 3)))
        with pytest.raises(IndexError, match=f"gather: index {bad} is out of bounds for dimension 1 with size 3"):
            _C.gather(out, 1, index)
    assert not out.any()
    with pytest.raises(IndexError, match="with size 0"):
        _C.index_add(np.zeros((0, 3)), 0, np.array([0]), np.ones((1, 3)))


@requires_extension
def test_wrong_dtype_raises_type_error():
    out = np.zeros((4, 3), np.float32)
    with pytest.raises(TypeError, match="index_add: expected a float32 or float64 array, but got int64"):
        _C.index_add(np.zeros((4, 3), np.int64), 0, np.array([0]), np.ones((1, 3), np.int64))
    with pytest.raises(TypeError, match="expected src of dtype float32, but got float64"):
        _C.index_add(out, 0, np.array([0]), np.ones((1, 3)))
    with pytest.raises(TypeError, match="expected index of dtype int64, but got int32"):
        _C.scatter_add(out, 0, np.zeros((1, 3), np.int32), np.ones((1, 3), np.float32))
    with pytest.raises(TypeError, match="expected index of dtype int64, but got float64"):
        _C.gather(out, 0, np.zeros((1, 3)))
    with pytest.raises(TypeError, match="float32 or float64"):
        _C.gather(out.astype(np.float16), 0, np.zeros((1, 3), np.int64))


@requires_extension
def test_wrong_rank_shape_or_axis_raises_value_error():
    out, ones = np.zeros((4, 3)), np.ones((2, 3))
    with pytest.raises(ValueError, match=r"index_add: expected index to have 1 dimensions, but got shape \[2, 1\]"):
        _C.index_add(out, 0, np.zeros((2, 1), np.int64), ones)
    with pytest.raises(ValueError, match=r"index_add: expected src to have 2 dimensions, but got shape \[6\]"):
        _C.index_add(out, 0, np.zeros(2, np.int64), np.ones(6))
    with pytest.raises(ValueError, match="index_add: expected src of size 2 at dimension 0"):
        _C.index_add(out, 0, np.zeros(2, np.int64), np.ones((3, 3)))
    with pytest.raises(ValueError, match="index_add: expected src of size 3 at dimension 1"):
        _C.index_add(out, 0, np.zeros(2, np.int64), np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"axis 2 is out of range for out of shape \[4, 3\]"):
        _C.index_add(out, 2, np.zeros(2, np.int64), ones)
    with pytest.raises(ValueError, match="axis -1 is out of range"):
        _C.scatter_add(out, -1, np.zeros((2, 3), np.int64), ones)
    with pytest.raises(ValueError, match=r"gather: axis 0 is out of range for input of shape \[\]"):
        _C.gather(np.array(1.0), 0, np.zeros(1, np.int64))  # 0-d: the Python side makes it 1-d first
    with pytest.raises(ValueError, match=r"scatter_add: expected index to have 2 dimensions"):
        _C.scatter_add(out, 0, np.zeros(3, np.int64), np.ones(3))
    with pytest.raises(
        ValueError, match=r"index of shape \[2, 4\] is larger than out of shape \[4, 3\] at dimension 1"
    ):
        _C.scatter_add(out, 0, np.zeros((2, 4), np.int64), np.ones((2, 4)))
    with pytest.raises(ValueError, match="scatter_add: expected src of size 3 at dimension 1"):
        _C.scatter_add(out, 0, np.zeros((2, 3), np.int64), np.ones((2, 4)))
    with pytest.raises(ValueError, match="is larger than input of shape"):
        _C.gather(out, 1, np.zeros((5, 1), np.int64))
    with pytest.raises(ValueError, match="index_add: out is read-only"):
        _C.index_add(np.broadcast_to(out, (4, 3)), 0, np.zeros(2, np.int64), ones)
    with pytest.raises(ValueError, match="not aligned"):
        misaligned = np.zeros(14)[1:].view("u1")[4:-4].view(np.float64).reshape(4, 3)
        _C.index_add(misaligned, 0, np.zeros(2, np.int64), ones)
    assert not out.any()


def test_the_ops_still_raise_pytorch_errors(cpp):
    """The Python checks run before the kernels, so the messages stay PyTorch's."""
    w = minitorch.randn(5, 2)
    with pytest.raises(IndexError, match="index out of range in self"):
        F.embedding(minitorch.tensor([5]), w)
    with pytest.raises(RuntimeError, match="index 5 is out of bounds for dimension 0 with size 5"):
        w.scatter_add(0, minitorch.tensor([[5, 0]]), w)
    with pytest.raises(RuntimeError, match="index -1 is out of bounds for dimension 0 with size 5"):
        w.index_add(0, minitorch.tensor([-1]), minitorch.ones(1, 2))
