"""The autograd graph: Function (one differentiable op) and the nodes it records.

Calling ``SomeFunction.apply(*inputs)`` runs ``forward`` with grad mode off
and, when any input requires grad, records a *node*: an instance of
``SomeFunction``'s backward class (``MulBackward0`` for ``Mul``). The node
is also the ``ctx`` that ``forward`` saw, so it holds what forward saved.
Its ``next_functions`` point at the nodes of the inputs, which makes the
graph. ``backward`` is written with ordinary tensor ops, so with
``create_graph=True`` the backward pass records a graph of its own and
higher derivatives work.
"""

from __future__ import annotations

import weakref
from typing import Any, List, Optional, Tuple

from . import grad_mode

_FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors after they "
    "have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward."
)


#: Set by ops.inplace: renews the history of a view whose base was changed in place.
view_refresher: Any = None


class Node:
    """A step of the backward pass: maps output gradients to input gradients."""

    next_functions: Tuple[Tuple[Optional["Node"], int], ...] = ()

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    def register_hook(self, hook: Any) -> Any:
        """``hook(grad_inputs, grad_outputs)`` runs after this node's backward."""
        hooks = self.__dict__.setdefault("_post_hooks", [])
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    def register_prehook(self, hook: Any) -> Any:
        """``hook(grad_outputs)`` runs before this node's backward; may return new grads."""
        hooks = self.__dict__.setdefault("_pre_hooks", [])
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)


class _RemovableHandle:
    def __init__(self, hooks: list, hook: Any) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class AccumulateGrad(Node):
    """The node of a leaf tensor: adds the incoming gradient into ``leaf.grad``."""

    def __init__(self, variable: Any) -> None:
        self.variable = variable


def grad_accumulator(leaf: Any) -> AccumulateGrad:
    """The leaf's AccumulateGrad node, made once and shared while it lives.

    The leaf holds it weakly (the node holds the leaf), so no cycle is made.
    """
    ref = leaf._grad_accumulator
    node = ref() if ref is not None else None
    if node is None:
        node = AccumulateGrad(leaf)
        leaf._grad_accumulator = weakref.ref(node)
    return node


class SavedTensor:
    """A tensor kept for backward, with the version it had when saved.

    A saved *output* of the node is kept without its grad_fn (the node itself)
    so that no reference cycle forms; unpacking re-attaches it.
    """

    __slots__ = ("tensor", "version", "is_output", "output_nr")

    def __init__(self, tensor: Any, is_output: bool) -> None:
        self.is_output = is_output
        self.output_nr = tensor._output_nr
        self.version = tensor._version_counter.value
        self.tensor = tensor._alias_without_grad_fn() if is_output else tensor

    def unpack(self, node: "BackwardNode") -> Any:
        t = self.tensor
        if t._version_counter.value != self.version:
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an inplace "
                f"operation: [{t.type()} {list(t.shape)}], which is output {self.output_nr} of "
                f"{node.name()}, is at version {t._version_counter.value}; expected version "
                f"{self.version} instead. Hint: the operation that modified it ran after the forward pass "
                "saved it; use an out-of-place op (e.g. x = x + 1 instead of x += 1) or clone() first."
            )
        if self.is_output and grad_mode.is_grad_enabled():
            return t._with_grad_fn(node, self.output_nr)
        return t


class BackwardNode(Node):
    """The ``ctx`` of a Function call and, after forward, its node in the graph."""

    _forward_cls: Any = None
    # Defaults live on the class, so making a node per op call stays cheap.
    needs_input_grad: Tuple[bool, ...] = ()
    materialize_grads = True
    _to_save: Tuple[Any, ...] = ()
    _saved: Optional[List[SavedTensor]] = None
    _non_differentiable: Tuple[Any, ...] = ()
    _dirty: Tuple[Any, ...] = ()
    _edges: Tuple[Tuple[Optional[Node], int], ...] = ()
    _tensor_args: Tuple[bool, ...] = ()

    @property
    def next_functions(self) -> Tuple[Tuple[Optional[Node], int], ...]:  # type: ignore[override]
        """(node, output number) for each tensor argument, as PyTorch lists them."""
        return tuple(e for e, is_tensor in zip(self._edges, self._tensor_args) if is_tensor)

    # ---- what forward may call on ctx --------------------------------------
    def save_for_backward(self, *tensors: Any) -> None:
        """Keep tensors for backward; read them back as ``ctx.saved_tensors``."""
        self._to_save = tensors

    def mark_non_differentiable(self, *outputs: Any) -> None:
        """Outputs (e.g. argmax indices) that never carry a gradient."""
        self._non_differentiable = outputs

    def mark_dirty(self, *tensors: Any) -> None:
        """Inputs that forward modified in place (they are also returned)."""
        self._dirty = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """If False, backward receives None for outputs that got no gradient."""
        self.materialize_grads = value

    @property
    def saved_tensors(self) -> Tuple[Any, ...]:
        if self._saved is None:
            if self._to_save:
                raise RuntimeError(_FREED)
            return ()
        return tuple(None if s is None else s.unpack(self) for s in self._saved)

    # ---- what the engine calls ---------------------------------------------
    def apply(self, *grad_outputs: Any) -> Tuple[Any, ...]:
        grads = self._forward_cls.backward(self, *grad_outputs)
        return grads if isinstance(grads, tuple) else (grads,)

    def release(self) -> None:
        """Free saved tensors (after a backward without retain_graph)."""
        if self._saved is not None:
            self._saved = None
            self._to_save = (None,)  # remembers that something was saved, for the error


