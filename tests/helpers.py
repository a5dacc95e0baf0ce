"""One way to test every op: run it in minitorch and in PyTorch on the same data.

``check(mt_fn, torch_fn, *arrays)`` builds leaf tensors from NumPy arrays in
both frameworks, runs the op, compares values, shape and dtype, then
backpropagates the same random output weights through both and compares
every input's gradient. ``layouts`` re-runs the check with inputs that are
transposed, step-sliced or expanded views, so ops are exercised on
non-contiguous memory too.

``device`` says where the minitorch inputs live. It defaults to the
environment variable ``MINITORCH_TEST_DEVICE`` (``cpu`` when unset), so
``MINITORCH_TEST_DEVICE=cuda python -m pytest`` re-runs every comparison
built on ``check`` (and ``nn_helpers.check_module``) on the GPU.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Optional, Sequence

import numpy as np
import pytest

import minitorch
from minitorch.backends.base import Backend

try:
    import torch
except ImportError:  # the comparison tests skip; the rest of the suite runs
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed: pip install -e '.[test]'")

# Tolerances from the guide: (forward atol, rtol), (gradient atol, rtol).
TOLERANCES = {
    "float64": ((1e-10, 1e-10), (1e-10, 1e-10)),
    "float32": ((1e-6, 1e-3), (1e-4, 1e-3)),
    "float16": ((1e-3, 1e-2), (1e-2, 1e-2)),
}

# Where check() and check_module() put the minitorch side unless told otherwise.
TEST_DEVICE = os.environ.get("MINITORCH_TEST_DEVICE", "cpu")
# MINITORCH_TEST_HOST_CUDA=1: 'cuda' is a stand-in in host memory (conftest.py), so it works without a GPU.
HOST_CUDA = bool(os.environ.get("MINITORCH_TEST_HOST_CUDA"))


class HostMemoryCuda(Backend):
    """A stand-in for a GPU backend: the Backend methods over NumPy, in host memory, with moves between devices
    that copy as they would between host and GPU (so nothing is shared across the two "devices")."""

    def from_host(self, array: np.ndarray) -> np.ndarray:
        return np.array(array, copy=True)

    def to_host(self, array: np.ndarray) -> np.ndarray:
        return np.array(array, copy=True)


LAYOUTS = ("contiguous", "transposed", "sliced", "expanded")


def torch_dtype(d: minitorch.dtype) -> Any:
    return getattr(torch, d.name)


def with_layout(array: np.ndarray, kind: str, requires_grad: bool, device: str = "cpu") -> minitorch.Tensor:
    """A minitorch *leaf* on ``device`` with ``array``'s values laid out as ``kind`` in memory."""
    if kind == "contiguous" or array.ndim == 0:
        t = minitorch.tensor(array, device=device)
    elif kind == "transposed":  # memory holds the transpose; we see it transposed back
        t = minitorch.tensor(np.ascontiguousarray(array.T), device=device).permute(*reversed(range(array.ndim)))
    elif kind == "sliced":  # every other element of a bigger buffer
        big = np.zeros(array.shape[:-1] + (2 * array.shape[-1],), dtype=array.dtype)
        big[..., ::2] = array
        t = minitorch.tensor(big, device=device)[..., ::2]
    elif kind == "expanded":  # a size-1 dim broadcast with stride 0 (only read, never written)
        if array.shape[0] < 2 or not (array == array[:1]).all():
            return with_layout(array, "contiguous", requires_grad, device)
        t = minitorch.tensor(array[:1], device=device).expand(array.shape)
    else:
        raise ValueError(kind)
    t = t.detach()  # a leaf that keeps the view's strides
    if requires_grad:
        t.requires_grad_(True)
    return t


def assert_close(actual: Any, expected: Any, atol: float, rtol: float, what: str) -> None:
    a = actual.detach().cpu().numpy() if isinstance(actual, minitorch.Tensor) else np.asarray(actual)
    e = (
        expected.detach().cpu().numpy()
        if torch is not None and isinstance(expected, torch.Tensor)
        else np.asarray(expected)
    )
    assert a.shape == e.shape, f"{what}: shape {a.shape} != torch's {e.shape}"
    if a.dtype == bool or e.dtype == bool or a.dtype.kind in "iu":
        np.testing.assert_array_equal(a, e, err_msg=what)
    else:
        a, e = a.astype(np.float64), e.astype(np.float64)
        close = (np.abs(a - e) <= atol + rtol * np.abs(e)) | (np.isnan(a) & np.isnan(e))
        if not close.all():  # assert_allclose is slow on big arrays: used only to say what differs
            np.testing.assert_allclose(a, e, atol=atol, rtol=rtol, equal_nan=True, err_msg=what)


