"""Winograd's F(2x2, 3x3) convolution (csrc/cpu/winograd.cpp): each transform and each transform's transpose (for
the weight gradient) against its formula in NumPy, the routed convolution and its gradients against the NumPy path,
im2col and PyTorch, gradcheck through it, which layers take it, and bad input.

Integer-valued inputs keep every sum exact (the transforms scale by 1/2 at most), so those checks need no
tolerance. On normal values the check is Winograd's error bound: each output mixes its tile's 16 inputs in the
transforms, so its rounding error is bounded by the layer's scale, max(|x| * |w| convolved), not its own size.
The ``winograd`` fixture routes every qualifying layer, however few its tiles, to Winograd (a threshold of 0 tiles
per channel); in training (``keep``) the forward keeps its transformed input V for the weight gradient.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch
import minitorch.nn.functional as F
from minitorch.backends import cpu
from minitorch.backends.windows import Geometry

from cpp_kernels import _C, LAYOUTS, NUMPY, Spy, layout, requires_extension
from helpers import TOLERANCES, check, requires_torch, torch, with_layout

# The F(2x2, 3x3) matrices (Lavin and Gray, 2015): U = G g Gᵀ, V = Bᵀ d B, y = Aᵀ (U ⊙ V) A.
G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]])
AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]])


def _tiles(n: int) -> int:
    return (n + 1) // 2


def weight_formula(w: np.ndarray) -> np.ndarray:
    """U (16, C, O) from w (O, C, 3, 3)."""
    return np.einsum("ai,ocij,bj->abco", G, w, G).reshape((16,) + w.shape[1::-1])


def input_formula(x: np.ndarray, top: int, left: int, oh: int, ow: int) -> np.ndarray:
    """V (16, N * tiles, C) from x (N, C, H, W): the 4x4 patch of each 2x2 output tile, zero outside x."""
    n, c, h, w = x.shape
    th, tw = _tiles(oh), _tiles(ow)
    padded = np.zeros((n, c, 2 * th + 2 + h + top, 2 * tw + 2 + w + left), x.dtype)  # room for every patch
    padded[:, :, top : top + h, left : left + w] = x
    patches = np.lib.stride_tricks.sliding_window_view(padded, (4, 4), axis=(2, 3))[:, :, : 2 * th : 2, : 2 * tw : 2]
    return np.einsum("ai,ncyxij,bj->abnyxc", BT, patches, BT).reshape(16, n * th * tw, c)


def output_formula(m: np.ndarray, n: int, oh: int, ow: int) -> np.ndarray:
    """y (N, O, oh, ow) from M (16, N * tiles, O), each tile's rows and columns past oh and ow dropped."""
    th, tw = _tiles(oh), _tiles(ow)
    tiles = m.reshape(4, 4, n, th, tw, m.shape[-1])
    y = np.einsum("ai,ijnyxo,bj->noyaxb", AT, tiles, AT).reshape(n, m.shape[-1], 2 * th, 2 * tw)
    return y[:, :, :oh, :ow]


def output_grad_formula(g: np.ndarray) -> np.ndarray:
    """dM (16, N * tiles, O) from g (N, O, oh, ow): A dY Aᵀ per 2x2 tile dY, zero past oh and ow (the kernel
    returns its transpose, dMᵀ)."""
    n, o, oh, ow = g.shape
    th, tw = _tiles(oh), _tiles(ow)
    padded = np.zeros((n, o, 2 * th, 2 * tw), g.dtype)
    padded[:, :, :oh, :ow] = g
    return np.einsum("ia,noyixj,jb->abnyxo", AT, padded.reshape(n, o, th, 2, tw, 2), AT).reshape(16, n * th * tw, o)


def weight_grad_formula(du: np.ndarray) -> np.ndarray:
    """gw (O, C, 3, 3) from dU (16, C, O): Gᵀ dU G per channel pair."""
    return np.einsum("ai,abco,bj->ocij", G, du.reshape((4, 4) + du.shape[1:]), G)


def winograd_conv(x: np.ndarray, w: np.ndarray, geom: Geometry) -> np.ndarray:
    """The three kernels around the product, as CpuBackend chains them."""
    (top, _), (left, _) = geom.padding
    return _C.winograd_output(_C.winograd_input(x, top, left, *geom.out) @ _C.winograd_weight(w), len(x), *geom.out)


