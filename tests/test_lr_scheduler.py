"""Learning-rate schedulers against PyTorch: the same learning rates (and momenta) at each of 20 steps."""

import copy
import math
import warnings

import numpy as np
import pytest

import minitorch
import minitorch.optim

from helpers import assert_close, check_raises, requires_torch, torch


def make_optimizer(lib, name="SGD", **kwargs):
    """An optimizer with two param groups (lr 0.1 and 0.05) over small float64 leaves."""
    a = lib.tensor([1.0, -2.0], dtype=lib.float64, requires_grad=True)
    b = lib.tensor([0.5], dtype=lib.float64, requires_grad=True)
    kwargs.setdefault("lr", 0.1)
    return getattr(lib.optim, name)([{"params": [a]}, {"params": [b], "lr": 0.05}], **kwargs)


def _train_step(lib, opt):
    """A real update, so that a schedule's effect on the parameters is compared too."""
    opt.zero_grad()
    params = [p for g in opt.param_groups for p in g["params"]]
    sum(((p - 3) ** 2).sum() for p in params).backward()
    opt.step()


def hyper(opt):
    """What a schedule can change: lr, momentum, betas of each group."""
    return [(g["lr"], g.get("momentum"), g.get("betas")) for g in opt.param_groups]


def run(lib, make_scheds, steps=20, opt_name="SGD", opt_kwargs=None, metrics=None):
    opt = make_optimizer(lib, opt_name, **(opt_kwargs or {}))
    scheds = make_scheds(lib.optim.lr_scheduler, opt)
    scheds = scheds if isinstance(scheds, list) else [scheds]
    history = [(hyper(opt), scheds[-1].get_last_lr())]
    for i in range(steps):
        _train_step(lib, opt)
        for s in scheds:
            s.step(metrics[i]) if metrics is not None else s.step()
        history.append((hyper(opt), scheds[-1].get_last_lr()))
    params = [p.detach().numpy().copy() for g in opt.param_groups for p in g["params"]]
    return history, params, opt, scheds


def check_schedule(make_scheds, **kwargs):
    mt_hist, mt_params, *_ = run(minitorch, make_scheds, **kwargs)
    th_hist, th_params, *_ = run(torch, make_scheds, **kwargs)
    for step, (m, t) in enumerate(zip(mt_hist, th_hist)):
        assert m == t, f"step {step}: {m} != torch's {t}"  # the same float formulas: exactly equal
    for m, t in zip(mt_params, th_params):
        assert_close(m, t, 1e-12, 1e-10, "parameters")


