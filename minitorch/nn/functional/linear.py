"""``linear``: the affine map y = x Wᵀ + b at the heart of Linear layers."""

from __future__ import annotations

from typing import Optional

from ...ops.linalg import addmm, matmul
from ...tensor import Tensor

__all__ = ["linear", "bilinear"]


def linear(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """``input @ weight.T + bias`` for ``input`` of shape (*, in_features)."""
    if input.dim() == 2 and bias is not None:
        return addmm(bias, input, weight.t())  # one fused node, as PyTorch's AddmmBackward0
    out = matmul(input, weight.t())
    return out if bias is None else out + bias


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """``y_k = x1ᵀ W_k x2 + b_k`` for ``weight`` of shape (out, in1, in2)."""
    from ...ops.linalg import einsum

    out = einsum("...i,kij,...j->...k", input1, weight, input2)
    return out if bias is None else out + bias
