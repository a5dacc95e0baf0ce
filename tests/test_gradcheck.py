"""gradcheck itself: it must pass right gradients and catch wrong ones, as PyTorch's does."""

import numpy as np
import pytest

import minitorch
from minitorch.autograd import Function, GradcheckError, gradcheck, gradgradcheck

from helpers import requires_torch, torch


class WrongSquare(Function):
    """x**2 with a backward that is off by a factor (a classic bug)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x  # should be 2 * g * x


class FirstOrderOnly(Function):
    """sin with a backward that is right but not differentiable (cos computed as a constant)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.sin()

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * minitorch.tensor(np.cos(x.detach().numpy()))


def x64(*shape, seed=0):
    return minitorch.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


def test_passes_a_right_gradient():
    assert gradcheck(lambda a, b: (a * b).tanh().sum(1), (x64(3, 4), x64(4, seed=1)))


def test_catches_a_wrong_gradient_and_names_the_worst_element():
    with pytest.raises(GradcheckError, match=r"worst element at \(output element \d+, input element \d+\): analytical"):
        gradcheck(WrongSquare.apply, (x64(3),))
    assert gradcheck(WrongSquare.apply, (x64(3),), raise_exception=False) is False


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable():
    x = x64(4)
    assert gradcheck(FirstOrderOnly.apply, (x,))
    assert gradgradcheck(FirstOrderOnly.apply, (x,), raise_exception=False) is False


def test_refuses_float32_inputs_with_a_clear_error():
    x = minitorch.randn(3, requires_grad=True)
    with pytest.raises(GradcheckError, match="float64"):
        gradcheck(lambda t: t * 2, (x,))


def test_refuses_expanded_inputs():
    x = minitorch.randn(1, 3, dtype=minitorch.float64).expand(4, 3).detach().requires_grad_()
    with pytest.raises(GradcheckError, match="stride 0"):
        gradcheck(lambda t: t * 2, (x,))


def test_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="requires_grad=True"):
        gradcheck(lambda t: t * 2, (minitorch.randn(2, dtype=minitorch.float64),))


def test_non_contiguous_inputs_are_checked_in_place():
    base = minitorch.randn(4, 6, dtype=minitorch.float64)
    x = base.t()[::2].detach().requires_grad_()  # transposed and step-sliced
    assert not x.is_contiguous()
    assert gradcheck(lambda t: (t * t).exp().sum(0), (x,))
    assert gradgradcheck(lambda t: (t * t).exp().sum(0), (x,))


def test_fast_mode():
    assert gradcheck(lambda a: (a @ a.t()).sigmoid(), (x64(5, 4),), fast_mode=True)
    with pytest.raises(GradcheckError, match="fast mode"):
        gradcheck(WrongSquare.apply, (x64(6),), fast_mode=True)


def test_inputs_are_restored_after_checking():
    x = x64(3, 3)
    before = x.detach().numpy().copy()
    gradcheck(lambda t: t.exp(), (x,))
    np.testing.assert_array_equal(x.detach().numpy(), before)


def test_multiple_outputs_and_non_tensor_arguments():
    def fn(a, k, b):
        return a * k, (a + b).sum(), a.argmax()

    assert gradcheck(fn, (x64(3), 2.5, x64(3, seed=2)))


@requires_torch
def test_agrees_with_torch_on_what_fails():
    for tol in (1e-5, 1e-12):
        ours = gradcheck(lambda t: t.sin(), (x64(4),), atol=tol, rtol=0, raise_exception=False)
        theirs = torch.autograd.gradcheck(
            lambda t: t.sin(),
            (torch.tensor(x64(4).detach().numpy(), requires_grad=True),),
            atol=tol,
            rtol=0,
            raise_exception=False,
        )
        assert ours == theirs