SCHEDULES = {
    "StepLR": lambda s, o: s.StepLR(o, step_size=3, gamma=0.5),
    "MultiStepLR": lambda s, o: s.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3),
    "ExponentialLR": lambda s, o: s.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda s, o: s.CosineAnnealingLR(o, T_max=7, eta_min=0.001),
    "CosineAnnealingLR-default": lambda s, o: s.CosineAnnealingLR(o, T_max=20),
    "LambdaLR": lambda s, o: s.LambdaLR(o, lambda e: 0.95**e),
    "LambdaLR-per-group": lambda s, o: s.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: math.cos(e)]),
    "LinearLR": lambda s, o: s.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=6),
    "LinearLR-default": lambda s, o: s.LinearLR(o),
    "SequentialLR": lambda s, o: s.SequentialLR(
        o, [s.LinearLR(o, start_factor=0.1, total_iters=4), s.ExponentialLR(o, gamma=0.8)], milestones=[5]
    ),
    "SequentialLR-three": lambda s, o: s.SequentialLR(
        o,
        [s.ExponentialLR(o, gamma=0.5), s.StepLR(o, 2), s.CosineAnnealingLR(o, T_max=6, eta_min=0.01)],
        milestones=[3, 8],
    ),
    "chained": lambda s, o: [s.StepLR(o, step_size=4, gamma=0.5), s.ExponentialLR(o, gamma=0.95)],
    "ChainedScheduler": lambda s, o: s.ChainedScheduler(
        [s.ConstantLR(o, factor=0.5, total_iters=3), s.PolynomialLR(o, 12)]
    ),
    "MultiplicativeLR": lambda s, o: s.MultiplicativeLR(o, lambda e: 0.9 if e % 2 else 1.05),
    "ConstantLR": lambda s, o: s.ConstantLR(o, factor=0.25, total_iters=4),
    "PolynomialLR": lambda s, o: s.PolynomialLR(o, total_iters=12, power=2.0),
    "CosineAnnealingWarmRestarts": lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=4, eta_min=0.01),
    "CosineAnnealingWarmRestarts-mult": lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2),
    "CyclicLR": lambda s, o: s.CyclicLR(o, base_lr=0.01, max_lr=[0.1, 0.2], step_size_up=3, step_size_down=5),
    "CyclicLR-triangular2": lambda s, o: s.CyclicLR(
        o, 0.01, 0.1, step_size_up=2, mode="triangular2", base_momentum=0.7
    ),
    "CyclicLR-exp_range": lambda s, o: s.CyclicLR(o, 0.01, 0.1, step_size_up=3, mode="exp_range", gamma=0.9),
    "CyclicLR-scale_fn": lambda s, o: s.CyclicLR(o, 0.01, 0.1, 2, scale_fn=lambda x: 0.5**x, scale_mode="iterations"),
    "OneCycleLR": lambda s, o: s.OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=20),
    "OneCycleLR-linear": lambda s, o: s.OneCycleLR(
        o, max_lr=0.4, total_steps=25, anneal_strategy="linear", pct_start=0.4
    ),
    "OneCycleLR-three-phase": lambda s, o: s.OneCycleLR(o, max_lr=0.4, epochs=4, steps_per_epoch=6, three_phase=True),
    "OneCycleLR-no-momentum": lambda s, o: s.OneCycleLR(o, max_lr=0.4, total_steps=20, cycle_momentum=False),
    "OneCycleLR-momenta": lambda s, o: s.OneCycleLR(
        o,
        max_lr=1.0,
        total_steps=30,
        base_momentum=[0.5, 0.6],
        max_momentum=0.99,
        div_factor=10.0,
        final_div_factor=100.0,
    ),
}


@requires_torch
@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_matches_torch(name):
    opt_kwargs = {"momentum": 0.9} if name.startswith(("OneCycle", "Cyclic")) else None
    check_schedule(SCHEDULES[name], opt_kwargs=opt_kwargs)


@requires_torch
@requires_torch
def test_cyclic_lr_adam_cycles_beta1():
    check_schedule(lambda s, o: s.CyclicLR(o, 0.01, 0.1, step_size_up=4), opt_name="Adam")
    check_schedule(lambda s, o: s.CyclicLR(o, 0.01, 0.1, step_size_up=4, cycle_momentum=False), opt_name="Adagrad")


@requires_torch
def test_warm_restarts_fractional_epochs():
    results = []
    for lib in (minitorch, torch):
        opt = make_optimizer(lib)
        sched = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=3)
        for epoch in [0.25, 1.5, 2.0, 3.7, 9.5, 7.0, 30.1]:
            opt.step()
            sched.step(epoch)
            results.append(sched.get_last_lr() + [sched.T_i, sched.T_cur, sched.last_epoch])
    n = len(results) // 2
    assert results[:n] == results[n:]


@requires_torch
@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_adam_cycles_beta1(three_phase):
    check_schedule(
        lambda s, o: s.OneCycleLR(o, max_lr=0.3, total_steps=20, three_phase=three_phase, anneal_strategy="linear"),
        opt_name="Adam",
        opt_kwargs={"betas": (0.9, 0.99)},
    )


METRICS = [1.0, 0.9, 0.95, 0.95, 0.9, 0.95, 0.96, 0.97, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]


@requires_torch
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"patience": 2},
        {"patience": 1, "cooldown": 2, "factor": 0.5, "min_lr": [0.01, 0.02]},
        {"mode": "max", "patience": 1, "threshold_mode": "abs", "threshold": 0.01},
        {"mode": "min", "patience": 0, "threshold_mode": "abs", "threshold": 0.05, "min_lr": 0.004},
        {"mode": "max", "patience": 0, "factor": 0.9, "eps": 0.009},
    ],
    ids=str,
)
def test_reduce_lr_on_plateau(kwargs):
    check_schedule(lambda s, o: s.ReduceLROnPlateau(o, **kwargs), metrics=METRICS)


