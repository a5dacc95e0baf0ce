"""Compare a minitorch layer with its PyTorch twin holding the same weights.

``check_module`` copies the PyTorch module's ``state_dict`` into the
minitorch module (so every key name is checked as well), runs both on the
same inputs, and compares outputs, buffers (running statistics), the
gradient of every input and the gradient of every parameter by name.
The minitorch module and inputs live on ``device`` (default
``helpers.TEST_DEVICE``, set by the ``MINITORCH_TEST_DEVICE`` environment
variable).
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence

import numpy as np

import minitorch

from helpers import TEST_DEVICE, TOLERANCES, assert_close, torch


def to_minitorch_state(torch_module: Any) -> dict:
    """PyTorch's state_dict as minitorch tensors, key for key."""
    return {k: minitorch.tensor(v.detach().cpu().numpy()) for k, v in torch_module.state_dict().items()}


def _flat(out: Any) -> List[Any]:
    if isinstance(out, (tuple, list)):
        return [x for o in out for x in _flat(o)]
    return [out]


def check_module(
    mt_module: minitorch.nn.Module,
    torch_module: Any,
    *arrays: np.ndarray,
    dtype: str = "float64",
    train: bool = True,
    grad: bool = True,
    kwargs: Optional[dict] = None,
    atol: Optional[float] = None,
    rtol: Optional[float] = None,
    grad_atol: Optional[float] = None,
    grad_rtol: Optional[float] = None,
    steps: int = 1,
    device: Optional[str] = None,
) -> None:
    """Forward (``steps`` times, for running statistics) and backward through both modules, compare all."""
    kwargs = kwargs or {}
    device = device or TEST_DEVICE
    th_dtype = getattr(torch, dtype)
    mt_dtype = getattr(minitorch, dtype)
    torch_module.to(th_dtype)
    mt_module.to(device, mt_dtype)
    result = mt_module.load_state_dict(to_minitorch_state(torch_module))
    assert result.missing_keys == [] and result.unexpected_keys == []
    torch_module.train(train)
    mt_module.train(train)
    (fa, fr), (ga, gr) = TOLERANCES[dtype]
    fa, fr = atol if atol is not None else fa, rtol if rtol is not None else fr
    ga, gr = grad_atol if grad_atol is not None else ga, grad_rtol if grad_rtol is not None else gr

    def leaves(lib: Any, make: Any) -> Sequence[Any]:
        out = []
        for a in arrays:
            floating = a.dtype.kind == "f"
            t = make(a.astype(dtype) if floating else a)
            out.append(t.requires_grad_(grad and floating) if floating else t)
        return out

    for _ in range(steps):
        mt_in = leaves(minitorch, lambda a: minitorch.tensor(a, device=device))
        th_in = leaves(torch, torch.tensor)
        mt_outs = _flat(mt_module(*mt_in, **kwargs))
        th_outs = _flat(torch_module(*th_in, **kwargs))
        assert len(mt_outs) == len(th_outs)
        for i, (m, t) in enumerate(zip(mt_outs, th_outs)):
            if t is None:
                assert m is None, f"output {i}: torch gives None"
                continue
            assert m.dtype.name == str(t.dtype).replace("torch.", ""), f"output {i}: dtype {m.dtype} vs {t.dtype}"
            assert_close(m, t, fa, fr, f"output {i}")
    mt_state = mt_module.state_dict()
    for name, t in torch_module.state_dict().items():  # running statistics after the steps
        assert_close(mt_state[name], t, fa, fr, f"buffer/parameter {name} after forward")
    if not grad:
        return
    rng = np.random.default_rng(0)
    pairs = [(m, t) for m, t in zip(mt_outs, th_outs) if t is not None and t.requires_grad]
    if not pairs:
        return
    weights = [rng.standard_normal(tuple(t.shape)) for _, t in pairs]
    sum((m * minitorch.tensor(w, dtype=m.dtype, device=m.device)).sum() for (m, _), w in zip(pairs, weights)).backward()
    sum((t * torch.tensor(w, dtype=t.dtype)).sum() for (_, t), w in zip(pairs, weights)).backward()
    for i, (m, t) in enumerate(zip(mt_in, th_in)):
        if t.requires_grad and t.grad is not None:
            assert m.grad is not None, f"input {i}: no gradient"
            assert_close(m.grad, t.grad, ga, gr, f"grad of input {i}")
    mt_params = dict(mt_module.named_parameters())
    assert list(mt_params) == [n for n, _ in torch_module.named_parameters()], "parameter names/order differ"
    for name, p in torch_module.named_parameters():
        if p.grad is None:
            assert mt_params[name].grad is None, f"{name}: torch gives no grad"
            continue
        assert mt_params[name].grad is not None, f"{name}: no gradient reached it"
        assert_close(mt_params[name].grad, p.grad, ga, gr, f"grad of {name}")
