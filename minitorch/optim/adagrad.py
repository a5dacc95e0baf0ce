"""Adagrad: each coordinate's step shrinks with the sum of its squared gradients so far."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

from ..ops.creation import full_like
from .optimizer import Optimizer, _advance, _bump, _check_flags, _evaluate, _step_counter

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """``s += g**2``, then ``p -= clr * g / (sqrt(s) + eps)`` with ``clr = lr / (1 + (step - 1) * lr_decay)``.

    Coordinates with large past gradients take small steps. The sums start at
    ``initial_accumulator_value`` and, as in PyTorch, exist from construction on.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: Optional[bool] = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: Optional[bool] = None,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _check_flags(differentiable, foreach, fused)
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p)

    def _init_state(self, p: Any) -> None:
        # As in PyTorch, the starting sum comes from the constructor's value, not the parameter's group.
        self.state[p]["step"] = _step_counter()
        self.state[p]["sum"] = full_like(p, self.defaults["initial_accumulator_value"])

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """One update of every parameter that has a gradient; returns the closure's loss (or None)."""
        loss = _evaluate(closure)
        for group in self.param_groups:
            lr, lr_decay, eps, wd = float(group["lr"]), group["lr_decay"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if len(self.state[p]) == 0:  # a group added after construction
                    self._init_state(p)
                state = self.state[p]
                step = _advance(state["step"])
                xp, theta = p._backend.xp, p._data
                g = -p.grad._data if group["maximize"] else p.grad._data
                if wd != 0:
                    g = g + wd * theta
                clr = lr / (1 + (step - 1) * lr_decay)
                s = state["sum"]._data
                s += g * g
                std = xp.sqrt(s) + eps
                theta += -clr * g / std
                _bump(p, state["sum"])
        return loss