def test_reduce_lr_on_plateau_takes_a_tensor_metric():
    opt = make_optimizer(minitorch)
    sched = minitorch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0)
    sched.step(minitorch.tensor(1.0))
    sched.step(minitorch.tensor(2.0))
    assert sched.get_last_lr() == [0.1 * 0.1, 0.05 * 0.1]


# ---- state_dict --------------------------------------------------------------------------------
STATEFUL = [
    "StepLR",
    "MultiStepLR",
    "CosineAnnealingLR",
    "LambdaLR",
    "MultiplicativeLR",
    "ConstantLR",
    "LinearLR",
    "PolynomialLR",
    "SequentialLR",
    "ChainedScheduler",
    "CosineAnnealingWarmRestarts-mult",
    "CyclicLR-triangular2",
    "CyclicLR-scale_fn",
    "OneCycleLR",
]


def _keys(sd):
    return sorted(sd) if isinstance(sd, dict) else sd


@requires_torch
@pytest.mark.parametrize("name", STATEFUL + ["ReduceLROnPlateau"])
def test_state_dict_keys_match_torch(name):
    make = SCHEDULES.get(name, lambda s, o: s.ReduceLROnPlateau(o))
    mt_sd = make(minitorch.optim.lr_scheduler, make_optimizer(minitorch, momentum=0.9)).state_dict()
    th_sd = make(torch.optim.lr_scheduler, make_optimizer(torch, momentum=0.9)).state_dict()
    assert _keys(mt_sd) == _keys(th_sd)
    if name in ("SequentialLR", "ChainedScheduler"):
        assert [_keys(s) for s in mt_sd["_schedulers"]] == [_keys(s) for s in th_sd["_schedulers"]]


@pytest.mark.parametrize("name", STATEFUL)
def test_state_dict_round_trip(name):
    """Save optimizer and scheduler after 10 steps, load both into fresh ones, continue: same as 20 steps."""
    opt_kwargs = {"momentum": 0.9}
    straight, _, opt, scheds = run(minitorch, SCHEDULES[name], steps=10, opt_kwargs=opt_kwargs)
    saved_opt, saved_sched = copy.deepcopy(opt.state_dict()), copy.deepcopy(scheds[0].state_dict())
    for _ in range(10):
        _train_step(minitorch, opt)
        scheds[0].step()
        straight.append((hyper(opt), scheds[0].get_last_lr()))

    fresh = make_optimizer(minitorch, momentum=0.9)
    sched = SCHEDULES[name](minitorch.optim.lr_scheduler, fresh)
    sched.load_state_dict(saved_sched)
    fresh.load_state_dict(saved_opt)
    resumed = []
    for _ in range(10):
        fresh.step()
        sched.step()
        resumed.append((hyper(fresh), sched.get_last_lr()))
    assert resumed == straight[11:]


def test_lambda_lr_state_dict_saves_callable_objects():
    class Decay:
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, epoch):
            return self.rate**epoch

    opt = make_optimizer(minitorch)
    sd = minitorch.optim.lr_scheduler.LambdaLR(opt, [Decay(0.5), lambda e: 1.0]).state_dict()
    assert sd["lr_lambdas"] == [{"rate": 0.5}, None]
    other = minitorch.optim.lr_scheduler.LambdaLR(opt, [Decay(0.9), lambda e: 1.0])
    other.load_state_dict(sd)
    assert other.lr_lambdas[0].rate == 0.5 and "lr_lambdas" in sd


@requires_torch
# ---- the epoch argument, warnings, errors ------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "LambdaLR"]
)
def test_step_with_epoch_uses_the_closed_form(name):
    results = []
    for lib in (minitorch, torch):
        opt = make_optimizer(lib)
        sched = SCHEDULES[name](lib.optim.lr_scheduler, opt)
        lrs = []
        for epoch in [3, 7, 2, 11]:
            opt.step()
            with pytest.warns(UserWarning, match="epoch parameter"):
                sched.step(epoch)
            lrs.append(sched.get_last_lr())
        results.append(lrs)
    np.testing.assert_allclose(results[0], results[1], rtol=1e-14)


