"""Batch, layer, group, RMS and local response norm against PyTorch: outputs, gradients,
double backward, running statistics, errors, layers (state_dict keys, init) and reprs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch
import minitorch.nn as nn
import minitorch.nn.functional as F
from minitorch.autograd import gradcheck, gradgradcheck

from helpers import LAYOUTS, TEST_DEVICE, assert_close, check, check_raises, requires_torch, torch
from nn_helpers import check_module
from strategies import floats

TF = torch.nn.functional if torch else None


def _stat(lib, values):
    """A running-statistics tensor; minitorch's lives on the test device, beside the inputs that check() moves there."""
    return lib.tensor(values, device=TEST_DEVICE if lib is minitorch else "cpu")


def _batch(shape, dtype, seed=0):
    return floats(shape, dtype, -3.0, 3.0, seed)


# ---- batch_norm -------------------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("affine", [True, False])
@settings(max_examples=10)
@given(
    n=st.integers(1, 4),
    c=st.integers(1, 3),
    spatial=st.lists(st.integers(1, 3), max_size=3),
    momentum=st.sampled_from([0.1, 0.5, 1.0]),
)
def test_batch_norm_training_matches_torch(dtype, affine, n, c, spatial, momentum):
    shape = (n, c, *spatial)
    if n * int(np.prod(spatial)) == 1:
        return  # one value per channel: an error (tested below)
    x = _batch(shape, dtype)
    w, b = floats((c,), dtype, 0.5, 2.0, seed=1), floats((c,), dtype, seed=2)
    stats = {
        lib: (_stat(lib, floats((c,), dtype, seed=3)), _stat(lib, floats((c,), dtype, 0.5, 2, seed=4)))
        for lib in (minitorch, torch)
    }

    def run(F, lib, x, w=None, b=None):
        rm, rv = stats[lib]
        return F.batch_norm(x, rm, rv, w, b, training=True, momentum=momentum)

    arrays = (x, w, b) if affine else (x,)
    check(lambda *a: run(F, minitorch, *a), lambda *a: run(TF, torch, *a), *arrays, layouts=LAYOUTS)
    for ours, theirs in zip(stats[minitorch], stats[torch]):  # the running statistics moved the same way
        (fa, fr) = (1e-6, 1e-5) if dtype == "float32" else (1e-12, 1e-12)
        assert_close(ours, theirs, fa, fr, "running statistics")


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@given(shape=st.sampled_from([(3, 2), (2, 3, 4), (1, 2, 2, 3), (2, 2, 1, 2, 2)]))
def test_batch_norm_evaluation_matches_torch(dtype, shape):
    c = shape[1]
    arrays = (_batch(shape, dtype), floats((c,), dtype, seed=1), floats((c,), dtype, seed=2))
    rm, rv = floats((c,), dtype, seed=3), floats((c,), dtype, 0.5, 2, seed=4)

    def run(F, lib, x, w, b):
        return F.batch_norm(x, _stat(lib, rm), _stat(lib, rv), w, b, training=False)

    check(lambda *a: run(F, minitorch, *a), lambda *a: run(TF, torch, *a), *arrays, layouts=LAYOUTS)


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batch_norm_of_an_empty_batch_matches_torch(dtype):
    """No values per channel: an empty output, and weight and bias gradients of 0 (sums over nothing), not nan."""
    arrays = (np.zeros((0, 3, 4), dtype), floats((3,), dtype, seed=1), floats((3,), dtype, seed=2))

    def run(lib, x, w, b):
        return lib.nn.functional.batch_norm(x, None, None, w, b, training=True)

    check(lambda *a: run(minitorch, *a), lambda *a: run(torch, *a), *arrays)


@requires_torch
def test_batch_norm_without_running_stats_and_with_large_offsets():
    """Two-pass statistics: a large common offset does not swamp the variance."""
    x = 1e4 + _batch((8, 3, 5), "float64")
    check(
        lambda x: F.batch_norm(x, None, None, training=True), lambda x: TF.batch_norm(x, None, None, training=True), x
    )


