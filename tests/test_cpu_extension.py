"""The C++ CPU kernels (minitorch._C): the switch, the kernels against the NumPy path and
PyTorch, gradcheck through them, and bad input.

The kernel tests turn the extension on for themselves (fixture ``cpp``), so they
run under MINITORCH_CPP=0 as well; they skip only where the extension was not built.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch
import minitorch.nn.functional as F
from minitorch.backends import cpu
from minitorch.backends.windows import Geometry, out_size

from cpp_kernels import _C, NUMPY, on_one_and_two_threads, requires_extension
from helpers import TOLERANCES, check, requires_torch, torch


# ---- the switch ---------------------------------------------------------------------------------
def _import_in_subprocess(env_value, block_extension: bool) -> subprocess.CompletedProcess:
    """Import minitorch in a fresh interpreter with MINITORCH_CPP set (None: unset), optionally
    hiding the compiled module as if it had not been built; prints has_extension()."""
    code = textwrap.dedent(
        f"""
        import sys, warnings
        if {block_extension}:
            sys.modules["minitorch._C"] = None  # the import of minitorch._C now fails
        warnings.simplefilter("always")
        import os
        from minitorch.backends import cpu
        print("has_extension", cpu.has_extension(), "policy", os.environ.get("OMP_WAIT_POLICY"))
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "MINITORCH_CPP"}
    if env_value is not None:
        env["MINITORCH_CPP"] = env_value
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def test_missing_extension_warns_once_and_falls_back():
    run = _import_in_subprocess(None, block_extension=True)
    assert run.returncode == 0, run.stderr
    assert "has_extension False" in run.stdout
    assert run.stderr.count("RuntimeWarning") == 1 and "pip install -e ." in run.stderr


def test_minitorch_cpp_1_requires_the_extension():
    run = _import_in_subprocess("1", block_extension=True)
    assert run.returncode != 0
    assert "ImportError: MINITORCH_CPP=1 requires the C++ extension" in run.stderr


def test_minitorch_cpp_0_forces_numpy_without_a_warning():
    run = _import_in_subprocess("0", block_extension=False)
    assert run.returncode == 0, run.stderr
    assert "has_extension False" in run.stdout and "Warning" not in run.stderr


def test_minitorch_cpp_rejects_other_values():
    run = _import_in_subprocess("yes", block_extension=False)
    assert run.returncode != 0 and "MINITORCH_CPP must be 0" in run.stderr


@requires_extension
def test_unset_uses_the_extension_when_built():
    run = _import_in_subprocess(None, block_extension=False)
    assert run.returncode == 0, run.stderr
    assert "has_extension True policy None" in run.stdout  # OMP_WAIT_POLICY is set only while _C loads


def test_use_extension_needs_the_extension(monkeypatch):
    monkeypatch.setattr(cpu, "_enabled", cpu._enabled)  # restored afterwards
    monkeypatch.setattr(cpu, "_C", None)
    with pytest.raises(RuntimeError, match="not loaded"):
        cpu.use_extension(True)
    cpu.use_extension(False)  # always allowed


def test_threads(cpp):
    before = cpu.get_num_threads()
    x = np.random.default_rng(0).standard_normal((2, 8, 30, 30)).astype(np.float32)
    geom = Geometry((30, 30), (30, 30), (3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)))
    one_thread = cpp.conv(x, x[:4, :, :3, :3], geom, 1)[0]
    try:
        cpu.set_num_threads(2)  # the same result on two threads (the loops are big enough to split)
        assert cpu.get_num_threads() == 2
        np.testing.assert_array_equal(cpp.conv(x, x[:4, :, :3, :3], geom, 1)[0], one_thread)
        cpu.set_num_threads(1)
        assert cpu.get_num_threads() == 1
    finally:
        cpu.set_num_threads(before)
    with pytest.raises(ValueError, match="positive"):
        cpu.set_num_threads(0)


@requires_extension
def test_one_thread_by_default_whatever_torch_sets():
    """The kernels keep their own thread count: PyTorch's OpenMP runtime, loaded beside ours, cannot change it."""
    code = "from minitorch.backends import cpu; print(cpu.get_num_threads())"
    if torch is not None:
        code = "import torch; " + code + "; torch.set_num_threads(2); print(cpu.get_num_threads())"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["1"] * (2 if torch is not None else 1)


