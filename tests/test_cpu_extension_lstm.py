"""The C++ LSTM cell (csrc/cpu/lstm.cpp) and its vectorised tanh and sigmoid (csrc/cpu/vmath.h): against the
NumPy path (the Backend base class), through nn.LSTM against the NumPy path and gradcheck, and bad input.

The tests turn the extension on for themselves (fixture ``cpp``), so they run under MINITORCH_CPP=0 as
well; they skip only where the extension was not built.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch
from minitorch.autograd import gradcheck
from minitorch.backends import cpu
from minitorch.nn.functional.rnn import _lstm_layer

from cpp_kernels import _C, NUMPY, Spy, close_to_reference, requires_extension

pytestmark = requires_extension


def _rows(a: np.ndarray, layout: str) -> np.ndarray:
    """``a`` (2-d) with its rows apart in memory as a time step's slice of a batch-first buffer would be."""
    if layout == "spaced rows":
        big = np.zeros((a.shape[0], 3, a.shape[1]), a.dtype)
        big[:, 1] = a
        return big[:, 1]
    return a


@st.composite
def cells(draw):
    """(dtype, N, H, arrays): the inputs of one forward and one backward step; H sometimes long enough for every
    vector width, pre-activations now and then large enough to saturate the gates."""
    n = draw(st.integers(0, 5))
    h = draw(st.one_of(st.integers(0, 9), st.integers(10, 70)))
    dtype, layout = draw(st.sampled_from(["float32", "float64"])), draw(st.sampled_from(["contiguous", "spaced rows"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    scale = draw(st.sampled_from([1.0, 8.0]))
    shapes = {"gx": (n, 4 * h), "hw": (n, 4 * h), "c_prev": (n, h), "d_h": (n, h), "d_c": (n, h)}
    arrays = {k: _rows((rng.standard_normal(s) * scale).astype(dtype), layout) for k, s in shapes.items()}
    return dtype, n, h, arrays


def _forward(backend, a, n, h, dtype):
    out = {"gates": np.empty((n, 4 * h), dtype)} | {k: np.empty((n, h), dtype) for k in ("c", "tanh_c", "h")}
    backend.lstm_cell(a["gx"], a["hw"], a["c_prev"], out["gates"], out["c"], out["tanh_c"], out["h"])
    return out


def _backward(backend, fwd, a, n, h, dtype):
    d_c, d_gates = np.array(a["d_c"], order="C"), np.empty((n, 4 * h), dtype)
    backend.lstm_cell_backward(fwd["gates"], a["c_prev"], fwd["tanh_c"], a["d_h"], d_c, d_gates)
    return {"d_c": d_c, "d_gates": d_gates}


@settings(max_examples=150, deadline=None)
@given(case=cells())
def test_lstm_cell_and_its_backward_match_the_numpy_path(cpp, case):
    """Every output of both kernels equals the NumPy path's, computed in float64 from the same inputs."""
    dtype, n, h, a = case
    wide = {k: v.astype(np.float64) for k, v in a.items()}
    fwd, ref = _forward(cpp, a, n, h, dtype), _forward(NUMPY, wide, n, h, "float64")
    for k in fwd:
        close_to_reference(fwd[k], ref[k], dtype)
    # the backward from the same saved values on both sides, so that only the backward is compared
    saved = {k: v.astype(np.float64) for k, v in fwd.items()}
    bwd, ref_bwd = _backward(cpp, fwd, a, n, h, dtype), _backward(NUMPY, saved, wide, n, h, "float64")
    for k in bwd:
        close_to_reference(bwd[k], ref_bwd[k], dtype, grad=True)


SPECIAL = [0.0, -0.0, 1e-30, -1e-8, 0.3, 0.6249, 0.625, 0.6251, 9.0, 10.5, 21.9, 22.1, 40.0, np.inf, -np.inf]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_tanh_and_sigmoid_accuracy(cpp, dtype):
    """Over [-30, 30] and at the edges of the formulas' ranges: tanh within 2 ulp of NumPy's; sigmoid, which is
    (1 + tanh(x / 2)) / 2, within an ulp of 1 of the exact value; signs, infinities and nan kept."""
    x = np.concatenate([np.linspace(-30, 30, 20001), SPECIAL, np.negative(SPECIAL), [np.nan]]).astype(dtype)
    m = x.size
    gx = np.tile(x, 4)[None]  # all four gates see every x
    hw = np.full_like(gx, -0.0)  # x + -0.0 is x, for x = -0.0 too
    out = _forward(cpp, {"gx": gx, "hw": hw, "c_prev": np.zeros((1, m), dtype)}, 1, m, dtype)
    tanh, sigmoid = out["gates"][0, 2 * m : 3 * m], out["gates"][0, :m]
    exact = np.tanh(x.astype(np.float64))
    finite = np.isfinite(x)
    ulps = np.abs(tanh[finite] - exact[finite]) / np.spacing(np.abs(exact[finite]).astype(dtype))
    assert ulps.max() <= 2
    assert np.array_equal(np.signbit(tanh[~np.isnan(x)]), np.signbit(x[~np.isnan(x)]))  # -0.0 stays -0.0
    assert np.array_equal(tanh[np.isinf(x)], np.sign(x[np.isinf(x)])) and np.isnan(tanh[-1])
    exact_sigmoid = 1 / (1 + np.exp(-x.astype(np.float64)))
    assert np.nanmax(np.abs(sigmoid - exact_sigmoid)) <= np.spacing(np.array(1, dtype))
    assert np.isnan(sigmoid[-1]) and np.all((sigmoid[~np.isnan(x)] >= 0) & (sigmoid[~np.isnan(x)] <= 1))


def _lstm_step(proj_size=0, batch_first=False, bidirectional=False, dtype="float64"):
    """Outputs and every gradient of a small two-layer LSTM, on whichever path is switched on."""
    minitorch.manual_seed(0)
    lstm = minitorch.nn.LSTM(3, 5, num_layers=2, proj_size=proj_size, batch_first=batch_first,
                             bidirectional=bidirectional, dtype=getattr(minitorch, dtype))  # fmt: skip
    x = minitorch.tensor(np.random.default_rng(0).standard_normal((4, 6, 3)), dtype=lstm.weight_ih_l0.dtype)
    x.requires_grad_(True)
    out, (h, c) = lstm(x)
    (out.square().sum() + h.sum() + (c * c).sum()).backward()
    return [t.detach().numpy() for t in (out, h, c, x.grad, *(p.grad for p in lstm.parameters()))]


@pytest.mark.parametrize("options", [{}, {"proj_size": 2}, {"batch_first": True, "bidirectional": True}])
def test_nn_lstm_runs_the_kernels_and_equals_the_numpy_path(cpp, monkeypatch, options):
    spy = Spy()
    monkeypatch.setattr(cpu, "_C", spy)
    fused = _lstm_step(**options)
    assert {"lstm_cell", "lstm_cell_backward"} <= set(spy.called)
    monkeypatch.setattr(cpu, "_enabled", False)
    for ours, ref in zip(fused, _lstm_step(**options)):
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)


def test_rows_not_contiguous_fall_back_to_the_numpy_path(cpp, monkeypatch):
    """A pre-activation whose elements are not adjacent along a row (here every other one) goes to NumPy."""
    spy = Spy()
    monkeypatch.setattr(cpu, "_C", spy)
    rng = np.random.default_rng(0)
    a = {"gx": rng.standard_normal((3, 16))[:, ::2], "hw": rng.standard_normal((3, 8)), "c_prev": np.ones((3, 2))}
    got = _forward(cpp, a, 3, 2, "float64")
    assert "lstm_cell" not in spy.called
    for k, v in _forward(NUMPY, a, 3, 2, "float64").items():
        np.testing.assert_array_equal(got[k], v)


@pytest.mark.parametrize("reverse", [False, True])
def test_gradcheck_through_the_kernels(cpp, monkeypatch, reverse):
    """The fused layer's first-order backward, which runs lstm_cell_backward, against finite differences."""
    spy = Spy()
    monkeypatch.setattr(cpu, "_C", spy)
    rng = np.random.default_rng(2)
    shapes = [(3, 2, 12), (2, 3), (2, 3), (12, 3)]  # gx (T, N, 4H), h0, c0, w_hh
    leaves = [minitorch.tensor(rng.uniform(-1.5, 1.5, s), requires_grad=True) for s in shapes]

    def fn(gx, h0, c0, w_hh):
        out, (h, c) = _lstm_layer(gx, h0, c0, w_hh, None, reverse)
        return out, h, c

    assert gradcheck(fn, leaves)
    assert {"lstm_cell", "lstm_cell_backward"} <= set(spy.called)


# ---- bad input: a clear Python exception, never a crash -----------------------------------------------
def _good(dtype=np.float32, n=2, h=3):
    z, s = np.zeros((n, 4 * h), dtype), np.zeros((n, h), dtype)
    return [z, z.copy(), s, z.copy(), s.copy(), s.copy(), s.copy()]


@pytest.mark.parametrize(
    "change, error, message",
    [
        (lambda a: a.__setitem__(0, a[0].astype(np.int64)), TypeError, "dtype float32"),
        (lambda a: a.__setitem__(1, a[1].astype(np.float64)), TypeError, "dtype float32"),
        (lambda a: a.__setitem__(0, a[0][:, :-1]), ValueError, "size 12 at dimension 1"),
        (lambda a: a.__setitem__(2, a[2][None]), ValueError, "2 dimensions"),
        (lambda a: a.__setitem__(6, np.zeros((3, 3), np.float32)), ValueError, "size 2 at dimension 0"),
        (lambda a: a.__setitem__(3, np.zeros((2, 24), np.float32)[:, ::2]), ValueError, "contiguous rows"),
        (lambda a: a[4].setflags(write=False), ValueError, "read-only"),
    ],
)
def test_lstm_cell_rejects_bad_input(change, error, message):
    arrays = _good()
    change(arrays)
    with pytest.raises(error, match=message):
        _C.lstm_cell(*arrays)


def test_lstm_cell_backward_rejects_bad_input():
    z, s = np.zeros((2, 12), np.float32), np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match="size 12 at dimension 1"):
        _C.lstm_cell_backward(z, s, s, s, s.copy(), np.zeros((2, 8), np.float32))
    with pytest.raises(TypeError, match="float32 or float64"):
        _C.lstm_cell_backward(z, s.astype(np.int32), s, s, s.copy(), z.copy())