def test_batch_norm_second_derivatives():
    x = minitorch.tensor(_batch((4, 3, 2), "float64"), requires_grad=True)
    w = minitorch.tensor(floats((3,), seed=1), requires_grad=True)
    b = minitorch.tensor(floats((3,), seed=2), requires_grad=True)
    fn = lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True)
    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))
    rm, rv = minitorch.zeros(3, dtype=minitorch.float64), minitorch.ones(3, dtype=minitorch.float64)
    evaluation = lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False)
    assert gradcheck(evaluation, (x, w, b))
    assert gradgradcheck(evaluation, (x, w, b))


def test_batch_norm_updates_running_stats_in_place_without_grad():
    rm, rv = minitorch.zeros(2), minitorch.ones(2)
    version = rm._version
    x = minitorch.tensor([[1.0, 2.0], [3.0, 6.0]], requires_grad=True)
    F.batch_norm(x, rm, rv, training=True, momentum=0.5)
    assert rm._version > version and not rm.requires_grad and rm.grad_fn is None
    assert rm.tolist() == [1.0, 2.0]  # 0.5 * 0 + 0.5 * mean
    assert rv.tolist() == [1.5, 4.5]  # 0.5 * 1 + 0.5 * unbiased variance (2, 8)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda F, lib: F.batch_norm(lib.zeros(1, 3), lib.zeros(3), lib.ones(3), training=True), "more than 1 value"),
        (lambda F, lib: F.batch_norm(lib.zeros(4, 3), lib.zeros(4), lib.ones(3), training=True), "running_mean should contain 3"),
        (lambda F, lib: F.batch_norm(lib.zeros(4, 3), lib.zeros(3), lib.ones(3), lib.ones(2), training=True), "weight should"),
        (lambda F, lib: F.batch_norm(lib.zeros(4, 3), None, None, training=False), "running_mean must be defined"),
        (lambda F, lib: F.batch_norm(lib.zeros(4, 3, dtype=lib.int64), None, None, training=True), "not implemented"),
        (lambda F, lib: F.layer_norm(lib.zeros(2, 3), (4,)), "expected input with shape [*, 4]"),
        (lambda F, lib: F.layer_norm(lib.zeros(2, 3), (3,), lib.ones(4)), "Expected weight to be of same shape"),
        (lambda F, lib: F.layer_norm(lib.zeros(2, 3), 3), "tuple"),
        (lambda F, lib: F.layer_norm(lib.zeros(2, 3, dtype=lib.int64), (3,)), "not implemented"),
        (lambda F, lib: F.group_norm(lib.zeros(2, 3, 4), 2), "divisible by num_groups"),
        (lambda F, lib: F.group_norm(lib.zeros(3), 1), "at least 2 dimensions"),
        (lambda F, lib: F.group_norm(lib.zeros(2, 4), 2, lib.ones(3)), "number of channels"),
        (lambda F, lib: F.rms_norm(lib.zeros(2, 3), (4,)), "expected input with shape [*4]"),
        (lambda F, lib: F.local_response_norm(lib.zeros(2, 3), 2), "3D or higher"),
        (lambda F, lib: F.normalize(lib.zeros(2, 3, dtype=lib.int64)), "floating point"),
    ],
)  # fmt: skip
def test_errors_match_torch(call, match):
    check_raises(lambda: call(F, minitorch), (lambda: call(TF, torch)) if torch else None, match=match)


# ---- instance_norm -----------------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(2, 3, 4), (3, 2, 2, 3), (1, 3, 2, 1, 2)])
@pytest.mark.parametrize("use_input_stats", [True, False])
def test_instance_norm_matches_torch(dtype, shape, use_input_stats):
    c = shape[1]
    arrays = (_batch(shape, dtype), floats((c,), dtype, seed=1), floats((c,), dtype, seed=2))
    stats = {
        lib: (_stat(lib, floats((c,), dtype, seed=3)), _stat(lib, floats((c,), dtype, 0.5, 2, seed=4)))
        for lib in (minitorch, torch)
    }

    def run(F, lib, x, w, b):
        return F.instance_norm(x, *stats[lib], w, b, use_input_stats, 0.3)

    check(lambda *a: run(F, minitorch, *a), lambda *a: run(TF, torch, *a), *arrays, layouts=LAYOUTS)
    check(F.instance_norm, TF.instance_norm, arrays[0])
    for ours, theirs in zip(stats[minitorch], stats[torch]):
        assert_close(ours, theirs, 1e-6, 1e-5, "running statistics")