# ---- hypothesis: window geometries and non-contiguous layouts ------------------------------------
def _layout(a: np.ndarray, kind: str) -> np.ndarray:
    """The same values as ``a`` in a different memory layout (each one a view NumPy will not copy)."""
    if kind == "transposed":  # H and W swapped in memory
        return np.ascontiguousarray(a.swapaxes(-1, -2)).swapaxes(-1, -2)
    if kind == "sliced":  # every other element of a bigger buffer, backwards
        big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
        big[..., ::-2] = a
        return big[..., ::-2]
    if kind == "channels_last":
        return np.ascontiguousarray(np.moveaxis(a, 1, -1)).transpose(0, 3, 1, 2)
    return a


@st.composite
def windows2d(draw, pool: bool = False):
    """A 2-d window geometry that fits its input, as the nn.functional checks would let through."""
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (1, 1) if pool and draw(st.booleans()) else (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pad = tuple(draw(st.integers(0, k // 2 if pool else 2)) for k in kernel)
    size = tuple(draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), 9)) for k, d, p in zip(kernel, dilation, pad))
    out = tuple(out_size(n, k, s, d, p, p) for n, k, s, d, p in zip(size, kernel, stride, dilation, pad))
    return Geometry(size, out, kernel, stride, dilation, tuple((p, p) for p in pad))


LAYOUTS = st.sampled_from(["contiguous", "transposed", "sliced", "channels_last"])
DTYPES = st.sampled_from(["float32", "float64"])


def _close(actual, expected, dtype) -> None:
    tol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)


