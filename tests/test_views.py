"""View ops: they share storage, follow PyTorch's layout rules and differentiate correctly."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitorch
from minitorch.autograd import gradcheck, gradgradcheck

from helpers import check, check_raises, requires_torch, torch
from strategies import floats, shapes


def shares_storage(a, b):
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


def test_views_share_storage_and_writes_show_in_base():
    base = minitorch.arange(12.0).reshape(3, 4)
    for v in (
        base.view(4, 3),
        base.t(),
        base.transpose(0, 1),
        base.permute(1, 0),
        base.unsqueeze(0),
        base.narrow(1, 1, 2),
        base.select(0, 1),
        base.diagonal(),
        base.unfold(1, 2, 1),
        base.expand(2, 3, 4),
        base.flatten(),
        base.T,
        base.mT,
    ):
        assert shares_storage(v, base)
    base.t()[1, 0] = 100.0  # through a transposed view: row 0, column 1 of base
    assert base[0, 1].item() == 100.0
    v = base.narrow(0, 1, 2)
    v.mul_(0)
    assert base.sum().item() == sum([100.0, 0.0, 2.0, 3.0])


def test_strides_offsets_and_contiguity_match_torch():
    for make in (
        lambda m: m.arange(24).reshape(2, 3, 4),
        lambda m: m.arange(24).reshape(2, 3, 4).transpose(0, 2),
        lambda m: m.arange(24).reshape(2, 3, 4)[:, 1:, ::2],
        lambda m: m.arange(24).reshape(2, 3, 4).select(1, 2),
        lambda m: m.arange(24).reshape(4, 6).diagonal(1),
        lambda m: m.arange(24).unfold(0, 5, 3),
        lambda m: m.arange(4).reshape(4, 1).expand(4, 3),
        lambda m: m.arange(24).reshape(2, 3, 4).permute(2, 0, 1).unsqueeze(1),
        lambda m: m.arange(24).reshape(2, 3, 4).narrow(2, 1, 2).squeeze(),
    ):
        if torch is None:
            pytest.skip("needs torch")
        a, b = make(minitorch), make(torch)
        assert a.shape == tuple(b.shape)
        assert a.stride() == b.stride()
        assert a.storage_offset() == b.storage_offset()
        assert a.is_contiguous() == b.is_contiguous()
        assert a.tolist() == b.tolist()


@requires_torch
@given(shape=shapes(min_dims=1, max_dims=4, min_side=1), pick=st.integers(0, 100))
def test_view_succeeds_or_fails_like_torch(shape, pick):
    n = int(np.prod(shape))
    perm = list(np.random.default_rng(pick).permutation(len(shape)))
    a = minitorch.arange(n).reshape(shape).permute(perm)
    b = torch.arange(n).reshape(shape).permute(perm)
    target = (n,) if pick % 2 else (-1, a.shape[-1])
    try:
        expected = b.view(target)
    except RuntimeError:
        check_raises(lambda: a.view(target), None, match="reshape")
        assert a.reshape(target).tolist() == b.reshape(target).tolist()
        return
    got = a.view(target)
    assert got.stride() == expected.stride() and got.tolist() == expected.tolist()


VIEW_OPS = {
    "view": lambda x: x.view(4, 6) * 1,
    "reshape_copy": lambda x: x.transpose(0, 1).reshape(-1),
    "transpose": lambda x: x.transpose(0, 2),
    "permute": lambda x: x.permute(2, 0, 1),
    "t_T": lambda x: x[0].t() + x[1].T,
    "mT": lambda x: x.mT,
    "expand": lambda x: x[:, :1].expand(2, 5, 4),
    "squeeze": lambda x: x[:, :1].squeeze(1),
    "unsqueeze": lambda x: x.unsqueeze(1).unsqueeze(-1),
    "flatten": lambda x: x.flatten(1),
    "unflatten": lambda x: x.flatten().unflatten(0, (4, -1)),
    "narrow": lambda x: x.narrow(1, 1, 2),
    "select": lambda x: x.select(2, -1),
    "diagonal": lambda x: x.diagonal(0, 1, 2),
    "diagonal_offset": lambda x: x.diagonal(-1, 2, 1),
    "unfold_overlapping": lambda x: x.unfold(2, 3, 1),
    "unbind": lambda x: x.unbind(1)[2] * 2,
    "chunk": lambda x: x.chunk(2, dim=2)[1],
    "split_sizes": lambda x: x.split([1, 2], dim=1)[1],
    "movedim": lambda x: x.movedim(0, -1),
    "as_strided": lambda x: x.contiguous().as_strided((3, 3), (2, 1), 1),
    "clone": lambda x: x.clone(),
}


@requires_torch
@pytest.mark.parametrize("name", sorted(VIEW_OPS))
def test_view_ops_match_torch(name):
    a = floats((2, 3, 4), seed=1)
    check(VIEW_OPS[name], None, a)


@pytest.mark.parametrize("name", sorted(VIEW_OPS))
def test_view_ops_gradcheck(name):
    x = minitorch.tensor(floats((2, 3, 4), seed=2), requires_grad=True)
    fn = lambda t: VIEW_OPS[name](t) * 1.5
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


@requires_torch
def test_grad_fn_names_match_torch():
    def names(m):
        x = m.ones(2, 3, 4, requires_grad=True)
        return [
            type(op(x)).__name__ if False else type(op(x).grad_fn).__name__
            for op in (
                lambda x: x.view(4, 6),
                lambda x: x.transpose(0, 1),
                lambda x: x.permute(2, 1, 0),
                lambda x: x[0].t(),
                lambda x: x.expand(3, 2, 3, 4),
                lambda x: x.unsqueeze(0),
                lambda x: x.narrow(0, 0, 1),
                lambda x: x.select(0, 1),
                lambda x: x.diagonal(),
                lambda x: x.clone(),
                lambda x: x * 2,
                lambda x: x + x,
                lambda x: x.exp(),
                lambda x: x.sum(),
                lambda x: x.sum(0),
                lambda x: x.mean(),
                lambda x: x.relu(),
                lambda x: x.sigmoid(),
                lambda x: x.tanh(),
                lambda x: x.softmax(0),
                lambda x: x.log_softmax(0),
                lambda x: x / 2,
                lambda x: x - 1,
                lambda x: -x,
                lambda x: x.pow(2),
                lambda x: x.sqrt(),
                lambda x: x.log(),
            )
        ]

    assert names(minitorch) == names(torch)


@requires_torch
def test_view_errors_match_torch():
    check_raises(lambda: minitorch.ones(2, 3).t().view(6), lambda: torch.ones(2, 3).t().view(6), match="reshape")
    check_raises(
        lambda: minitorch.ones(2, 3).view(4), lambda: torch.ones(2, 3).view(4), match="invalid for input of size 6"
    )
    check_raises(
        lambda: minitorch.ones(2, 3).view(-1, -1), lambda: torch.ones(2, 3).view(-1, -1), match="only one dimension"
    )
    check_raises(
        lambda: minitorch.ones(2, 3).transpose(0, 2), lambda: torch.ones(2, 3).transpose(0, 2), match="out of range"
    )
    check_raises(lambda: minitorch.ones(2, 3).permute(0, 0), lambda: torch.ones(2, 3).permute(0, 0))
    check_raises(lambda: minitorch.ones(2, 3).expand(3, 3), lambda: torch.ones(2, 3).expand(3, 3), match="must match")
    check_raises(
        lambda: minitorch.ones(2, 3).narrow(1, 2, 2), lambda: torch.ones(2, 3).narrow(1, 2, 2), match="exceeds"
    )
    check_raises(
        lambda: minitorch.ones(2, 3).select(0, 2), lambda: torch.ones(2, 3).select(0, 2), match="out of bounds"
    )
    check_raises(lambda: minitorch.ones(2, 3).unfold(1, 4, 1), lambda: torch.ones(2, 3).unfold(1, 4, 1))
    check_raises(lambda: minitorch.ones(3).split([1, 1]), lambda: torch.ones(3).split([1, 1]), match="sum exactly")
    check_raises(lambda: minitorch.ones(2, 3, 4).t(), lambda: torch.ones(2, 3, 4).t(), match="<= 2 dimensions")


def test_contiguous_copies_only_when_needed():
    a = minitorch.randn(3, 4)
    assert a.contiguous() is a
    c = a.t().contiguous()
    assert c.is_contiguous() and not shares_storage(c, a)
    assert a.reshape(12).data_ptr() == a.data_ptr()  # reshape of contiguous data is a view
    assert not shares_storage(a.t().reshape(12), a)  # ...and of transposed data a copy


def test_size_is_a_tuple_with_numel():
    s = minitorch.ones(2, 3, 4).shape
    assert isinstance(s, tuple) and s == (2, 3, 4) and s.numel() == 24
    assert repr(s) == "minitorch.Size([2, 3, 4])"
    assert minitorch.ones(2, 3).size(1) == 3 and minitorch.ones(2, 3).size(-1) == 3
    assert isinstance(s[1:], minitorch.Size)


@requires_torch
def test_unbind_is_one_node_of_views_that_refuse_inplace_writes():
    a = np.arange(12.0).reshape(3, 4)
    check(lambda x: x.unbind(1), None, a)  # every slice, its gradient stacked back
    check(lambda x: x.unbind(0)[1] * 3, None, a)  # slices without a gradient contribute zeros
    x = minitorch.tensor(a, requires_grad=True)
    parts = (x * 1).unbind(0)
    assert parts[0].grad_fn is parts[2].grad_fn and parts[0].grad_fn.name() == "UnbindBackward0"
    assert parts[1].data_ptr() == parts[0].data_ptr() + 4 * 8  # views of one storage
    tx = torch.tensor(a, requires_grad=True)
    check_raises(lambda: parts[0].mul_(2), lambda: (tx * 1).unbind(0)[0].mul_(2), "modified inplace")
    with minitorch.no_grad():
        parts[0].mul_(2)  # allowed when nothing is recorded


@requires_torch
def test_chunk_of_an_empty_dim_gives_chunks_pieces():
    for n in (1, 3):
        assert [tuple(c.shape) for c in minitorch.zeros(0, 2).chunk(n)] == [
            tuple(c.shape) for c in torch.zeros(0, 2).chunk(n)
        ]