def assert_within_bound(actual: np.ndarray, expected: np.ndarray, x: np.ndarray, w: np.ndarray, geom: Geometry):
    """|actual - expected| <= 16 eps max(|x| conv |w|) (the worst seen over 3,000 random layers was 5 eps)."""
    scale = NUMPY.conv(np.abs(x).astype(np.float64), np.abs(w).astype(np.float64), geom, 1)[0].max(initial=0)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=16 * np.finfo(actual.dtype).eps * scale)


@pytest.fixture(scope="module")
def winograd(cpp):
    """CpuBackend with the C++ kernels on and every stride-1 3x3 layer not taken by the direct kernel routed to
    Winograd, however few its tiles."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cpu, "_WINOGRAD_MIN_TILES_PER_CHANNEL", 0)
        yield cpp


@st.composite
def winograd_windows(draw) -> Geometry:
    """A stride-1 3x3 geometry over 1 to 13 rows and columns, each side padded by 0, 1 or 2 (asymmetric too)."""
    pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(2))
    size = tuple(draw(st.integers(max(1, 3 - before - after), 13)) for before, after in pads)
    out = tuple(s + before + after - 2 for s, (before, after) in zip(size, pads))
    return Geometry(size, out, (3, 3), (1, 1), (1, 1), pads)


DEFAULT_TILES_PER_CHANNEL = cpu._WINOGRAD_MIN_TILES_PER_CHANNEL  # before the fixture lowers it
DTYPES = st.sampled_from(["float32", "float64"])
# A memory layout from cpp_kernels.LAYOUTS and the dim it steps, reverses or broadcasts (modulo the rank).
VIEWS = st.tuples(st.sampled_from(LAYOUTS), st.integers(0, 3))


def _view(a: np.ndarray, view) -> np.ndarray:
    kind, dim = view
    return layout(a, kind, dim % a.ndim)


def _integers(rng: np.random.Generator, shape, dtype: str, view=("contiguous", 0)) -> np.ndarray:
    return _view(rng.integers(-4, 5, shape).astype(dtype), view)


def _row_major_blocks(a):
    """Whether each a[i] is row-major, a whole block apart or more: the 16 matrices of U, V and dMᵀ are a cache
    line further apart than their size (``Streams`` in winograd.cpp), the other results contiguous."""
    return all(b.flags.c_contiguous for b in a[:2]) and a.strides[0] >= a[0].nbytes


# ---- each transform against its formula, and the three chained against the NumPy path -----------------------
@requires_extension
@settings(max_examples=40, deadline=None)
@given(
    geom=winograd_windows(),
    n=st.integers(1, 3),
    c=st.integers(1, 4),
    o=st.integers(1, 4),
    views=st.tuples(VIEWS, VIEWS, VIEWS),
    dtype=DTYPES,
    seed=st.integers(0, 99),
)
def test_transforms_match_their_formulas(geom, n, c, o, views, dtype, seed):
    rng = np.random.default_rng(seed)
    (top, _), (left, _) = geom.padding
    x = _integers(rng, (n, c) + geom.size, dtype, views[0])
    w = _integers(rng, (o, c, 3, 3), dtype, views[1])
    m = _integers(rng, (16, n * _tiles(geom.out[0]) * _tiles(geom.out[1]), o), dtype, views[2])
    for ours, formula in [
        (_C.winograd_weight(w), weight_formula(w)),
        (_C.winograd_input(x, top, left, *geom.out), input_formula(x, top, left, *geom.out)),
        (_C.winograd_output(m, n, *geom.out), output_formula(m, n, *geom.out)),
    ]:
        assert ours.dtype == np.dtype(dtype) and _row_major_blocks(ours)
        np.testing.assert_array_equal(ours, formula)
    np.testing.assert_array_equal(winograd_conv(x, w, geom), NUMPY.conv(x, w, geom, 1)[0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@requires_extension
def test_transforms_of_an_empty_batch(dtype):
    x, w = np.zeros((0, 3, 5, 4), dtype), np.ones((2, 3, 3, 3), dtype)
    geom = Geometry((5, 4), (5, 4), (3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)))
    assert _C.winograd_input(x, 1, 1, 5, 4).shape == (16, 0, 3)
    assert winograd_conv(x, w, geom).shape == (0, 2, 5, 4)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@requires_extension
def test_transformed_matrices_lie_a_cache_line_apart(dtype):
    """At ResNet's power-of-two sizes, U's, V's and dMᵀ's 16 matrices start 64 bytes past each other's end (so
    that their writes do not share an L1 set); BLAS takes them as it would contiguous ones."""
    x, g, w = np.ones((8, 64, 16, 16), dtype), np.ones((8, 32, 16, 16), dtype), np.ones((32, 64, 3, 3), dtype)
    u, v, dmt = _C.winograd_weight(w), _C.winograd_input(x, 1, 1, 16, 16), _C.winograd_output_grad(g)
    for a in (u, v, dmt):
        assert a.strides[0] == a[0].nbytes + 64 and _row_major_blocks(a)
    np.testing.assert_array_equal(dmt @ v, np.ascontiguousarray(dmt) @ np.ascontiguousarray(v))
    np.testing.assert_array_equal(v @ u, np.ascontiguousarray(v) @ np.ascontiguousarray(u))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@requires_extension
def test_tiles_past_the_input_see_zeros(dtype):
    """Padding wider than the kernel's reach, and an output bigger than the input: the patches past x read zeros."""
    x = np.arange(1, 13, dtype=dtype).reshape(1, 1, 3, 4)
    v = _C.winograd_input(x, 5, 6, 11, 13)
    np.testing.assert_array_equal(v, input_formula(x, 5, 6, 11, 13))
    assert np.count_nonzero(v) < v.size // 4  # most tiles lie outside