@settings(max_examples=40, deadline=None)
@given(
    geom=windows2d(),
    groups=st.integers(1, 2),
    n=st.integers(0, 3),
    layout=LAYOUTS,
    dtype=DTYPES,
    seed=st.integers(0, 99),
)
def test_conv_kernels_match_numpy_path(cpp, geom, groups, n, layout, dtype, seed):
    rng = np.random.default_rng(seed)
    c, o = groups * rng.integers(1, 3), groups * rng.integers(1, 3)
    x = _layout(rng.standard_normal((n, c) + geom.size).astype(dtype), layout)
    w = _layout(rng.standard_normal((o, c // groups) + geom.kernel).astype(dtype), layout)
    g = _layout(rng.standard_normal((n, o) + geom.out).astype(dtype), layout)
    y, cols = cpp.conv(x, w, geom, groups, keep=True)
    y_ref, _ = NUMPY.conv(x, w, geom, groups)
    _close(y, y_ref, dtype)
    _close(cpp.conv_input_grad(g, w, geom, groups), NUMPY.conv_input_grad(g, w, geom, groups), dtype)
    gw_ref = NUMPY.conv_weight_grad(x, g, geom, groups)
    _close(cpp.conv_weight_grad(x, g, geom, groups, cols), gw_ref, dtype)
    _close(cpp.conv_weight_grad(x, g, geom, groups), gw_ref, dtype)


@st.composite
def direct_windows(draw):
    """A stride-1 geometry the direct convolution takes: kernel 1, 3, 5 or 7 wide, rows up to 40 outputs
    (one or two vectors a block, a ragged last block)."""
    kernel = (draw(st.integers(1, 4)), draw(st.sampled_from([1, 3, 5, 7])))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pad = tuple(draw(st.integers(0, 3)) for _ in kernel)
    size = (
        draw(st.integers(max(1, dilation[0] * (kernel[0] - 1) + 1 - 2 * pad[0]), 7)),
        draw(st.integers(max(1, dilation[1] * (kernel[1] - 1) + 1 - 2 * pad[1]), 40)),
    )
    out = tuple(out_size(n, k, 1, d, p, p) for n, k, d, p in zip(size, kernel, dilation, pad))
    return Geometry(size, out, kernel, (1, 1), dilation, tuple((p, p) for p in pad))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_direct_weight_grad_is_the_same_on_two_threads(cpp, dtype):
    """The samples go by in chunks, each thread keeping the same groups of sums in every chunk (one parallel region,
    no barrier between chunks): two threads give one thread's values bit for bit."""
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal((12, 3, 20, 20)).astype(dtype), rng.standard_normal((12, 6, 16, 16)).astype(dtype)
    geom = Geometry((20, 20), (16, 16), (5, 5), (1, 1), (1, 1), ((0, 0), (0, 0)))
    assert cpp._direct((6, 3, 5, 5), geom, 1)
    results = on_one_and_two_threads(lambda: cpp.conv_weight_grad(x, g, geom, 1))
    np.testing.assert_array_equal(results[0], results[1])
    exact = NUMPY.conv_weight_grad(x.astype(np.float64), g.astype(np.float64), geom, 1)
    np.testing.assert_allclose(results[0], exact, rtol=1e-5, atol=1e-4 if dtype == "float32" else 1e-10)  # 3,072 terms


@settings(max_examples=40, deadline=None)
@given(geom=direct_windows(), n=st.integers(0, 3), layout=LAYOUTS, dtype=DTYPES, seed=st.integers(0, 99))
def test_direct_conv_matches_numpy_path(cpp, geom, n, layout, dtype, seed):
    rng = np.random.default_rng(seed)
    # output channels past one register block of 8, or filling vectors of channels (16, 32) or just past them (17)
    c, o = rng.integers(1, 4), rng.choice([*range(1, 11), 16, 17, 32])
    x = _layout(rng.standard_normal((n, c) + geom.size).astype(dtype), layout)
    w = _layout(rng.standard_normal((o, c) + geom.kernel).astype(dtype), layout)
    g = _layout(rng.standard_normal((n, o) + geom.out).astype(dtype), layout)
    assert cpp._direct(w.shape, geom, 1)
    y, saved = cpp.conv(x, w, geom, 1, keep=True)
    assert saved is None  # no columns: the weight gradient is direct as well
    _close(y, NUMPY.conv(x, w, geom, 1)[0], dtype)
    _close(cpp.conv_weight_grad(x, g, geom, 1, saved), NUMPY.conv_weight_grad(x, g, geom, 1), dtype)
    # the input gradient runs as a direct convolution of g too, unless the padding passes the kernel's span
    _close(cpp.conv_input_grad(g, w, geom, 1), NUMPY.conv_input_grad(g, w, geom, 1), dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "sliced", "channels_last"])
@pytest.mark.parametrize("o", [16, 32, 17])
def test_direct_conv_channel_lanes_match_numpy_path(cpp, o, layout, dtype):
    """Rows narrower than a vector with many output channels put the lanes over the channels, in the forward
    (several blocks of columns for rows of 20, padding and dilation too) and the weight gradient (groups of kernel
    rows, batch 0 included); two threads give one thread's values bit for bit."""
    rng = np.random.default_rng(o)
    geoms = [
        Geometry((14, 14), (10, 10), (5, 5), (1, 1), (1, 1), ((0, 0), (0, 0))),  # LeNet-5's second layer
        Geometry((7, 5), (5, 5), (3, 3), (1, 1), (1, 1), ((0, 0), (1, 1))),
        Geometry((6, 20), (4, 20), (3, 3), (1, 1), (1, 2), ((0, 0), (2, 2))),
        Geometry((3, 3), (3, 3), (1, 1), (1, 1), (1, 1), ((0, 0), (0, 0))),
    ]
    for geom, n in zip(geoms, (4, 0, 3, 2)):
        x = _layout(rng.standard_normal((n, 2) + geom.size).astype(dtype), layout)
        w = _layout(rng.standard_normal((o, 2) + geom.kernel).astype(dtype), layout)
        g = _layout(rng.standard_normal((n, o) + geom.out).astype(dtype), layout)
        assert cpp._direct(w.shape, geom, 1)
        (y, gw), (y2, gw2) = on_one_and_two_threads(
            lambda: (cpp.conv(x, w, geom, 1)[0], cpp.conv_weight_grad(x, g, geom, 1))
        )
        np.testing.assert_array_equal(y, y2)
        np.testing.assert_array_equal(gw, gw2)
        _close(y, NUMPY.conv(x, w, geom, 1)[0], dtype)
        # up to 400 terms a sum, in another order than BLAS's: against exact sums, with float32's rounding
        exact = NUMPY.conv_weight_grad(x.astype(np.float64), g.astype(np.float64), geom, 1)
        np.testing.assert_allclose(gw, exact, rtol=1e-5, atol=1e-4 if dtype == "float32" else 1e-10)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_direct_conv1d_matches_numpy_path(cpp, dtype):
    rng = np.random.default_rng(0)
    geom = Geometry((37,), (35,), (5,), (1,), (1,), ((1, 1),))
    x, w = rng.standard_normal((3, 2, 37)).astype(dtype), rng.standard_normal((4, 2, 5)).astype(dtype)
    g = rng.standard_normal((3, 4, 35)).astype(dtype)
    assert cpp._direct(w.shape, geom, 1)
    _close(cpp.conv(x, w, geom, 1)[0], NUMPY.conv(x, w, geom, 1)[0], dtype)
    _close(cpp.conv_weight_grad(x, g, geom, 1), NUMPY.conv_weight_grad(x, g, geom, 1), dtype)
    _close(cpp.conv_input_grad(g, w, geom, 1), NUMPY.conv_input_grad(g, w, geom, 1), dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("o", [2, 16])  # lanes along the rows, over the channels
def test_direct_conv_past_the_row_end_stays_out(cpp, o, dtype):
    """Vector lanes (or columns of a block) past a row's last output read real input values; an inf there must
    not reach the sums."""
    geom = Geometry((3, 21), (1, 19), (3, 3), (1, 1), (1, 1), ((0, 0), (0, 0)))
    x = np.ones((2, 1) + geom.size, dtype)
    x[:, :, :, -1] = np.inf  # only the last output column's windows see it
    g = np.ones((2, o) + geom.out, dtype)
    g[:, :, :, -1] = 0
    w = np.ones((o, 1, 3, 3), dtype)
    np.testing.assert_array_equal(cpp.conv_weight_grad(x, g, geom, 1), NUMPY.conv_weight_grad(x, g, geom, 1))
    np.testing.assert_array_equal(cpp.conv(x, w, geom, 1)[0], NUMPY.conv(x, w, geom, 1)[0])


def test_direct_conv_takes_small_layers_only(cpp):
    """LeNet-5's layers go direct; ResNet's 3x3 layers, strided or grouped ones keep im2col and BLAS."""

    def geom(k, stride):
        return Geometry((14, 14), (10, 10), (k, k), (stride, stride), (1, 1), ((0, 0), (0, 0)))

    assert cpp._direct((6, 1, 5, 5), geom(5, 1), 1) and cpp._direct((16, 6, 5, 5), geom(5, 1), 1)
    assert not cpp._direct((64, 64, 3, 3), geom(3, 1), 1)
    assert not cpp._direct((6, 1, 5, 5), geom(5, 2), 1)
    assert not cpp._direct((6, 1, 3, 3), geom(3, 1), 2)
    assert not cpp._direct((6, 1, 4, 4), geom(4, 1), 1)


@settings(max_examples=40, deadline=None)
@given(geom=windows2d(pool=True), n=st.integers(1, 3), layout=LAYOUTS, dtype=DTYPES, seed=st.integers(0, 99))
def test_pool_kernels_match_numpy_path(cpp, geom, n, layout, dtype, seed):
    rng = np.random.default_rng(seed)
    # Few distinct values, so windows hold ties; a NaN now and then, which must win its windows.
    x = rng.integers(-2, 3, (n, 2) + geom.size).astype(dtype)
    if seed % 3 == 0:
        x.flat[seed % x.size] = np.nan
    x = _layout(x, layout)
    g = _layout(rng.standard_normal((n, 2) + geom.out).astype(dtype), layout)
    best, taps = cpp.max_pool2d(x, geom)
    best_ref, taps_ref = NUMPY.max_pool2d(x, geom)
    np.testing.assert_array_equal(best, best_ref)
    np.testing.assert_array_equal(taps, taps_ref)
    assert taps.dtype == np.int64
    _close(cpp.max_pool2d_backward(g, taps, geom), NUMPY.max_pool2d_backward(g, taps, geom), dtype)
    divisor = rng.integers(1, 5, geom.out).astype(dtype)
    for d in (divisor, 3):
        _close(cpp.avg_pool2d(x, geom, d), NUMPY.avg_pool2d(x, geom, d), dtype)
        _close(cpp.avg_pool2d_backward(g, geom, d), NUMPY.avg_pool2d_backward(g, geom, d), dtype)


@pytest.mark.parametrize("stride", [1, 2, 3])  # 1 and 2 take the kernels' vectorised loops, 3 the general one
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_kernels_on_long_rows_match_numpy_path(cpp, stride, dtype):
    """Rows long enough for the SIMD loops of every kernel, with ties and NaNs in the pooled input."""
    rng = np.random.default_rng(stride)
    geom = Geometry((23, 41), (out_size(23, 3, stride, 1, 1, 1), out_size(41, 3, stride, 1, 1, 1)), (3, 3),
                    (stride, stride), (1, 1), ((1, 1), (1, 1)))  # fmt: skip
    x = rng.integers(-3, 4, (2, 3) + geom.size).astype(dtype)
    x[0, 1, 5, 7:12] = np.nan
    g = rng.standard_normal((2, 3) + geom.out).astype(dtype)
    for ours, ref in zip(cpp.max_pool2d(x, geom), NUMPY.max_pool2d(x, geom)):
        np.testing.assert_array_equal(ours, ref)
    divisor = rng.integers(1, 10, geom.out).astype(dtype)
    _close(cpp.avg_pool2d(x, geom, divisor), NUMPY.avg_pool2d(x, geom, divisor), dtype)
    _close(cpp.avg_pool2d_backward(g, geom, divisor), NUMPY.avg_pool2d_backward(g, geom, divisor), dtype)
    w = rng.standard_normal((4, 3, 3, 3)).astype(dtype)
    x = np.nan_to_num(x)
    _close(cpp.conv(x, w, geom, 1)[0], NUMPY.conv(x, w, geom, 1)[0], dtype)
    g4 = rng.standard_normal((2, 4) + geom.out).astype(dtype)  # the gradient of the 4 output channels
    _close(cpp.conv_input_grad(g4, w, geom, 1), NUMPY.conv_input_grad(g4, w, geom, 1), dtype)
    _close(cpp.conv_weight_grad(x, g4, geom, 1), NUMPY.conv_weight_grad(x, g4, geom, 1), dtype)


def test_padding_never_wins_a_max_pool_window(cpp):
    x = np.full((1, 1, 3, 3), -np.inf)
    geom = Geometry((3, 3), (2, 2), (3, 3), (2, 2), (1, 1), ((1, 1), (1, 1)))
    best, taps = cpp.max_pool2d(x, geom)
    assert np.isneginf(best).all()
    np.testing.assert_array_equal(taps, NUMPY.max_pool2d(x, geom)[1])
    np.testing.assert_array_equal(taps, [[[[4, 3], [1, 0]]]])  # the first tap inside the input


# ---- batch norm ----------------------------------------------------------------------------------------
def _rows(a: np.ndarray, kind: str) -> np.ndarray:
    """``a`` (N, C, L) with the same values in another layout: strided rows, or one row broadcast (stride 0)."""
    if kind == "sliced":
        return _layout(a, "sliced")
    if kind == "channels_last":
        return np.ascontiguousarray(a.transpose(0, 2, 1)).transpose(0, 2, 1)
    if kind == "expanded":
        return np.broadcast_to(a[:, :, :1], a.shape)
    return a


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(0, 3),
    c=st.integers(1, 5),
    length=st.integers(1, 700),  # past one 256-value block of the C++ sums
    layout=st.sampled_from(["contiguous", "sliced", "channels_last", "expanded"]),
    dtype=DTYPES,
    seed=st.integers(0, 99),
)
def test_batch_norm_kernels_match_numpy_path(cpp, n, c, length, layout, dtype, seed):
    """Against the NumPy path in float64 (float32's own rounding differs between the two sums)."""
    rng = np.random.default_rng(seed)
    x = _rows((rng.standard_normal((n, c, length)) * 3 + 5).astype(dtype), layout if layout != "expanded" else "sliced")
    g = _rows(rng.standard_normal((n, c, length)).astype(dtype), layout)
    weight, bias = rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype)
    as64 = lambda *arrays: [a.astype(np.float64) for a in arrays]
    (fa, fr), (ga, gr) = TOLERANCES[dtype]
    with np.errstate(all="ignore"):  # n = 0: no values, nan statistics on both paths
        ours, ref = cpp.batch_norm(x, weight, bias, 1e-5), NUMPY.batch_norm(*as64(x, weight, bias), 1e-5)
        for a, b in zip(ours, ref):
            np.testing.assert_allclose(a, b, rtol=fr, atol=fa)
        grads = cpp.batch_norm_backward(g, x, weight, *ours[1:], 1e-5)
        for a, b in zip(grads, NUMPY.batch_norm_backward(*as64(g, x, weight, *ours[1:]), 1e-5)):
            np.testing.assert_allclose(a, b, rtol=gr, atol=ga)
    assert ours[0].shape == x.shape and grads[0].shape == x.shape and grads[1].shape == grads[2].shape == (c,)
    assert all(a.dtype == np.dtype(dtype) for a in ours + grads)


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(3, 2), (2, 3, 7), (2, 5, 9, 7), (1, 2, 3, 1, 5)])
def test_batch_norm_matches_torch(cpp, dtype, shape):
    rng = np.random.default_rng(0)
    c = shape[1]
    x = (rng.standard_normal(shape) * 2 + 3).astype(dtype)
    w, b = rng.uniform(0.5, 2, c).astype(dtype), rng.standard_normal(c).astype(dtype)

    def run(lib, x, w, b):
        running = lib.zeros(c, dtype=x.dtype), lib.ones(c, dtype=x.dtype)
        return (lib.nn.functional.batch_norm(x, *running, w, b, training=True),) + running

    check(lambda *a: run(minitorch, *a), lambda *a: run(torch, *a), x, w, b, layouts=("contiguous", "transposed"))
    check(lambda x: F.batch_norm(x, None, None, training=True),
          lambda x: torch.nn.functional.batch_norm(x, None, None, training=True), x)  # fmt: skip


