"""Optimizers against PyTorch: the same problem, 20 steps, the same parameters (and state) at every step."""

import copy
import itertools

import numpy as np
import pytest

import minitorch
from minitorch import optim
from minitorch.nn.parameter import Parameter

from helpers import assert_close, check_raises, requires_torch, torch

_RNG = np.random.default_rng(0)
ARRAYS = {
    "W": _RNG.standard_normal((3, 4)),
    "b": _RNG.standard_normal(3),
    "s": _RNG.standard_normal((2, 3)),
    "X": _RNG.standard_normal((8, 4)),
    "Y": _RNG.standard_normal((8, 3)),
}


def build(lib, dtype="float64"):
    """Parameters of a small problem: two groups; a transposed leaf, an unused one and a frozen one."""
    dt = getattr(lib, dtype)
    W = lib.tensor(ARRAYS["W"], dtype=dt, requires_grad=True)
    b = lib.tensor(ARRAYS["b"], dtype=dt, requires_grad=True)
    s = lib.tensor(ARRAYS["s"].T.copy(), dtype=dt).t().detach().requires_grad_(True)  # non-contiguous
    unused = lib.tensor([1.0, 2.0], dtype=dt, requires_grad=True)  # never gets a grad
    frozen = lib.tensor([3.0], dtype=dt)  # doesn't require grad
    c = lib.tensor(0.7, dtype=dt, requires_grad=True)  # 0-d
    empty = lib.zeros((0, 3), dtype=dt, requires_grad=True)
    return [W, b, unused, empty], [s, frozen, c]


def loss_fn(lib, params, sign=1):
    """A least-squares fit plus a quartic term; ``sign=-1`` gives the objective that ``maximize=True`` climbs."""
    (W, b, _, empty), (s, _, c) = params
    X = lib.tensor(ARRAYS["X"], dtype=W.dtype, device=W.device)
    Y = lib.tensor(ARRAYS["Y"], dtype=W.dtype, device=W.device)
    loss = ((lib.tanh(X @ W.t() + b * c) - Y) ** 2).mean() + 0.1 * (s**4).sum() + (s[0] * W[0, :3]).sum()
    return sign * (loss + c**2 + empty.sum())


def make_opt(lib, name, params, kwargs, group1=None):
    g0, g1 = params
    groups = [{"params": g0}, {"params": g1, **(group1 or {"lr": 0.05})}]
    return getattr(lib.optim, name)(groups, **kwargs)


def train(lib, opt, params, steps, closure=False):
    """Run ``steps`` steps; return the parameter values after each one."""
    history = []
    sign = -1 if opt.defaults["maximize"] else 1
    for _ in range(steps):
        if closure:

            def closure_fn():
                opt.zero_grad()
                loss = loss_fn(lib, params, sign)
                loss.backward()
                return loss

            opt.step(closure_fn)
        else:
            opt.zero_grad()
            loss_fn(lib, params, sign).backward()
            opt.step()
        history.append([p.detach().clone() for group in params for p in group])
    return history


def compare_runs(mt_hist, th_hist, rtol=1e-10, atol=1e-12):
    for step, (ms, ts) in enumerate(zip(mt_hist, th_hist)):
        for i, (m, t) in enumerate(zip(ms, ts)):
            assert _dtype_name(m) == _dtype_name(t)
            assert_close(m, t, atol, rtol, f"step {step + 1}, parameter {i}")


def _dtype_name(t):
    return str(t.dtype).split(".")[-1]


def check_optimizer(name, kwargs, group1=None, steps=20, dtype="float64", rtol=1e-10, atol=1e-12, closure=False):
    mt_params, th_params = build(minitorch, dtype), build(torch, dtype)
    mt_opt = make_opt(minitorch, name, mt_params, kwargs, group1)
    th_opt = make_opt(torch, name, th_params, kwargs, group1)
    compare_runs(
        train(minitorch, mt_opt, mt_params, steps, closure), train(torch, th_opt, th_params, steps, closure), rtol, atol
    )
    return mt_opt, th_opt


def _combos(**options):
    keys = list(options)
    return [dict(zip(keys, values)) for values in itertools.product(*options.values())]


SGD_CASES = [
    c
    for c in _combos(
        momentum=[0, 0.9], dampening=[0, 0.3], nesterov=[False, True], weight_decay=[0, 0.1], maximize=[False, True]
    )
    if not (c["nesterov"] and (c["momentum"] == 0 or c["dampening"] != 0))
]
ADAM_CASES = _combos(amsgrad=[False, True], weight_decay=[0, 0.1], maximize=[False, True])
RMSPROP_CASES = _combos(centered=[False, True], momentum=[0, 0.5], weight_decay=[0, 0.1], maximize=[False, True])
ADAGRAD_CASES = _combos(
    lr_decay=[0, 0.05], weight_decay=[0, 0.1], initial_accumulator_value=[0, 0.5], maximize=[False, True]
)