class Function:
    """Base class for differentiable ops; subclass with forward and backward.

    >>> class Square(Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         (x,) = ctx.saved_tensors
    ...         return 2 * x * grad
    """

    _backward_cls: Any = None
    #: name of the backward node class; built-ins use PyTorch's (e.g. "MulBackward0")
    grad_fn_name: Optional[str] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("grad_fn_name") or cls.__name__ + "Backward"
        cls._backward_cls = type(name, (BackwardNode,), {"_forward_cls": cls, "__module__": cls.__module__})

    @staticmethod
    def forward(ctx: BackwardNode, *args: Any) -> Any:
        raise NotImplementedError("subclasses of Function must implement forward")

    @staticmethod
    def backward(ctx: BackwardNode, *grad_outputs: Any) -> Any:
        raise NotImplementedError("subclasses of Function must implement backward to be differentiated")

    @classmethod
    def apply(cls, *args: Any) -> Any:
        """Run forward without recording, then record one node if needed."""
        ctx = cls._backward_cls()
        prev = grad_mode._state.enabled
        # As in PyTorch, no input needs a gradient while grad mode is off, so forward saves nothing for backward.
        needs = tuple([prev and isinstance(a, _Tensor) and a._requires_grad for a in args])
        ctx.needs_input_grad = needs
        grad_mode._state.enabled = False
        try:
            result = cls.forward(ctx, *args)
        finally:
            grad_mode._state.enabled = prev
        if prev and True in needs:
            _connect(ctx, args, result if isinstance(result, tuple) else (result,))
        elif ctx._dirty:
            for t in ctx._dirty:
                t._version_counter.bump()
        return result


def _connect(ctx: BackwardNode, args: Tuple[Any, ...], outputs: Tuple[Any, ...]) -> None:
    """Record ctx as the grad_fn of the outputs and link it to the inputs' nodes."""
    Tensor = _Tensor
    edges = []
    input_meta = []
    for a, need in zip(args, ctx.needs_input_grad):
        if need:
            if a._base is not None and view_refresher is not None:
                view_refresher(a)
            edges.append((grad_accumulator(a), 0) if a._grad_fn is None else (a._grad_fn, a._output_nr))
            input_meta.append(a)
        else:
            edges.append((None, 0))
            input_meta.append(None)
    ctx._edges = tuple(edges)  # one per forward argument, as backward returns them
    ctx._tensor_args = tuple([isinstance(a, Tensor) for a in args])
    # What backward's results are reduced/cast to: (shape, dtype) per input.
    ctx._input_meta = [None if a is None else (a._data.shape, a._data.dtype) for a in input_meta]
    for t in ctx._dirty:
        if t._grad_fn is None and t._requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        t._version_counter.bump()
    out_meta = []
    for i, out in enumerate(outputs):
        differentiable = (
            isinstance(out, Tensor)
            and out.dtype.is_floating_point
            and not any(out is n for n in ctx._non_differentiable)
        )
        if differentiable:
            out._grad_fn = ctx
            out._requires_grad = True
            out._output_nr = i
            if out._base is not None:  # a view: remember which version its history describes
                out.__dict__["_autograd_version"] = out._version_counter.value
            out_meta.append((out._data.shape, out._data.dtype, out._backend))
        else:
            out_meta.append(None)
    ctx._output_meta = out_meta
    if ctx._to_save:
        ctx._saved = [None if t is None else SavedTensor(t, any(t is o for o in outputs)) for t in ctx._to_save]
        ctx._to_save = ()


_Tensor: Any = None  # minitorch.tensor.Tensor, set when that module loads (it imports this one)
