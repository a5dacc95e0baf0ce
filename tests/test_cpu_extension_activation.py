"""The C++ activation kernels (csrc/cpu/activation.cpp): erf, GELU and its gradient, and the gradients of tanh and
sigmoid from their outputs; and the vectorised erf_ under them (csrc/cpu/vmath.h). Against the NumPy path (the
Backend base class) on any layout, erf_'s accuracy against math.erf, GELU, tanh and sigmoid through the public API
against PyTorch, gradcheck and gradgradcheck through the kernels, and bad input.

The tests turn the extension on for themselves (fixture ``cpp``), so they run under MINITORCH_CPP=0 as
well; they skip only where the extension was not built.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch
import minitorch.nn.functional as F
from minitorch.autograd import gradcheck, gradgradcheck
from minitorch.backends import cpu

from cpp_kernels import _C, LAYOUTS, NUMPY, Spy, close_to_reference, layout, on_one_and_two_threads, requires_extension
from helpers import check, requires_torch, torch

pytestmark = requires_extension

APPROXIMATE = ("none", "tanh")


@st.composite
def gelu_inputs(draw):
    """(x, g): 0 to 4 dims of odd and even sizes (0 included), now and then one long enough for several of the
    kernel's chunks of 4096, each in its own layout; values near 0 or spread to where erf and tanh saturate."""
    shape = draw(st.lists(st.integers(0, 7), min_size=0, max_size=4))
    if shape and draw(st.booleans()):
        shape[draw(st.integers(0, len(shape) - 1))] = draw(st.sampled_from([17, 300, 9001]))
    dtype, seed = draw(st.sampled_from(["float32", "float64"])), draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x = np.asarray(rng.standard_normal(shape) * draw(st.sampled_from([1.0, 6.0])), dtype)  # 0-d stays an array
    g = np.asarray(rng.standard_normal(shape), dtype)
    if not shape:  # 0-d: no other layout
        return x, g
    dim, kinds = draw(st.integers(0, len(shape) - 1)), st.sampled_from(LAYOUTS)
    return layout(x, draw(kinds), dim), layout(g, draw(kinds), dim)


@settings(max_examples=150, deadline=None)
@given(case=gelu_inputs(), approximate=st.sampled_from(APPROXIMATE))
def test_gelu_kernels_match_numpy_path(cpp, case, approximate):
    x, g = case
    before = x.copy()
    x64, g64 = x.astype(np.float64), g.astype(np.float64)
    close_to_reference(cpp.gelu(x, approximate)[0], NUMPY.gelu(x64, approximate)[0], x.dtype)
    close_to_reference(
        cpp.gelu_backward(g, x, approximate), NUMPY.gelu_backward(g64, x64, approximate), x.dtype, grad=True
    )
    close_to_reference(cpp.erf(x), NUMPY.erf(x64), x.dtype)
    np.testing.assert_array_equal(x, before)  # the input is left alone
    # the NumPy path hands Phi(x) from its forward to its backward, which gives what recomputing it gives
    saved = NUMPY.gelu(x64, approximate)[1]
    np.testing.assert_array_equal(
        NUMPY.gelu_backward(g64, x64, approximate, saved), NUMPY.gelu_backward(g64, x64, approximate)
    )


@settings(max_examples=100, deadline=None)
@given(case=gelu_inputs(), kernel=st.sampled_from(["tanh_backward", "sigmoid_backward"]))
def test_tanh_and_sigmoid_gradients_match_numpy_path(cpp, case, kernel):
    """From outputs y in (-1, 1) for tanh and (0, 1) for sigmoid, and any layouts of y and g."""
    x, g = case
    y = np.asarray(np.tanh(x) if kernel == "tanh_backward" else (np.tanh(x / 2) + 1) / 2)  # 0-d stays an array
    before = (y.copy(), g.copy())
    ours = getattr(cpp, kernel)(g, y)
    close_to_reference(ours, getattr(NUMPY, kernel)(g.astype(np.float64), y.astype(np.float64)), y.dtype, grad=True)
    assert ours.dtype == y.dtype and ours.shape == y.shape
    np.testing.assert_array_equal(y, before[0])
    np.testing.assert_array_equal(g, before[1])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("approximate", APPROXIMATE)
def test_infinities_nan_and_signed_zero_as_the_numpy_path(cpp, dtype, approximate):
    """gelu(inf) = inf, gelu(-inf) = nan (-inf * 0, as in PyTorch), nan stays nan, and the slope is nan at
    ±inf (inf * 0) on both paths; huge finite values saturate."""
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1e30, -1e30, 3e38, -3e38, 40.0, -40.0], dtype)
    g = np.ones_like(x)
    with np.errstate(all="ignore"):
        pairs = [
            (cpp.gelu(x, approximate)[0], NUMPY.gelu(x, approximate)[0]),
            (cpp.gelu_backward(g, x, approximate), NUMPY.gelu_backward(g, x, approximate)),
        ]
    for ours, ref in pairs:
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
        np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=0)


