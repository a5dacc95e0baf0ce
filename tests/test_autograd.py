"""The autograd engine: graph building, backward semantics, hooks, higher order, memory."""

import gc
import tracemalloc
import warnings
import weakref

import numpy as np
import pytest

import minitorch
from minitorch.autograd import Function, gradcheck, gradgradcheck

from helpers import check_raises, requires_torch, torch


def test_node_used_twice_accumulates():
    a = minitorch.tensor(3.0, requires_grad=True)
    b = a + a  # a feeds b twice: both contributions must be added
    c = b * b
    c.backward()
    assert a.grad.item() == 2 * (2 * 3.0) * 2  # dc/da = 2b * db/da = 2*6*2


def test_diamond_graph():
    x = minitorch.tensor(2.0, requires_grad=True)
    y = x * 3
    z = y * y + y.exp() + y
    z.backward()
    expected = (2 * 6.0 + np.exp(6.0) + 1) * 3
    assert abs(x.grad.item() - expected) < 1e-3 * expected


def test_very_deep_graph_needs_no_recursion():
    x = minitorch.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert abs(x.grad.item() - 1.0001**10_000) < 1e-3


def test_leaf_and_non_leaf_grads_like_torch():
    x = minitorch.ones(3, requires_grad=True)
    y = x * 2
    z = y.sum()
    assert x.is_leaf and not y.is_leaf and y.requires_grad
    z.backward()
    with pytest.warns(UserWarning, match="retain_grad"):
        assert y.grad is None  # non-leaf: not kept unless retain_grad()
    y2 = x * 2
    y2.retain_grad()
    y2.sum().backward()
    assert y2.grad.tolist() == [1.0, 1.0, 1.0] and y2.retains_grad


def test_backward_twice_raises_and_retain_graph_allows_it():
    x = minitorch.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [4.0, 8.0]  # accumulated twice
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_backward_on_non_scalar_needs_gradient():
    x = minitorch.ones(2, 3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        y.backward()
    y.backward(minitorch.full((2, 3), 0.5))
    assert x.grad.tolist() == [[1.0] * 3] * 2
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).backward(minitorch.ones(3))


def test_backward_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        minitorch.ones(2).sum().backward()


def test_higher_order_derivatives():
    x = minitorch.tensor(2.0, requires_grad=True)
    y = x**3
    (dy,) = minitorch.autograd.grad(y, x, create_graph=True)
    (d2y,) = minitorch.autograd.grad(dy, x, create_graph=True)
    (d3y,) = minitorch.autograd.grad(d2y, x)
    assert (dy.item(), d2y.item(), d3y.item()) == (12.0, 12.0, 6.0)


def test_create_graph_backward_keeps_graph_in_grad():
    x = minitorch.tensor([1.0, 2.0], requires_grad=True)
    (x.sin().sum()).backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), -np.sin([1.0, 2.0]), rtol=1e-6)


def test_autograd_grad_options():
    x = minitorch.ones(2, requires_grad=True)
    w = minitorch.ones(2, requires_grad=True)
    y = (x * 3).sum()
    with pytest.raises(RuntimeError, match="allow_unused"):
        minitorch.autograd.grad(y, [x, w], retain_graph=True)
    gx, gw = minitorch.autograd.grad(y, [x, w], allow_unused=True, retain_graph=True)
    assert gx.tolist() == [3.0, 3.0] and gw is None
    gx, gw = minitorch.autograd.grad(y, [x, w], materialize_grads=True)
    assert gw.tolist() == [0.0, 0.0]
    assert x.grad is None  # grad() never touches .grad


def test_grad_wrt_non_leaf_and_backward_inputs():
    x = minitorch.ones(2, requires_grad=True)
    w = minitorch.ones(2, requires_grad=True)
    h = x * 2
    y = (h * w).sum()
    (gh,) = minitorch.autograd.grad(y, h, retain_graph=True)
    assert gh.tolist() == [1.0, 1.0]
    y.backward(inputs=[w])
    assert w.grad.tolist() == [2.0, 2.0] and x.grad is None


def test_hooks():
    x = minitorch.ones(3, requires_grad=True)
    seen = []
    handle = x.register_hook(lambda g: g * 10)
    y = x * 2
    y.register_hook(lambda g: seen.append(g.tolist()))
    y.sum().backward()
    assert seen == [[1.0, 1.0, 1.0]] and x.grad.tolist() == [20.0] * 3
    handle.remove()
    x.grad = None
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0] * 3
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        minitorch.ones(1).register_hook(lambda g: g)


def test_grad_mode_switches():
    x = minitorch.ones(2, requires_grad=True)
    with minitorch.no_grad():
        assert not (x * 2).requires_grad
        with minitorch.enable_grad():
            assert (x * 2).requires_grad
    with minitorch.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert minitorch.is_grad_enabled()
    minitorch.set_grad_enabled(False)
    assert not minitorch.is_grad_enabled()
    minitorch.set_grad_enabled(True)

    @minitorch.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    with minitorch.inference_mode():
        assert not (x + 1).requires_grad
    assert (x + 1).requires_grad