# ---- the transposes, for the weight gradient in the Winograd domain ------------------------------------
@requires_extension
@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 3),
    c=st.integers(1, 5),
    o=st.integers(1, 5),
    out=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    views=st.tuples(VIEWS, VIEWS),
    dtype=DTYPES,
    seed=st.integers(0, 99),
)
def test_gradient_transforms_match_their_formulas_and_are_transposes(n, c, o, out, views, dtype, seed):
    rng = np.random.default_rng(seed)
    g = _integers(rng, (n, o) + out, dtype, views[0])
    du = _integers(rng, (16, c, o), dtype, views[1])
    dm, gw = _C.winograd_output_grad(g).swapaxes(1, 2), _C.winograd_weight_grad(du)  # dMᵀ comes out row-major
    for ours, formula in [(dm.swapaxes(1, 2), output_grad_formula(g).swapaxes(1, 2)), (gw, weight_grad_formula(du))]:
        assert ours.dtype == np.dtype(dtype) and _row_major_blocks(ours)
        np.testing.assert_array_equal(ours, formula)
    # <output(M), g> = <M, output_grad(g)> and <weight(w), dU> = <w, weight_grad(dU)>, exactly on integers
    m, w = _integers(rng, dm.shape, dtype), _integers(rng, (o, c, 3, 3), dtype)
    assert np.vdot(_C.winograd_output(m, n, *out), g) == np.vdot(m, dm)
    assert np.vdot(_C.winograd_weight(w), du) == np.vdot(w, gw)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@requires_extension
def test_gradient_transforms_of_empty_arrays(dtype):
    assert _C.winograd_output_grad(np.zeros((0, 3, 5, 4), dtype)).shape == (16, 3, 0)
    assert _C.winograd_output_grad(np.zeros((2, 3, 0, 4), dtype)).shape == (16, 3, 0)
    assert _C.winograd_weight_grad(np.zeros((16, 0, 2), dtype)).shape == (2, 0, 3, 3)
    np.testing.assert_array_equal(_C.winograd_weight_grad(np.zeros((16, 2, 0), dtype)), np.zeros((0, 2, 3, 3)))


