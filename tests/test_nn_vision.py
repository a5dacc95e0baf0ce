"""pad, interpolate, unfold/fold and pixel_shuffle against PyTorch, plus first and second derivatives."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitorch
import minitorch.nn.functional as F

from helpers import LAYOUTS, check, check_raises, grads_ok, leaf64, requires_torch, torch
from strategies import floats

TF = torch.nn.functional if torch is not None else None


def _both(name, **kwargs):
    return (lambda *xs: getattr(F, name)(*xs, **kwargs)), (lambda *xs: getattr(TF, name)(*xs, **kwargs))


# ---- pad ------------------------------------------------------------------------------------------------
@requires_torch
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple),
    pads=st.lists(st.integers(-2, 3), min_size=2, max_size=6),
    value=st.sampled_from([None, 0.0, 2.5]),
)
def test_constant_pad_matches_torch_including_negative_crops(shape, pads, value):
    pads = pads[: 2 * min(len(pads) // 2, len(shape))]
    pairs = zip(pads[::2], pads[1::2], reversed(shape))
    if any(n + min(b, 0) + min(a, 0) < 0 or n + b + a < 0 for b, a, n in pairs):
        return  # cropping more than there is: an error, tested below
    check(*_both("pad", pad=pads, value=value), floats(shape, seed=1), layouts=LAYOUTS)


@requires_torch
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    "shape,pads",
    [
        ((2, 5), (2, 3)),
        ((2, 3, 5), (1, 2)),
        ((2, 3, 4, 5), (1, 2, 3, 0)),
        ((1, 2, 4, 5), (-1, 2, 2, -2)),
        ((2, 3, 4, 4), (3, 3, 3, 3)),
        ((1, 2, 3, 4, 3), (1, 1, 2, 0, 0, 2)),
    ],
)
def test_non_constant_pad_modes_match_torch(mode, shape, pads):
    if mode == "reflect" and max(pads) >= min(shape[-len(pads) // 2 :]):
        pads = tuple(min(p, 1) for p in pads)
    check(*_both("pad", pad=pads, mode=mode), floats(shape, seed=1), layouts=("contiguous", "transposed"))


def test_pad_grad_fn_and_integer_dtype():
    x = minitorch.arange(6).reshape(2, 3)
    y = F.pad(x, (1, 1), value=7)
    assert y.dtype is minitorch.int64 and y.tolist() == [[7, 0, 1, 2, 7], [7, 3, 4, 5, 7]]
    assert type(F.pad(minitorch.ones(2, requires_grad=True), (1, 1)).grad_fn).__name__ == "ConstantPadNdBackward0"


@requires_torch
def test_pad_errors_match_torch():
    x = np.zeros((2, 3, 4, 4), np.float32)

    def both(f, match):
        check_raises(lambda: f(F, minitorch.tensor), lambda: f(TF, torch.tensor), match)

    both(lambda f, t: f.pad(t(x), (1, 1, 1)), "Padding length must be divisible by 2")
    both(lambda f, t: f.pad(t(x), (1, 1), mode="reflect"), "Padding size 2 is not supported for 4D input")
    both(
        lambda f, t: f.pad(t(x), (4, 4, 0, 0), mode="reflect"),
        "Padding size should be less than the corresponding input dimension",
    )
    both(lambda f, t: f.pad(t(x), (1, 1), mode="wrap"), "padding mode")
    both(lambda f, t: f.pad(t(x), (-3, -2)), "negative output size")
    both(lambda f, t: f.pad(t(x), (2, -5)), "negative output size")
    both(lambda f, t: f.pad(t(x), (5, 5, 0, 0), mode="circular"), "wrapping around more than once")


# ---- interpolate -----------------------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "bilinear", "area"])
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(scale_factor=2),
        dict(size=(5, 11)),
        dict(scale_factor=1.7),
        dict(size=(3, 4)),
        dict(scale_factor=(0.6, 2.3)),
        dict(size=1),
    ],
)
def test_interpolate_2d_matches_torch(mode, kwargs):
    check(
        *_both("interpolate", mode=mode, **kwargs), floats((2, 3, 7, 6), seed=1), layouts=("contiguous", "transposed")
    )


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "kwargs",
    [dict(size=(13, 4)), dict(scale_factor=0.5, recompute_scale_factor=True), dict(size=(1, 3)), dict(scale_factor=3)],
)
def test_bilinear_align_corners_and_dtypes(dtype, kwargs):
    x = floats((2, 2, 5, 6), dtype, seed=1)
    for align in (False, True):
        check(*_both("interpolate", mode="bilinear", align_corners=align, **kwargs), x)


@requires_torch
def test_interpolate_1d_and_3d():
    check(*_both("interpolate", size=13, mode="linear", align_corners=True), floats((2, 3, 7), seed=1))
    check(*_both("interpolate", scale_factor=1.5, mode="linear"), floats((2, 3, 7), seed=1))
    check(*_both("interpolate", scale_factor=2, mode="nearest"), floats((2, 3, 7), seed=1))
    check(*_both("interpolate", size=(3, 5, 2), mode="trilinear"), floats((1, 2, 4, 3, 3), seed=1))


@requires_torch
def test_interpolate_errors_match_torch():
    x = np.zeros((2, 3, 4, 4), np.float32)

    def both(f, match):
        check_raises(lambda: f(F, minitorch.tensor), lambda: f(TF, torch.tensor), match)

    both(lambda f, t: f.interpolate(t(x), mode="bilinear"), "either size or scale_factor should be defined")
    both(lambda f, t: f.interpolate(t(x), size=3, scale_factor=2), "only one of size or scale_factor")
    both(
        lambda f, t: f.interpolate(t(x), size=3, mode="nearest", align_corners=True),
        "align_corners option can only be set",
    )
    both(lambda f, t: f.interpolate(t(x), size=3, mode="linear"), "linear mode needs 3D input")
    both(lambda f, t: f.interpolate(t(x), size=3, mode="cubic"), "cubic")


# ---- unfold / fold / pixel_shuffle ------------------------------------------------------------------------
@requires_torch
@given(
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
)
def test_unfold_and_fold_match_torch(kernel, dilation, padding, stride):
    kwargs = dict(kernel_size=kernel, dilation=dilation, padding=padding, stride=stride)
    size = (7, 6)
    blocks = [(n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, d, p, s in zip(size, kernel, dilation, padding, stride)]
    if min(blocks) < 1:
        return
    check(*_both("unfold", **kwargs), floats((2, 3) + size, seed=1), layouts=("contiguous", "transposed"))
    cols = floats((2, 3 * kernel[0] * kernel[1], blocks[0] * blocks[1]), seed=2)
    check(*_both("fold", output_size=size, **kwargs), cols, layouts=("contiguous", "transposed"))


@requires_torch
def test_unfold_fold_unbatched_and_errors():
    check(*_both("unfold", kernel_size=2), floats((3, 4, 5), seed=1))
    check(*_both("fold", output_size=(3, 4), kernel_size=2), floats((8, 6), seed=1))
    x = np.zeros((2, 12, 12), np.float32)
    check_raises(
        lambda: F.fold(minitorch.tensor(x), (8, 8), 3),
        lambda: TF.fold(torch.tensor(x), (8, 8), 3),
        "divisible by the product of kernel_size",
    )
    check_raises(
        lambda: F.fold(minitorch.tensor(x), (8, 8), 2), lambda: TF.fold(torch.tensor(x), (8, 8), 2), "sliding blocks"
    )
    assert type(F.unfold(minitorch.ones(1, 1, 3, 3, requires_grad=True), 2).grad_fn).__name__ == "Im2ColBackward0"


@requires_torch
def test_pixel_shuffle_and_unshuffle_match_torch():
    check(*_both("pixel_shuffle", upscale_factor=2), floats((2, 8, 3, 3), seed=1), layouts=("contiguous", "transposed"))
    check(*_both("pixel_unshuffle", downscale_factor=2), floats((2, 2, 4, 6), seed=1))
    check(*_both("pixel_shuffle", upscale_factor=3), floats((9, 2, 2), seed=1))
    x = np.zeros((2, 3, 4, 4), np.float32)
    check_raises(
        lambda: F.pixel_shuffle(minitorch.tensor(x), 2),
        lambda: TF.pixel_shuffle(torch.tensor(x), 2),
        "divisible by the square",
    )


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: F.pad(x, (1, -1, 2, 0), value=0.5),
        lambda x: F.pad(x, (2, 1, 1, 2), mode="reflect"),
        lambda x: F.pad(x, (2, 1, 1, 2), mode="circular"),
        lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear"),
        lambda x: F.interpolate(x, size=(3, 7), mode="nearest"),
        lambda x: F.fold(F.unfold(x, 2, padding=1, stride=(1, 2)), (3, 4), 2, padding=1, stride=(1, 2)),
        lambda x: F.pixel_shuffle(x.reshape(2, 4, 3, 2), 2),
    ],
)
def test_gradcheck_and_gradgradcheck(fn):
    grads_ok(fn, leaf64(2, 2, 3, 4))