def check(
    mt_fn: Callable[..., Any],
    torch_fn: Optional[Callable[..., Any]],
    *arrays: np.ndarray,
    grad: bool = True,
    layouts: Sequence[str] = ("contiguous",),
    atol: Optional[float] = None,
    rtol: Optional[float] = None,
    grad_atol: Optional[float] = None,
    grad_rtol: Optional[float] = None,
    device: Optional[str] = None,
) -> None:
    """Compare ``mt_fn(*inputs)`` with ``torch_fn(*inputs)``: values, dtype, gradients.

    ``torch_fn`` defaults to ``mt_fn`` (the same lambda works on both,
    since the APIs agree). Float inputs require grad when ``grad`` is set.
    The minitorch inputs live on ``device`` (default ``TEST_DEVICE``).
    """
    torch_fn = torch_fn or mt_fn
    device = device or TEST_DEVICE
    for kind in layouts:
        rng = np.random.default_rng(0)
        mt_in = [with_layout(a, kind, grad and a.dtype.kind == "f", device) for a in arrays]
        th_in = [torch.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
        mt_out = mt_fn(*mt_in)
        th_out = torch_fn(*th_in)
        mt_outs = mt_out if isinstance(mt_out, (tuple, list)) else (mt_out,)
        th_outs = th_out if isinstance(th_out, (tuple, list)) else (th_out,)
        assert len(mt_outs) == len(th_outs)
        weights = []
        for i, (m, t) in enumerate(zip(mt_outs, th_outs)):
            if not isinstance(t, torch.Tensor):
                assert m == t, f"output {i}: {m} != torch's {t}"
                continue
            assert m.dtype.name == str(t.dtype).replace("torch.", ""), (
                f"output {i} ({kind}): dtype {m.dtype} != torch's {t.dtype}"
            )
            assert m.device.type == minitorch.device(device).type, (
                f"output {i} ({kind}): on {m.device}, not on the inputs' device {device}"
            )
            (fa, fr), _ = TOLERANCES.get(m.dtype.name, ((0, 0), (0, 0)))
            assert_close(
                m, t, atol if atol is not None else fa, rtol if rtol is not None else fr, f"output {i} ({kind})"
            )
            if grad and t.requires_grad:
                weights.append((m, t, rng.standard_normal(tuple(t.shape))))
        if not weights:
            continue
        # Random output weights, not .sum(): a wrong gradient can't hide behind symmetry.
        mt_loss = sum((m * minitorch.tensor(w, dtype=m.dtype, device=m.device)).sum() for m, _, w in weights)
        th_loss = sum((t * torch.tensor(w, dtype=t.dtype)).sum() for _, t, w in weights)
        mt_loss.backward()
        th_loss.backward()
        for i, (m, t) in enumerate(zip(mt_in, th_in)):
            if not t.requires_grad:
                continue
            _, (ga, gr) = TOLERANCES[m.dtype.name]
            if t.grad is None:
                assert m.grad is None or not m.grad.cpu().numpy().any(), f"input {i}: torch gives no grad"
                continue
            assert m.grad is not None, f"input {i} ({kind}): no gradient reached it (torch has one)"
            assert_close(
                m.grad,
                t.grad,
                grad_atol if grad_atol is not None else ga,
                grad_rtol if grad_rtol is not None else gr,
                f"grad of input {i} ({kind})",
            )


def check_raises(mt_fn: Callable[[], Any], torch_fn: Optional[Callable[[], Any]], match: Optional[str] = None) -> None:
    """Both frameworks raise the same exception type (and ours says something useful)."""
    with pytest.raises(Exception) as mt_err:
        mt_fn()
    if torch_fn is not None and torch is not None:
        with pytest.raises(Exception) as th_err:
            torch_fn()
        assert issubclass(mt_err.type, th_err.type) or issubclass(th_err.type, mt_err.type), (
            f"minitorch raised {mt_err.type.__name__}: {mt_err.value}; torch raised {th_err.type.__name__}: {th_err.value}"
        )
    if match is not None:
        assert match.lower() in str(mt_err.value).lower(), f"message {str(mt_err.value)!r} lacks {match!r}"


def both(f: Callable[..., Any]) -> tuple:
    """The same op for both frameworks: ``f(module, *tensors)`` becomes a (minitorch, torch) pair."""
    return (lambda *xs: f(minitorch, *xs)), (lambda *xs: f(torch, *xs))


def leaf64(*shape: int, seed: int = 0) -> minitorch.Tensor:
    """A float64 leaf of uniform values in [-3, 3), for gradcheck."""
    values = np.asarray(np.random.default_rng(seed).uniform(-3.0, 3.0, size=shape))
    return minitorch.tensor(values, requires_grad=True)


def grads_ok(fn: Callable[..., Any], *inputs: minitorch.Tensor) -> None:
    """First and second derivatives of ``fn`` agree with finite differences."""
    from minitorch.autograd import gradcheck, gradgradcheck

    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)
