"""Module, Parameter, containers, Linear and nn.init against PyTorch's behaviour."""

from __future__ import annotations

import copy
import math
from collections import OrderedDict

import numpy as np
import pytest

import minitorch
import minitorch.nn as nn
import minitorch.nn.functional as F

from helpers import check_raises, requires_torch, torch
from nn_helpers import check_module, to_minitorch_state


def build(lib):
    """The same nested model in either framework (no random draws in forward)."""

    class Block(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = lib.nn.Linear(4, 4)
            self.register_buffer("scale", lib.ones(4))
            self.register_buffer("cache", lib.zeros(2), persistent=False)
            self.gain = lib.nn.Parameter(lib.full((4,), 0.5))

        def forward(self, x):
            return self.fc(x) * self.scale * self.gain

    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = lib.nn.Linear(3, 4)
            self.blocks = lib.nn.ModuleList([Block(), Block()])
            self.heads = lib.nn.ModuleDict({"b": lib.nn.Linear(4, 2), "a": lib.nn.Linear(4, 1, bias=False)})
            self.seq = lib.nn.Sequential(OrderedDict(act=lib.nn.Identity(), flat=lib.nn.Flatten()))

        def forward(self, x):
            h = self.stem(x)
            for b in self.blocks:
                h = b(h)
            h = self.seq(h)
            return self.heads["b"](h), self.heads["a"](h)

    return Net()


@requires_torch
def test_names_order_and_state_dict_keys_match_torch():
    m, t = build(minitorch), build(torch)
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in m.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in m.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in m.named_children()] == [n for n, _ in t.named_children()]
    assert list(m.state_dict()) == list(t.state_dict())
    assert "blocks.0.cache" not in m.state_dict()  # non-persistent


@requires_torch
def test_nested_model_matches_torch_through_state_dict():
    x = np.random.default_rng(1).standard_normal((5, 3))
    check_module(build(minitorch), build(torch), x)
    check_module(build(minitorch), build(torch), x, dtype="float32")


@requires_torch
def test_repr_matches_torch():
    assert repr(build(minitorch)) == repr(build(torch))
    assert repr(nn.Linear(3, 2, bias=False)) == repr(torch.nn.Linear(3, 2, bias=False))
    assert repr(nn.Unflatten(1, (2, 3))) == repr(torch.nn.Unflatten(1, (2, 3)))
    assert repr(nn.Identity()) == repr(torch.nn.Identity())


def test_parameter_is_a_leaf_sharing_memory():
    data = minitorch.zeros(3)
    p = nn.Parameter(data)
    assert isinstance(p, minitorch.Tensor) and p.requires_grad and p.is_leaf and p.grad_fn is None
    with minitorch.no_grad():
        p.add_(1)
    assert data.tolist() == [1.0, 1.0, 1.0]
    assert not nn.Parameter(data, requires_grad=False).requires_grad
    assert type(p * 2) is minitorch.Tensor
    assert repr(p).startswith("Parameter containing:\ntensor([1., 1., 1.]")


def test_deepcopy_of_a_module_copies_parameters():
    m = nn.Linear(2, 2)
    c = copy.deepcopy(m)
    assert isinstance(c.weight, nn.Parameter) and c.weight is not m.weight
    assert c.weight.tolist() == m.weight.tolist()
    with minitorch.no_grad():
        c.weight.zero_()
    assert m.weight.abs().sum().item() > 0


@requires_torch
def test_load_state_dict_errors_match_torch():
    m, t = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    good = to_minitorch_state(t)
    for mt_sd, th_sd in [
        ({"weight": good["weight"]}, {"weight": t.weight.detach()}),
        ({**good, "extra": good["bias"]}, {**t.state_dict(), "extra": t.bias.detach()}),
        (
            {"weight": minitorch.zeros(2, 4), "bias": good["bias"]},
            {"weight": torch.zeros(2, 4), "bias": t.bias.detach()},
        ),
    ]:
        before = m.weight.tolist()
        check_raises(lambda sd=mt_sd: m.load_state_dict(sd), lambda sd=th_sd: t.load_state_dict(sd))
        assert m.weight.tolist() == before, "a failed load must change nothing"
        with pytest.raises(RuntimeError) as mt_err:
            m.load_state_dict(mt_sd)
        with pytest.raises(RuntimeError) as th_err:
            t.load_state_dict(th_sd)
        assert str(mt_err.value).replace("minitorch.Size", "torch.Size") == str(th_err.value)


