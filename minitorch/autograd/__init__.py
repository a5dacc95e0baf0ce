"""Reverse-mode automatic differentiation: ``backward``, ``grad`` and ``Function``."""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple, Union

from . import grad_mode
from .engine import run_backward
from .function import Function, Node
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled

_TensorOrTensors = Union[Any, Sequence[Any]]


def _as_tuple(x: Any) -> Tuple[Any, ...]:
    from ..tensor import Tensor

    if x is None:
        return ()
    return (x,) if isinstance(x, Tensor) else tuple(x)


def _make_grads(outputs: Tuple[Any, ...], grad_outputs: Tuple[Any, ...]) -> list:
    """Default gradient 1 for scalar outputs; check user-given gradients' shapes."""
    from ..ops.creation import ones_like

    grads = []
    for out, g in zip(outputs, grad_outputs + (None,) * (len(outputs) - len(grad_outputs))):
        if not out.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if out.numel() != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs; got an output of shape "
                    f"{list(out.shape)}. Pass gradient= (a tensor of that shape), or reduce the output "
                    "first, e.g. out.sum().backward()"
                )
            g = ones_like(out)
        elif g.shape != out.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[0] has a shape of {g.shape} and output[0] has a shape of {out.shape}."
            )
        grads.append(g)
    return grads


def backward(
    tensors: _TensorOrTensors,
    grad_tensors: Optional[_TensorOrTensors] = None,
    retain_graph: Optional[bool] = None,
    create_graph: bool = False,
    inputs: Optional[_TensorOrTensors] = None,
) -> None:
    """Accumulate d(tensors)/d(leaf) into each leaf's ``.grad`` (``Tensor.backward``)."""
    outputs = _as_tuple(tensors)
    grads = _make_grads(outputs, _as_tuple(grad_tensors) if grad_tensors is not None else ())
    if retain_graph is None:
        retain_graph = create_graph
    inputs_t = _as_tuple(inputs) if inputs is not None else None
    if inputs_t is not None and not inputs_t:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    run_backward(outputs, grads, retain_graph, create_graph, inputs_t, accumulate=True)


def grad(
    outputs: _TensorOrTensors,
    inputs: _TensorOrTensors,
    grad_outputs: Optional[_TensorOrTensors] = None,
    retain_graph: Optional[bool] = None,
    create_graph: bool = False,
    allow_unused: Optional[bool] = None,
    materialize_grads: bool = False,
) -> Tuple[Any, ...]:
    """Return d(outputs)/d(inputs) without touching any ``.grad``."""
    outs = _as_tuple(outputs)
    ins = _as_tuple(inputs)
    for t in ins:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    grads = _make_grads(outs, _as_tuple(grad_outputs) if grad_outputs is not None else ())
    if retain_graph is None:
        retain_graph = create_graph
    result = run_backward(outs, grads, retain_graph, create_graph, ins, accumulate=False)
    if allow_unused is None:
        allow_unused = materialize_grads
    for i, g in enumerate(result):
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the graph. "
                    "Set allow_unused=True if this is the desired behavior."
                )
            if materialize_grads:
                from ..ops.creation import zeros_like

                result[i] = zeros_like(ins[i])
    return tuple(result)


from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: E402

__all__ = [
    "Function",
    "GradcheckError",
    "gradcheck",
    "gradgradcheck",
    "Node",
    "backward",
    "grad",
    "grad_mode",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "inference_mode",
    "is_grad_enabled",
]
