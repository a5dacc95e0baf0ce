"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

from ..ops.creation import zeros_like
from .optimizer import Optimizer, _advance, _bump, _check_flags, _evaluate, _lerp_, _step_counter

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """``v = alpha * v + (1 - alpha) * g**2``, then ``p -= lr * g / (sqrt(v) + eps)``.

    ``centered`` subtracts the squared running mean of ``g`` from ``v`` (an
    estimate of the variance); ``momentum`` accumulates the scaled steps in a
    buffer and applies the buffer instead.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: Optional[bool] = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        _check_flags(differentiable, foreach)
        defaults = dict(
            lr=lr,
            momentum=momentum,
            alpha=alpha,
            eps=eps,
            centered=centered,
            weight_decay=weight_decay,
            capturable=capturable,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """One update of every parameter that has a gradient; returns the closure's loss (or None)."""
        loss = _evaluate(closure)
        for group in self.param_groups:
            lr, alpha, eps, wd, momentum = (
                float(group["lr"]),
                group["alpha"],
                group["eps"],
                group["weight_decay"],
                group["momentum"],
            )
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_counter()
                    state["square_avg"] = zeros_like(p)
                    if momentum > 0:
                        state["momentum_buffer"] = zeros_like(p)
                    if group["centered"]:
                        state["grad_avg"] = zeros_like(p)
                _advance(state["step"])
                xp, theta = p._backend.xp, p._data
                g = -p.grad._data if group["maximize"] else p.grad._data
                if wd != 0:
                    g = g + wd * theta
                v = state["square_avg"]._data
                v *= alpha
                v += (1 - alpha) * g * g
                if group["centered"]:
                    mean = state["grad_avg"]._data
                    _lerp_(xp, mean, g, 1 - alpha, xp.empty_like(mean))
                    avg = xp.sqrt(v - mean * mean)
                else:
                    avg = xp.sqrt(v)
                avg += eps
                if momentum > 0:
                    buf = state["momentum_buffer"]._data
                    buf *= momentum
                    buf += g / avg
                    theta += -lr * buf
                else:
                    theta += -lr * g / avg
                _bump(p, *(state[k] for k in ("square_avg", "grad_avg", "momentum_buffer") if k in state))
        return loss