def test_gradcheck_through_batch_norm(cpp):
    rng = np.random.default_rng(1)
    x, w, b = _leaf(rng, 3, 2, 4, 3), _leaf(rng, 2), _leaf(rng, 2)
    bn = lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True)
    assert minitorch.autograd.gradcheck(bn, (x, w, b))
    assert minitorch.autograd.gradgradcheck(bn, (x, w, b))  # the second order runs the tensor formula
    assert minitorch.autograd.gradcheck(lambda x: F.batch_norm(x, None, None, training=True), (x,))


@requires_extension
def test_batch_norm_bad_input_raises():
    x, ones = np.zeros((2, 3, 4), np.float32), np.ones(3, np.float32)
    with pytest.raises(ValueError, match=r"batch_norm: expected input \(N, C, L\) to have 3 dimensions"):
        _C.batch_norm(np.zeros((2, 3), np.float32), ones, ones, 1e-5)
    with pytest.raises(ValueError, match="expected weight of size 3 at dimension 0"):
        _C.batch_norm(x, np.ones(4, np.float32), ones, 1e-5)
    with pytest.raises(TypeError, match="bias of dtype float32"):
        _C.batch_norm(x, ones, np.ones(3), 1e-5)
    with pytest.raises(TypeError, match="float32 or float64"):
        _C.batch_norm(x.astype(np.int64), ones, ones, 1e-5)
    with pytest.raises(ValueError, match="weight must be contiguous"):
        _C.batch_norm(x, np.ones(6, np.float32)[::2], ones, 1e-5)
    with pytest.raises(ValueError, match="expected grad of size 4 at dimension 2"):
        _C.batch_norm_backward(np.zeros((2, 3, 5), np.float32), x, ones, ones, ones, 1e-5)
    with pytest.raises(TypeError, match="grad of dtype float32"):
        _C.batch_norm_backward(np.zeros((2, 3, 4)), x, ones, ones, ones, 1e-5)


