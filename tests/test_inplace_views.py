"""Writes through views and ``x[i] = v``: memory is shared, and autograd follows the writes like PyTorch."""

import numpy as np
import pytest

import minitorch

from helpers import assert_close, check, check_raises, requires_torch, torch
from strategies import floats


def _grads_match(fn, *arrays):
    """Run ``fn(module, *leaves)`` in both frameworks; compare the output and every leaf's gradient."""
    mt_in = [minitorch.tensor(a, requires_grad=True) for a in arrays]
    th_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    mt_out, th_out = fn(minitorch, *mt_in), fn(torch, *th_in)
    assert_close(mt_out, th_out, 1e-10, 1e-10, "output")
    w = np.random.default_rng(0).standard_normal(tuple(th_out.shape))
    (mt_out * minitorch.tensor(w)).sum().backward()
    (th_out * torch.tensor(w)).sum().backward()
    for m, t in zip(mt_in, th_in):
        assert (m.grad is None) == (t.grad is None)
        if t.grad is not None:
            assert_close(m.grad, t.grad, 1e-10, 1e-10, "grad")


def _mul_view(m, a):
    b = a * 1
    v = b[1:]
    v.mul_(2)
    return b


def _chained_views(m, a):
    b = a * 1
    v = b[1:][:, ::2].t()
    v.add_(v.exp())  # reads and writes through three views
    return b


def _old_view_used_after_write(m, a):
    b = a * 1
    old = b[0]  # a view made before the write
    b[1:].exp_()  # another view of the same base is written
    return old * b[2]  # the old view still reads the (unchanged) row 0


def _write_then_read_same_view(m, a):
    b = a * 2
    row = b[1]
    row.mul_(a[1])
    return b.sum(0) + row


def _setitem_non_leaf(m, a):
    y = a * 1
    y[0, 1:] = 0
    return y


def _setitem_into_zeros(m, w):
    out = m.zeros(3, 4, dtype=m.float64)
    out[1] = w[0] * 2
    out[2, ::2] = w[1, :2]
    return out


def _setitem_scalar_position(m, w):
    x = m.zeros(3, dtype=m.float64)
    x[1] = w[0, 0]
    return x


def _setitem_advanced(m, w):
    x = m.ones(3, 4, dtype=m.float64)
    x[[0, 2], 1:3] = w[:2, :2] * w[:2, :2]
    x[x > 1.5] = 0.5
    return x


def _augmented_assignment(m, a):
    b = a * 1
    b[0] += a[1]  # __getitem__, then __iadd__ on the view, then __setitem__
    b[[1, 2]] *= 3  # a copy, multiplied, then written back with index_put_
    return b


def _inplace_ops_through_views(m, a):
    b = a * 1
    b[:, 0].zero_()
    b.t()[1].fill_(2.0)
    b.diagonal().clamp_(min=0.1)
    b[2].sigmoid_()
    return b


def _scatter_and_index_put_in_place(m, a):
    b = a * 1
    b.scatter_(1, m.tensor([[1], [0], [3]]), a[:, :1] * 5)
    b.index_put_((m.tensor([0, 0]), m.tensor([2, 2])), a[1, :2], accumulate=True)
    b.index_add_(0, m.tensor([2]), a[:1])
    b.index_fill_(1, m.tensor([3]), -1.0)
    return b


def _write_into_view_of_view_then_base_used(m, a):
    b = a * 2
    c = b.view(4, 3)
    c[1:3, 1] = a[0, :2]
    return b * c.sum()


@requires_torch
@pytest.mark.parametrize(
    "fn",
    [
        _mul_view,
        _chained_views,
        _old_view_used_after_write,
        _write_then_read_same_view,
        _setitem_non_leaf,
        _setitem_into_zeros,
        _setitem_scalar_position,
        _setitem_advanced,
        _augmented_assignment,
        _inplace_ops_through_views,
        _scatter_and_index_put_in_place,
        _write_into_view_of_view_then_base_used,
    ],
)
def test_writes_through_views_have_torch_gradients(fn):
    _grads_match(fn, floats((3, 4)))


@requires_torch
def test_setitem_value_requires_grad_fills_leaf_grad():
    w = minitorch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    out = minitorch.zeros(3, 4)
    out[1] = w * 2
    out.sum().backward()
    assert w.grad.tolist() == [2.0] * 4
    assert out.grad_fn.name() == "CopySlices"


def test_writes_show_in_base_and_other_views():
    base = minitorch.zeros(3, 4)
    row, col, t = base[1], base[:, 2], base.t()
    row[2] = 5.0
    assert base[1, 2].item() == 5.0 and col[1].item() == 5.0 and t[2, 1].item() == 5.0
    col[:] = minitorch.tensor([1.0, 2.0, 3.0])
    assert base[:, 2].tolist() == [1.0, 2.0, 3.0] and row.tolist() == [0.0, 0.0, 2.0, 0.0]
    base[[0, 2], 0] = 9.0  # advanced setitem writes into the same memory
    assert t[0].tolist() == [9.0, 0.0, 9.0]
    base[base > 4] = -1.0
    assert (base == -1).sum().item() == 2
    v = base[0:2]
    v[...] = 7
    assert base[:2].eq(7).all().item() and base[2, 1].item() == 0.0


