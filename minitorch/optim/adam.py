"""Adam: momentum on the gradient, divided by a running root-mean-square of the gradient."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional, Tuple

from ..ops.creation import zeros_like
from ..tensor import Tensor
from .optimizer import Optimizer, _advance, _bump, _check_flags, _evaluate, _lerp_, _step_counter

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adam (Kingma & Ba): ``p -= lr * m_hat / (sqrt(v_hat) + eps)``.

    ``m`` and ``v`` are exponential moving averages of the gradient and its
    square (rates ``betas``); ``m_hat``, ``v_hat`` undo their bias towards
    the zero they start from. ``amsgrad`` divides by the largest ``v`` seen
    so far; ``weight_decay`` adds ``weight_decay * p`` to the gradient, or,
    with ``decoupled_weight_decay`` (AdamW), shrinks ``p`` directly.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: Tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: Optional[bool] = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: Optional[bool] = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not (all(isinstance(b, float) for b in betas) or all(isinstance(b, Tensor) for b in betas)):
            raise ValueError("betas must be either both floats or both Tensors, e.g. (0.9, 0.999)")
        _check_flags(differentiable, foreach, fused)
        defaults = dict(
            lr=lr,
            betas=tuple(float(b) for b in betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """One update of every parameter that has a gradient; returns the closure's loss (or None)."""
        loss = _evaluate(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps, wd = float(group["lr"]), group["betas"], group["eps"], group["weight_decay"]
            amsgrad = group["amsgrad"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_counter()
                    state["exp_avg"] = zeros_like(p)
                    state["exp_avg_sq"] = zeros_like(p)
                    if amsgrad:
                        state["max_exp_avg_sq"] = zeros_like(p)
                step = _advance(state["step"])
                xp, theta = p._backend.xp, p._data
                g = -p.grad._data if group["maximize"] else p.grad._data
                if wd != 0:
                    if group["decoupled_weight_decay"]:
                        theta *= 1 - lr * wd
                    else:
                        g = g + wd * theta
                m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
                work = xp.empty_like(theta)  # scratch, reused below: one allocation, not six
                _lerp_(xp, m, g, 1 - beta1, work)
                # The order of the arithmetic is PyTorch's, so results agree to the last bit.
                xp.multiply(g, 1 - beta2, out=work)
                work *= g
                v *= beta2
                v += work
                step_size = lr / (1 - beta1**step)
                bias_correction2_sqrt = (1 - beta2**step) ** 0.5
                if amsgrad:
                    v_max = state["max_exp_avg_sq"]._data
                    xp.maximum(v_max, v, out=v_max)
                    v = v_max
                denom = xp.sqrt(v, out=xp.empty_like(theta))
                denom /= bias_correction2_sqrt
                denom += eps
                xp.multiply(m, -step_size, out=work)
                work /= denom
                theta += work
                _bump(p, *(state[k] for k in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") if k in state))
        return loss