# ---- through the public API: against PyTorch, and gradcheck in float64 -------------------------------
@requires_torch
@settings(max_examples=15, deadline=None)
@given(geom=windows2d(), groups=st.integers(1, 2), dtype=DTYPES, seed=st.integers(0, 99))
def test_conv2d_matches_torch(cpp, geom, groups, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 2 * groups) + geom.size).astype(dtype)
    w = rng.standard_normal((2 * groups, 2) + geom.kernel).astype(dtype)
    b = rng.standard_normal(2 * groups).astype(dtype)
    kw = dict(stride=geom.stride, padding=tuple(p for p, _ in geom.padding), dilation=geom.dilation, groups=groups)
    check(lambda x, w, b: F.conv2d(x, w, b, **kw), lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **kw), x, w, b,
          layouts=("contiguous", "transposed", "sliced"))  # fmt: skip


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv1d_and_transpose_match_torch(cpp, dtype):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((3, 4, 11)).astype(dtype), rng.standard_normal((6, 2, 3)).astype(dtype)
    kw = dict(stride=2, padding=1, dilation=2, groups=2)
    check(lambda x, w: F.conv1d(x, w, **kw), lambda x, w: torch.nn.functional.conv1d(x, w, **kw), x, w,
          layouts=("contiguous", "sliced"))  # fmt: skip
    x2, w2 = rng.standard_normal((2, 4, 5, 6)).astype(dtype), rng.standard_normal((4, 3, 3, 2)).astype(dtype)
    kt = dict(stride=(2, 1), padding=1, output_padding=(1, 0))
    check(lambda x, w: F.conv_transpose2d(x, w, **kt), lambda x, w: torch.nn.functional.conv_transpose2d(x, w, **kt),
          x2, w2, layouts=("contiguous", "transposed"))  # fmt: skip


