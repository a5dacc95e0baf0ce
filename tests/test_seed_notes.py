"""Every item of the learner's notes (shared/seeds, section "Tensor"), in the order the notes list them."""

import numpy as np
import pytest

import minitorch

from helpers import HOST_CUDA


def test_creation_from_list_array_numpy_and_shared_memory():
    assert minitorch.tensor([[1, 2], [3, 4]]).dtype is minitorch.int64
    arr = np.arange(6.0).reshape(2, 3)
    copied = minitorch.tensor(arr)  # value copy
    shared = minitorch.from_numpy(arr)  # address shared
    also_shared = minitorch.as_tensor(arr)
    arr[0, 0] = 42.0
    assert copied[0, 0].item() == 0.0 and shared[0, 0].item() == 42.0 and also_shared[0, 0].item() == 42.0
    assert shared.share_memory_() is shared


@pytest.mark.parametrize(
    "make",
    [
        lambda: minitorch.zeros(2, 3),
        lambda: minitorch.ones(2, 3),
        lambda: minitorch.full((2, 3), 7.0),
        lambda: minitorch.eye(2, 3),
        lambda: minitorch.empty(2, 3),
        lambda: minitorch.rand(2, 3),
        lambda: minitorch.randn(2, 3),
        lambda: minitorch.randint(0, 10, (2, 3)),
        lambda: minitorch.normal(0.0, 1.0, size=(2, 3)),
        lambda: minitorch.arange(6).reshape(2, 3),
        lambda: minitorch.linspace(0, 1, 6).reshape(2, 3),
        lambda: minitorch.logspace(0, 1, 6).reshape(2, 3),
        lambda: minitorch.zeros_like(minitorch.ones(2, 3)),
        lambda: minitorch.ones_like(minitorch.ones(2, 3)),
        lambda: minitorch.rand_like(minitorch.ones(2, 3)),
    ],
)
def test_creation_functions(make):
    assert make().shape == (2, 3)


def test_math_functions():
    x = minitorch.tensor([[1.0, -2.0], [3.0, -4.0]])
    for name in ("abs", "neg", "reciprocal", "sigmoid", "tanh", "relu", "exp"):
        assert getattr(x, name)().shape == x.shape
    assert x.abs().sqrt().log().shape == x.shape
    assert x.masked_fill(x < 0, 0.0).tolist() == [[1.0, 0.0], [3.0, 0.0]]
    assert minitorch.cat([x, x]).shape == (4, 2) and minitorch.stack([x, x]).shape == (2, 2, 2)
    assert [c.shape for c in x.chunk(2)] == [(1, 2), (1, 2)]
    assert x[:1].expand(3, 2).shape == (3, 2)
    assert minitorch.einsum("ij,jk->ik", x, x).tolist() == (x @ x).tolist()


def test_attributes():
    x = minitorch.ones(2, 3, requires_grad=True)
    assert not x.data.requires_grad and x.dtype is minitorch.float32 and x.device == minitorch.device("cpu")
    assert x.shape == x.size() == (2, 3) and x.ndim == x.dim() == 2 and x.numel() == 6


def test_gradient_related():
    w = minitorch.ones(3, requires_grad=True)
    assert w.grad is None and w.is_leaf
    loss = (w * w).sum()
    assert loss.grad_fn is not None and not loss.is_leaf
    loss.backward(retain_graph=True)
    loss.backward()  # retain_graph kept the graph: gradients accumulate over "batches"
    assert w.grad.tolist() == [4.0, 4.0, 4.0]
    w.grad.zero_()
    assert w.grad.tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()  # by default the graph is destroyed after backward


def test_memory_layout():
    x = minitorch.arange(6).reshape(2, 3)
    assert x.stride() == (3, 1) and x.is_contiguous() and x.storage_offset() == 0
    assert x.t().stride() == (1, 3) and not x.t().is_contiguous()
    assert x[1].storage_offset() == 3 and x.storage().size() == 6


def test_type_and_device_conversions():
    x = minitorch.tensor([1.5, -2.5])
    assert x.to(minitorch.int64).dtype is minitorch.int64
    assert [x.int().dtype, x.long().dtype, x.float().dtype, x.double().dtype, x.bool().dtype] == [
        minitorch.int32,
        minitorch.int64,
        minitorch.float32,
        minitorch.float64,
        minitorch.bool,
    ]
    assert x.cpu() is x and x.to("cpu") is x
    if not minitorch.cuda.is_available() and not HOST_CUDA:
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            x.cuda()


def test_shape_transforms():
    x = minitorch.arange(24).reshape(2, 3, 4)
    assert x.reshape(6, 4).shape == (6, 4) and x.view(4, 6).shape == (4, 6)
    assert x.permute(2, 0, 1).shape == (4, 2, 3) and x.transpose(0, 2).shape == (4, 3, 2)
    assert x[:, :1].squeeze().shape == (2, 4) and x.unsqueeze(1).shape == (2, 1, 3, 4)
    assert x.flatten().shape == (24,) and x.flatten(1).shape == (2, 12)
    assert x.transpose(0, 1).reshape(-1).tolist() == x.transpose(0, 1).contiguous().view(-1).tolist()


def test_data_conversions():
    x = minitorch.tensor([[1.0, 2.0]], requires_grad=True)
    assert x.detach().numpy().tolist() == [[1.0, 2.0]] and x.tolist() == [[1.0, 2.0]]
    assert x[0, 1].item() == 2.0
    c = x.clone()
    assert c.data_ptr() != x.data_ptr() and c.grad_fn is not None
    assert x.t().contiguous().is_contiguous()


def test_broadcasting_right_to_left():
    a = minitorch.ones(4, 1, 3)
    b = minitorch.ones(2, 1)
    assert (a + b).shape == (4, 2, 3)
    with pytest.raises(RuntimeError, match="must match"):
        minitorch.ones(2, 3) + minitorch.ones(4, 3)