def test_float64_slope_far_in_the_tail(cpp):
    """Below -8.3 erf rounds to -1, so the slope is x exp(-x²/2) / sqrt(2 pi) alone, down to 1e-300: it checks the
    vectorised exp of large negative arguments (to -708) relative to NumPy's."""
    x = np.linspace(-37.5, -8.5, 2001)
    g = np.ones_like(x)
    np.testing.assert_allclose(cpp.gelu_backward(g, x, "none"), NUMPY.gelu_backward(g, x, "none"), rtol=1e-13, atol=0)


# ---- erf_: the error function the kernels are built on ----------------------------------------------------------
# Where a formula hands over to another, for either type, and the values around them.
BOUNDARIES = [0.46875, 0.5, 1.0, 2.0, 3.92, 4.0, 5.9, 6.0, 26.5, 27.0]


def _erf_sweep(dtype) -> np.ndarray:
    x = np.concatenate(
        [
            np.linspace(-7, 7, 140001),
            np.geomspace(1e-300, 7, 4001),  # tiny values, subnormal in float32, flushed there to 0 or not
            [v for b in BOUNDARIES for v in np.nextafter(np.array(b, dtype), [0, b, 9]).tolist()],
            [0.0, 5e-324, 1e-310, 1e-40, 1e-8, 1e30, np.finfo(dtype).max],
        ]
    ).astype(dtype)
    return np.concatenate([x, -x])


@pytest.mark.parametrize("dtype, max_ulps", [("float32", 1.5), ("float64", 4)])
def test_erf_is_accurate(cpp, dtype, max_ulps):
    """Against math.erf (correctly rounded to within an ulp): float32 within 1.5 ulps of the exact value, float64
    within 4 ulps (as Cody's formulas on the NumPy path), a relative error below 1e-15."""
    x = _erf_sweep(dtype)
    exact = np.array([math.erf(v) for v in x.astype(np.float64).tolist()])
    ours = cpp.erf(x).astype(np.float64)
    ulps = np.abs(ours - exact) / np.spacing(np.abs(exact).astype(dtype)).astype(np.float64)
    assert ulps.max() <= max_ulps, f"{ulps.max()} ulps at x = {x[np.argmax(ulps)]!r}"
    if dtype == "float64":
        normal = np.abs(exact) >= np.finfo(dtype).tiny  # subnormals have fewer digits
        assert (np.abs(ours - exact)[normal] / np.abs(exact[normal])).max() < 1e-15


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_erf_keeps_signs_infinities_and_nan(cpp, dtype):
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -1e-30], dtype)
    y = cpp.erf(x)
    assert np.array_equal(np.signbit(y[:2]), [False, True])  # erf(-0) = -0
    assert y[2] == 1 and y[3] == -1 and np.isnan(y[4]) and y[5] < 0


# ---- through the public API: the kernels are used, agree with PyTorch, and pass gradcheck ------------------
def test_gelu_and_erf_reach_the_kernels(cpp, monkeypatch):
    spy = Spy()
    monkeypatch.setattr(cpu, "_C", spy)
    x = minitorch.tensor(np.linspace(-3, 3, 12).reshape(3, 4), requires_grad=True)
    (F.gelu(x).sum() + F.gelu(x, approximate="tanh").sum() + minitorch.erf(x).sum()).backward()
    assert {"gelu", "gelu_backward", "erf"} <= set(spy.called)


def test_float16_falls_back_to_the_numpy_path(cpp, monkeypatch):
    spy = Spy()
    monkeypatch.setattr(cpu, "_C", spy)
    x = minitorch.tensor(np.linspace(-3, 3, 7), dtype=minitorch.float16, requires_grad=True)
    F.gelu(x).sum().backward()
    assert not spy.called and x.grad.dtype == minitorch.float16


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("approximate", APPROXIMATE)
def test_gelu_matches_torch(cpp, dtype, approximate):
    x = (np.random.default_rng(0).standard_normal((5, 7, 3)) * 3).astype(dtype)
    layouts = ("contiguous", "transposed", "sliced", "expanded")
    check(lambda t: F.gelu(t, approximate=approximate),
          lambda t: torch.nn.functional.gelu(t, approximate=approximate), x, layouts=layouts)  # fmt: skip
    check(minitorch.erf, torch.erf, x, layouts=layouts)


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
def test_tanh_and_sigmoid_match_torch(cpp, monkeypatch, dtype, name):
    spy = Spy()
    monkeypatch.setattr(cpu, "_C", spy)
    x = (np.random.default_rng(0).standard_normal((5, 7, 3)) * 3).astype(dtype)
    layouts = ("contiguous", "transposed", "sliced", "expanded")
    check(getattr(F, name), getattr(torch, name), x, layouts=layouts)
    check(getattr(minitorch.nn, name.capitalize())(), getattr(torch, name), x)  # nn.Tanh, nn.Sigmoid
    assert f"{name}_backward" in spy.called