def test_detach_and_data():
    x = minitorch.ones(3, requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.data_ptr() == y.data_ptr()
    d.zero_()  # shares memory (and version counter) with y
    assert y.tolist() == [0.0, 0.0, 0.0]
    y2 = x * 2
    y2.detach_()
    assert y2.is_leaf and not y2.requires_grad
    x.data.mul_(5)  # .data changes values without autograd knowing
    assert x.tolist() == [5.0] * 3 and x.is_leaf


def test_requires_grad_rules():
    with pytest.raises(RuntimeError, match="floating point"):
        minitorch.ones(2, dtype=minitorch.int64).requires_grad_()
    y = minitorch.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad = False
    assert not minitorch.ones(2).mul(2).requires_grad
    with pytest.raises(RuntimeError, match="different size"):
        minitorch.ones(2, requires_grad=True).grad = minitorch.ones(3)


def test_inplace_on_leaf_that_requires_grad_raises():
    x = minitorch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1)
    with minitorch.no_grad():
        x.add_(1)  # what optimizers do
    assert x.tolist() == [2.0, 2.0]


def test_modifying_a_saved_tensor_is_caught_at_backward():
    x = minitorch.ones(3, requires_grad=True)
    y = x.exp()  # saves its output y
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    a = x * 1
    b = a.sin()  # saves its input a
    a.mul_(2)
    with pytest.raises(RuntimeError, match="is at version 1; expected version 0"):
        b.sum().backward()


@requires_torch
def test_inplace_on_non_leaf_matches_torch():
    def run(m):
        x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 2
        y.mul_(x)  # y = 2x^2
        y += x
        y.sigmoid_()
        y.sum().backward()
        return x.grad.tolist(), type(y.grad_fn).__name__

    ours, theirs = run(minitorch), run(torch)
    assert ours[1] == "SigmoidBackward0"
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)
    assert ours[1] == theirs[1]


def test_custom_function():
    class Cube(Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.save_for_backward(x)
            ctx.scale = scale
            return x * x * x * scale

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            assert ctx.needs_input_grad == (True, False)
            return g * 3 * x * x * ctx.scale, None

    x = minitorch.tensor([1.0, 2.0], dtype=minitorch.float64, requires_grad=True)
    y = Cube.apply(x, 2.0)
    assert type(y.grad_fn).__name__ == "CubeBackward"
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 24.0]
    assert gradcheck(lambda t: Cube.apply(t, 2.0), (x,))
    assert gradgradcheck(lambda t: Cube.apply(t, 2.0), (x,))


def test_custom_function_non_differentiable_output():
    class SortWithIndex(Function):
        @staticmethod
        def forward(ctx, x):
            idx = x.argsort()
            ctx.mark_non_differentiable(idx)
            return x * 1, idx

        @staticmethod
        def backward(ctx, g, g_idx):
            return g

    x = minitorch.tensor([3.0, 1.0], requires_grad=True)
    values, idx = SortWithIndex.apply(x)
    assert values.requires_grad and not idx.requires_grad


def test_graph_is_freed_after_backward_without_cycles():
    x = minitorch.randn(50, requires_grad=True)
    y = (x * 2).exp()
    node_ref = weakref.ref(y.grad_fn)
    out = y.sum()
    out.backward()
    del y, out
    assert node_ref() is None  # freed by reference counting alone: no gc needed


def test_memory_stays_flat_over_many_steps():
    w = minitorch.randn(64, 64, requires_grad=True)
    x = minitorch.randn(32, 64)

    def step():
        loss = ((x @ w).tanh() * 2).exp().mean()
        loss.backward()
        with minitorch.no_grad():
            w.sub_(w.grad * 1e-3)
        w.grad = None

    for _ in range(20):
        step()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(200):
        step()
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert grown < 200_000, f"memory grew by {grown} bytes over 200 steps"


def test_saved_output_does_not_make_a_reference_cycle():
    gc.disable()
    try:
        x = minitorch.randn(10, requires_grad=True)
        y = x.exp()  # Exp saves its own output
        ref = weakref.ref(y.grad_fn)
        del y
        assert ref() is None
    finally:
        gc.enable()


def test_numpy_on_requires_grad_raises():
    check_raises(
        lambda: minitorch.ones(2, requires_grad=True).numpy(),
        (lambda: torch.ones(2, requires_grad=True).numpy()) if torch else None,
        match="detach",
    )


def test_next_functions_and_accumulate_grad():
    x = minitorch.ones(2, requires_grad=True)
    y = x * 3
    z = y + x
    names = [(type(n).__name__ if n else None) for n, _ in z.grad_fn.next_functions]
    assert names == ["MulBackward0", "AccumulateGrad"]
    assert z.grad_fn.next_functions[1][0].variable is x


def test_no_grad_results_do_not_require_grad_and_warnings_are_quiet():
    x = minitorch.ones(2, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with minitorch.no_grad():
            y = x * 2
        assert y.grad_fn is None and y.is_leaf


@requires_torch
def test_inplace_with_self_as_argument_is_caught_like_torch():
    def run(m):
        x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 2
        y.mul_(y)  # mul saved y, which the write then changes
        y.sum().backward()

    check_raises(lambda: run(minitorch), lambda: run(torch), match="modified by an inplace operation")


@requires_torch
def test_hooks_and_captured_gradients_match_torch():
    def run(lib):
        x = lib.ones(2, requires_grad=True)
        h = x * 2
        y = (h * h).sum()
        x.register_hook(lambda g: g * 10)
        h.register_hook(lambda g: g + 1)
        gx, gh = lib.autograd.grad(y, [x, h], retain_graph=True)
        y.backward(inputs=[h])  # a non-leaf in inputs gets its .grad filled
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return gx.tolist(), gh.tolist(), h.grad.tolist(), x.grad

    assert run(minitorch) == run(torch)
