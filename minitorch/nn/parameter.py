"""Parameter and Buffer: tensors that a Module registers when they are assigned to it.

A Parameter is an ordinary leaf tensor whose type tells ``Module.__setattr__``
"this is learnable": it shares the memory of the tensor it was made from and
requires grad by default. A Buffer marks state that is saved but not learned
(BatchNorm's running mean).
"""

from __future__ import annotations

from typing import Any, Optional

from ..tensor import Tensor

_SLOTS = tuple(s for s in Tensor.__slots__ if s not in ("__dict__", "__weakref__"))


def _share(cls: type, data: Tensor) -> Tensor:
    """A new leaf of class ``cls`` over ``data``'s memory (same storage and version counter)."""
    t = object.__new__(cls)
    src = data.detach()
    for slot in _SLOTS:
        object.__setattr__(t, slot, getattr(src, slot))
    t._base = None  # a parameter is a root leaf of its own, even when made from a view
    return t


class Parameter(Tensor):
    """A tensor that is a module parameter: ``Module.parameters()`` finds it and optimizers update it."""

    def __new__(cls, data: Optional[Tensor] = None, requires_grad: bool = True) -> "Parameter":
        if data is None:
            from ..ops.creation import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(
                f"Parameter(data): expected a Tensor, got {type(data).__name__}; wrap it with minitorch.tensor()"
            )
        p = _share(cls, data)
        p.requires_grad_(requires_grad)
        return p

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol: int) -> Any:
        return (Parameter, (self.detach().clone(), self.requires_grad))


class Buffer(Tensor):
    """Mark a tensor as a buffer: ``module.x = Buffer(t)`` is ``module.register_buffer('x', t)``."""

    def __new__(cls, data: Optional[Tensor] = None, *, persistent: bool = True) -> "Buffer":
        if data is None:
            from ..ops.creation import empty

            data = empty(0)
        b = _share(cls, data)
        b.persistent = persistent
        return b