# ---- the routed convolution ---------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(geom=winograd_windows(), n=st.integers(1, 3), view=VIEWS, dtype=DTYPES, seed=st.integers(0, 99))
def test_routed_conv_matches_numpy_path(winograd, geom, n, view, dtype, seed):
    rng = np.random.default_rng(seed)
    c, o = rng.integers(23, 27, 2)  # past _DIRECT_MAX_WEIGHT (4,096 weights), so Winograd takes the layer
    x, w = _integers(rng, (n, c) + geom.size, dtype, view), _integers(rng, (o, c, 3, 3), dtype, view)
    g = _integers(rng, (n, o) + geom.out, dtype, view)
    assert winograd._winograd(n, w.shape, geom, 1) and not winograd._direct(w.shape, geom, 1)
    y, saved = winograd.conv(x, w, geom, 1)
    assert saved is None  # no weight gradient wanted: nothing kept
    np.testing.assert_array_equal(y, NUMPY.conv(x, w, geom, 1)[0])
    y_kept, kept = winograd.conv(x, w, geom, 1, keep=True)
    assert isinstance(kept, cpu._Transformed) and kept.v.shape == (16, n * _tiles(geom.out[0]) * _tiles(geom.out[1]), c)
    np.testing.assert_array_equal(y_kept, y)
    np.testing.assert_array_equal(winograd.conv_input_grad(g, w, geom, 1), NUMPY.conv_input_grad(g, w, geom, 1))
    expected = NUMPY.conv_weight_grad(x, g, geom, 1)
    for saved in (kept, None):  # the forward's V, or one the weight gradient makes
        gw = winograd.conv_weight_grad(x, g, geom, 1, saved)
        assert gw.dtype == np.dtype(dtype) and gw.shape == (o, c, 3, 3)
        np.testing.assert_array_equal(gw, expected)


@settings(max_examples=25, deadline=None)
@given(geom=winograd_windows(), n=st.integers(1, 3), view=VIEWS, dtype=DTYPES, seed=st.integers(0, 99))
def test_routed_conv_on_normal_values_is_within_the_bound(winograd, geom, n, view, dtype, seed):
    rng = np.random.default_rng(seed)
    x = _view(rng.standard_normal((n, 24) + geom.size).astype(dtype), view)
    w = _view(rng.standard_normal((24, 24, 3, 3)).astype(dtype), view)
    g = _view(rng.standard_normal((n, 24) + geom.out).astype(dtype), view)
    as64 = lambda a: a.astype(np.float64)
    assert_within_bound(winograd.conv(x, w, geom, 1)[0], NUMPY.conv(as64(x), as64(w), geom, 1)[0], x, w, geom)
    full = cpu._full_convolution(geom)
    turned = w[:, :, ::-1, ::-1].swapaxes(0, 1)
    assert_within_bound(winograd.conv_input_grad(g, w, geom, 1), NUMPY.conv_input_grad(as64(g), as64(w), geom, 1),
                        g, turned, full)  # fmt: skip


@requires_torch
@settings(max_examples=15, deadline=None)
@given(
    size=st.tuples(st.integers(1, 13), st.integers(1, 13)),
    padding=st.sampled_from([0, 1, 2, "same"]),
    n=st.integers(1, 3),
    dtype=DTYPES,
    seed=st.integers(0, 99),
)
def test_conv2d_matches_torch(winograd, size, padding, n, dtype, seed):
    pad = 1 if padding == "same" else padding
    size = tuple(max(s, 3 - 2 * pad) for s in size)
    rng = np.random.default_rng(seed)
    # 8 x 64 x 3 x 3 weights, past the direct kernel's limit, scaled as He initialisation would
    x, b = rng.standard_normal((n, 64) + size).astype(dtype), rng.standard_normal(8).astype(dtype)
    w = (rng.standard_normal((8, 64, 3, 3)) / 24).astype(dtype)
    geom = Geometry(size, tuple(s + 2 * pad - 2 for s in size), (3, 3), (1, 1), (1, 1), ((pad, pad),) * 2)
    scale = NUMPY.conv(np.abs(x).astype(np.float64), np.abs(w).astype(np.float64), geom, 1)[0].max()
    tol = 16 * np.finfo(dtype).eps * scale  # the bound above; the gradients keep the guide's tolerances
    mt_conv = lambda x, w, b: F.conv2d(x, w, b, padding=padding)
    th_conv = lambda x, w, b: torch.nn.functional.conv2d(x, w, b, padding=padding)
    layouts = ("contiguous", "transposed", "sliced")
    check(mt_conv, th_conv, x, w, b, layouts=layouts, atol=tol, rtol=0)  # training: the forward keeps V
    frozen = with_layout(w, "transposed", requires_grad=False)  # a weight with no gradient: Winograd forward
    check(lambda x, b: mt_conv(x, frozen, b), lambda x, b: th_conv(x, torch.tensor(w), b), x, b, layouts=layouts,
          atol=tol, rtol=0)  # fmt: skip