@requires_torch
@settings(max_examples=15, deadline=None)
@given(geom=windows2d(pool=True), ceil=st.booleans(), include_pad=st.booleans(), dtype=DTYPES, seed=st.integers(0, 99))
def test_pooling_matches_torch(cpp, geom, ceil, include_pad, dtype, seed):
    x = np.random.default_rng(seed).standard_normal((2, 3) + geom.size).astype(dtype)
    pad = tuple(p for p, _ in geom.padding)
    mk = dict(kernel_size=geom.kernel, stride=geom.stride, padding=pad, dilation=geom.dilation, ceil_mode=ceil)
    check(lambda x: F.max_pool2d(x, **mk), lambda x: torch.nn.functional.max_pool2d(x, **mk), x,
          layouts=("contiguous", "transposed", "sliced"))  # fmt: skip
    ak = dict(kernel_size=geom.kernel, stride=geom.stride, padding=pad, ceil_mode=ceil, count_include_pad=include_pad)
    check(lambda x: F.avg_pool2d(x, **ak), lambda x: torch.nn.functional.avg_pool2d(x, **ak), x,
          layouts=("contiguous", "sliced"))  # fmt: skip


def _leaf(rng, *shape):
    return minitorch.tensor(rng.standard_normal(shape), dtype=minitorch.float64, requires_grad=True)


