"""Dropout: the mask's structure and statistics, inverted scaling, gradients, whole-channel
variants, alpha dropout, seeding, in-place use, evaluation mode and errors (PyTorch's types)."""

import warnings

import numpy as np
import pytest

import minitorch
import minitorch.nn as nn
import minitorch.nn.functional as F

from helpers import check_raises, requires_torch, torch

TF = torch.nn.functional if torch else None


def _leaf(*shape, dtype=minitorch.float64):
    return minitorch.tensor(np.random.default_rng(0).uniform(1.0, 2.0, shape), dtype=dtype, requires_grad=True)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("dtype", [minitorch.float32, minitorch.float64])
def test_dropout_zeroes_with_probability_p_and_scales_the_rest(p, dtype):
    x = _leaf(200, 100, dtype=dtype)
    y = F.dropout(x, p)
    kept = y.detach().numpy() != 0
    assert abs(1 - kept.mean() - p) < 0.01  # 20000 draws: the dropped fraction is p to within 1%
    scale = np.float32(1) / np.float32(1 - p) if dtype is minitorch.float32 else 1 / (1 - p)
    np.testing.assert_array_equal(y.detach().numpy(), np.where(kept, x.detach().numpy() * scale, 0))
    assert y.dtype is dtype
    y.backward(minitorch.ones_like(y))
    np.testing.assert_array_equal(x.grad.numpy(), np.where(kept, scale, 0))  # the gradient is the mask


def test_dropout_keeps_the_expected_value():
    y = F.dropout(minitorch.ones(100_000, dtype=minitorch.float64), 0.3)
    assert abs(y.mean().item() - 1) < 0.01


def test_dropout_is_repeatable_with_manual_seed():
    x = minitorch.ones(50)
    minitorch.manual_seed(7)
    a = F.dropout(x)
    b = F.dropout(x)
    minitorch.manual_seed(7)
    assert minitorch.equal(a, F.dropout(x)) and not minitorch.equal(a, b)


def test_no_op_cases_return_the_input_itself():
    x = _leaf(3, 4)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert F.dropout(minitorch.ones(0, 3), 0.5).shape == (0, 3)
    assert F.alpha_dropout(x, 0.5) is x  # alpha dropout's training flag defaults to False
    for fn, shape in ((F.dropout1d, (2, 3, 4)), (F.dropout2d, (2, 3, 4, 5)), (F.dropout3d, (2, 3, 4, 5, 1))):
        assert minitorch.equal(fn(minitorch.ones(*shape), 0.5, training=False), minitorch.ones(*shape))


def test_p_equal_one_drops_everything():
    x = _leaf(3, 4)
    y = F.dropout(x, 1.0)
    assert y.tolist() == [[0.0] * 4] * 3
    y.sum().backward()
    assert x.grad.tolist() == [[0.0] * 4] * 3
    assert F.alpha_dropout(x, 1.0, True).tolist() == [[0.0] * 4] * 3


@pytest.mark.parametrize(
    "fn", [F.dropout, F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout, F.feature_alpha_dropout]
)
@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_probability_outside_0_1_is_a_value_error(fn, p):
    torch_fn = (lambda: getattr(TF, fn.__name__)(torch.ones(2, 3, 4, 5), p)) if torch else None
    check_raises(lambda: fn(minitorch.ones(2, 3, 4, 5), p), torch_fn, match="between 0 and 1")


def _channels_are_all_or_nothing(y, x, channel_dims):
    """Every channel (the leading ``channel_dims`` dims) is either dropped or all kept and scaled."""
    ratio = (y.detach().numpy() / x.detach().numpy()).reshape(*y.shape[:channel_dims], -1)
    assert (ratio == ratio[..., :1]).all()
    assert set(np.unique(ratio)) <= {0.0, 2.0}
    return ratio[..., 0]


@pytest.mark.parametrize(
    "fn, shape, channel_dims",
    [
        (F.dropout1d, (20, 30, 4), 2),
        (F.dropout1d, (30, 4), 1),
        (F.dropout2d, (20, 30, 3, 2), 2),
        (F.dropout3d, (20, 30, 2, 2, 2), 2),
        (F.dropout3d, (30, 2, 2, 2), 1),
    ],
)
def test_channel_dropout_drops_whole_channels(fn, shape, channel_dims):
    x = _leaf(*shape)
    y = fn(x, 0.5)
    keep = _channels_are_all_or_nothing(y, x, channel_dims)
    assert 0.3 < keep.mean() / 2 < 0.7
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy().reshape(*shape[:channel_dims], -1)[..., 0], keep)


