"""Loss functions and loss modules against PyTorch: values, gradients, edge cases, errors, reprs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitorch
import minitorch.nn as nn
import minitorch.nn.functional as F

from helpers import LAYOUTS, TEST_DEVICE, both, check, check_raises, grads_ok, requires_torch, torch
from strategies import away_from, broadcastable_pair, floats, shapes

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # kl_div 'mean' and size mismatches warn, as in torch

REDUCTIONS = ("none", "mean", "sum")


def fn(lib):
    """``torch.nn.functional`` or ``minitorch.nn.functional``."""
    return lib.nn.functional


def class_problem(shape, n_classes, seed=0, ignore=()):
    """Scores of ``shape`` with classes in dim 1, integer targets, some set to the ignore values."""
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal(shape)
    target_shape = (shape[0],) + tuple(shape[2:]) if len(shape) > 1 else ()
    target = rng.integers(0, n_classes, size=target_shape)
    for i, v in enumerate(ignore):
        if target.size > i:
            target.reshape(-1)[i] = v
    return scores, target


# ---- regression losses ---------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@given(shape=shapes(max_dims=3), reduction=st.sampled_from(REDUCTIONS))
def test_regression_losses_match_torch(name, reduction, dtype, shape):
    x = floats(shape, dtype, seed=1)
    # keep input - target away from the kinks at 0 and at +-beta/delta (1.0 and 0.5 below)
    y = (x - away_from(away_from(away_from(floats(shape, dtype, seed=2), (0.0,)), (-1.0, 1.0)), (-0.5, 0.5))).astype(
        dtype
    )
    kw = {"delta": 0.5} if name == "huber_loss" else {"beta": 1.0} if name == "smooth_l1_loss" else {}
    check(*both(lambda lib, a, b: getattr(fn(lib), name)(a, b, reduction=reduction, **kw)), x, y, layouts=LAYOUTS)


@requires_torch
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
@given(pair=broadcastable_pair(min_side=1))
def test_regression_losses_broadcast_and_warn_like_torch(name, pair):
    x, y = floats(pair[0], seed=3), floats(pair[1], seed=4) + 0.05
    check(*both(lambda lib, a, b: getattr(fn(lib), name)(a, b)), x, y)
    if pair[0] != pair[1]:
        with pytest.warns(UserWarning, match="target size"):
            getattr(F, name)(minitorch.tensor(x), minitorch.tensor(y))


@requires_torch
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_elementwise_weights_match_torch(name, reduction):
    x, y, w = floats((3, 4), seed=5), floats((3, 4), seed=6), floats((3, 4), low=0.1, high=2.0, seed=7)
    check(*both(lambda lib, a, b, c: getattr(fn(lib), name)(a, b, reduction=reduction, weight=c)), x, y, w)
    check_raises(
        lambda: getattr(F, name)(
            minitorch.tensor(x), minitorch.tensor(y), weight=minitorch.ones(4, dtype=minitorch.float64)
        ),
        lambda: getattr(torch.nn.functional, name)(torch.tensor(x), torch.tensor(y), weight=torch.ones(4).double()),
        match="same size",
    )


@requires_torch
@pytest.mark.parametrize("beta", [0.0, 0.3, 2.0])
def test_smooth_l1_beta_and_huber_delta(beta):
    x, y = floats((4, 5), seed=8), floats((4, 5), seed=9)
    check(*both(lambda lib, a, b: fn(lib).smooth_l1_loss(a, b, beta=beta)), x, y)
    if beta:
        check(*both(lambda lib, a, b: fn(lib).huber_loss(a, b, delta=beta)), x, y)


@requires_torch
def test_regression_losses_on_empty_and_scalar_inputs():
    for shape in [(0,), (), (2, 0, 3)]:
        for red in REDUCTIONS:
            check(*both(lambda lib, a, b: fn(lib).mse_loss(a, b, reduction=red)), floats(shape), floats(shape, seed=1))


# ---- cross entropy and nll --------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(
    smoothing=st.sampled_from([0.0, 0.25]),
    weighted=st.booleans(),
    n=st.integers(0, 4),
    n_classes=st.integers(1, 5),
    spatial=st.lists(st.integers(1, 3), max_size=2),
    ignore_index=st.sampled_from([-100, 0, 2]),
)
def test_cross_entropy_class_indices_match_torch(reduction, smoothing, weighted, n, n_classes, spatial, ignore_index):
    shape = (n, n_classes, *spatial)
    x, t = class_problem(shape, n_classes, ignore=(ignore_index,))
    w = np.random.default_rng(1).uniform(0.5, 2.0, n_classes)

    def loss(lib, a, b):
        weight = lib.tensor(w, device=a.device) if weighted else None
        return fn(lib).cross_entropy(
            a, b, weight=weight, ignore_index=ignore_index, reduction=reduction, label_smoothing=smoothing
        )

    check(*both(loss), x, t)


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_float32_and_layouts(dtype, reduction):
    x, t = class_problem((6, 5), 5, ignore=(-100,))
    check(
        *both(lambda lib, a, b: fn(lib).cross_entropy(a, b, reduction=reduction)), x.astype(dtype), t, layouts=LAYOUTS
    )
    x4, t4 = class_problem((2, 3, 4, 2), 3)
    check(
        *both(lambda lib, a, b: fn(lib).cross_entropy(a, b, reduction=reduction, label_smoothing=0.1)),
        x4.astype(dtype),
        t4,
    )


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_single_sample_and_byte_targets(reduction, smoothing):
    x = floats((5,))
    check(
        *both(lambda lib, a, b: fn(lib).cross_entropy(a, b, reduction=reduction, label_smoothing=smoothing)),
        x,
        np.array(3),
    )
    xb, tb = class_problem((4, 3), 3)
    check(*both(lambda lib, a, b: fn(lib).cross_entropy(a, b, reduction=reduction)), xb, tb.astype(np.uint8))


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 4), (3,)])
def test_cross_entropy_class_probabilities_match_torch(reduction, smoothing, shape):
    x = floats(shape, seed=1)
    p = np.random.default_rng(2).dirichlet(np.ones(3), size=int(np.prod(shape)) // 3)
    p = np.moveaxis(p.reshape((shape[0],) + shape[2:] + (3,)), -1, 1) if len(shape) > 1 else p.reshape(shape)
    w = np.array([0.5, 1.0, 2.0])
    for weight in (None, w):
        check(
            *both(
                lambda lib, a, b: fn(lib).cross_entropy(
                    a,
                    b,
                    weight=None if weight is None else lib.tensor(weight, device=a.device),
                    reduction=reduction,
                    label_smoothing=smoothing,
                )
            ),
            x,
            p,
        )


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(5, 4), (2, 4, 3), (2, 4, 2, 2), (4,)])
def test_nll_loss_matches_torch(reduction, shape):
    w = np.array([0.3, 1.0, 2.0, 0.7])
    for ignore_index in (-100, 1):
        x, t = class_problem(shape, 4, ignore=(ignore_index,) if len(shape) > 1 else ())
        for weight in (None, w):
            check(
                *both(
                    lambda lib, a, b: fn(lib).nll_loss(
                        a,
                        b,
                        weight=None if weight is None else lib.tensor(weight, device=a.device),
                        ignore_index=ignore_index,
                        reduction=reduction,
                    )
                ),
                x,
                t,
            )


@requires_torch
def test_cross_entropy_when_every_target_is_ignored():
    x, _ = class_problem((3, 4), 4)
    t = np.full(3, -100)
    for red in REDUCTIONS:
        for smoothing in (0.0, 0.1):
            check(*both(lambda lib, a, b: fn(lib).cross_entropy(a, b, reduction=red, label_smoothing=smoothing)), x, t)


@requires_torch
def test_cross_entropy_is_one_node_named_like_torch():
    x, t = class_problem((3, 4), 4)
    out = F.cross_entropy(minitorch.tensor(x, requires_grad=True), minitorch.tensor(t))
    ref = torch.nn.functional.cross_entropy(torch.tensor(x, requires_grad=True), torch.tensor(t))
    assert out.grad_fn.name() == ref.grad_fn.name() == "NllLossBackward0"


@requires_torch
def test_cross_entropy_label_smoothing_negative_is_ignored_like_torch():
    x, t = class_problem((3, 4), 4)
    check(*both(lambda lib, a, b: fn(lib).cross_entropy(a, b, label_smoothing=-0.2)), x, t)


# ---- binary and distribution losses -----------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@given(shape=shapes(max_dims=3), reduction=st.sampled_from(REDUCTIONS))
def test_binary_cross_entropy_matches_torch(reduction, dtype, shape):
    p = floats(shape, dtype, low=0.02, high=0.98, seed=1)
    y = floats(shape, dtype, low=0.0, high=1.0, seed=2)
    check(*both(lambda lib, a, b: fn(lib).binary_cross_entropy(a, b, reduction=reduction)), p, y, layouts=LAYOUTS)
    w = floats(shape[-1:], dtype, low=0.1, high=2.0, seed=3)
    check(
        *both(
            lambda lib, a, b: fn(lib).binary_cross_entropy(
                a, b, weight=lib.tensor(w, device=a.device), reduction=reduction
            )
        ),
        p,
        y,
    )


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@given(
    shape=shapes(min_dims=1, max_dims=3),
    reduction=st.sampled_from(REDUCTIONS),
    weighted=st.booleans(),
    pos_weighted=st.booleans(),
)
def test_binary_cross_entropy_with_logits_matches_torch(reduction, dtype, shape, weighted, pos_weighted):
    x = floats(shape, dtype, low=-6.0, high=6.0, seed=1)
    y = floats(shape, dtype, low=0.0, high=1.0, seed=2)
    weight = floats(shape[-1:], dtype, low=0.1, high=2.0, seed=3) if weighted else None
    pos_weight = floats(shape[-1:], dtype, low=0.1, high=3.0, seed=4) if pos_weighted else None
    check(
        *both(
            lambda lib, a, b: fn(lib).binary_cross_entropy_with_logits(
                a,
                b,
                weight=None if weight is None else lib.tensor(weight, device=a.device),
                pos_weight=None if pos_weight is None else lib.tensor(pos_weight, device=a.device),
                reduction=reduction,
            )
        ),
        x,
        y,
        layouts=LAYOUTS,
    )


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS + ("batchmean",))
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 2), (5,), ()])
def test_kl_div_matches_torch(reduction, log_target, shape):
    x = np.log(floats(shape, low=0.05, high=1.0, seed=1))
    y = floats(shape, low=0.05, high=1.0, seed=2)
    y = np.log(y) if log_target else y
    check(*both(lambda lib, a, b: fn(lib).kl_div(a, b, reduction=reduction, log_target=log_target)), x, y)


@requires_torch
def test_kl_div_zero_targets_count_zero():
    """0 * log 0 counts 0; the value and the input's gradient match torch (torch's target gradient there is nan)."""
    x = np.log(floats((2, 4), low=0.1, high=1.0))
    y = np.array([[0.0, 0.5, 0.5, 0.0], [1.0, 0.0, 0.0, 0.0]])
    check(*both(lambda lib, a: fn(lib).kl_div(a, lib.tensor(y, device=a.device), reduction="batchmean")), x)
    t = minitorch.tensor(y, requires_grad=True)
    F.kl_div(minitorch.tensor(x), t, reduction="sum").backward()
    assert np.isfinite(t.grad.numpy()).all()


# ---- margin and embedding losses ----------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(n=st.integers(0, 5), d=st.integers(1, 4), margin=st.sampled_from([0.0, 0.3]))
def test_margin_losses_match_torch(reduction, n, d, margin):
    rng = np.random.default_rng(n * 10 + d)
    y = rng.choice([-1.0, 1.0], size=n)
    a, b = floats((n,), seed=1), floats((n,), seed=2) + 0.01  # ranking: keep the hinge away from its kink
    check(*both(lambda lib, x: fn(lib).soft_margin_loss(x, lib.tensor(y, device=x.device), reduction=reduction)), a)
    check(
        *both(lambda lib, x1, x2, t: fn(lib).margin_ranking_loss(x1, x2, t, margin=margin, reduction=reduction)),
        a,
        b,
        y,
    )
    u, v = floats((n, d), seed=3), floats((n, d), seed=4)
    labels = rng.choice([-1, 0, 1], size=n)  # 0 is neither: it contributes nothing, as in torch
    check(
        *both(
            lambda lib, x1, x2: fn(lib).cosine_embedding_loss(
                x1, x2, lib.tensor(labels, device=x1.device), margin, reduction=reduction
            )
        ),
        u,
        v,
    )


@requires_torch
@pytest.mark.parametrize("p", [1, 2, 3])
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_triplet_margin_loss_matches_torch(p, swap, reduction):
    for shape in [(5, 4), (4,)]:
        a, pos, neg = floats(shape, seed=1), floats(shape, seed=2), floats(shape, seed=3)
        check(
            *both(
                lambda lib, x, y, z: fn(lib).triplet_margin_loss(
                    x, y, z, margin=2.0, p=p, swap=swap, reduction=reduction
                )
            ),
            a,
            pos,
            neg,
        )


@requires_torch
def test_cosine_embedding_single_pair_and_zero_vectors():
    for label in (1, -1):
        check(
            *both(lambda lib, x1, x2: fn(lib).cosine_embedding_loss(x1, x2, lib.tensor(label, device=x1.device))),
            floats((4,)),
            floats((4,), seed=1),
        )
    zero = minitorch.zeros(2, 3, dtype=minitorch.float64, requires_grad=True)
    loss = F.cosine_embedding_loss(zero, minitorch.tensor(floats((2, 3))), minitorch.tensor([1, -1]))
    loss.backward()
    assert loss.item() == 0.5 and np.isfinite(zero.grad.numpy()).all()  # cos(0, v) = 0: loss (1 + 0) / 2


def test_soft_margin_loss_stays_finite_for_extreme_scores():
    x = minitorch.tensor([1e4, -1e4, 30.0], dtype=minitorch.float64, requires_grad=True)
    y = minitorch.tensor([1.0, 1.0, -1.0], dtype=minitorch.float64)
    loss = F.soft_margin_loss(x, y, reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), np.logaddexp(0, -x.detach().numpy() * y.numpy()), rtol=1e-15)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, -1.0, 1 / (1 + np.exp(-30.0))], rtol=1e-15)


def test_gradcheck_margin_losses():
    a, b, c = (leaf(floats((3, 4), seed=i)) for i in range(3))
    y = minitorch.tensor([1.0, -1.0, 1.0], dtype=minitorch.float64)
    grads_ok(lambda x: F.soft_margin_loss(x, minitorch.ones(3, 4, dtype=minitorch.float64)), a)
    grads_ok(lambda x1, x2: F.cosine_embedding_loss(x1, x2, y.long(), margin=-1.0), a, b)
    grads_ok(lambda x, p, n: F.triplet_margin_loss(x, p, n, margin=5.0), a, b, c)
    grads_ok(lambda x1, x2: F.margin_ranking_loss(x1[:, 0], x2[:, 0], y, margin=10.0), a, b)


@requires_torch
def test_margin_loss_errors_match_torch():
    v = lambda lib, *s: lib.tensor(floats(s))  # noqa: E731
    cases = [
        (lambda lib: fn(lib).margin_ranking_loss(v(lib, 3), v(lib, 3), v(lib, 3, 1)), "same dimension"),
        (lambda lib: fn(lib).cosine_embedding_loss(v(lib, 3, 2), v(lib, 3, 2), v(lib, 3, 1)), "multi-target"),
        (lambda lib: fn(lib).cosine_embedding_loss(v(lib, 3), v(lib, 3), v(lib, 3)), "2D input"),
        (lambda lib: fn(lib).triplet_margin_loss(v(lib, 3, 2), v(lib, 3, 2), v(lib, 2)), "same number of dimensions"),
        (lambda lib: fn(lib).triplet_margin_loss(v(lib, 2), v(lib, 2), v(lib, 2), margin=0.0), "greater than 0"),
        (lambda lib: lib.nn.TripletMarginLoss(margin=-1.0), "greater than 0"),
        (
            lambda lib: fn(lib).soft_margin_loss(v(lib, 2), lib.ones(2, dtype=lib.float64, requires_grad=True)),
            "not differentiable",
        ),
    ]
    for make, match in cases:
        check_raises(lambda: make(minitorch), lambda: make(torch), match=match)


# ---- numerical stability ----------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_extreme_logits_stay_finite_and_match_torch(dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0], [0.0, 0.0, -1e4]], dtype=dtype)
    t = np.array([1, 1, 2])
    for smoothing in (0.0, 0.1):
        for red in REDUCTIONS:
            check(*both(lambda lib, a, b: fn(lib).cross_entropy(a, b, reduction=red, label_smoothing=smoothing)), x, t)
    logits = np.array([1e4, -1e4, 0.0, 1e4, -1e4, 50.0, -50.0], dtype=dtype)
    labels = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.3, 0.7], dtype=dtype)
    pw = np.full(7, 2.5, dtype=dtype)
    for pos_weight in (None, pw):
        check(
            *both(
                lambda lib, a, b: fn(lib).binary_cross_entropy_with_logits(
                    a,
                    b,
                    pos_weight=None if pos_weight is None else lib.tensor(pos_weight, device=a.device),
                    reduction="sum",
                )
            ),
            logits,
            labels,
            grad=True,
        )
    out = F.cross_entropy(minitorch.tensor(x, requires_grad=True), minitorch.tensor(t))
    assert np.isfinite(out.item())


@requires_torch
def test_binary_cross_entropy_at_zero_and_one_is_clamped_like_torch():
    p = np.array([0.0, 1.0, 0.5, 0.0, 1.0])
    y = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
    check(*both(lambda lib, a: fn(lib).binary_cross_entropy(a, lib.tensor(y, device=a.device), reduction="sum")), p)


# ---- gradcheck ----------------------------------------------------------------------------------------
def leaf(values):
    return minitorch.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def test_gradcheck_regression_losses():
    x = leaf(floats((2, 3), seed=1))
    y = leaf(floats((2, 3), seed=2) + 0.05)
    for name in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
        grads_ok(lambda a, b: getattr(F, name)(a, b, reduction="sum"), x, y)
    grads_ok(lambda a, b: F.mse_loss(a, b, weight=minitorch.ones(2, 3, dtype=minitorch.float64) * 2), x, y)


def test_gradcheck_cross_entropy_and_nll():
    x = leaf(floats((3, 4, 2), seed=1))
    t = minitorch.tensor([[0, 3], [-100, 1], [2, 2]])
    w = minitorch.tensor([0.5, 1.0, 2.0, 1.5], dtype=minitorch.float64)
    for red in REDUCTIONS:
        grads_ok(lambda a: F.cross_entropy(a, t, weight=w, reduction=red, label_smoothing=0.2), x)
        grads_ok(lambda a: F.nll_loss(a, t, weight=w, reduction=red), x)
    p = leaf(np.random.default_rng(0).dirichlet(np.ones(4), size=3))
    grads_ok(lambda a, b: F.cross_entropy(a, b, label_smoothing=0.1), leaf(floats((3, 4))), p)


def test_gradcheck_binary_and_kl():
    p = leaf(floats((2, 3), low=0.1, high=0.9, seed=1))
    y = leaf(floats((2, 3), low=0.0, high=1.0, seed=2))
    grads_ok(lambda a, b: F.binary_cross_entropy(a, b), p, y)
    x = leaf(floats((2, 3), seed=3))
    pw = minitorch.tensor([1.0, 2.0, 0.5], dtype=minitorch.float64)
    grads_ok(lambda a, b: F.binary_cross_entropy_with_logits(a, b, pos_weight=pw), x, y)
    grads_ok(lambda a, b: F.kl_div(a, b, reduction="batchmean"), x, leaf(floats((2, 3), low=0.1, high=1.0)))
    grads_ok(lambda a, b: F.kl_div(a, b, reduction="sum", log_target=True), x, y)


# ---- errors ---------------------------------------------------------------------------------------
def pair(lib, x, t):
    return lib.tensor(x), lib.tensor(t)


@requires_torch
def test_class_target_errors_match_torch():
    x, t = class_problem((3, 4), 4)
    cases = [
        (lambda lib: fn(lib).cross_entropy(*pair(lib, x, t.astype(np.int32))), "Long or Byte"),
        (lambda lib: fn(lib).cross_entropy(*pair(lib, x, t.astype(np.float32))), "Long or Byte"),
        (lambda lib: fn(lib).cross_entropy(*pair(lib, x, np.array([0, 1, 4]))), "out of bounds"),
        (lambda lib: fn(lib).cross_entropy(*pair(lib, x, np.array([0, -1, 2]))), "out of bounds"),
        (lambda lib: fn(lib).nll_loss(*pair(lib, x, np.array([0, 1, 9]))), "out of bounds"),
        (lambda lib: fn(lib).cross_entropy(*pair(lib, x, np.array([0, 1]))), "batch_size"),
        (lambda lib: fn(lib).cross_entropy(*pair(lib, x, np.zeros((3, 1), np.int64))), "multi-target"),
        (lambda lib: fn(lib).cross_entropy(*pair(lib, np.zeros((2, 3, 4)), np.zeros((2, 5), np.int64))), "target size"),
        (lambda lib: fn(lib).cross_entropy(*pair(lib, x, t), weight=lib.ones(3, dtype=lib.float64)), "all 4 classes"),
        (
            lambda lib: fn(lib).cross_entropy(
                *pair(lib, x.astype(np.float32), t), weight=lib.ones(4, dtype=lib.float64)
            ),
            "Double",
        ),
        (lambda lib: fn(lib).cross_entropy(*pair(lib, x, t), label_smoothing=1.5), "label_smoothing"),
        (lambda lib: fn(lib).cross_entropy(*pair(lib, x, t), reduction="avg"), "not a valid value for reduction"),
        (lambda lib: fn(lib).cross_entropy(*pair(lib, x, np.zeros((3, 4), np.int64))), "floating point type"),
        (lambda lib: fn(lib).cross_entropy(*pair(lib, x, np.ones((3, 4)) / 4), ignore_index=1), "ignore_index"),
        (lambda lib: fn(lib).cross_entropy(*pair(lib, x.astype(np.int64), t)), "not implemented for 'Long'"),
        (lambda lib: fn(lib).nll_loss(*pair(lib, np.array(1.0), np.array(0))), "dimensions"),
        (
            lambda lib: fn(lib).cross_entropy(
                *pair(lib, x, t), weight=lib.ones(4, dtype=lib.float64, requires_grad=True)
            ),
            "not differentiable",
        ),
    ]
    for make, match in cases:
        check_raises(lambda: make(minitorch), lambda: make(torch), match=match)


@requires_torch
def test_other_loss_errors_match_torch():
    p, y = floats((3,), low=0.1, high=0.9), floats((3,), low=0.0, high=1.0)
    cases = [
        (lambda lib: fn(lib).binary_cross_entropy(lib.tensor([1.5]), lib.tensor([1.0])), "between 0 and 1"),
        (lambda lib: fn(lib).binary_cross_entropy(lib.tensor(p), lib.tensor(y).reshape(3, 1)), "target size"),
        (lambda lib: fn(lib).binary_cross_entropy(lib.tensor(p), lib.tensor(y).float()), "Found dtype Float"),
        (
            lambda lib: fn(lib).binary_cross_entropy_with_logits(lib.tensor(p), lib.tensor(y).reshape(3, 1)),
            "Target size",
        ),
        (lambda lib: fn(lib).binary_cross_entropy_with_logits(lib.tensor(p), lib.ones(3, dtype=lib.long)), "cast"),
        (
            lambda lib: fn(lib).binary_cross_entropy_with_logits(
                lib.tensor(p), lib.tensor(y), pos_weight=lib.ones(3, dtype=lib.float64, requires_grad=True)
            ),
            "not differentiable",
        ),
        (
            lambda lib: fn(lib).binary_cross_entropy(
                lib.tensor(p), lib.tensor(y), weight=lib.ones(3, dtype=lib.float64, requires_grad=True)
            ),
            "not differentiable",
        ),
        (lambda lib: fn(lib).mse_loss(lib.tensor(p), lib.tensor(y), reduction="batchmean"), "not a valid value"),
        (lambda lib: fn(lib).kl_div(lib.tensor(p), lib.tensor(y), reduction="bad"), "not a valid value"),
        (lambda lib: fn(lib).mse_loss(lib.tensor(p), lib.zeros(2, dtype=lib.float64)), "size"),
        (lambda lib: fn(lib).mse_loss(lib.ones(3, dtype=lib.long), lib.ones(3, dtype=lib.long)), "not implemented"),
        (lambda lib: fn(lib).huber_loss(lib.tensor(p), lib.tensor(y), delta=0.0), "delta"),
        (lambda lib: fn(lib).smooth_l1_loss(lib.tensor(p), lib.tensor(y), beta=-1.0), "beta"),
    ]
    for make, match in cases:
        check_raises(lambda: make(minitorch), lambda: make(torch), match=match)


@requires_torch
def test_legacy_size_average_and_reduce_flags():
    x, y = floats((3, 2), seed=1), floats((3, 2), seed=2)
    for size_average, reduce in [(False, None), (None, False), (True, True), (False, True)]:
        with pytest.warns(UserWarning, match="deprecated"):
            ours = F.mse_loss(minitorch.tensor(x), minitorch.tensor(y), size_average=size_average, reduce=reduce)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = torch.nn.functional.mse_loss(
                torch.tensor(x), torch.tensor(y), size_average=size_average, reduce=reduce
            )
            module_reduction = torch.nn.MSELoss(size_average=size_average, reduce=reduce).reduction
            assert nn.MSELoss(size_average=size_average, reduce=reduce).reduction == module_reduction
        np.testing.assert_allclose(ours.numpy(), ref.numpy())


# ---- modules ---------------------------------------------------------------------------------------
MODULES = [
    ("L1Loss", {}),
    ("MSELoss", {"reduction": "sum"}),
    ("SmoothL1Loss", {"beta": 0.5}),
    ("HuberLoss", {"delta": 2.0}),
    ("CrossEntropyLoss", {"label_smoothing": 0.1, "ignore_index": 1}),
    ("NLLLoss", {"reduction": "none"}),
    ("BCELoss", {}),
    ("BCEWithLogitsLoss", {}),
    ("KLDivLoss", {"reduction": "batchmean", "log_target": True}),
    ("SoftMarginLoss", {}),
    ("MarginRankingLoss", {"margin": 0.5}),
    ("CosineEmbeddingLoss", {"margin": 0.1}),
    ("TripletMarginLoss", {"p": 1.0, "swap": True}),
]


@requires_torch
@pytest.mark.parametrize("name,kwargs", MODULES)
def test_loss_modules_repr_attributes_and_forward(name, kwargs):
    ours, ref = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert repr(ours) == repr(ref)
    assert ours.reduction == ref.reduction
    assert list(ours.state_dict()) == list(ref.state_dict())
    rng = np.random.default_rng(0)
    signs = rng.choice([-1.0, 1.0], size=4)
    scores, labels = class_problem((4, 3), 3)
    inputs = {  # the arrays each loss is called with; the rest get (input, target) of shape (4, 3)
        "CrossEntropyLoss": (scores, labels),
        "NLLLoss": (scores, labels),
        "BCELoss": (floats((4, 3), low=0.1, high=0.9), floats((4, 3), low=0.0, high=1.0, seed=1)),
        "MarginRankingLoss": (rng.standard_normal(4), rng.standard_normal(4), signs),
        "CosineEmbeddingLoss": (rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), signs.astype(np.int64)),
        "TripletMarginLoss": tuple(rng.standard_normal((4, 3)) for _ in range(3)),
    }.get(name, (rng.standard_normal((4, 3)), rng.standard_normal((4, 3))))
    if name == "SoftMarginLoss":  # its target may not require grad (in torch neither): pass it as a constant
        check(
            lambda a: ours(a, minitorch.tensor(signs, device=a.device)),
            lambda a: ref(a, torch.tensor(signs)),
            rng.standard_normal(4),
        )
    else:
        check(lambda *a: ours(*a), lambda *a: ref(*a), *inputs)


@requires_torch
def test_weighted_loss_modules_keep_weights_as_buffers():
    w = np.array([1.0, 2.0, 0.5])
    pairs = [
        (nn.CrossEntropyLoss(weight=minitorch.tensor(w)), torch.nn.CrossEntropyLoss(weight=torch.tensor(w))),
        (nn.NLLLoss(weight=minitorch.tensor(w)), torch.nn.NLLLoss(weight=torch.tensor(w))),
        (nn.BCELoss(weight=minitorch.tensor(w)), torch.nn.BCELoss(weight=torch.tensor(w))),
        (
            nn.BCEWithLogitsLoss(weight=minitorch.tensor(w), pos_weight=minitorch.tensor(w * 2)),
            torch.nn.BCEWithLogitsLoss(weight=torch.tensor(w), pos_weight=torch.tensor(w * 2)),
        ),
    ]
    for ours, ref in pairs:
        assert list(ours.state_dict()) == list(ref.state_dict())
        assert [n for n, _ in ours.named_buffers()] == [n for n, _ in ref.named_buffers()]
        assert list(ours.parameters()) == []
        assert ours.float().weight.dtype == minitorch.float32  # buffers follow the module's dtype
    x, t = class_problem((4, 3), 3)
    loss = nn.CrossEntropyLoss(weight=minitorch.tensor(w)).to(TEST_DEVICE)
    check(lambda a, b: loss(a, b), lambda a, b: torch.nn.CrossEntropyLoss(weight=torch.tensor(w))(a, b), x, t)
    logits, labels = floats((4, 3)), floats((4, 3), low=0.0, high=1.0, seed=1)
    bce = nn.BCEWithLogitsLoss(pos_weight=minitorch.tensor(w)).to(TEST_DEVICE)
    check(
        lambda a, b: bce(a, b),
        lambda a, b: torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(w))(a, b),
        logits,
        labels,
    )
