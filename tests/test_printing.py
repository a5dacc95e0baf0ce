"""repr(tensor) must match PyTorch's character for character (with ``minitorch.`` for ``torch.``)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minitorch

from helpers import requires_torch, torch

pytestmark = requires_torch

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


@pytest.fixture(autouse=True)
def _default_printoptions():
    yield
    minitorch.set_printoptions(profile="default")
    torch.set_printoptions(profile="default")
    torch.set_default_dtype(torch.float32)


def torch_repr(t) -> str:
    return repr(t).replace("torch.", "minitorch.")


def same_repr(mt: minitorch.Tensor, th) -> bool:
    """Equal reprs, except where a suffix moves to a new line: "dtype=minitorch.x" is longer than torch's."""
    ours, theirs = repr(mt), torch_repr(th)
    if "dtype=" in theirs:
        ours, theirs = (re.sub(r",\s+(?=[a-z_]+=)", ", ", s) for s in (ours, theirs))
    return ours == theirs


def assert_same_repr(array: np.ndarray, **kwargs) -> None:
    mt = minitorch.tensor(array, **kwargs)
    th = torch.tensor(array, **{k: getattr(torch, v.name) if k == "dtype" else v for k, v in kwargs.items()})
    assert same_repr(mt, th), f"{mt!r} != torch's\n{th!r}"


def set_both(**options) -> None:
    minitorch.set_printoptions(**options)
    torch.set_printoptions(**options)


# Floats at many scales, with a few nans/infs/zeros mixed in, so every format mode is reached.
SCALES = st.sampled_from([1e-12, 1e-5, 1e-3, 0.1, 1.0, 7.0, 1e3, 1e5, 1e9, 1e30])
SPECIAL = st.sampled_from([0.0, -0.0, float("nan"), float("inf"), -float("inf"), 1.0, -2.0, 0.5])
shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)


@st.composite
def float_arrays(draw, dtype="float32", shape=shapes):
    shape = draw(shape)
    base = draw(hnp.arrays(np.float64, shape, elements=st.floats(-10, 10, allow_nan=False)))
    if draw(st.booleans()):  # whole numbers trigger the "1." format
        base = np.round(base)
    base = base * draw(SCALES)
    if base.size and draw(st.booleans()):
        flat = base.reshape(-1)
        for i in draw(st.lists(st.integers(0, flat.size - 1), max_size=3)):
            flat[i] = draw(SPECIAL)
    with np.errstate(over="ignore"):
        return base.astype(dtype)


@given(float_arrays(), st.sampled_from(["float16", "float32", "float64"]))
def test_floats_match_torch(array, dtype):
    with np.errstate(over="ignore"):
        assert_same_repr(array.astype(dtype))


@given(st.sampled_from(DTYPES[:6]), shapes, st.data())
def test_integers_and_bools_match_torch(dtype, shape, data):
    if dtype == "bool":
        elements = st.booleans()
    else:
        info = np.iinfo(dtype)
        elements = st.integers(max(info.min, -(10**6)), min(info.max, 10**12))
    assert_same_repr(data.draw(hnp.arrays(dtype, shape, elements=elements)))


@given(float_arrays(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=40)))
def test_wrapping_and_summarization_match_torch(array):
    set_both(threshold=50)
    assert_same_repr(array)
    set_both(threshold=50, edgeitems=2, linewidth=40)
    assert_same_repr(array)


@given(float_arrays(), st.integers(0, 6), st.sampled_from([None, True, False]))
def test_options_match_torch(array, precision, sci_mode):
    set_both(precision=precision, sci_mode=sci_mode)
    assert_same_repr(array)


def test_profiles_match_torch():
    array = np.arange(1200, dtype=np.float32) / 7
    for profile in ["short", "full", "default"]:
        set_both(profile=profile)
        assert_same_repr(array)
        assert_same_repr(array.reshape(30, 40))


def test_set_printoptions_without_sci_mode_resets_it():
    minitorch.set_printoptions(sci_mode=True)
    assert repr(minitorch.tensor([1.5])) == "tensor([1.5000e+00])"
    minitorch.set_printoptions(precision=4)
    assert repr(minitorch.tensor([1.5])) == "tensor([1.5000])"


def test_unknown_profile_says_which_exist():
    with pytest.raises(ValueError, match="'default', 'short' or 'full'"):
        minitorch.set_printoptions(profile="long")


