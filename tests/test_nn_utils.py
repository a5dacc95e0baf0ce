"""nn.utils against PyTorch: gradient clipping and parameters <-> vector."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitorch
import minitorch.nn.utils as mt_utils

from helpers import assert_close, check_raises, requires_torch, torch
from strategies import floats, shapes

TOL = {"float64": (1e-12, 1e-10), "float32": (1e-6, 1e-5)}


def params_with_grads(lib, arrays, dtype="float64", without_grad=True):
    """Leaves whose ``.grad`` are set from the arrays (grad arrays scaled by 10), plus one with no grad."""
    dt = getattr(lib, dtype)
    ps = []
    for i, a in enumerate(arrays):
        p = lib.tensor(a, dtype=dt, requires_grad=True)
        p.grad = lib.tensor(a * 10 + i, dtype=dt)
        ps.append(p)
    if without_grad:
        ps.append(lib.ones(2, dtype=dt, requires_grad=True))
    return ps


ARRAYS = [floats((3, 4), seed=1), floats((5,), seed=2), floats((), seed=3)]


def compare_grads(mt_ps, th_ps, dtype):
    atol, rtol = TOL[dtype]
    for m, t in zip(mt_ps, th_ps):
        assert (m.grad is None) == (t.grad is None)
        if t.grad is not None:
            assert m.grad.dtype.name == str(t.grad.dtype).split(".")[-1]
            assert_close(m.grad, t.grad, atol, rtol, "grad")


@requires_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("norm_type", [2.0, 1, math.inf, 3.5, 0.5, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])  # clips / leaves the gradients alone
def test_clip_grad_norm(dtype, norm_type, max_norm):
    mt_ps, th_ps = params_with_grads(minitorch, ARRAYS, dtype), params_with_grads(torch, ARRAYS, dtype)
    mt_norm = mt_utils.clip_grad_norm_(mt_ps, max_norm, norm_type)
    th_norm = torch.nn.utils.clip_grad_norm_(th_ps, max_norm, norm_type)
    assert mt_norm.dtype.name == str(th_norm.dtype).split(".")[-1] and mt_norm.shape == th_norm.shape == ()
    assert_close(mt_norm, th_norm, *TOL[dtype], "total norm")
    compare_grads(mt_ps, th_ps, dtype)


@requires_torch
@given(st.lists(shapes(max_dims=3), min_size=1, max_size=4), st.sampled_from([2.0, 1.0, math.inf]))
def test_clip_grad_norm_shapes(grad_shapes, norm_type):
    arrays = [floats(s, seed=i) for i, s in enumerate(grad_shapes)]
    mt_ps, th_ps = params_with_grads(minitorch, arrays), params_with_grads(torch, arrays)
    if norm_type == math.inf and any(a.size == 0 for a in arrays):  # max of nothing: both refuse
        check_raises(
            lambda: mt_utils.clip_grad_norm_(mt_ps, 1.0, norm_type),
            lambda: torch.nn.utils.clip_grad_norm_(th_ps, 1.0, norm_type),
        )
        return
    assert_close(
        mt_utils.clip_grad_norm_(mt_ps, 1.0, norm_type),
        torch.nn.utils.clip_grad_norm_(th_ps, 1.0, norm_type),
        1e-12,
        1e-10,
        "norm",
    )
    compare_grads(mt_ps, th_ps, "float64")


@requires_torch
def test_clip_grad_norm_single_tensor_and_pieces():
    mt_p, th_p = (
        params_with_grads(minitorch, ARRAYS[:1], without_grad=False)[0],
        params_with_grads(torch, ARRAYS[:1], without_grad=False)[0],
    )
    assert_close(mt_utils.clip_grad_norm_(mt_p, 2.0), torch.nn.utils.clip_grad_norm_(th_p, 2.0), 1e-12, 1e-10, "norm")
    compare_grads([mt_p], [th_p], "float64")
    mt_ps, th_ps = params_with_grads(minitorch, ARRAYS), params_with_grads(torch, ARRAYS)
    mt_total = mt_utils.get_total_norm([p.grad for p in mt_ps if p.grad is not None], 3.0)
    th_total = torch.nn.utils.get_total_norm([p.grad for p in th_ps if p.grad is not None], 3.0)
    assert_close(mt_total, th_total, 1e-12, 1e-10, "get_total_norm")
    mt_utils.clip_grads_with_norm_(mt_ps, 1.5, mt_total)
    torch.nn.utils.clip_grads_with_norm_(th_ps, 1.5, th_total)
    compare_grads(mt_ps, th_ps, "float64")


def test_clip_grad_norm_without_grads():
    ps = [minitorch.ones(2, requires_grad=True)]
    total = mt_utils.clip_grad_norm_(ps, 1.0)
    assert total.item() == 0.0 and total.dtype == minitorch.float32 and ps[0].grad is None
    with pytest.warns(UserWarning, match="empty generator"):
        mt_utils.clip_grad_norm_((p for p in []), 1.0)
    with pytest.warns(FutureWarning, match="deprecated"):
        mt_utils.clip_grad_norm(ps, 1.0)


@requires_torch
def test_clip_grad_norm_nonfinite():
    def run(lib, error):
        p = lib.ones(3, dtype=lib.float64, requires_grad=True)
        p.grad = lib.tensor([1.0, float("nan"), 2.0], dtype=lib.float64)
        return lib.nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=error), p

    check_raises(lambda: run(minitorch, True), lambda: run(torch, True), match="non-finite")
    (mt_norm, mt_p), (th_norm, th_p) = run(minitorch, False), run(torch, False)
    assert_close(mt_norm, th_norm, 0, 0, "norm")
    assert_close(mt_p.grad, th_p.grad, 0, 0, "grad")


def test_clip_grad_norm_is_not_recorded():
    p = minitorch.ones(3, requires_grad=True)
    (p * p).sum().backward(create_graph=True)
    assert p.grad.requires_grad
    norm = mt_utils.clip_grad_norm_([p], 1.0)
    assert not norm.requires_grad


@requires_torch
@pytest.mark.parametrize("clip_value", [0.5, 2, 100.0])
def test_clip_grad_value(clip_value):
    mt_ps, th_ps = params_with_grads(minitorch, ARRAYS), params_with_grads(torch, ARRAYS)
    assert mt_utils.clip_grad_value_(mt_ps, clip_value) is None
    torch.nn.utils.clip_grad_value_(th_ps, clip_value)
    compare_grads(mt_ps, th_ps, "float64")
    mt_p, th_p = (
        params_with_grads(minitorch, ARRAYS[:1], "float32", False),
        params_with_grads(torch, ARRAYS[:1], "float32", False),
    )
    mt_utils.clip_grad_value_(mt_p[0], clip_value)
    torch.nn.utils.clip_grad_value_(th_p[0], clip_value)
    compare_grads(mt_p, th_p, "float32")


@requires_torch
def test_parameters_to_vector_and_back():
    mt_ps = [minitorch.tensor(a, requires_grad=True) for a in ARRAYS]
    th_ps = [torch.tensor(a, requires_grad=True) for a in ARRAYS]
    mt_vec, th_vec = mt_utils.parameters_to_vector(mt_ps), torch.nn.utils.parameters_to_vector(th_ps)
    assert_close(mt_vec, th_vec, 0, 0, "vector")
    w = np.arange(th_vec.numel(), dtype=np.float64)
    (mt_vec * minitorch.tensor(w)).sum().backward()
    (th_vec * torch.tensor(w)).sum().backward()
    compare_grads(mt_ps, th_ps, "float64")

    new = np.linspace(-1.0, 1.0, th_vec.numel())
    mt_new, th_new = minitorch.tensor(new), torch.tensor(new)
    ids = [id(p) for p in mt_ps]
    mt_utils.vector_to_parameters(mt_new, mt_ps)
    torch.nn.utils.vector_to_parameters(th_new, th_ps)
    assert [id(p) for p in mt_ps] == ids
    for m, t in zip(mt_ps, th_ps):
        assert m.shape == t.shape and m.requires_grad
        assert_close(m, t, 0, 0, "parameter")
    mt_new[0] = 42.0  # the parameters now view the vector's memory, as in PyTorch
    assert mt_ps[0][0, 0].item() == 42.0


def test_vector_to_parameters_needs_a_tensor():
    check_raises(
        lambda: mt_utils.vector_to_parameters([1.0, 2.0], [minitorch.ones(2)]),
        lambda: torch.nn.utils.vector_to_parameters([1.0, 2.0], [torch.ones(2)]),
        match="expected minitorch.Tensor",
    )


@pytest.mark.cuda
def test_clip_grad_norm_cuda():
    cpu = params_with_grads(minitorch, ARRAYS)
    gpu = [p.detach().cuda().requires_grad_() for p in cpu]
    for p, q in zip(gpu, cpu):
        p.grad = q.grad.cuda() if q.grad is not None else None
    norm = mt_utils.clip_grad_norm_(gpu, 1.0)
    assert norm.is_cuda
    assert_close(norm.cpu(), mt_utils.clip_grad_norm_(cpu, 1.0), 1e-12, 1e-10, "norm")
    for p, q in zip(gpu, cpu):
        assert (p.grad is None) == (q.grad is None)
        if q.grad is not None:
            assert p.grad.is_cuda
            assert_close(p.grad.cpu(), q.grad, 1e-12, 1e-10, "grad")
