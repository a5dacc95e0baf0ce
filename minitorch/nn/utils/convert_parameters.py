"""Flatten a model's parameters into one vector and back (e.g. for second-order or evolutionary methods)."""

from __future__ import annotations

from typing import Iterable, Optional

from ...ops.joining import cat
from ...tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated into one 1-D tensor (a copy, differentiable)."""
    device = None
    vec = []
    for param in parameters:
        device = _check_param_device(param, device)
        vec.append(param.view(-1))
    return cat(vec)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Make each parameter view its slice of ``vec`` (the inverse of ``parameters_to_vector``).

    As in PyTorch, the parameters then share ``vec``'s memory: ``param.data``
    is replaced, the parameter object itself stays the same.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected minitorch.Tensor, but got: {type(vec).__name__}")
    device = None
    pointer = 0
    for param in parameters:
        device = _check_param_device(param, device)
        n = param.numel()
        param.data = vec[pointer : pointer + n].view_as(param).data
        pointer += n


def _check_param_device(param: Tensor, old_device: Optional[int]) -> int:
    """All parameters must be on one device; returns its index (-1 for the CPU)."""
    device = param.get_device()
    if old_device is not None and device != old_device:
        raise TypeError("Found two parameters on different devices, this is currently not supported.")
    return device
