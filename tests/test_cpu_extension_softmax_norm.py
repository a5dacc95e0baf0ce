"""The C++ softmax, log_softmax and layer norm kernels (csrc/cpu/softmax.cpp, layernorm.cpp): against the
NumPy path (the Backend base class) and PyTorch, gradcheck through them, and bad input.

The tests turn the extension on for themselves (fixture ``cpp``), so they run under MINITORCH_CPP=0 as
well; they skip only where the extension was not built.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch
import minitorch.nn.functional as F
from minitorch.autograd import gradcheck, gradgradcheck
from minitorch.backends import cpu

from cpp_kernels import _C, LAYOUTS, NUMPY, Spy, close_to_reference, layout, on_one_and_two_threads, requires_extension
from helpers import TOLERANCES, check, requires_torch, torch

DTYPES = st.sampled_from(["float32", "float64"])


LAYOUT_NAMES = st.sampled_from(LAYOUTS)


@st.composite
def arrays_along(draw):
    """(array in one of the LAYOUTS, axis, rng): 1 to 4 dims of odd and even sizes (0 included); now and then one dim
    long enough for every vector width and the lane blocks of the C++ kernels."""
    shape = draw(st.lists(st.integers(0, 7), min_size=1, max_size=4))
    if draw(st.booleans()):
        shape[draw(st.integers(0, len(shape) - 1))] = draw(st.integers(8, 300))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    kind, dim = draw(LAYOUT_NAMES), draw(st.integers(0, len(shape) - 1))
    dtype, seed = draw(DTYPES), draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * draw(st.sampled_from([1.0, 30.0]))).astype(dtype)
    return layout(x, kind, dim), axis, rng


# ---- softmax and log_softmax against the NumPy path ------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(case=arrays_along())
def test_softmax_kernels_match_numpy_path(cpp, case):
    x, axis, rng = case
    before = x.copy()
    g = layout(rng.standard_normal(x.shape).astype(x.dtype), "sliced", 0)
    for name in ("softmax", "log_softmax"):
        y = getattr(cpp, name)(x, axis)
        close_to_reference(y, getattr(NUMPY, name)(x.astype(np.float64), axis), x.dtype)
        backward = name + "_backward"
        grad = getattr(cpp, backward)(y, g, axis)
        close_to_reference(
            grad, getattr(NUMPY, backward)(y.astype(np.float64), g.astype(np.float64), axis), x.dtype, grad=True
        )
        grad = getattr(cpp, backward)(layout(y, "transposed", 0), g, axis)  # y in another layout than g
        close_to_reference(
            grad, getattr(NUMPY, backward)(y.astype(np.float64), g.astype(np.float64), axis), x.dtype, grad=True
        )
    np.testing.assert_array_equal(x, before)  # the input is left alone


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("axis", [0, 1])
def test_inf_and_nan_rows_give_nan_as_the_numpy_path(cpp, dtype, axis):
    """A slice holding +inf, nan or only -inf gives nan; a -inf among finite values gives probability 0."""
    inf = np.inf
    x = np.array(
        [[0, inf, 1], [-inf, -inf, -inf], [np.nan, 1, 2], [-inf, 0, 1], [-200, 0, 100], [1e30, -1e30, 0]], dtype
    )
    x = x if axis == 1 else np.ascontiguousarray(x.T)
    for name in ("softmax", "log_softmax"):
        ours, ref = getattr(cpp, name)(x, axis), getattr(NUMPY, name)(x, axis)
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
        np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-40)  # exp's subnormals may differ in the last bit
        assert not np.isnan(ours.take(3, 1 - axis)).any()


def test_float32_exp_is_as_accurate_as_numpys_down_to_the_subnormals(cpp):
    """softmax([t, 0]) = exp(t) / (1 + exp(t)), against float64: the C++ kernel's own exp is at most as far
    off (in float32 ulps, which stay fixed in the subnormal range) as the NumPy path in float32, and gives
    exact zeros where exp underflows."""
    t = np.linspace(-110, 0, 200001).astype(np.float32)
    x = np.stack([t, np.zeros_like(t)], 1)
    e = np.exp(t.astype(np.float64))
    ref = e / (1 + e)
    ulps = lambda p: np.abs(p[:, 0] - ref) / np.spacing(ref.astype(np.float32))
    assert ulps(cpp.softmax(x, 1)).max() <= ulps(NUMPY.softmax(x, 1)).max()
    assert (cpp.softmax(x, 1)[t < -104, 0] == 0).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape, axis", [((64, 4, 64, 64), -1), ((16, 300, 40), 1), ((3, 100000), 1)])
def test_long_and_parallel_softmax_match_numpy_path(cpp, dtype, shape, axis):
    """Big enough for the OpenMP loops (and, for (3, 100000), long rows whose float32 sums must not drift)."""
    rng = np.random.default_rng(0)
    x, g = (rng.standard_normal(shape) * 4).astype(dtype), rng.standard_normal(shape).astype(dtype)
    threads = cpu.get_num_threads()
    try:
        for n in (1, 2):
            cpu.set_num_threads(n)
            for name in ("softmax", "log_softmax"):
                y = getattr(cpp, name)(x, axis)
                close_to_reference(y, getattr(NUMPY, name)(x.astype(np.float64), axis), dtype)
                ref = getattr(NUMPY, name + "_backward")(y.astype(np.float64), g.astype(np.float64), axis)
                close_to_reference(getattr(cpp, name + "_backward")(y, g, axis), ref, dtype, grad=True)
    finally:
        cpu.set_num_threads(threads)


# ---- layer norm against the NumPy path ---------------------------------------------------------------------
@settings(max_examples=80, deadline=None)
@given(
    m=st.integers(0, 5),
    d=st.one_of(st.integers(0, 9), st.integers(10, 700)),
    kind=LAYOUT_NAMES,
    affine=st.sampled_from(["both", "weight", "bias", "none"]),
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_layer_norm_kernels_match_numpy_path(cpp, m, d, kind, affine, dtype, seed):
    """Against the NumPy path in float64 (float32's own rounding differs between the two sums)."""
    rng = np.random.default_rng(seed)
    x = layout((rng.standard_normal((m, d)) * 3 + 5).astype(dtype), kind if kind != "expanded" else "sliced", 1)
    g = layout(rng.standard_normal((m, d)).astype(dtype), kind, 0)
    w = rng.standard_normal(d).astype(dtype) if affine in ("both", "weight") else None
    b = rng.standard_normal(d).astype(dtype) if affine in ("both", "bias") else None
    as64 = lambda a: None if a is None else a.astype(np.float64)
    (fa, fr), (ga, gr) = TOLERANCES[dtype]
    before = x.copy()
    with np.errstate(all="ignore"):  # d = 0: no values, nan statistics on both paths
        ours, ref = cpp.layer_norm(x, w, b, 1e-5), NUMPY.layer_norm(as64(x), as64(w), as64(b), 1e-5)
        for a, r in zip(ours, ref):
            np.testing.assert_allclose(a, r, rtol=fr, atol=fa)
        grads = cpp.layer_norm_backward(g, x, w, *ours[1:], 1e-5)
        for a, r in zip(grads, NUMPY.layer_norm_backward(as64(g), as64(x), as64(w), *map(as64, ours[1:]), 1e-5)):
            np.testing.assert_allclose(a, r, rtol=gr, atol=ga)
    assert ours[0].shape == grads[0].shape == (m, d) and ours[1].shape == ours[2].shape == (m,)
    assert grads[1].shape == grads[2].shape == (d,)
    assert all(a.dtype == np.dtype(dtype) for a in ours + grads)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_parallel_layer_norm_matches_one_thread(cpp, dtype):
    """With two threads each keeps its own weight and bias sums; they must add up to the same gradients."""
    rng = np.random.default_rng(0)
    x, g = (rng.standard_normal((2, 300, 129)) + 1).astype(dtype), rng.standard_normal((2, 300, 129)).astype(dtype)
    w, b = rng.standard_normal((2, 129)).astype(dtype)
    rows = lambda a: a.reshape(600, 129)

    def forward_and_backward():
        y, mean, var = cpp.layer_norm(rows(x), w, b, 1e-5)
        return (y, mean, var) + cpp.layer_norm_backward(rows(g), rows(x), w, mean, var, 1e-5)

    results = on_one_and_two_threads(forward_and_backward)
    (_, fr), (ga, gr) = TOLERANCES[dtype]
    for one, two in zip(*results):
        np.testing.assert_allclose(one, two, rtol=gr, atol=ga)


# ---- through the public API: the kernels are used, agree with PyTorch, and pass gradcheck ------------------
def test_the_functions_reach_the_kernels(cpp, monkeypatch):
    spy = Spy()
    monkeypatch.setattr(cpu, "_C", spy)
    x = minitorch.tensor(np.random.default_rng(0).standard_normal((4, 3, 5)), requires_grad=True)
    w = minitorch.ones(3, 5, dtype=x.dtype, requires_grad=True)
    loss = F.softmax(x, 1).sum() + F.log_softmax(x, -1).sum() + F.layer_norm(x, (3, 5), w).sum()
    loss = loss + F.cross_entropy(x, minitorch.tensor(np.zeros((4, 5), np.int64)))
    loss.backward()
    assert set(spy.called) >= {
        "softmax",
        "log_softmax",
        "softmax_backward",
        "log_softmax_backward",
        "layer_norm",
        "layer_norm_backward",
    }


@requires_torch
@settings(max_examples=30, deadline=None)
@given(
    shape=st.lists(st.integers(1, 6), min_size=1, max_size=4),
    data=st.data(),
    dtype=DTYPES,
    seed=st.integers(0, 999),
)
def test_softmax_matches_torch(cpp, shape, data, dtype, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = (np.random.default_rng(seed).standard_normal(shape) * 3).astype(dtype)
    layouts = ("contiguous", "transposed", "sliced", "expanded")
    for name in ("softmax", "log_softmax"):
        check(lambda t: getattr(F, name)(t, dim), lambda t: getattr(torch.nn.functional, name)(t, dim), x,
              layouts=layouts)  # fmt: skip


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "shape, kwargs",
    [
        ((13, 65), {}),
        ((4, 7, 3, 5), {}),  # classes along dim 1, not the last: the lanes path
        ((9, 5), {"label_smoothing": 0.1, "reduction": "sum"}),
        ((6, 4), {"ignore_index": 1, "reduction": "none"}),
    ],
)
def test_cross_entropy_matches_torch(cpp, dtype, shape, kwargs):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    t = rng.integers(0, shape[1], (shape[0],) + shape[2:])
    check(lambda a, b: F.cross_entropy(a, b, **kwargs), lambda a, b: torch.nn.functional.cross_entropy(a, b, **kwargs),
          x, t, layouts=("contiguous", "transposed"))  # fmt: skip


@requires_torch
@settings(max_examples=30, deadline=None)
@given(
    shape=st.lists(st.integers(1, 9), min_size=1, max_size=4),
    data=st.data(),
    affine=st.sampled_from(["both", "weight", "bias", "none"]),
    dtype=DTYPES,
    seed=st.integers(0, 999),
)
def test_layer_norm_matches_torch(cpp, shape, data, affine, dtype, seed):
    k = data.draw(st.integers(1, len(shape)))
    normalized = tuple(shape[len(shape) - k :])
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    w, b = (rng.standard_normal(normalized) + 1).astype(dtype), rng.standard_normal(normalized).astype(dtype)
    arrays = {"both": (x, w, b), "weight": (x, w), "bias": (x, b), "none": (x,)}[affine]

    def run(lib, x, *params):
        weight = params[0] if affine in ("both", "weight") else None
        bias = params[-1] if affine in ("both", "bias") else None
        return lib.nn.functional.layer_norm(x, normalized, weight, bias, eps=1e-5)

    check(lambda *a: run(minitorch, *a), lambda *a: run(torch, *a), *arrays,
          layouts=("contiguous", "transposed", "sliced"))  # fmt: skip


def _leaf(rng, *shape):
    return minitorch.tensor(rng.standard_normal(shape), dtype=minitorch.float64, requires_grad=True)


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_gradcheck_through_softmax(cpp, dim):
    x = _leaf(np.random.default_rng(dim + 5), 3, 4, 5)
    for fn in (F.softmax, F.log_softmax):
        assert gradcheck(lambda t: fn(t, dim), (x,))
        assert gradgradcheck(lambda t: fn(t, dim), (x,))  # the backward's own backward runs the kernels too
        assert gradcheck(lambda t: fn(t.transpose(0, 2), dim), (x,))  # a strided input


@pytest.mark.parametrize("shape", [(5, 7), (3, 4, 2)])
def test_gradcheck_through_cross_entropy(cpp, shape):
    rng = np.random.default_rng(1)
    x = _leaf(rng, *shape)
    t = minitorch.tensor(rng.integers(0, shape[1], (shape[0],) + shape[2:]))
    for kwargs in ({}, {"label_smoothing": 0.2}):
        assert gradcheck(lambda a: F.cross_entropy(a, t, **kwargs), (x,))
        assert gradgradcheck(lambda a: F.cross_entropy(a, t, **kwargs), (x,))


@pytest.mark.parametrize("normalized", [(5,), (4, 5)])
def test_gradcheck_through_layer_norm(cpp, normalized):
    rng = np.random.default_rng(2)
    x, w, b = _leaf(rng, 3, 4, 5), _leaf(rng, *normalized), _leaf(rng, *normalized)
    ln = lambda x, w, b: F.layer_norm(x, normalized, w, b)
    assert gradcheck(ln, (x, w, b))
    assert gradgradcheck(ln, (x, w, b))  # the second order runs the tensor formula
    assert gradcheck(lambda x: F.layer_norm(x, normalized), (x,))


def test_gradcheck_through_layer_norm_of_a_strided_input(cpp):
    rng = np.random.default_rng(3)
    x, b = _leaf(rng, 3, 4, 5), _leaf(rng, 3)
    assert gradcheck(lambda x, b: F.layer_norm(x.transpose(0, 2), (3,), None, b), (x, b))


# ---- bad input raises, never crashes ---------------------------------------------------------------------
@requires_extension
def test_softmax_bad_input_raises():
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(TypeError, match="float32 or float64"):
        _C.softmax(x.astype(np.int64), 1)
    with pytest.raises(ValueError, match="at least 1 dimension"):
        _C.log_softmax(np.array(1.0, np.float32), 0)
    with pytest.raises(ValueError, match="axis 2 is out of range for 2 dimensions"):
        _C.softmax(x, 2)
    with pytest.raises(ValueError, match="axis -3 is out of range"):
        _C.softmax_backward(x, x, -3)
    with pytest.raises(ValueError, match="expected grad of size 3 at dimension 1"):
        _C.softmax_backward(x, np.zeros((2, 4), np.float32), 1)
    with pytest.raises(ValueError, match="expected grad of the shape of output"):
        _C.log_softmax_backward(x, np.zeros(3, np.float32), 0)
    with pytest.raises(TypeError, match="grad of dtype float32"):
        _C.log_softmax_backward(x, np.zeros((2, 3)), 0)
    with pytest.raises(TypeError):
        _C.softmax("not an array", 0)
    with pytest.raises(ValueError, match="not aligned"):
        _C.softmax(np.zeros(17)[1:].view("u1")[4:-4].view(np.float64).reshape(3, 5), 1)


@requires_extension
def test_layer_norm_bad_input_raises():
    x, ones = np.zeros((2, 3), np.float32), np.ones(3, np.float32)
    stats = np.zeros(2, np.float32)
    with pytest.raises(ValueError, match=r"layer_norm: expected input \(M, D\) to have 2 dimensions"):
        _C.layer_norm(np.zeros((2, 3, 4), np.float32), ones, ones, 1e-5)
    with pytest.raises(ValueError, match="expected weight of size 3 at dimension 0"):
        _C.layer_norm(x, np.ones(4, np.float32), None, 1e-5)
    with pytest.raises(TypeError, match="bias of dtype float32"):
        _C.layer_norm(x, None, np.ones(3), 1e-5)
    with pytest.raises(TypeError, match="weight to be a NumPy array or None"):
        _C.layer_norm(x, [1.0, 1.0, 1.0], None, 1e-5)
    with pytest.raises(TypeError, match="float32 or float64"):
        _C.layer_norm(x.astype(np.int32), None, None, 1e-5)
    with pytest.raises(ValueError, match="weight must be contiguous"):
        _C.layer_norm(x, np.ones(6, np.float32)[::2], None, 1e-5)
    with pytest.raises(ValueError, match="expected grad of size 3 at dimension 1"):
        _C.layer_norm_backward(np.zeros((2, 4), np.float32), x, ones, stats, stats, 1e-5)
    with pytest.raises(ValueError, match="expected mean of size 2 at dimension 0"):
        _C.layer_norm_backward(x, x, None, np.zeros(3, np.float32), stats, 1e-5)
    with pytest.raises(TypeError, match="var of dtype float32"):
        _C.layer_norm_backward(x, x, None, stats, np.zeros(2), 1e-5)
