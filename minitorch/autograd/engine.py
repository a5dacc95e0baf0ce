"""The backward pass: walk the graph from the outputs back to the leaves.

1. Order the nodes so that every node comes after all nodes that feed it a
   gradient (a reverse topological order, found with an explicit stack, so
   a graph 10,000 ops deep needs no recursion).
2. Seed the roots with the output gradients, then visit the nodes in that
   order: call the node's backward, and *add* each input gradient into the
   buffer of the node it flows to. Adding, never assigning, is what makes a
   tensor used twice (``b = a + a``) get both contributions.
3. At a leaf, AccumulateGrad adds the gradient into ``leaf.grad``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..dtypes import from_numpy_dtype
from . import grad_mode
from .function import AccumulateGrad, Node, grad_accumulator

Tensor: Any = None  # set by minitorch.tensor (which imports this package first)


def _topological_order(roots: Sequence[Node]) -> List[Node]:
    """Nodes reachable from ``roots``, each before every node it feeds into."""
    order: List[Node] = []
    seen = set()
    for root in roots:
        if id(root) in seen:
            continue
        seen.add(id(root))
        stack = [(root, iter(_edges(root)))]
        while stack:
            node, children = stack[-1]
            for child, _ in children:
                if child is not None and id(child) not in seen:
                    seen.add(id(child))
                    stack.append((child, iter(_edges(child))))
                    break
            else:  # all children done: post-order
                stack.pop()
                order.append(node)
    order.reverse()
    return order


def _edges(node: Node) -> Tuple[Tuple[Optional[Node], int], ...]:
    """Where a node sends gradients: one (node, output number) per forward argument."""
    return getattr(node, "_edges", ())


def _gradient_edge(t: Any) -> Tuple[Node, int]:
    """The (node, output number) where a tensor's gradient arrives."""
    if t.grad_fn is None:
        return grad_accumulator(t), 0
    return t.grad_fn, t._output_nr


def _reduce_to(grad: Any, meta: Tuple[Any, Any]) -> Any:
    """Sum a broadcast gradient back to the input's shape and cast to its dtype."""
    shape, np_dtype = meta
    if grad._data.shape != shape:
        grad = grad.sum_to_size(shape)
    if grad._data.dtype != np_dtype:
        grad = grad.to(from_numpy_dtype(np_dtype))
    return grad


def _run_leaf_hooks(leaf: Any, grad: Any) -> Any:
    for hook in leaf._hooks or ():
        result = hook(grad)
        if result is not None:
            grad = result
    return grad


def _accumulate(leaf: Any, grad: Any, create_graph: bool) -> None:
    """Add ``grad`` into ``leaf.grad`` (a copy the first time: the same tensor may flow elsewhere)."""
    if leaf._grad is None:
        leaf._grad = grad if create_graph else grad._new(grad._data.copy())
    elif create_graph or leaf._grad._requires_grad:
        leaf._grad = leaf._grad + grad
    else:  # add in place, so references to .grad (e.g. held by an optimizer) stay valid
        leaf._grad._data += grad._data
        leaf._grad._version_counter.bump()
    for hook in leaf._post_accumulate_hooks or ():
        hook(leaf)