def test_gradcheck_through_winograd(winograd, monkeypatch):
    spy = Spy()
    monkeypatch.setattr(cpu, "_C", spy)
    rng = np.random.default_rng(0)
    leaf = lambda *shape: minitorch.tensor(rng.standard_normal(shape), dtype=minitorch.float64, requires_grad=True)
    x, w, b = leaf(2, 8, 5, 4), leaf(64, 8, 3, 3), leaf(64)  # past the direct kernel's 4,096 weights
    conv = lambda x, w, b: F.conv2d(x, w, b, padding=1)
    assert minitorch.autograd.gradcheck(conv, (x, w, b))
    assert minitorch.autograd.gradgradcheck(conv, (x, w, b), fast_mode=True)
    frozen = w.detach()  # no weight gradient: the forward runs Winograd too
    assert minitorch.autograd.gradcheck(lambda x, b: conv(x, frozen, b), (x, b))
    assert minitorch.autograd.gradgradcheck(lambda x, b: conv(x, frozen, b), (x, b))
    assert {"winograd_input", "winograd_output", "winograd_output_grad", "winograd_weight_grad"} <= set(spy.called)


@settings(max_examples=20, deadline=None)
@given(geom=winograd_windows(), n=st.integers(1, 3), view=VIEWS, dtype=DTYPES, seed=st.integers(0, 99))
def test_weight_grad_on_normal_values_matches_im2col(winograd, geom, n, view, dtype, seed):
    """Within Winograd's bound of the float64 NumPy path; and next to the im2col + BLAS route's own rounding."""
    rng = np.random.default_rng(seed)
    x = _view(rng.standard_normal((n, 24) + geom.size).astype(dtype), view)
    w = rng.standard_normal((24, 24, 3, 3)).astype(dtype)
    g = _view(rng.standard_normal((n, 24) + geom.out).astype(dtype), view)
    _, saved = winograd.conv(x, w, geom, 1, keep=True)
    gw = winograd.conv_weight_grad(x, g, geom, 1, saved)
    as64 = lambda a: a.astype(np.float64)
    expected = NUMPY.conv_weight_grad(as64(x), as64(g), geom, 1)
    # Each weight's gradient correlates x with g over the batch: its scale is that of |x| with |g|.
    scale = NUMPY.conv_weight_grad(np.abs(as64(x)), np.abs(as64(g)), geom, 1).max(initial=0)
    np.testing.assert_allclose(gw, expected, rtol=0, atol=16 * np.finfo(dtype).eps * scale)
    columns = cpu._Columns(cpu._columns(np.ascontiguousarray(x), geom, 1))  # what an im2col forward keeps
    np.testing.assert_allclose(winograd.conv_weight_grad(x, g, geom, 1, columns), expected, rtol=0,
                               atol=16 * np.finfo(dtype).eps * scale)  # fmt: skip


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_weight_grad_matches_torch(winograd, monkeypatch, dtype):
    """Training: the forward keeps V, and the weight's gradient comes from it, as PyTorch's would."""
    spy = Spy()
    monkeypatch.setattr(cpu, "_C", spy)
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((3, 32, 7, 6)).astype(dtype), (rng.standard_normal((40, 32, 3, 3)) / 17).astype(dtype)
    xt, wt = minitorch.tensor(x, requires_grad=True), minitorch.tensor(w, requires_grad=True)
    F.conv2d(xt, wt, padding=1).sum().backward()
    x_th, w_th = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    torch.nn.functional.conv2d(x_th, w_th, padding=1).sum().backward()
    (_, fr), (ga, gr) = TOLERANCES[dtype]
    scale = float(np.abs(x).sum(axis=(0, 2, 3)).max())  # each gradient sums some of x's values
    np.testing.assert_allclose(wt.grad.numpy(), w_th.grad.numpy(), rtol=gr, atol=16 * np.finfo(dtype).eps * scale)
    np.testing.assert_allclose(xt.grad.numpy(), x_th.grad.numpy(), rtol=gr, atol=ga)
    assert spy.called.count("winograd_input") == 2  # the forward's and the input gradient's: V is reused
    assert spy.called.count("winograd_weight_grad") == 1 and "im2col" not in spy.called


