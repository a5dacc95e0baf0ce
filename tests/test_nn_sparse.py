"""Embedding and one_hot against PyTorch: lookups, gradients (padding, frequency scaling),
max_norm renormalisation, double backward, errors, the Embedding layer and its init."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitorch
import minitorch.nn as nn
import minitorch.nn.functional as F
from minitorch.autograd import gradcheck, gradgradcheck

from helpers import assert_close, check, check_raises, requires_torch, torch
from nn_helpers import check_module
from strategies import floats, shapes

TF = torch.nn.functional if torch else None


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("index_dtype", ["int64", "int32"])
@pytest.mark.parametrize(
    "options", [{}, {"padding_idx": 2}, {"padding_idx": -1}, {"scale_grad_by_freq": True}, {"padding_idx": 0, "scale_grad_by_freq": True}]
)  # fmt: skip
@given(shape=shapes(max_dims=3, max_side=4), seed=st.integers(0, 100))
def test_embedding_matches_torch(dtype, index_dtype, options, shape, seed):
    weight = floats((6, 3), dtype, seed=seed)
    ids = np.random.default_rng(seed).integers(0, 6, size=shape).astype(index_dtype)  # repeats are likely
    check(lambda w, i: F.embedding(i, w, **options), lambda w, i: TF.embedding(i, w, **options), weight, ids)


def test_embedding_first_and_second_derivatives():
    weight = minitorch.tensor(floats((5, 3)), requires_grad=True)
    ids = minitorch.tensor([[0, 2, 2], [4, 1, 2]])
    assert gradcheck(lambda w: F.embedding(ids, w), (weight,))
    assert gradgradcheck(lambda w: F.embedding(ids, w) ** 2, (weight,))
    padded = lambda w: F.embedding(ids, w, padding_idx=2, scale_grad_by_freq=True) ** 2
    g = minitorch.autograd.grad(padded(weight).sum(), weight, create_graph=True)[0]
    assert g[2].tolist() == [0.0, 0.0, 0.0]  # the padding row gets nothing, even through double backward
    (gg,) = minitorch.autograd.grad((g * g).sum(), weight)
    assert gg[2].tolist() == [0.0, 0.0, 0.0] and gg[0].abs().sum().item() > 0


@requires_torch
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0])
def test_max_norm_renormalises_looked_up_rows_in_place_like_torch(norm_type):
    table = floats((6, 4), seed=1) * 3
    ids = np.array([[0, 2, 2], [5, 1, 2]])
    ours, theirs = minitorch.tensor(table, requires_grad=True), torch.tensor(table, requires_grad=True)
    out = F.embedding(minitorch.tensor(ids), ours, max_norm=1.5, norm_type=norm_type)
    expected = TF.embedding(torch.tensor(ids), theirs, max_norm=1.5, norm_type=norm_type)
    assert_close(out, expected, 1e-12, 1e-12, "output")
    assert_close(ours, theirs, 1e-12, 1e-12, "table after renormalisation")
    assert ours[3].tolist() == table[3].tolist()  # rows not looked up are left alone
    out.sum().backward()
    expected.sum().backward()
    assert_close(ours.grad, theirs.grad, 1e-12, 1e-12, "gradient")


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda F, lib: F.embedding(lib.tensor([1.0]), lib.ones(5, 3)), "scalar types: Long, Int"),
        (lambda F, lib: F.embedding(lib.tensor([5]), lib.ones(5, 3)), "index out of range"),
        (lambda F, lib: F.embedding(lib.tensor([-1]), lib.ones(5, 3)), "index out of range"),
        (lambda F, lib: F.embedding(lib.tensor([1]), lib.ones(5, 3), padding_idx=5), "Padding_idx"),
        (lambda F, lib: F.embedding(lib.tensor([1]), lib.ones(5, 3), padding_idx=-6), "Padding_idx"),
        (lambda F, lib: F.embedding(lib.tensor([1]), lib.ones(5)), "must be 2-D"),
        (lambda F, lib: F.one_hot(lib.tensor([1.0])), "LongTensor"),
        (lambda F, lib: F.one_hot(lib.tensor([1], dtype=lib.int32)), "LongTensor"),
        (lambda F, lib: F.one_hot(lib.tensor([], dtype=lib.int64)), "empty tensor"),
        (lambda F, lib: F.one_hot(lib.tensor([-1])), "non-negative"),
        (lambda F, lib: F.one_hot(lib.tensor([3]), 3), "smaller than num_classes"),
        (lambda F, lib: F.one_hot(lib.tensor([1]), 0), "smaller than num_classes"),
    ],
)
def test_errors_match_torch(call, match):
    check_raises(lambda: call(F, minitorch), (lambda: call(TF, torch)) if torch else None, match=match)


def test_sparse_gradients_are_refused_clearly():
    with pytest.raises(NotImplementedError, match="sparse=False"):
        F.embedding(minitorch.tensor([1]), minitorch.ones(5, 3), sparse=True)


@requires_torch
@given(shape=shapes(max_dims=3, max_side=4), classes=st.sampled_from([-1, 5, 7]), seed=st.integers(0, 100))
def test_one_hot_matches_torch(shape, classes, seed):
    values = np.random.default_rng(seed).integers(0, 5, size=shape)
    if classes == -1 and values.size == 0:
        return  # an error, tested above
    check(lambda t: F.one_hot(t, classes), lambda t: TF.one_hot(t, classes), values, grad=False)


def test_one_hot_is_int64():
    out = F.one_hot(minitorch.tensor([[0, 2], [1, 1]]))
    assert out.dtype is minitorch.int64 and out.tolist() == [[[1, 0, 0], [0, 0, 1]], [[0, 1, 0], [0, 1, 0]]]
    assert F.one_hot(minitorch.tensor(2), 4).tolist() == [0, 0, 1, 0]


# ---- the Embedding layer -----------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("options", [{}, {"padding_idx": 1}, {"scale_grad_by_freq": True}, {"max_norm": 1.0}])
def test_embedding_layer_matches_torch(dtype, options):
    ids = np.random.default_rng(0).integers(0, 10, size=(3, 5))
    check_module(nn.Embedding(10, 4, **options), torch.nn.Embedding(10, 4, **options), ids, dtype=dtype)


def test_embedding_layer_init():
    minitorch.manual_seed(0)
    m = nn.Embedding(400, 50, padding_idx=-1)
    w = m.weight.detach().numpy()
    assert m.padding_idx == 399 and (w[399] == 0).all()
    rest = w[:399]
    assert abs(rest.mean()) < 0.01 and abs(rest.std() - 1) < 0.01  # N(0, 1)
    assert m.weight.requires_grad and m.weight.dtype is minitorch.float32
    assert nn.Embedding(3, 2, dtype=minitorch.float64).weight.dtype is minitorch.float64


def test_padding_row_is_never_updated():
    m = nn.Embedding(5, 3, padding_idx=0)
    out = m(minitorch.tensor([[0, 1], [0, 0]]))
    out.sum().backward()
    assert m.weight.grad[0].tolist() == [0.0, 0.0, 0.0] and m.weight.grad[1].tolist() == [1.0, 1.0, 1.0]


def test_from_pretrained_shares_the_table_and_freezes_by_default():
    table = minitorch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    m = nn.Embedding.from_pretrained(table)
    assert not m.weight.requires_grad and (m.num_embeddings, m.embedding_dim) == (3, 2)
    assert m(minitorch.tensor([2, 0])).tolist() == [[5.0, 6.0], [1.0, 2.0]]
    assert m.weight.data_ptr() == table.data_ptr()
    trainable = nn.Embedding.from_pretrained(table, freeze=False, padding_idx=1)
    assert trainable.weight.requires_grad and trainable.padding_idx == 1
    assert trainable.weight[1].tolist() == [3.0, 4.0]  # a given table keeps its padding row


def test_layer_construction_errors():
    t = torch if torch else None
    check_raises(
        lambda: nn.Embedding(5, 3, padding_idx=5),
        (lambda: t.nn.Embedding(5, 3, padding_idx=5)) if t else None,
        "Padding_idx",
    )
    check_raises(
        lambda: nn.Embedding(5, 3, _weight=minitorch.ones(4, 3)),
        (lambda: t.nn.Embedding(5, 3, _weight=t.ones(4, 3))) if t else None,
        "Shape of weight",
    )
    check_raises(
        lambda: nn.Embedding.from_pretrained(minitorch.ones(3)),
        (lambda: t.nn.Embedding.from_pretrained(t.ones(3))) if t else None,
        "2-dimensional",
    )


@requires_torch
@pytest.mark.parametrize(
    "expr",
    [
        "Embedding(10, 3)",
        "Embedding(10, 3, padding_idx=2, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True, sparse=True)",
        "Embedding(10, 3, padding_idx=-1)",
        "Embedding(10, 3, norm_type=2)",
    ],
)
def test_layer_repr_and_keys_match_torch(expr):
    ours, theirs = eval("nn." + expr), eval("torch.nn." + expr)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