def test_gradcheck_through_the_kernels(cpp):
    rng = np.random.default_rng(0)
    x, w, b = _leaf(rng, 2, 4, 6, 5), _leaf(rng, 4, 2, 3, 2), _leaf(rng, 4)
    conv = lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2)
    assert minitorch.autograd.gradcheck(conv, (x, w, b))
    assert minitorch.autograd.gradgradcheck(conv, (x, w, b))
    # Distinct values, so no window has a tie (max is not differentiable at a tie).
    xp = minitorch.tensor(rng.permutation(2 * 3 * 7 * 6).reshape(2, 3, 7, 6) / 10.0, requires_grad=True)
    assert minitorch.autograd.gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), (xp,))
    assert minitorch.autograd.gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), (xp,))
    assert minitorch.autograd.gradgradcheck(lambda x: F.avg_pool2d(x, 2), (xp,))
    x1, w1 = _leaf(rng, 2, 3, 9), _leaf(rng, 2, 3, 4)
    assert minitorch.autograd.gradcheck(lambda x, w: F.conv1d(x, w, stride=2, padding=2), (x1, w1))


# ---- bad input raises, never crashes ----------------------------------------------------------------
GEOM_ARGS = (3, 3, 1, 1, 1, 1, 1, 1, 4, 4)  # kernel 3x3, stride 1, dilation 1, padding 1, output 4x4


@requires_extension
def test_wrong_dtype_raises_type_error():
    with pytest.raises(TypeError, match="float32 or float64"):
        _C.im2col(np.zeros((1, 1, 4, 4), np.int32), *GEOM_ARGS)
    g = np.zeros((1, 1, 4, 4))
    with pytest.raises(TypeError, match="taps of dtype int64"):
        _C.max_pool2d_backward(g, np.zeros((1, 1, 4, 4), np.int32), 4, 4, *GEOM_ARGS)
    with pytest.raises(TypeError, match="divisor of dtype float64"):
        _C.avg_pool2d(g, np.ones((4, 4), np.float32), *GEOM_ARGS)
    with pytest.raises(TypeError, match="weight of dtype float64"):
        _C.conv2d_direct(g, np.zeros((1, 1, 3, 3), np.float32), *GEOM_ARGS)
    with pytest.raises(TypeError, match="b of dtype float32"):
        _C.gemm(np.zeros((2, 2), np.float32), np.zeros((2, 2)))
    with pytest.raises(TypeError):
        _C.im2col([[1.0]], *GEOM_ARGS)  # not an array with 4 dims: pybind11 refuses the conversion or the rank


