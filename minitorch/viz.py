"""Draw the autograd graph behind a tensor, as Graphviz DOT text.

``make_dot(loss, params=dict(model.named_parameters()))`` walks from the
tensor's ``grad_fn`` through ``next_functions`` (the same edges the backward
pass follows) and returns a :class:`Graph`:

* grey boxes are backward nodes (``MulBackward0``), with the shape and
  dtype of the tensor their op produced;
* blue boxes are leaves (the tensors ``.grad`` is written to), named after
  the parameter when ``params`` names it, with the gradient's norm after
  ``backward()``;
* the green box is the tensor you drew;
* orange boxes (``show_saved=True``) are the tensors a node saved for its
  backward; ``show_attrs=True`` adds the other values it kept.

``graph.source`` is the DOT text; ``graph.render("graph", format="svg")``
runs Graphviz's ``dot`` program when it is installed, and otherwise raises
an error that says how to install it (the DOT text is still written).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from .autograd.function import AccumulateGrad, BackwardNode
from .tensor import Tensor

__all__ = ["Graph", "make_dot"]

_STYLE = {
    "op": 'shape=box, style=filled, fillcolor="lightgrey"',
    "leaf": 'shape=box, style=filled, fillcolor="lightblue"',
    "output": 'shape=box, style=filled, fillcolor="darkolivegreen1"',
    "saved": 'shape=box, style=filled, fillcolor="orange"',
}


class Graph:
    """DOT source text of a graph, renderable with Graphviz."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __str__(self) -> str:
        return self.source

    def save(self, filename: str) -> str:
        """Write the DOT text to ``filename`` and return the path."""
        with open(filename, "w", encoding="utf-8") as f:
            f.write(self.source)
        return filename

    def render(self, filename: str = "graph", format: str = "svg") -> str:  # noqa: A002
        """Write ``filename.dot`` and draw it to ``filename.<format>`` (svg, png, pdf) with ``dot``."""
        dot_path = self.save(filename + ".dot")
        dot = shutil.which("dot")
        if dot is None:
            raise RuntimeError(
                f"Graphviz's `dot` program was not found, so the graph cannot be drawn as {format}. "
                "Install Graphviz (Debian/Ubuntu: apt install graphviz; macOS: brew install graphviz; "
                f"conda: conda install graphviz), or open the DOT text written to {dot_path} in any DOT viewer."
            )
        out_path = f"{filename}.{format}"
        subprocess.run([dot, f"-T{format}", dot_path, "-o", out_path], check=True)
        return out_path


def _describe(shape: Sequence[int], dtype: Any) -> str:
    return f"({', '.join(map(str, shape))}) {dtype.name}"  # minitorch and NumPy dtypes both have .name


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _holds_tensor(value: Any) -> bool:
    """Tensors a node kept are drawn as saved tensors, not printed as attributes."""
    if isinstance(value, (tuple, list)):
        return any(_holds_tensor(v) for v in value)
    return isinstance(value, Tensor)


def _short(value: Any, limit: int) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def make_dot(
    output: Union[Tensor, Sequence[Tensor]],
    params: Optional[Mapping[str, Tensor]] = None,
    show_saved: bool = False,
    show_attrs: bool = False,
    max_attr_chars: int = 50,
) -> Graph:
    """The autograd graph that produced ``output`` (a tensor or several) as a :class:`Graph`."""
    outputs = [output] if isinstance(output, Tensor) else list(output)
    names: Dict[int, str] = {id(p): name for name, p in (params or {}).items()}
    lines: List[str] = ["digraph {", '  graph [rankdir=BT, size="12,12"]', "  node [fontname=monospace, fontsize=10]"]
    seen: set = set()

    def add_node(node: Any) -> str:
        nid = f"n{id(node)}"
        if isinstance(node, AccumulateGrad):
            leaf = node.variable
            label = names.get(id(leaf), "leaf") + "\n" + _describe(leaf.shape, leaf.dtype)
            if leaf.grad is not None:
                label += f"\ngrad norm {float(leaf.grad.detach().double().norm()):.4g}"
            lines.append(f"  {nid} [label={_quote(label)}, {_STYLE['leaf']}]")
            return nid
        label = node.name()
        metas = [m for m in getattr(node, "_output_meta", ()) if m is not None]
        if metas:
            label += "\n" + "\n".join(_describe(shape, dtype) for shape, dtype, _ in metas)
        if show_attrs:
            for key, value in sorted(vars(node).items()):
                if not key.startswith("_") and key != "needs_input_grad" and not _holds_tensor(value):
                    label += f"\n{key}: {_short(value, max_attr_chars)}"
        lines.append(f"  {nid} [label={_quote(label)}, {_STYLE['op']}]")
        if show_saved and isinstance(node, BackwardNode):
            for i, saved in enumerate(node._saved or ()):
                if saved is None:
                    continue
                sid = f"{nid}_saved{i}"
                t = saved.tensor
                text = ("saved output" if saved.is_output else "saved") + "\n" + _describe(t.shape, t.dtype)
                lines.append(f"  {sid} [label={_quote(text)}, {_STYLE['saved']}]")
                lines.append(f"  {sid} -> {nid} [style=dashed]")
        return nid

    stack = []
    for k, out in enumerate(outputs):
        oid = f"out{k}"
        label = names.get(id(out), "output") + "\n" + _describe(out.shape, out.dtype)
        lines.append(f"  {oid} [label={_quote(label)}, {_STYLE['output']}]")
        root = out.grad_fn
        if root is None and out.requires_grad:  # the output is itself a leaf
            from .autograd.function import grad_accumulator

            root = grad_accumulator(out)
        if root is not None:
            lines.append(f"  n{id(root)} -> {oid}")
            stack.append(root)
    while stack:  # iterative walk: deep graphs must not hit the recursion limit
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        nid = add_node(node)
        for parent, _ in node.next_functions:
            if parent is not None:
                lines.append(f"  n{id(parent)} -> {nid}")
                stack.append(parent)
    lines.append("}")
    return Graph("\n".join(lines) + os.linesep)