# ---- which layers take it ---------------------------------------------------------------------------
def _spied_conv(backend, monkeypatch, x_shape, w_shape, geom, groups=1, keep=False):
    """Runs the forward and the input gradient; returns how many times each called _C.winograd_input."""
    spy = Spy()
    monkeypatch.setattr(cpu, "_C", spy)
    x, w = np.ones(x_shape, np.float32), np.ones(w_shape, np.float32)
    y, _ = backend.conv(x, w, geom, groups, keep)
    forward = spy.called.count("winograd_input")
    backend.conv_input_grad(np.ones_like(y), w, geom, groups)
    return forward, spy.called.count("winograd_input") - forward


def _geom(size, stride=1, dilation=1, padding=1):
    out = (size + 2 * padding - dilation * 2 - 1) // stride + 1
    return Geometry((size, size), (out, out), (3, 3), (stride,) * 2, (dilation,) * 2, ((padding, padding),) * 2)


def test_winograd_takes_stride_1_3x3_layers_only(winograd, monkeypatch):
    assert _spied_conv(winograd, monkeypatch, (2, 32, 6, 6), (32, 32, 3, 3), _geom(6)) == (1, 1)
    assert _spied_conv(winograd, monkeypatch, (2, 32, 6, 6), (32, 32, 3, 3), _geom(6, stride=2)) == (0, 0)
    assert _spied_conv(winograd, monkeypatch, (2, 32, 6, 6), (32, 32, 3, 3), _geom(6, dilation=2, padding=2)) == (0, 0)
    assert _spied_conv(winograd, monkeypatch, (2, 32, 6, 6), (32, 16, 3, 3), _geom(6), groups=2) == (0, 0)
    assert _spied_conv(winograd, monkeypatch, (2, 4, 6, 6), (4, 4, 3, 3), _geom(6)) == (0, 0)  # small: direct
    # Padding past the kernel's reach: the input gradient is no stride-1 convolution of g (GEMM + col2im).
    assert _spied_conv(winograd, monkeypatch, (2, 32, 6, 6), (32, 32, 3, 3), _geom(6, padding=3)) == (1, 0)
    # In training too: the forward keeps V for the weight gradient.
    assert _spied_conv(winograd, monkeypatch, (2, 32, 6, 6), (32, 32, 3, 3), _geom(6), keep=True) == (1, 1)


def test_weight_grad_reuses_v_and_honours_columns(winograd, monkeypatch):
    """The weight gradient takes the forward's V; with nothing saved it makes V; columns from an im2col forward
    (kept while the threshold routed the layer elsewhere) are used as they are."""
    geom, x, g = _geom(6), np.ones((2, 32, 6, 6), np.float32), np.ones((2, 32, 6, 6), np.float32)
    _, saved = winograd.conv(x, np.ones((32, 32, 3, 3), np.float32), geom, 1, keep=True)
    columns = cpu._Columns(cpu._columns(x, geom, 1))
    for kept, calls in [(saved, ["winograd_output_grad", "winograd_weight_grad"]),
                        (None, ["winograd_input", "winograd_output_grad", "winograd_weight_grad"]),
                        (columns, [])]:  # fmt: skip
        spy = Spy()
        monkeypatch.setattr(cpu, "_C", spy)
        gw = winograd.conv_weight_grad(x, g, geom, 1, kept)
        assert spy.called == calls
        np.testing.assert_array_equal(gw, NUMPY.conv_weight_grad(x, g, geom, 1))