def test_instance_norm_second_derivatives_and_errors():
    x = minitorch.tensor(_batch((2, 3, 4), "float64"), requires_grad=True)
    w = minitorch.tensor(floats((3,), seed=1), requires_grad=True)
    fn = lambda x, w: F.instance_norm(x, weight=w, bias=w)
    assert gradcheck(fn, (x, w))
    assert gradgradcheck(fn, (x, w))
    check_raises(
        lambda: F.instance_norm(minitorch.zeros(2, 3, 1)),
        (lambda: TF.instance_norm(torch.zeros(2, 3, 1))) if torch else None,
        "more than 1 spatial element",
    )


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "cls, shape",
    [
        ("InstanceNorm1d", (2, 3, 4)),
        ("InstanceNorm1d", (3, 4)),
        ("InstanceNorm2d", (2, 3, 2, 2)),
        ("InstanceNorm3d", (3, 2, 2, 2)),
    ],
)
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"affine": True},
        {"track_running_stats": True, "momentum": 0.3},
        {"affine": True, "track_running_stats": True, "momentum": None},
    ],
)
def test_instance_norm_layers_match_torch(dtype, cls, shape, kwargs):
    ours, theirs = getattr(nn, cls)(3, **kwargs), getattr(torch.nn, cls)(3, **kwargs)
    x = _batch(shape, dtype)
    check_module(ours, theirs, x, dtype=dtype, steps=2)
    check_module(ours, theirs, x + 1, dtype=dtype, train=False)


def test_instance_norm_layer_checks():
    check_raises(
        lambda: nn.InstanceNorm2d(3, affine=True)(minitorch.zeros(2, 4, 2, 2)),
        (lambda: torch.nn.InstanceNorm2d(3, affine=True)(torch.zeros(2, 4, 2, 2))) if torch else None,
        "to match num_features",
    )
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm1d(3)(minitorch.randn(2, 4, 5))
    check_raises(
        lambda: nn.InstanceNorm1d(3)(minitorch.zeros(2, 3, 4, 5)),
        (lambda: torch.nn.InstanceNorm1d(3)(torch.zeros(2, 3, 4, 5))) if torch else None,
        "expected 2D or 3D input",
    )