def run_backward(
    outputs: Sequence[Any],
    grad_outputs: Sequence[Any],
    retain_graph: bool,
    create_graph: bool,
    inputs: Optional[Sequence[Any]] = None,
    accumulate: bool = True,
) -> Optional[List[Any]]:
    """Propagate ``grad_outputs`` from ``outputs`` back through the graph.

    With ``accumulate`` (``Tensor.backward``) gradients are added into the
    ``.grad`` of leaves (only those in ``inputs`` when given). Without it
    (``autograd.grad``) nothing is accumulated; the gradients that reach
    ``inputs`` are returned instead.
    """
    roots = [_gradient_edge(t) for t in outputs]
    order = _topological_order([node for node, _ in roots])
    buffers: Dict[Node, List[Any]] = {}

    def add(node: Node, nr: int, grad: Any) -> None:
        slots = buffers.get(node)
        if slots is None:
            slots = buffers[node] = [None] * _num_outputs(node)
        slots[nr] = grad if slots[nr] is None else slots[nr] + grad

    targets: Dict[Tuple[int, int], int] = {}
    if inputs is not None:
        for i, t in enumerate(inputs):
            node, nr = _gradient_edge(t)
            targets[(id(node), nr)] = i
        useful = _useful(order, {key[0] for key in targets})
        order = [n for n in order if id(n) in useful]
    captured: List[Any] = [None] * (len(inputs) if inputs is not None else 0)

    prev_mode = grad_mode._state.enabled
    grad_mode._state.enabled = create_graph
    try:
        for (node, nr), grad in zip(roots, grad_outputs):
            add(node, nr, grad)
        for node in order:
            grads = buffers.pop(node, None)
            if grads is None:
                continue
            # As in PyTorch: autograd.grad returns a non-leaf's gradient as it arrives, before
            # that tensor's hooks; leaves, and backward(inputs=...), see it after the hooks.
            is_leaf = isinstance(node, AccumulateGrad)
            if targets and not (accumulate or is_leaf):
                _capture(node, grads, targets, captured)
            grads = [_run_leaf_hooks(node.variable, grads[0])] if is_leaf else _run_tensor_hooks(node, grads)
            if targets and (accumulate or is_leaf):
                _capture(node, grads, targets, captured)
            if isinstance(node, AccumulateGrad):
                if accumulate and (not targets or (id(node), 0) in targets):
                    _accumulate(node.variable, grads[0], create_graph)
                continue
            for hook in node.__dict__.get("_pre_hooks", ()):
                result = hook(tuple(grads))
                if result is not None:
                    grads = list(result)
            if targets and not any(child is not None and id(child) in useful for child, _ in node._edges):
                continue  # a target whose inputs lead to no other target: nothing more to do
            input_grads = _call_backward(node, grads)
            for hook in node.__dict__.get("_post_hooks", ()):
                hook(input_grads, tuple(grads))
            for (child, child_nr), g, meta in zip(node._edges, input_grads, node._input_meta):
                if child is not None and g is not None:
                    add(child, child_nr, _reduce_to(g, meta))
            if not retain_graph:
                node.release()
        if accumulate and inputs is not None:  # backward(inputs=[non_leaf]) fills non_leaf.grad too
            for t, g in zip(inputs, captured):
                if t.grad_fn is not None and g is not None:
                    t._grad = (g if create_graph else g.detach()) if t._grad is None else t._grad + g
    finally:
        grad_mode._state.enabled = prev_mode
    return captured if inputs is not None else None


def _capture(node: Node, grads: List[Any], targets: Dict[Tuple[int, int], int], captured: List[Any]) -> None:
    """Keep the gradients arriving at the requested inputs."""
    for nr, g in enumerate(grads):
        i = targets.get((id(node), nr))
        if i is not None and g is not None:
            captured[i] = g


def _num_outputs(node: Node) -> int:
    meta = getattr(node, "_output_meta", None)
    return len(meta) if meta is not None else 1


def _run_tensor_hooks(node: Node, grads: List[Any]) -> List[Any]:
    """Hooks registered on non-leaf tensors, and retain_grad(), per output."""
    tensor_hooks = node.__dict__.get("_tensor_hooks")
    if tensor_hooks:
        for nr, hooks in tensor_hooks.items():
            for hook in hooks:
                if grads[nr] is not None:
                    result = hook(grads[nr])
                    if result is not None:
                        grads[nr] = result
    retained = node.__dict__.get("_retained")
    if retained:
        for nr, ref in retained.items():
            t = ref()
            if t is not None and grads[nr] is not None:
                g = grads[nr] if grad_mode.is_grad_enabled() else grads[nr].detach()
                t._grad = g.clone() if t._grad is None else t._grad + g
    return grads


def _call_backward(node: Any, grads: List[Any]) -> Tuple[Any, ...]:
    """Fill in zeros for outputs that got no gradient, then run the node's backward."""
    if node.materialize_grads:
        for nr, g in enumerate(grads):
            if g is None:
                meta = node._output_meta[nr]
                if meta is not None:
                    shape, np_dtype, backend = meta
                    grads[nr] = Tensor._make(backend.xp.zeros(shape, dtype=np_dtype), backend)
    input_grads = node.apply(*grads)
    n_inputs = len(node._edges)
    if len(input_grads) < n_inputs:  # forward took trailing non-tensor args
        input_grads = tuple(input_grads) + (None,) * (n_inputs - len(input_grads))
    elif len(input_grads) > n_inputs:
        extra = input_grads[n_inputs:]
        if any(g is not None for g in extra):
            raise RuntimeError(
                f"function {node.name()} returned an incorrect number of gradients "
                f"(expected {n_inputs}, got {len(input_grads)})"
            )
    return input_grads


def _useful(order: List[Node], target_ids: set) -> set:
    """Ids of the nodes from which a target can be reached; others are skipped."""
    useful = set()
    for node in reversed(order):  # children before parents
        if id(node) in target_ids or any(child is not None and id(child) in useful for child, _ in _edges(node)):
            useful.add(id(node))
    return useful