@requires_torch
@pytest.mark.parametrize("kwargs", SGD_CASES, ids=str)
def test_sgd(kwargs):
    check_optimizer("SGD", {"lr": 0.1, **kwargs})


@requires_torch
@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize("kwargs", ADAM_CASES, ids=str)
def test_adam(name, kwargs):
    check_optimizer(name, {"lr": 0.05, "betas": (0.8, 0.9), **kwargs})


@requires_torch
def test_adam_default_betas_and_group_overrides():
    check_optimizer("Adam", {}, group1={"lr": 0.1, "betas": (0.3, 0.7), "weight_decay": 0.2, "amsgrad": True})
    check_optimizer("AdamW", {"lr": 0.02}, group1={"weight_decay": 0.5})


@requires_torch
@pytest.mark.parametrize("kwargs", RMSPROP_CASES, ids=str)
def test_rmsprop(kwargs):
    check_optimizer("RMSprop", {"lr": 0.01, "alpha": 0.9, **kwargs})


@requires_torch
@pytest.mark.parametrize("kwargs", ADAGRAD_CASES, ids=str)
def test_adagrad(kwargs):
    check_optimizer("Adagrad", {"lr": 0.1, **kwargs})


@requires_torch
@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
        ("Adam", {"lr": 0.05, "amsgrad": True}),
        ("RMSprop", {"centered": True, "momentum": 0.5}),
        ("Adagrad", {"lr_decay": 0.1}),
    ],
)
def test_float32_keeps_dtype(name, kwargs):
    """float32 parameters stay float32 and follow PyTorch to float32 rounding."""
    check_optimizer(name, kwargs, dtype="float32", rtol=1e-4, atol=1e-5)


@requires_torch
@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_closure(name):
    """``step(closure)`` evaluates the loss with grad enabled (even under no_grad) and returns it."""
    check_optimizer(name, {"lr": 0.05}, steps=5, closure=True)
    params = build(minitorch)
    opt = make_opt(minitorch, name, params, {"lr": 0.05})

    def closure():
        opt.zero_grad()
        loss = loss_fn(minitorch, params)
        loss.backward()
        return loss

    with minitorch.no_grad():
        loss = opt.step(closure)
    assert isinstance(loss, minitorch.Tensor) and loss.requires_grad
    assert opt.step() is None


# ---- state and state_dict -----------------------------------------------------------------------
STATE_CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("AdamW", {"lr": 0.05}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.1}),
]


@requires_torch
@pytest.mark.parametrize("name, kwargs", STATE_CASES)
def test_state_dict_structure_matches_torch(name, kwargs):
    mt_opt, th_opt = check_optimizer(name, kwargs, steps=3)
    mt_sd, th_sd = mt_opt.state_dict(), th_opt.state_dict()
    assert list(mt_sd) == list(th_sd) == ["state", "param_groups"]
    assert list(mt_sd["state"]) == list(th_sd["state"])  # the unused and frozen params have no state
    for i, th_state in th_sd["state"].items():
        mt_state = mt_sd["state"][i]
        assert list(mt_state) == list(th_state)
        for key, t in th_state.items():
            m = mt_state[key]
            assert _dtype_name(m) == _dtype_name(t) and tuple(m.shape) == tuple(t.shape), key
            assert_close(m, t, 1e-12, 1e-10, key)
    for mg, tg in zip(mt_sd["param_groups"], th_sd["param_groups"]):
        assert list(mg) == list(tg)
        assert mg == tg  # hyperparameters and parameter indices


@requires_torch
def test_step_counter_dtype_follows_default_dtype():
    for default in ("float32", "float64"):
        minitorch.set_default_dtype(getattr(minitorch, default))
        torch.set_default_dtype(getattr(torch, default))
        try:
            opts = [lib.optim.Adam([lib.ones(2, dtype=lib.float64, requires_grad=True)]) for lib in (minitorch, torch)]
            for o in opts:
                p = o.param_groups[0]["params"][0]
                p.grad = p.detach() * 0 + 1
                o.step()
            m, t = (o.state_dict()["state"][0]["step"] for o in opts)
            assert _dtype_name(m) == _dtype_name(t) and m.item() == t.item() == 1
        finally:
            torch.set_default_dtype(torch.float32)


def _fresh_copy(lib, params):
    return [[p.detach().clone().requires_grad_(p.requires_grad) for p in group] for group in params]