def test_zero_edgeitems_prints_size_like_torch():
    set_both(threshold=5, edgeitems=0)
    for array in [np.arange(10.0), np.arange(24).reshape(2, 3, 4)]:
        assert_same_repr(array)


@pytest.mark.parametrize(
    "array, expected",
    [
        ([1.0, 2.0, 3.0], "tensor([1., 2., 3.])"),
        ([1.5, 2.0], "tensor([1.5000, 2.0000])"),
        ([[1, 2], [3, 4]], "tensor([[1, 2],\n        [3, 4]])"),
        (3.0, "tensor(3.)"),
        ([1e-5, 1e5], "tensor([1.0000e-05, 1.0000e+05])"),
        ([True, False], "tensor([ True, False])"),
        ([float("nan"), float("inf"), -1.0], "tensor([nan, inf, -1.])"),
    ],
)
def test_common_cases(array, expected):
    assert repr(minitorch.tensor(array)) == expected


def test_dtype_suffix():
    assert repr(minitorch.tensor([1, 2], dtype=minitorch.int32)) == "tensor([1, 2], dtype=minitorch.int32)"
    assert repr(minitorch.tensor([1.0], dtype=minitorch.float64)) == "tensor([1.], dtype=minitorch.float64)"
    assert repr(minitorch.tensor([1.0], dtype=minitorch.float16)) == "tensor([1.], dtype=minitorch.float16)"
    assert repr(minitorch.tensor(7)) == "tensor(7)"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(0,), (0, 3), (2, 0, 1)])
def test_empty_tensors_match_torch(dtype, shape):
    assert_same_repr(np.zeros(shape, dtype=dtype))


def test_default_dtype_changes_which_dtype_is_printed():
    minitorch.set_default_dtype(minitorch.float64)
    torch.set_default_dtype(torch.float64)
    for dtype in ["float32", "float64"]:
        assert_same_repr(np.array([1.25, 2.0], dtype=dtype))
        assert_same_repr(np.zeros((0,), dtype=dtype))


def test_autograd_suffixes_match_torch():
    values = np.arange(6.0).reshape(2, 3)
    mt = minitorch.tensor(values, requires_grad=True)
    th = torch.tensor(values, requires_grad=True)
    assert repr(mt) == torch_repr(th)
    assert repr(mt * 2) == torch_repr(th * 2)
    assert repr((mt * 2).exp()) == torch_repr((th * 2).exp())
    assert repr(mt.float()) == torch_repr(th.float())


def test_long_suffixes_wrap_like_torch():
    values = np.linspace(-1, 1, 36).reshape(4, 9)
    mt, th = minitorch.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    assert repr(mt) == torch_repr(th)
    assert repr(mt * 3) == torch_repr(th * 3)
    mt = minitorch.tensor(values, dtype=minitorch.float64) * 3
    assert same_repr(mt, torch.tensor(values, dtype=torch.float64) * 3)


def test_suffix_wraps_by_our_own_length():
    """A suffix goes to its own line when the line would pass 80 characters, measured on our text."""
    t = minitorch.full((1, 5), -0.001, dtype=minitorch.float16)
    assert repr(t) == "tensor([[-0.0010, -0.0010, -0.0010, -0.0010, -0.0010]],\n       dtype=minitorch.float16)"
    t = minitorch.full((1, 4), -0.001, dtype=minitorch.float16)
    assert repr(t) == "tensor([[-0.0010, -0.0010, -0.0010, -0.0010]], dtype=minitorch.float16)"


@given(float_arrays(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=5)))
def test_non_contiguous_views_match_torch(array):
    mt, th = minitorch.tensor(array), torch.tensor(array)
    assert repr(mt.transpose(0, -1)) == torch_repr(th.transpose(0, -1))
    assert repr(mt.narrow(-1, 1, 1)) == torch_repr(th.narrow(-1, 1, 1))
    assert repr(mt.expand(2, *array.shape)) == torch_repr(th.expand(2, *array.shape))


def test_str_is_repr():
    t = minitorch.tensor([1.0, 2.0])
    assert str(t) == repr(t) == f"{t}"


@pytest.mark.cuda
def test_cuda_device_suffix():
    t = minitorch.tensor([1.0, 2.0], device="cuda")
    assert repr(t) == "tensor([1., 2.], device='cuda:0')"
    t = minitorch.tensor([1, 2], dtype=minitorch.int32, device="cuda", requires_grad=False)
    assert repr(t) == "tensor([1, 2], device='cuda:0', dtype=minitorch.int32)"