@requires_extension
def test_wrong_rank_and_shapes_raise_value_error():
    with pytest.raises(ValueError, match=r"im2col: expected input \(N, C, H, W\) to have 4 dimensions"):
        _C.im2col(np.zeros((4, 4)), *GEOM_ARGS)
    with pytest.raises(ValueError, match="col2im: expected columns of size 32 at dimension 1"):
        _C.col2im(np.zeros((9, 31)), 2, 4, 4, *GEOM_ARGS)
    with pytest.raises(ValueError, match="not a multiple of the kernel's taps"):
        _C.col2im(np.zeros((10, 16)), 1, 4, 4, *GEOM_ARGS)
    with pytest.raises(ValueError, match="expected taps of size 1 at dimension 1"):
        _C.max_pool2d_backward(np.zeros((1, 1, 4, 4)), np.zeros((1, 2, 4, 4), np.int64), 4, 4, *GEOM_ARGS)
    with pytest.raises(ValueError, match="divisor of size 4 at dimension 1"):
        _C.avg_pool2d(np.zeros((1, 1, 4, 4)), np.ones((4, 3)), *GEOM_ARGS)
    with pytest.raises(ValueError, match="kernel, stride and dilation must be positive"):
        _C.im2col(np.zeros((1, 1, 4, 4)), 0, 3, 1, 1, 1, 1, 0, 0, 2, 2)
    with pytest.raises(ValueError, match="expected b of size 3 at dimension 0"):
        _C.gemm(np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="conv2d_direct: only stride 1"):
        _C.conv2d_direct(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), 3, 3, 2, 2, 1, 1, 0, 0, 1, 1)
    with pytest.raises(ValueError, match="expected weight of size 2 at dimension 1"):
        _C.conv2d_direct(np.zeros((1, 2, 4, 4)), np.zeros((1, 1, 3, 3)), *GEOM_ARGS)
    with pytest.raises(ValueError, match="kernel width must be 1, 3, 5 or 7, not 2"):
        _C.conv2d_direct_weight_grad(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), 2, 2, 1, 1, 1, 1, 0, 0, 3, 3)
    with pytest.raises(ValueError, match="expected grad of size 4 at dimension 2"):
        _C.conv2d_direct_weight_grad(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 2)), *GEOM_ARGS)
    with pytest.raises(ValueError, match="not aligned"):
        _C.im2col(np.zeros(17)[1:].view("u1")[4:-4].view(np.float64).reshape(1, 1, 3, 5), *GEOM_ARGS)


@requires_extension
def test_out_of_range_geometry_and_taps_stay_in_bounds():
    """Windows far outside the input read only zeros; taps outside the kernel write nothing."""
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    cols = _C.im2col(x, 3, 3, 5, 5, 3, 3, 2, 2, 6, 6)  # windows reaching far past the input
    assert cols.shape == (9, 36) and cols.sum() <= x.sum() * 9
    gx = _C.max_pool2d_backward(np.ones((1, 1, 2, 2)), np.full((1, 1, 2, 2), 10**12, np.int64), 4, 4,
                                2, 2, 2, 2, 1, 1, 0, 0, 2, 2)  # fmt: skip
    assert not gx.any()


@requires_extension
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_teaching_gemm_matches_blas(dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((70, 130)).astype(dtype)
    b = rng.standard_normal((260, 65)).astype(dtype)[::2, ::-1]  # strided rows, reversed columns
    tol = 1e-12 if dtype == "float64" else 1e-4
    np.testing.assert_allclose(_C.gemm(a, b), a @ b, rtol=tol, atol=tol)
    np.testing.assert_allclose(_C.gemm(a.T.copy().T, b.T.copy().T), a @ b, rtol=tol, atol=tol)
