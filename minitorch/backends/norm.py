"""The closed-form gradient of a normalization, written once for tensors and arrays alike.

Batch, layer and group norm compute x̂ = (x - mean) * rstd over some dims,
with rstd = 1 / sqrt(var + eps), then y = x̂ * weight + bias. Their gradients
differ only in which dims ``mean`` averages over, so ``normalize_grads``
takes that mean as a function and uses nothing but arithmetic operators:
the backends' reference kernels call it on arrays, and nn's ``_Normalize``
calls it on tensors when the backward must itself be differentiable.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Tuple


def normalize_grads(
    g: Any, centred: Any, rstd: Any, weight: Optional[Any], mean: Callable[[Any], Any], needs: Sequence[bool]
) -> Tuple[Any, Any, Any]:
    """Gradients of y = x̂ * weight + bias for x, weight and bias, given ``centred`` = x - mean and ``rstd``.

    ``weight`` is None (no scale) or broadcasts against x; ``mean`` averages over the normalized dims with
    keepdim. The weight and bias gradients come back unsummed, in x's shape; each is None where ``needs``
    says it is not wanted.
    """
    xhat = centred * rstd
    grad_x = grad_w = grad_b = None
    if needs[0]:
        # d/dx of x̂: remove the parts of g_x̂ along the mean and along x̂ itself.
        g_xhat = g if weight is None else g * weight
        grad_x = rstd * (g_xhat - mean(g_xhat) - xhat * mean(g_xhat * xhat))
    if needs[1]:
        grad_w = g * xhat
    if needs[2]:
        grad_b = g
    return grad_x, grad_w, grad_b