def test_version_counter_shared_by_views_and_bumped_by_writes():
    base = minitorch.zeros(3, 4)
    view = base[1:]
    v0 = base._version
    view[0, 0] = 1.0
    assert base._version == view._version > v0
    base[[0]] = 2.0
    assert view._version == base._version > v0 + 1


@requires_torch
def test_modified_saved_tensor_raises_on_backward():
    for m in (minitorch, torch):
        x = m.randn(3, requires_grad=True)
        y = x.sigmoid()
        y.add_(1)  # sigmoid saved its output for backward
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
    for m in (minitorch, torch):
        x = m.randn(3, 4, requires_grad=True)
        y = x.exp()
        y[0] = 0.0  # a write through a view also counts
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
    for m in (minitorch, torch):
        row = m.randn(3, 4, requires_grad=True).exp()[1]
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            row.mul_(row)  # mul saved the row it reads, then wrote over it
            row.sum().backward()
    for m in (minitorch, torch):
        x = m.randn(3, requires_grad=True)
        i = m.tensor([0, 1])
        y = x.gather(0, i)
        i[0] = 2  # the index of gather is saved too (PyTorch checks its version)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


@requires_torch
@pytest.mark.parametrize(
    "write",
    [
        lambda x: x.add_(1),
        lambda x: x.__setitem__(0, 1.0),
        lambda x: x.__setitem__([0], 1.0),
        lambda x: x.__setitem__(Ellipsis, 1.0),
        lambda x: x[1:].mul_(2),
        lambda x: x.t()[0].zero_(),
        lambda x: x.scatter_(0, x.new_zeros((1, 4)).long(), 1.0),
        lambda x: x.index_fill_(0, x.new_zeros(1).long(), 1.0),
    ],
)
def test_in_place_on_leaf_or_its_views_raises(write):
    check_raises(
        lambda: write(minitorch.zeros(3, 4, requires_grad=True)),
        lambda: write(torch.zeros(3, 4, requires_grad=True)),
        match="leaf Variable that requires grad",
    )
    x = minitorch.zeros(3, 4, requires_grad=True)
    with minitorch.no_grad():  # allowed without grad mode, as optimizers do
        write(x)
    assert x.grad_fn is None and x.requires_grad


@requires_torch
def test_writes_through_expanded_views_raise():
    for write in (
        lambda v: v.add_(1),
        lambda v: v.__setitem__(Ellipsis, 1.0),
        lambda v: v.__setitem__((slice(None), 0), 1.0),
    ):
        check_raises(
            lambda: write(minitorch.zeros(1, 4).expand(3, 4)),
            lambda: write(torch.zeros(1, 4).expand(3, 4)),
            match="more than one element of the written-to tensor refers to a single memory location",
        )


@requires_torch
@pytest.mark.parametrize(
    "op",
    [
        lambda x, i: x[i],
        lambda x, i: x[:, i],
        lambda x, i: x.gather(0, i.unsqueeze(1).expand(2, 4)),
        lambda x, i: x.scatter(0, i.unsqueeze(1).expand(2, 4), 1.0),
        lambda x, i: x.scatter_add(0, i.unsqueeze(1).expand(2, 4), x[:2]),
        lambda x, i: x.index_select(0, i),
        lambda x, i: x.index_add(0, i, x[:2]),
        lambda x, i: x.index_fill(0, i, 0.0),
        lambda x, i: x.index_put((i,), x[0], accumulate=True),
        lambda x, i: x.take(i),
        lambda x, i: x.take_along_dim(i.unsqueeze(1), 0),
        lambda x, i: x.masked_select(x > 0),
    ],
)
def test_out_of_place_ops_do_not_mutate_their_inputs(op):
    x = minitorch.tensor(floats((3, 4)))
    i = minitorch.tensor([2, 0])
    before_x, before_i, version = x.numpy().copy(), i.numpy().copy(), x._version
    op(x, i)
    np.testing.assert_array_equal(x.numpy(), before_x)
    np.testing.assert_array_equal(i.numpy(), before_i)
    assert x._version == version


@requires_torch
def test_setitem_with_layouts_matches_torch():
    def write(x, v):
        y = x * 1
        y[1:, ::2] = v
        y.t()[0] = v[0, 0]
        return y

    check(write, None, floats((3, 4)), floats((2, 2), seed=1), layouts=("contiguous", "transposed", "sliced"))


@requires_torch
def test_multiply_by_constant_does_not_save_the_operand_written_later():
    def fn(m, a):
        b = a * 1
        v = b[1:]
        v.add_(v * 3)  # PyTorch's MulBackward0 for v * 3 needs only the 3, so changing v later is fine
        return b

    _grads_match(fn, floats((3, 4)))
