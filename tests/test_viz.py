"""minitorch.viz: the autograd graph as DOT text, rendered when Graphviz is installed."""

from __future__ import annotations

import os
import stat

import pytest

import minitorch
from minitorch import nn, viz


def small_graph():
    minitorch.manual_seed(0)
    lin = nn.Linear(3, 2)
    x = minitorch.randn(4, 3)
    loss = (lin(x).tanh() ** 2).sum()
    return lin, loss


def test_dot_names_ops_leaves_and_shapes():
    lin, loss = small_graph()
    src = viz.make_dot(loss, params=dict(lin.named_parameters())).source
    assert src.startswith("digraph {") and src.rstrip().endswith("}")
    for text in ("SumBackward0", "PowBackward0", "TanhBackward0", "AddmmBackward0", "TBackward0"):
        assert text in src
    assert "weight\\n(2, 3) float32" in src
    assert "bias\\n(2) float32" in src and "output\\n() float32" in src
    assert "grad norm" not in src and "saved" not in src
    # Every edge joins two declared nodes.
    declared = {line.split()[0] for line in src.splitlines() if "[label=" in line}
    for line in src.splitlines():
        if "->" in line:
            a, _, b = line.split()[:3]
            assert a in declared and b in declared


def test_dot_after_backward_shows_gradients_and_saved_tensors_on_request():
    lin, loss = small_graph()
    loss.backward(retain_graph=True)
    src = viz.make_dot(loss, params=dict(lin.named_parameters()), show_saved=True, show_attrs=True).source
    norm = float(lin.weight.grad.double().norm())
    assert f"grad norm {norm:.4g}" in src
    assert "saved output\\n(4, 2) float32" in src  # tanh saves its output
    assert "style=dashed" in src
    assert "keepdim: False" in src  # an attribute SumBackward0 kept


def test_unnamed_leaves_and_several_outputs():
    a = minitorch.ones(2, requires_grad=True)
    b = a * 3
    src = viz.make_dot([b, a]).source
    assert src.count("darkolivegreen1") == 2 and "leaf\\n(2) float32" in src and "MulBackward0" in src


def test_deep_graph_is_walked_iteratively():
    x = minitorch.ones(1, requires_grad=True)
    y = x
    for _ in range(3000):
        y = y + 1
    assert viz.make_dot(y).source.count("AddBackward0") == 3000


def test_render_without_graphviz_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    _, loss = small_graph()
    with pytest.raises(RuntimeError, match="apt install graphviz"):
        viz.make_dot(loss).render(str(tmp_path / "g"), format="png")
    assert (tmp_path / "g.dot").read_text().startswith("digraph")


def test_render_calls_dot(tmp_path, monkeypatch):
    fake = tmp_path / "dot"  # stands in for Graphviz: records its arguments, writes the output file
    fake.write_text('#!/bin/sh\necho "$@" > "$(dirname "$0")/args.txt"\necho "<svg/>" > "$4"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(viz.shutil, "which", lambda name: str(fake))
    _, loss = small_graph()
    out = viz.make_dot(loss).render(str(tmp_path / "g"), format="svg")
    assert out == str(tmp_path / "g.svg") and os.path.exists(out)
    assert (tmp_path / "args.txt").read_text().split() == ["-Tsvg", str(tmp_path / "g.dot"), "-o", out]