def test_load_state_dict_non_strict_reports_keys():
    m = nn.Linear(3, 2)
    assert repr(m.load_state_dict(m.state_dict())) == "<All keys matched successfully>"  # as PyTorch prints it
    result = m.load_state_dict({"weight": minitorch.ones(2, 3), "junk": minitorch.ones(1)}, strict=False)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == ["junk"]
    assert m.weight.tolist() == [[1.0] * 3] * 2
    with pytest.raises(RuntimeError, match="size mismatch for weight"):
        m.load_state_dict({"weight": minitorch.ones(3, 3)}, strict=False)
    with pytest.raises(RuntimeError, match="expected torch.Tensor"):
        m.load_state_dict({"weight": np.ones((2, 3)), "bias": minitorch.ones(2)})


def test_load_state_dict_assign_replaces_parameters():
    m = nn.Linear(3, 2)
    w = minitorch.ones(2, 3)
    m.load_state_dict({"weight": w, "bias": minitorch.zeros(2)}, assign=True)
    assert isinstance(m.weight, nn.Parameter) and m.weight.data_ptr() == w.data_ptr()


def test_state_dict_tensors_are_detached_and_share_memory():
    m = nn.Linear(2, 2)
    sd = m.state_dict()
    assert not sd["weight"].requires_grad and sd["weight"].data_ptr() == m.weight.data_ptr()
    assert m.state_dict(keep_vars=True)["weight"] is m.weight


