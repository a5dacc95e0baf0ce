"""SGD: step against the gradient, optionally with momentum (a running sum of past steps)."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

from .optimizer import Optimizer, _bump, _check_flags, _evaluate

__all__ = ["SGD"]


class SGD(Optimizer):
    """``p -= lr * g``, where ``g`` is the gradient, or with momentum the buffer ``b = momentum * b + (1 - dampening) * g``.

    The buffer starts as the first gradient itself; Nesterov momentum steps
    with ``g + momentum * b`` instead of ``b``.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: Optional[bool] = None,
        differentiable: bool = False,
        fused: Optional[bool] = None,
    ) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        _check_flags(differentiable, foreach, fused)
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
            foreach=foreach,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """One update of every parameter that has a gradient; returns the closure's loss (or None)."""
        loss = _evaluate(closure)
        for group in self.param_groups:
            lr, momentum, wd = float(group["lr"]), group["momentum"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = -p.grad._data if group["maximize"] else p.grad._data
                if wd != 0:
                    g = g + wd * p._data
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = p._new(g.copy())
                    else:
                        buf._data *= momentum
                        buf._data += (1 - group["dampening"]) * g
                        _bump(buf)
                    g = g + momentum * buf._data if group["nesterov"] else buf._data
                p._data -= lr * g
                _bump(p)
        return loss
