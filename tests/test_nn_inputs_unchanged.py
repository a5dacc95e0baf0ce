"""No out-of-place functional writes into its inputs (forward or backward), on strided inputs too."""

import numpy as np
import pytest

import minitorch
import minitorch.nn.functional as F

R = np.random.default_rng(0)


def t(*shape):
    """A transposed (non-contiguous) float64 leaf, so a kernel that writes through a view would show."""
    base = minitorch.tensor(R.standard_normal(tuple(reversed(shape))))
    return base.permute(*reversed(range(len(shape)))).detach().requires_grad_()


CASES = {
    "conv2d": lambda: (F.conv2d, t(2, 3, 6, 6), t(4, 3, 3, 3), t(4)),
    "conv_transpose2d": lambda: (lambda x, w: F.conv_transpose2d(x, w, stride=2), t(2, 3, 4, 4), t(3, 2, 3, 3)),
    "max_pool2d": lambda: (lambda x: F.max_pool2d(x, 2), t(2, 3, 6, 6)),
    "avg_pool2d": lambda: (lambda x: F.avg_pool2d(x, 3, 1, 1), t(2, 3, 6, 6)),
    "adaptive_avg_pool2d": lambda: (lambda x: F.adaptive_avg_pool2d(x, 2), t(2, 3, 5, 5)),
    "layer_norm": lambda: (lambda x, w, b: F.layer_norm(x, (5,), w, b), t(3, 4, 5), t(5), t(5)),
    "group_norm": lambda: (lambda x: F.group_norm(x, 2), t(2, 4, 3)),
    "batch_norm_train": lambda: (lambda x: F.batch_norm(x, None, None, training=True), t(4, 3, 2)),
    "softmax": lambda: (lambda x: F.softmax(x, dim=1), t(3, 4)),
    "gelu": lambda: (F.gelu, t(3, 4)),
    "cross_entropy": lambda: (lambda x: F.cross_entropy(x, minitorch.tensor([0, 2, 1]), label_smoothing=0.1), t(3, 4)),
    "mse_loss": lambda: (F.mse_loss, t(3, 4), t(3, 4)),
    "bce_with_logits": lambda: (lambda x, y: F.binary_cross_entropy_with_logits(x, y.sigmoid()), t(3, 4), t(3, 4)),
    "sdpa": lambda: (
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        t(2, 5, 4),
        t(2, 5, 4),
        t(2, 5, 4),
    ),
    "pad_reflect": lambda: (lambda x: F.pad(x, (1, 2), mode="reflect"), t(2, 3, 5)),
    "interpolate": lambda: (lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"), t(1, 2, 3, 3)),
    "embedding": lambda: (lambda w: F.embedding(minitorch.tensor([[0, 2], [1, 0]]), w), t(3, 4)),
    "linear": lambda: (F.linear, t(3, 4), t(2, 4), t(2)),
    "dropout_eval": lambda: (lambda x: F.dropout(x, 0.5, training=False), t(3, 4)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_functional_leaves_its_inputs_alone(name):
    fn, *inputs = CASES[name]()
    before = [x.detach().clone() for x in inputs]
    versions = [x._version for x in inputs]
    out = fn(*inputs)
    out.backward(minitorch.ones_like(out))
    for x, b, v in zip(inputs, before, versions):
        assert minitorch.equal(x.detach(), b), f"{name} changed an input"
        assert x._version == v, f"{name} bumped an input's version counter"