def test_dropout2d_reads_3d_input_as_n_c_l_and_warns_like_torch():
    x = _leaf(20, 30, 4)
    with pytest.warns(UserWarning, match="channel-wise 1D dropout"):
        y = F.dropout2d(x, 0.5)
    _channels_are_all_or_nothing(y, x, 2)
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d"):
        F.dropout2d(_leaf(3, 4), 0.5)
    x3 = _leaf(30, 4, 5)
    with pytest.warns(UserWarning, match="Received a 3-D input to dropout3d"):
        y3 = F.dropout3d(x3, 0.5)
    _channels_are_all_or_nothing(y3, x3, 1)  # read as one unbatched (C, H, W) sample


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda F, lib: F.dropout1d(lib.ones(2, 3, 4, 5)), "Expected 2D or 3D input"),
        (lambda F, lib: F.dropout1d(lib.ones(5)), "Expected 2D or 3D input"),
        (lambda F, lib: F.dropout2d(lib.ones(5)), "at least 2 dimensions"),
        (lambda F, lib: F.feature_alpha_dropout(lib.ones(5), 0.5, True), "at least 2 dimensions"),
        (lambda F, lib: F.dropout(lib.arange(4), 0.5), ""),
    ],
)
def test_errors_match_torch(call, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_raises(lambda: call(F, minitorch), (lambda: call(TF, torch)) if torch else None, match=match)


def test_alpha_dropout_keeps_zero_mean_and_unit_variance():
    x = minitorch.randn(400_000, dtype=minitorch.float64)
    y = F.alpha_dropout(x, 0.2, training=True)
    assert abs(y.mean().item()) < 0.01 and abs(y.std().item() - 1) < 0.01
    # Kept values become a*x + b; dropped ones all take the value SELU saturates to, mapped the same way.
    alpha, p = 1.7580993408473766, 0.2
    a = 1 / np.sqrt((alpha**2 * p + 1) * (1 - p))
    xs, ys = x.numpy(), y.numpy()
    dropped = np.isclose(ys, a * -alpha + alpha * a * p, rtol=0, atol=1e-12)
    assert abs(dropped.mean() - p) < 0.01
    np.testing.assert_allclose(ys[~dropped], a * xs[~dropped] + alpha * a * p, rtol=1e-12, atol=1e-12)


def test_feature_alpha_dropout_acts_on_whole_channels():
    y = F.feature_alpha_dropout(minitorch.ones(30, 40, 3), 0.5, training=True).numpy()
    assert (y == y[..., :1]).all() and len(np.unique(y)) == 2


def test_inplace_dropout_writes_into_the_input_and_backpropagates():
    x = _leaf(20, 10)
    h = x * 1
    out = F.dropout(h, 0.5, inplace=True)
    assert out is h and h.grad_fn is not None
    h.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.where(h.detach().numpy() != 0, 2.0, 0.0))
    z = minitorch.ones(10)
    version = z._version
    F.dropout1d(z.reshape(2, 5), 0.5, inplace=True)
    assert z._version > version and set(z.tolist()) <= {0.0, 2.0}
    leaf = minitorch.ones(3, requires_grad=True)
    check_raises(
        lambda: F.dropout(leaf, 0.5, inplace=True),
        (lambda: TF.dropout(torch.ones(3, requires_grad=True), 0.5, inplace=True)) if torch else None,
        match="leaf Variable",
    )


# ---- layers ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "cls, shape", [("Dropout", (40, 50)), ("Dropout1d", (40, 50, 2)), ("Dropout2d", (40, 50, 2, 2)), ("Dropout3d", (40, 5, 2, 2, 2))]
)  # fmt: skip
def test_dropout_layers_drop_in_training_only(cls, shape):
    layer = getattr(nn, cls)(0.25)
    x = minitorch.ones(*shape)
    y = layer(x)
    assert set(np.unique(y.numpy())) == {0.0, np.float32(1) / np.float32(0.75)}
    layer.eval()
    assert minitorch.equal(layer(x), x)


def test_alpha_dropout_layers():
    x = minitorch.randn(30, 40, 3)
    for layer in (nn.AlphaDropout(0.3), nn.FeatureAlphaDropout(0.3)):
        assert not minitorch.equal(layer(x), x)
        assert minitorch.equal(layer.eval()(x), x)


def test_inplace_layer():
    x = minitorch.ones(100)
    assert nn.Dropout(0.5, inplace=True)(x) is x and set(x.tolist()) == {0.0, 2.0}


@pytest.mark.parametrize(
    "cls", ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"]
)
def test_layer_probability_check(cls):
    check_raises(
        lambda: getattr(nn, cls)(1.5), (lambda: getattr(torch.nn, cls)(1.5)) if torch else None, "between 0 and 1"
    )


@requires_torch
@pytest.mark.parametrize(
    "expr",
    ["Dropout()", "Dropout(0.2, True)", "Dropout1d()", "Dropout2d(0.1)", "Dropout3d()", "AlphaDropout(0.2)", "FeatureAlphaDropout()"],
)  # fmt: skip
def test_layer_repr_matches_torch(expr):
    assert repr(eval("nn." + expr)) == repr(eval("torch.nn." + expr))