@pytest.mark.parametrize("name, kwargs", STATE_CASES)
def test_state_dict_round_trip(name, kwargs):
    """Save after 10 steps, load into a new optimizer over copies of the parameters, continue: same as 20 steps."""
    params = build(minitorch)
    opt = make_opt(minitorch, name, params, kwargs)
    straight = train(minitorch, opt, params, 10)
    saved = copy.deepcopy(opt.state_dict())
    resumed_params = _fresh_copy(minitorch, params)
    straight += train(minitorch, opt, params, 10)
    resumed = make_opt(minitorch, name, resumed_params, {"lr": 123.0}, group1={"lr": 7.0})  # overwritten by the load
    resumed.load_state_dict(saved)
    assert resumed.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    compare_runs(train(minitorch, resumed, resumed_params, 10), straight[10:], rtol=0, atol=0)


def _to_minitorch(obj):
    if isinstance(obj, torch.Tensor):
        return minitorch.tensor(obj.detach().numpy())
    if isinstance(obj, dict):
        return {k: _to_minitorch(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_minitorch(v) for v in obj]
    return obj


@requires_torch
@pytest.mark.parametrize("name, kwargs", STATE_CASES)
def test_load_torch_state_dict(name, kwargs):
    """A PyTorch optimizer's state_dict (tensors converted) loads into ours, and the runs continue together."""
    th_params = build(torch)
    th_opt = make_opt(torch, name, th_params, kwargs)
    train(torch, th_opt, th_params, 5)
    mt_params = [[minitorch.tensor(p.detach().numpy()).requires_grad_(p.requires_grad) for p in g] for g in th_params]
    mt_opt = make_opt(minitorch, name, mt_params, kwargs)
    mt_opt.load_state_dict(_to_minitorch(th_opt.state_dict()))
    compare_runs(train(minitorch, mt_opt, mt_params, 5), train(torch, th_opt, th_params, 5))


def test_load_state_dict_casts_buffers_to_the_parameter_dtype():
    p = minitorch.ones(3, dtype=minitorch.float32, requires_grad=True)
    opt = optim.Adam([p])
    sd = {
        "state": {
            0: {
                "step": minitorch.tensor(4.0),
                "exp_avg": minitorch.ones(3, dtype=minitorch.float64),
                "exp_avg_sq": minitorch.ones(3, dtype=minitorch.float64),
            }
        },
        "param_groups": copy.deepcopy(opt.state_dict()["param_groups"]),
    }
    opt.load_state_dict(sd)
    assert opt.state[p]["exp_avg"].dtype == minitorch.float32
    assert opt.state[p]["step"] is sd["state"][0]["step"]  # the step counter is kept as saved


@pytest.mark.parametrize("bad", ["groups", "sizes"])
def test_load_state_dict_errors(bad):
    def run(lib):
        a, b = lib.ones(2, requires_grad=True), lib.ones(3, requires_grad=True)
        sd = lib.optim.SGD([a, b]).state_dict()
        other = lib.optim.SGD([{"params": [a]}, {"params": [b]}]) if bad == "groups" else lib.optim.SGD([a])
        other.load_state_dict(sd)

    check_raises(lambda: run(minitorch), lambda: run(torch), match="parameter group")


# ---- construction, zero_grad, in-place semantics ---------------------------------------------
@pytest.mark.parametrize(
    "name, kwargs, match",
    [
        ("SGD", {"lr": -1}, "Invalid learning rate: -1"),
        ("SGD", {"momentum": -0.5}, "Invalid momentum value"),
        ("SGD", {"weight_decay": -1}, "Invalid weight_decay value"),
        ("SGD", {"nesterov": True}, "Nesterov momentum requires a momentum and zero dampening"),
        ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "Nesterov"),
        ("Adam", {"lr": -1}, "Invalid learning rate: -1"),
        ("Adam", {"eps": -1}, "Invalid epsilon value"),
        ("Adam", {"betas": (1.0, 0.999)}, "Invalid beta parameter at index 0"),
        ("Adam", {"betas": (0.9, -0.1)}, "Invalid beta parameter at index 1"),
        ("Adam", {"betas": (0, 0.9)}, "betas must be either both floats or both Tensors"),
        ("Adam", {"weight_decay": -1}, "Invalid weight_decay value"),
        ("AdamW", {"lr": -1}, "Invalid learning rate: -1"),
        ("AdamW", {"fused": True, "foreach": True}, "cannot be `True` together"),
        ("RMSprop", {"lr": -1}, "Invalid learning rate: -1"),
        ("RMSprop", {"alpha": -1}, "Invalid alpha value"),
        ("RMSprop", {"momentum": -1}, "Invalid momentum value"),
        ("RMSprop", {"eps": -1}, "Invalid epsilon value"),
        ("Adagrad", {"lr": -1}, "Invalid learning rate: -1"),
        ("Adagrad", {"lr_decay": -1}, "Invalid lr_decay value"),
        ("Adagrad", {"initial_accumulator_value": -1}, "Invalid initial_accumulator_value value"),
        ("Adagrad", {"eps": -1}, "Invalid epsilon value"),
    ],
)
def test_bad_hyperparameters(name, kwargs, match):
    check_raises(
        lambda: getattr(optim, name)([minitorch.ones(2, requires_grad=True)], **kwargs),
        lambda: getattr(torch.optim, name)([torch.ones(2, requires_grad=True)], **kwargs),
        match=match,
    )


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda lib: [], "optimizer got an empty parameter list"),
        (lambda lib: lib.ones(2, requires_grad=True), "iterable of Tensors or dicts"),
        (lambda lib: [lib.ones(2, requires_grad=True) * 2], "can't optimize a non-leaf Tensor"),
        (lambda lib: [1.0], "optimizer can only optimize Tensors"),
        (lambda lib: [{"params": {lib.ones(2)}}], "ordered collections"),
        (lambda lib: (lambda p: [{"params": [p]}, {"params": [p]}])(lib.ones(2)), "more than one parameter group"),
        (lambda lib: [("w", lib.ones(2)), lib.ones(2)], "Some param names are missing"),
    ],
)
def test_bad_params(make, match):
    check_raises(lambda: optim.SGD(make(minitorch)), lambda: torch.optim.SGD(make(torch)), match=match)