# ---- layer, group and RMS norm ------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("affine", ["none", "weight", "both"])
@settings(max_examples=10)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), k=st.integers(1, 3))
def test_layer_norm_matches_torch(dtype, affine, shape, k):
    k = min(k, len(shape))
    normalized = tuple(shape[len(shape) - k :])
    arrays = [_batch(tuple(shape), dtype)]
    arrays += [floats(normalized, dtype, 0.5, 2, seed=s) for s in (1, 2)][: {"none": 0, "weight": 1, "both": 2}[affine]]
    check(
        lambda x, *wb: F.layer_norm(x, normalized, *wb),
        lambda x, *wb: TF.layer_norm(x, normalized, *wb),
        *arrays,
        layouts=LAYOUTS,
    )


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("groups, shape", [(1, (2, 3)), (3, (2, 6, 4)), (2, (1, 4, 3, 2)), (4, (3, 4, 2, 1, 2))])
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_matches_torch(dtype, groups, shape, affine):
    c = shape[1]
    arrays = [_batch(shape, dtype)] + ([floats((c,), dtype, seed=1), floats((c,), dtype, seed=2)] if affine else [])
    check(
        lambda x, *wb: F.group_norm(x, groups, *wb),
        lambda x, *wb: TF.group_norm(x, groups, *wb),
        *arrays,
        layouts=LAYOUTS,
    )


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("normalized, eps", [((5,), None), ((3, 5), None), ((5,), 1e-3)])
@pytest.mark.parametrize("weight", [True, False])
def test_rms_norm_matches_torch(dtype, normalized, eps, weight):
    arrays = [_batch((2, 3, 5), dtype)] + ([floats(normalized, dtype, seed=1)] if weight else [])
    check(
        lambda x, *w: F.rms_norm(x, normalized, *w, eps=eps),
        lambda x, *w: TF.rms_norm(x, normalized, *w, eps=eps),
        *arrays,
        layouts=LAYOUTS,
    )


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("size", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("shape", [(2, 5, 3), (2, 5, 3, 2), (1, 4, 2, 2, 2)])
def test_local_response_norm_matches_torch(dtype, size, shape):
    x = _batch(shape, dtype)
    check(lambda x: F.local_response_norm(x, size), lambda x: TF.local_response_norm(x, size), x)
    check(
        lambda x: F.local_response_norm(x, size, 0.1, 0.5, 2.0),
        lambda x: TF.local_response_norm(x, size, 0.1, 0.5, 2.0),
        x,
    )


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("p, dim", [(2.0, 1), (1.0, -1), (3.0, 0), (float("inf"), 1)])
def test_normalize_matches_torch(dtype, p, dim):
    x = _batch((3, 4), dtype)
    x[0] = 0  # an all-zero slice: eps keeps it finite
    check(lambda x: F.normalize(x, p, dim), lambda x: TF.normalize(x, p, dim), x)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x, w, b: F.layer_norm(x, (2,), w, b),
        lambda x, w, b: F.group_norm(x.reshape(2, 4, 3), 2, w.repeat(2), b.repeat(2)),
        lambda x, w, b: F.rms_norm(x, (2,), w),
        lambda x, w, b: F.local_response_norm(x, 3, 0.1) * w,
        lambda x, w, b: F.normalize(x, dim=-1) + b,
    ],
)
def test_second_derivatives(fn):
    x = minitorch.tensor(_batch((4, 3, 2), "float64"), requires_grad=True)
    w = minitorch.tensor(floats((2,), seed=1), requires_grad=True)
    b = minitorch.tensor(floats((2,), seed=2), requires_grad=True)
    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))


@requires_torch
@pytest.mark.parametrize(
    "call",
    [
        lambda F, x, w: F.batch_norm(x, None, None, w, w, training=True),
        lambda F, x, w: F.layer_norm(x, (3,), w, w),
    ],
)
def test_grad_fn_names_match_torch(call):
    x, w = floats((2, 3), seed=5), floats((3,), seed=6)
    ours = call(F, minitorch.tensor(x, requires_grad=True), minitorch.tensor(w, requires_grad=True))
    theirs = call(TF, torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True))
    assert ours.grad_fn.name() == theirs.grad_fn.name()


# ---- layers ---------------------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "cls, shape",
    [
        ("BatchNorm1d", (4, 3)),
        ("BatchNorm1d", (4, 3, 5)),
        ("BatchNorm2d", (2, 3, 2, 2)),
        ("BatchNorm3d", (2, 3, 2, 1, 2)),
    ],
)
@pytest.mark.parametrize(
    "kwargs", [{}, {"momentum": None}, {"affine": False}, {"track_running_stats": False}, {"bias": False, "eps": 1e-3}]
)
def test_batch_norm_layers_train_then_evaluate_like_torch(dtype, cls, shape, kwargs):
    ours, theirs = getattr(nn, cls)(3, **kwargs), getattr(torch.nn, cls)(3, **kwargs)
    x = _batch(shape, dtype)
    check_module(ours, theirs, x, dtype=dtype, steps=3)  # compares running stats and num_batches_tracked too
    check_module(ours, theirs, x + 1, dtype=dtype, train=False)
    if ours.track_running_stats:
        assert ours.num_batches_tracked.item() == 3 and ours.num_batches_tracked.dtype is minitorch.int64


def test_batch_norm_momentum_none_is_a_cumulative_average():
    m = nn.BatchNorm1d(1, momentum=None)
    for value in (1.0, 2.0, 6.0):
        m(minitorch.tensor([[value - 1], [value + 1]]))
    assert m.running_mean.tolist() == pytest.approx([3.0])
    assert m.running_var.tolist() == pytest.approx([2.0])  # the unbiased variance of each batch is 2