@requires_torch
def test_assignment_errors_match_torch():
    for lib in (minitorch, torch):
        lin = lib.nn.Linear(2, 2)
        with pytest.raises(TypeError, match="cannot assign"):
            lin.weight = lib.zeros(2, 2)
        lin.weight = None  # a parameter may be set to None
        assert lin.weight is None

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(minitorch.zeros(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()
    m = nn.Module()
    check_raises(
        lambda: m.register_buffer("a.b", None), lambda: torch.nn.Module().register_buffer("a.b", None), "contain"
    )
    check_raises(lambda: m.register_buffer(1, None), lambda: torch.nn.Module().register_buffer(1, None), "string")
    m.x = 1
    check_raises(lambda: m.register_buffer("x", None), None, "already exists")
    check_raises(lambda: m.no_such, lambda: torch.nn.Module().no_such, "no attribute 'no_such'")
    check_raises(
        lambda: m(minitorch.zeros(1)), lambda: torch.nn.Module()(torch.zeros(1)), 'missing the required "forward"'
    )


def test_reassigning_moves_between_tables():
    m = nn.Module()
    m.a = nn.Parameter(minitorch.zeros(1))
    with pytest.raises(TypeError, match="as parameter 'a'"):  # as in PyTorch: delete it first
        m.a = nn.Linear(1, 1)
    del m.a
    m.a = nn.Linear(1, 1)
    assert "a" in m._modules and "a" not in m._parameters
    m.a = nn.Parameter(minitorch.zeros(1))  # a parameter may replace a module
    assert "a" in m._parameters and "a" not in m._modules
    m.b = nn.Buffer(minitorch.ones(2))
    assert "b" in m._buffers and type(m.b) is minitorch.Tensor
    del m.b
    assert not hasattr(m, "b")


def test_train_eval_requires_grad_and_zero_grad():
    m = build(minitorch)
    assert m.training and all(x.training for x in m.modules())
    m.eval()
    assert not any(x.training for x in m.modules())
    with pytest.raises(ValueError, match="boolean"):
        m.train("yes")
    out = m(minitorch.randn(2, 3))
    (out[0].sum() + out[1].sum()).backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(p.grad.abs().sum().item() == 0 for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_to_casts_floating_state_and_keeps_parameter_objects():
    m = build(minitorch)
    w = m.stem.weight
    m.double()
    assert m.stem.weight is w and w.dtype is minitorch.float64 and w.is_leaf
    assert all(b.dtype is minitorch.float64 for b in m.buffers())
    m.to(minitorch.float32)
    assert w.dtype is minitorch.float32
    m.to("cpu", dtype=minitorch.float64)
    assert w.dtype is minitorch.float64
    with pytest.raises(TypeError, match="floating point"):
        m.to(minitorch.int64)
    counter = nn.Module()
    counter.register_buffer("steps", minitorch.tensor(3))
    counter.double()
    assert counter.steps.dtype is minitorch.int64  # integer buffers keep their dtype


def test_apply_visits_children_first():
    m = build(minitorch)
    order = []
    m.apply(lambda mod: order.append(type(mod).__name__))
    assert order[-1] == "Net" and order.index("Linear") < order.index("ModuleList")


def test_shared_parameters_are_listed_once():
    lin = nn.Linear(2, 2)
    m = nn.Sequential(lin, lin)
    assert len(list(m.parameters())) == 2
    assert list(m.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_forward_hooks():
    m = nn.Linear(2, 2)
    seen = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: seen.append(out.shape) or out + 1)
    out = m(minitorch.ones(3, 2))
    assert seen == [minitorch.Size([3, 2])]
    assert minitorch.allclose(out, m.bias.detach().expand(3, 2) + 1)
    h1.remove()
    h2.remove()
    assert minitorch.allclose(m(minitorch.zeros(1, 2)), m.bias.detach().unsqueeze(0))
    kw = []
    m.register_forward_hook(lambda mod, args, kwargs, out: kw.append(kwargs), with_kwargs=True)
    m(input=minitorch.zeros(1, 2))
    assert list(kw[0]) == ["input"]


@requires_torch
def test_containers_index_like_torch():
    for lib in (minitorch, torch):
        seq = lib.nn.Sequential(lib.nn.ReLU(), lib.nn.Tanh(), lib.nn.Sigmoid())
        assert type(seq[-1]).__name__ == "Sigmoid"
        assert [type(x).__name__ for x in seq[1:]] == ["Tanh", "Sigmoid"]
        del seq[0]
        assert list(seq._modules) == ["0", "1"]
        seq.append(lib.nn.Identity())
        seq.insert(0, lib.nn.ReLU())
        assert [type(x).__name__ for x in seq] == ["ReLU", "Tanh", "Sigmoid", "Identity"]
        with pytest.raises(IndexError):
            seq[4]
        ml = lib.nn.ModuleList([lib.nn.ReLU()])
        ml += [lib.nn.Tanh()]
        ml.insert(0, lib.nn.Identity())
        assert [type(x).__name__ for x in ml] == ["Identity", "ReLU", "Tanh"]
        md = lib.nn.ModuleDict({"x": lib.nn.ReLU()})
        assert "x" in md and list(md.keys()) == ["x"]
    pl = nn.ParameterList([minitorch.zeros(2), nn.Parameter(minitorch.ones(1))])
    assert all(isinstance(p, nn.Parameter) for p in pl) and len(list(pl.parameters())) == 2
    pd = nn.ParameterDict({"a": minitorch.zeros(1)})
    assert isinstance(pd["a"], nn.Parameter) and list(pd.state_dict()) == ["a"]


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linear_bilinear_flatten_match_torch(dtype):
    rng = np.random.default_rng(0)
    check_module(nn.Linear(4, 3), torch.nn.Linear(4, 3), rng.standard_normal((5, 4)), dtype=dtype)
    check_module(nn.Linear(4, 3), torch.nn.Linear(4, 3), rng.standard_normal((2, 5, 4)), dtype=dtype)
    check_module(nn.Linear(4, 3, bias=False), torch.nn.Linear(4, 3, bias=False), rng.standard_normal(4), dtype=dtype)
    check_module(
        nn.Bilinear(2, 3, 4),
        torch.nn.Bilinear(2, 3, 4),
        rng.standard_normal((5, 2)),
        rng.standard_normal((5, 3)),
        dtype=dtype,
    )
    check_module(nn.Flatten(), torch.nn.Flatten(), rng.standard_normal((2, 3, 4)), dtype=dtype)
    check_module(nn.Unflatten(1, (2, 2)), torch.nn.Unflatten(1, (2, 2)), rng.standard_normal((3, 4)), dtype=dtype)


def test_linear_errors_and_grad_node():
    lin = nn.Linear(3, 2)
    assert lin(minitorch.randn(4, 3)).grad_fn.name() == "AddmmBackward0"
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        lin(minitorch.randn(4, 5))


def test_linear_gradcheck():
    from minitorch.autograd import gradcheck, gradgradcheck

    x = minitorch.randn(3, 4, dtype=minitorch.float64, requires_grad=True)
    w = minitorch.randn(2, 4, dtype=minitorch.float64, requires_grad=True)
    b = minitorch.randn(2, dtype=minitorch.float64, requires_grad=True)
    assert gradcheck(F.linear, (x, w, b)) and gradgradcheck(F.linear, (x, w, b))
    x1 = minitorch.randn(2, 3, dtype=minitorch.float64, requires_grad=True)
    w3 = minitorch.randn(2, 3, 4, dtype=minitorch.float64, requires_grad=True)
    x2 = minitorch.randn(2, 4, dtype=minitorch.float64, requires_grad=True)
    assert gradcheck(F.bilinear, (x1, x2, w3, b))


# ---- nn.init -----------------------------------------------------------------------------
@requires_torch
def test_calculate_gain_and_fans_match_torch():
    for name, param in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                        ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)]:  # fmt: skip
        assert nn.init.calculate_gain(name, param) == torch.nn.init.calculate_gain(name, param)
    check_raises(lambda: nn.init.calculate_gain("swish"), lambda: torch.nn.init.calculate_gain("swish"), "Unsupported")
    assert nn.init._calculate_fan_in_and_fan_out(minitorch.empty(6, 3, 5, 5)) == (75, 150)
    check_raises(
        lambda: nn.init.xavier_uniform_(minitorch.empty(3)),
        lambda: torch.nn.init.xavier_uniform_(torch.empty(3)),
        "fewer than 2",
    )
    check_raises(
        lambda: nn.init.kaiming_uniform_(minitorch.empty(3, 3), mode="x"),
        lambda: torch.nn.init.kaiming_uniform_(torch.empty(3, 3), mode="x"),
        "not supported",
    )


def test_init_distributions_have_the_right_scale():
    minitorch.manual_seed(0)
    w = minitorch.empty(400, 300)
    bound = math.sqrt(6 / 700)
    nn.init.xavier_uniform_(w)
    assert w.abs().max().item() <= bound and w.abs().max().item() > 0.99 * bound
    nn.init.kaiming_uniform_(w, a=math.sqrt(5))  # Linear's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert w.abs().max().item() <= 1 / math.sqrt(300) and w.abs().max().item() > 0.99 / math.sqrt(300)
    nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert abs(w.std().item() - math.sqrt(2 / 400)) < 0.01 * math.sqrt(2 / 400) * 5
    nn.init.xavier_normal_(w, gain=2.0)
    assert abs(w.std().item() - 2 * math.sqrt(2 / 700)) < 0.05 * 2 * math.sqrt(2 / 700)
    nn.init.trunc_normal_(w, mean=1.0, std=2.0, a=-1.0, b=2.0)
    assert w.min().item() >= -1.0 and w.max().item() <= 2.0
    nn.init.constant_(w, 0.25)
    assert w.eq(0.25).all().item()
    nn.init.eye_(w)
    assert w.sum().item() == 300 and w[1, 1].item() == 1
    q = nn.init.orthogonal_(minitorch.empty(3, 5), gain=2.0)
    assert minitorch.allclose(q @ q.T, 4 * minitorch.eye(3), atol=1e-5)
    assert not w.requires_grad or w.grad_fn is None


def test_init_is_reproducible_with_manual_seed_and_untracked():
    minitorch.manual_seed(3)
    a = nn.Linear(5, 4).weight.tolist()
    minitorch.manual_seed(3)
    assert nn.Linear(5, 4).weight.tolist() == a
    p = nn.Parameter(minitorch.empty(3, 3))
    nn.init.normal_(p)
    assert p.is_leaf and p.grad_fn is None