def test_add_param_group_and_named_params():
    a, b = Parameter(minitorch.ones(2)), Parameter(minitorch.ones(3))
    opt = optim.SGD([("a", a)], lr=0.1, momentum=0.9)
    check_raises(lambda: opt.add_param_group([b]), None, match="param_group must be a dict")
    check_raises(lambda: opt.add_param_group({"params": b}), None, match="cannot add param group without names")
    opt.add_param_group({"params": [("b", b)], "lr": 0.5})
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["momentum"] == 0.9
    assert opt.param_groups[1]["params"] == [b] and opt.state_dict()["param_groups"][1]["param_names"] == ["b"]
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([a, a])


def test_parameters_and_leaf_tensors_both_work():
    w = Parameter(minitorch.tensor([1.0, -2.0]))
    v = minitorch.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.SGD([w, v], lr=0.5)
    (w * w + v * v).sum().backward()
    opt.step()
    assert isinstance(w, Parameter) and w.tolist() == v.tolist() == [0.0, 0.0]


@requires_torch
@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none):
    for lib in (minitorch, torch):
        p = lib.ones(3, requires_grad=True)
        opt = lib.optim.SGD([p])
        (p * 2).sum().backward()
        opt.zero_grad(set_to_none=set_to_none)
        if set_to_none:
            assert p.grad is None
        else:
            assert p.grad.tolist() == [0.0, 0.0, 0.0] and not p.grad.requires_grad


def test_step_writes_in_place_and_bumps_the_version():
    """The parameter object and its memory stay; saved-for-backward values become stale, as in PyTorch."""

    def run(lib):
        p = lib.ones(3, dtype=lib.float64, requires_grad=True)
        view = p.detach()[1:]  # shares memory with p
        opt = lib.optim.Adam([p], lr=0.1)
        y = (p * p).sum()  # saves p for backward
        (p * 3).sum().backward()
        version = p._version
        opt.step()
        assert p._version > version and view.tolist() == p.detach()[1:].tolist() != [1.0, 1.0]
        y.backward()

    check_raises(lambda: run(minitorch), lambda: run(torch), match="modified by an inplace operation")


@requires_torch
def test_repr_and_differentiable_flag():
    p = minitorch.ones(2, requires_grad=True)
    r = repr(optim.SGD([p], lr=0.1))
    assert r == repr(torch.optim.SGD([torch.ones(2, requires_grad=True)], lr=0.1))
    check_raises(lambda: optim.Adam([p], differentiable=True), None, match="differentiable=True is not supported")


def test_deepcopy_optimizer():
    p = minitorch.ones(2, requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    optim.lr_scheduler.StepLR(opt, 2)  # wraps opt.step
    clone = copy.deepcopy(opt)
    assert clone.param_groups[0]["params"][0] is not p and "step" not in clone.__dict__


@pytest.mark.cuda
@pytest.mark.parametrize("name, kwargs", STATE_CASES)
def test_cuda_matches_cpu(name, kwargs):
    """The same array code runs on CuPy arrays: parameters on the GPU follow the CPU run."""
    cpu = build(minitorch)
    gpu = [[p.detach().cuda().requires_grad_(p.requires_grad) for p in group] for group in cpu]
    cpu_hist = train(minitorch, make_opt(minitorch, name, cpu, kwargs), cpu, 5)
    gpu_hist = train(minitorch, make_opt(minitorch, name, gpu, kwargs), gpu, 5)
    assert all(p.is_cuda for group in gpu for p in group)
    compare_runs([[p.cpu() for p in ps] for ps in gpu_hist], cpu_hist, rtol=1e-9, atol=1e-12)