def test_batch_norm_layer_state_and_init():
    m = nn.BatchNorm2d(4)
    assert list(m.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    assert m.weight.tolist() == [1.0] * 4 and m.bias.tolist() == [0.0] * 4
    assert m.running_mean.tolist() == [0.0] * 4 and m.running_var.tolist() == [1.0] * 4
    m.double()
    assert m.running_mean.dtype is minitorch.float64 and m.num_batches_tracked.dtype is minitorch.int64
    bare = nn.BatchNorm2d(4, affine=False, track_running_stats=False)
    assert list(bare.state_dict()) == [] and bare.weight is None and bare.running_mean is None
    m.eval()
    x = minitorch.randn(2, 4, 3, 3, dtype=minitorch.float64)
    assert minitorch.allclose(m(x), x / (1 + 1e-5) ** 0.5)  # evaluation: fresh running stats are 0 and 1
    m.train()
    m(x)
    m.reset_running_stats()
    assert m.running_mean.tolist() == [0.0] * 4 and m.num_batches_tracked.item() == 0


@pytest.mark.parametrize(
    "make, shape",
    [(lambda nn: nn.BatchNorm1d(3), (2, 3, 4, 5)), (lambda nn: nn.BatchNorm2d(3), (2, 3, 4)), (lambda nn: nn.BatchNorm3d(3), (2, 3, 4, 5))],
)  # fmt: skip
def test_batch_norm_layers_check_input_dims(make, shape):
    check_raises(
        lambda: make(nn)(minitorch.zeros(*shape)),
        (lambda: make(torch.nn)(torch.zeros(*shape))) if torch else None,
        match="input)",
    )


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "expr, shape",
    [
        ("LayerNorm(5)", (2, 3, 5)),
        ("LayerNorm([3, 5], elementwise_affine=False)", (2, 3, 5)),
        ("LayerNorm(5, bias=False)", (3, 5)),
        ("RMSNorm(5)", (2, 3, 5)),
        ("RMSNorm([3, 5], eps=1e-6, elementwise_affine=False)", (2, 3, 5)),
        ("GroupNorm(2, 4)", (2, 4, 3)),
        ("GroupNorm(1, 4, affine=False)", (2, 4, 3)),
        ("GroupNorm(4, 4, bias=False)", (2, 4, 3, 2)),
        ("LocalResponseNorm(3)", (2, 4, 3)),
    ],
)
def test_other_layers_match_torch(dtype, expr, shape):
    ours, theirs = eval("nn." + expr), eval("torch.nn." + expr)
    with torch.no_grad():  # non-trivial affine parameters
        for p in theirs.parameters():
            p.uniform_(0.5, 2.0)
    check_module(ours, theirs, _batch(shape, dtype), dtype=dtype)


def test_layer_init_and_errors():
    ln = nn.LayerNorm((2, 3))
    assert ln.normalized_shape == (2, 3) and ln.weight.shape == (2, 3)
    assert ln.weight.tolist() == [[1.0] * 3] * 2 and ln.bias.tolist() == [[0.0] * 3] * 2
    assert nn.RMSNorm(4).weight.tolist() == [1.0] * 4
    check_raises(lambda: nn.GroupNorm(3, 4), (lambda: torch.nn.GroupNorm(3, 4)) if torch else None, "divisible")


REPRS = [
    "InstanceNorm1d(3)",
    "InstanceNorm2d(3, affine=True, track_running_stats=True)",
    "InstanceNorm3d(3, momentum=None, bias=False)",
    "BatchNorm1d(3)",
    "BatchNorm2d(4, momentum=None, affine=False, track_running_stats=False)",
    "BatchNorm3d(2, eps=1e-3, bias=False)",
    "LayerNorm(5)",
    "LayerNorm([2, 3], elementwise_affine=False)",
    "LayerNorm(4, bias=False)",
    "RMSNorm(4)",
    "RMSNorm([2, 3], eps=1e-6, elementwise_affine=False)",
    "GroupNorm(2, 4)",
    "GroupNorm(1, 3, affine=False)",
    "LocalResponseNorm(2)",
    "LocalResponseNorm(3, alpha=0.1, beta=0.5, k=2)",
]


@requires_torch
@pytest.mark.parametrize("expr", REPRS)
def test_layer_repr_and_state_dict_keys_match_torch(expr):
    ours, theirs = eval("nn." + expr), eval("torch.nn." + expr)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