@requires_torch
@pytest.mark.parametrize("approximate", APPROXIMATE)
def test_third_derivative_matches_torch(cpp, approximate):
    """GELU's backward is an op whose backward is written with tensor ops, so every order of derivative exists."""

    def derivatives(lib, gelu):
        x = lib.tensor(np.linspace(-4, 4, 33), requires_grad=True)
        y, out = gelu(x, approximate=approximate), []
        for _ in range(3):
            (y,) = lib.autograd.grad(y.sum(), x, create_graph=True)
            out.append(y.detach().numpy())
        return out

    for ours, ref in zip(derivatives(minitorch, F.gelu), derivatives(torch, torch.nn.functional.gelu)):
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("approximate", APPROXIMATE)
def test_gradcheck_through_the_kernels(cpp, monkeypatch, approximate):
    spy = Spy()
    monkeypatch.setattr(cpu, "_C", spy)
    x = minitorch.tensor(np.random.default_rng(1).uniform(-4, 4, (3, 5)), requires_grad=True)
    for fn in (lambda t: F.gelu(t, approximate=approximate), lambda t: F.gelu(t.T, approximate=approximate)):
        assert gradcheck(fn, (x,))
        assert gradgradcheck(fn, (x,))  # the backward's own backward runs gelu_backward for the grad of g
    assert {"gelu", "gelu_backward"} <= set(spy.called)


@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
def test_tanh_and_sigmoid_gradcheck_through_the_kernels(cpp, monkeypatch, name):
    """The array path runs the fused kernel; gradgradcheck records the backward, which runs the tensor formula."""
    spy = Spy()
    monkeypatch.setattr(cpu, "_C", spy)
    x = minitorch.tensor(np.random.default_rng(1).uniform(-3, 3, (3, 5)), requires_grad=True)
    fn = getattr(minitorch, name)
    for f in (fn, lambda t: fn(t.T)):
        assert gradcheck(f, (x,))
        assert gradgradcheck(f, (x,))
    assert f"{name}_backward" in spy.called


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_two_threads_give_the_same_values(cpp, dtype):
    """Each thread takes its own chunks of a long array (and rows of a strided one), bit for bit as one thread."""
    rng = np.random.default_rng(0)
    x, g = (rng.standard_normal((3, 70000)) * 3).astype(dtype), rng.standard_normal((3, 70000)).astype(dtype)
    results = on_one_and_two_threads(
        lambda: [cpp.gelu(x, "none")[0], cpp.gelu_backward(g, x.T.copy().T, "tanh"), cpp.erf(x[:, ::3])]
    )
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


# ---- bad input: a clear Python exception, never a crash ---------------------------------------------------------
def test_kernels_reject_bad_input():
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(TypeError, match="float32 or float64"):
        _C.gelu(x.astype(np.int64), False)
    with pytest.raises(TypeError, match="float32 or float64"):
        _C.erf(x.astype(np.float16))
    with pytest.raises(TypeError, match="grad of dtype float32"):
        _C.gelu_backward(x.astype(np.float64), x, True)
    with pytest.raises(ValueError, match="grad of the input's shape"):
        _C.gelu_backward(x[0], x, False)
    with pytest.raises(ValueError, match="size 3 at dimension 1"):
        _C.gelu_backward(x[:, :2], x, False)
    misaligned = np.zeros(25, np.uint8)[1:].view(np.float32).reshape(2, 3)
    with pytest.raises(ValueError, match="not aligned"):
        _C.gelu(misaligned, False)
    with pytest.raises(TypeError):
        _C.gelu(x, "tanh")  # the flag is a bool: tanh or not
    for kernel in (_C.tanh_backward, _C.sigmoid_backward):
        with pytest.raises(TypeError, match="grad of dtype float32"):
            kernel(x.astype(np.float64), x)
        with pytest.raises(ValueError, match="grad of the output's shape"):
            kernel(x[0], x)
        with pytest.raises(TypeError, match="float32 or float64"):
            kernel(x.astype(np.int32), x.astype(np.int32))