def test_warns_when_stepped_before_the_optimizer():
    opt = make_optimizer(minitorch)
    sched = minitorch.optim.lr_scheduler.StepLR(opt, 2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    opt2 = make_optimizer(minitorch)
    sched2 = minitorch.optim.lr_scheduler.StepLR(opt2, 2)
    opt2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched2.step()


def test_get_lr_called_directly_warns():
    sched = minitorch.optim.lr_scheduler.ExponentialLR(make_optimizer(minitorch), 0.5)
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()


def test_initial_lr_is_recorded_and_resuming_needs_it():
    opt = make_optimizer(minitorch)
    minitorch.optim.lr_scheduler.StepLR(opt, 2)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.05]
    check_raises(
        lambda: minitorch.optim.lr_scheduler.StepLR(make_optimizer(minitorch), 2, last_epoch=4),
        lambda: torch.optim.lr_scheduler.StepLR(make_optimizer(torch), 2, last_epoch=4),
        match="initial_lr",
    )


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda s, o: s.StepLR("not an optimizer", 2), "is not an Optimizer"),
        (lambda s, o: s.LinearLR(o, start_factor=0), "Starting multiplicative factor"),
        (lambda s, o: s.LinearLR(o, end_factor=1.5), "Ending multiplicative factor"),
        (lambda s, o: s.LambdaLR(o, [lambda e: 1.0]), "Expected 2 lr_lambdas, but got 1"),
        (lambda s, o: s.SequentialLR(o, [s.StepLR(o, 2)], milestones=[3]), "number of milestone points"),
        (lambda s, o: s.SequentialLR(o, [], milestones=[]), "at least one scheduler"),
        (lambda s, o: s.SequentialLR(o, [s.ReduceLROnPlateau(o), s.StepLR(o, 2)], [2]), "ReduceLROnPlateau"),
        (lambda s, o: s.ReduceLROnPlateau(o, factor=1.0), "Factor should be < 1.0"),
        (lambda s, o: s.ReduceLROnPlateau(o, mode="up"), "mode up is unknown"),
        (lambda s, o: s.ReduceLROnPlateau(o, threshold_mode="x"), "threshold mode x is unknown"),
        (lambda s, o: s.ReduceLROnPlateau(o, min_lr=[0.1]), "expected 2 min_lrs, got 1"),
        (lambda s, o: s.OneCycleLR(o, max_lr=1.0), "either total_steps OR (epochs AND steps_per_epoch)"),
        (lambda s, o: s.OneCycleLR(o, max_lr=1.0, total_steps=0), "positive integer total_steps"),
        (lambda s, o: s.OneCycleLR(o, max_lr=1.0, epochs=0, steps_per_epoch=2), "positive integer epochs"),
        (lambda s, o: s.OneCycleLR(o, max_lr=1.0, total_steps=5, pct_start=1.5), "pct_start"),
        (lambda s, o: s.OneCycleLR(o, max_lr=1.0, total_steps=5, anneal_strategy="exp"), "anneal_strategy"),
        (lambda s, o: s.OneCycleLR(o, max_lr=[1.0], total_steps=5), "max_lr must have the same length"),
        (lambda s, o: s.ConstantLR(o, factor=2.0), "between 0 and 1"),
        (lambda s, o: s.MultiplicativeLR(o, [lambda e: 1.0, 3.0]), "lr_lambda should be a function"),
        (lambda s, o: s.ChainedScheduler([]), "at least one scheduler"),
        (lambda s, o: s.CyclicLR(o, 0.01, 0.1, mode="sawtooth"), "mode is invalid and scale_fn is None"),
        (lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=0), "positive integer T_0"),
        (lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), "T_mult >= 1"),
        (lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=2).step(-1), "non-negative epoch"),
    ],
)
def test_bad_arguments(make, match):
    check_raises(
        lambda: make(minitorch.optim.lr_scheduler, make_optimizer(minitorch, momentum=0.9)),
        lambda: make(torch.optim.lr_scheduler, make_optimizer(torch, momentum=0.9)),
        match=match,
    )


def test_one_cycle_errors():
    def needs_momentum(lib):
        lib.optim.lr_scheduler.OneCycleLR(make_optimizer(lib, "Adagrad"), max_lr=1.0, total_steps=5)

    check_raises(lambda: needs_momentum(minitorch), lambda: needs_momentum(torch), match="must support momentum")

    def too_many_steps(lib):
        opt = make_optimizer(lib, momentum=0.9)
        sched = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=3)
        for _ in range(4):
            opt.step()
            sched.step()

    check_raises(lambda: too_many_steps(minitorch), lambda: too_many_steps(torch), match="Tried to step 4 times")