def test_the_default_threshold_takes_resnets_big_layers(cpp, monkeypatch):
    """At the measured threshold ResNet-18's stride-1 3x3 layers at 16x16 and 8x8 (batch 8) take Winograd; the
    ones at 4x4 and 2x2, with too few tiles for the products, stay with im2col and BLAS."""
    monkeypatch.setattr(cpu, "_WINOGRAD_MIN_TILES_PER_CHANNEL", DEFAULT_TILES_PER_CHANNEL)
    for size, channels, routed in [(16, 64, True), (8, 128, True), (4, 256, False), (2, 512, False)]:
        assert cpp._winograd(8, (channels,) * 2 + (3, 3), _geom(size), 1) == routed
        assert _spied_conv(cpp, monkeypatch, (8, channels, size, size), (channels,) * 2 + (3, 3), _geom(size)) == (
            (1, 1) if routed else (0, 0)
        )


# ---- bad input raises, never crashes -------------------------------------------------------------------
@requires_extension
def test_wrong_dtype_raises_type_error():
    with pytest.raises(TypeError, match="winograd_weight: expected a float32 or float64 array"):
        _C.winograd_weight(np.zeros((2, 2, 3, 3), np.int32))
    with pytest.raises(TypeError, match="winograd_input: expected a float32 or float64 array"):
        _C.winograd_input(np.zeros((1, 1, 4, 4), np.float16), 1, 1, 4, 4)
    with pytest.raises(TypeError, match="winograd_output: expected a float32 or float64 array"):
        _C.winograd_output(np.zeros((16, 4, 1), np.int64), 1, 4, 4)
    with pytest.raises(TypeError, match="winograd_output_grad: expected a float32 or float64 array"):
        _C.winograd_output_grad(np.zeros((1, 2, 4, 4), np.int32))
    with pytest.raises(TypeError, match="winograd_weight_grad: expected a float32 or float64 array"):
        _C.winograd_weight_grad(np.zeros((16, 2, 2), np.float16))
    with pytest.raises(TypeError):
        _C.winograd_weight_grad(None)
    with pytest.raises(TypeError):
        _C.winograd_input("not an array", 1, 1, 4, 4)


@requires_extension
def test_wrong_rank_and_shapes_raise_value_error():
    with pytest.raises(ValueError, match=r"winograd_weight: expected weight \(O, C, 3, 3\) to have 4 dimensions"):
        _C.winograd_weight(np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match="winograd_weight: expected weight of size 3 at dimension 3"):
        _C.winograd_weight(np.zeros((2, 2, 3, 5)))
    with pytest.raises(ValueError, match=r"winograd_input: expected input \(N, C, H, W\) to have 4 dimensions"):
        _C.winograd_input(np.zeros((1, 4, 4)), 1, 1, 4, 4)
    with pytest.raises(ValueError, match="padding and output size must be non-negative"):
        _C.winograd_input(np.zeros((1, 1, 4, 4)), -1, 1, 4, 4)
    with pytest.raises(ValueError, match="winograd_output: expected transformed output of size 16 at dimension 0"):
        _C.winograd_output(np.zeros((9, 4, 2)), 1, 4, 4)
    with pytest.raises(ValueError, match="winograd_output: expected transformed output of size 8 at dimension 1"):
        _C.winograd_output(np.zeros((16, 4, 2)), 2, 4, 4)  # 2 samples of 2x2 tiles
    with pytest.raises(ValueError, match="batch size must be non-negative"):
        _C.winograd_output(np.zeros((16, 0, 2)), -1, 4, 4)
    with pytest.raises(ValueError, match="not aligned"):
        _C.winograd_weight(np.zeros(11)[1:].view("u1")[4:-4].view(np.float64).reshape(1, 1, 3, 3))
    with pytest.raises(ValueError, match=r"winograd_output_grad: expected output gradient \(N, O, oh, ow\) to have 4"):
        _C.winograd_output_grad(np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match=r"winograd_weight_grad: expected .* \(16, C, O\) to have 3"):
        _C.winograd_weight_grad(np.zeros((16, 4)))
    with pytest.raises(ValueError, match="winograd_weight_grad: expected .* of size 16 at dimension 0"):
        _C.winograd_weight_grad(np.zeros((9, 2, 2)))
    with pytest.raises(ValueError, match="not aligned"):
        _C.winograd_output_grad(np.zeros(11)[1:].view("u1")[4:-4].view(np.float64).reshape(1, 1, 3, 3))
