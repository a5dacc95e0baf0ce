"""The Optimizer base class: parameter groups, per-parameter state, state_dict.

An optimizer holds ``param_groups`` (lists of parameters, each with its own
hyperparameters such as ``lr``) and ``state`` (a dict from each parameter to
its running buffers, e.g. Adam's moving averages). ``step()`` reads every
``p.grad`` and updates ``p`` in place.

How updates are written: the math runs directly on the backend arrays
(``p._data``, ``p.grad._data``) with in-place array operations, and each
written tensor's version counter is bumped, exactly as an in-place Tensor op
would do. This is the same as PyTorch's ``with no_grad(): p.add_(...)`` (the
update is not recorded by autograd, the parameter keeps its dtype and
identity), but with no temporary Tensors or Function calls per operation,
because ``step()`` runs on every training iteration. The order of
operations follows PyTorch's single-tensor (for-loop) implementation, so
results agree to rounding.
"""

from __future__ import annotations

from collections import defaultdict
from copy import deepcopy
from itertools import chain
from typing import Any, Callable, Dict, Iterable, List, Optional

from ..autograd import grad_mode
from ..dtypes import float32, float64, get_default_dtype
from ..tensor import Tensor


class Optimizer:
    """Base class of all optimizers: subclasses define ``step()`` using ``param_groups`` and ``state``."""

    def __init__(self, params: Iterable[Any], defaults: Dict[str, Any]) -> None:
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, but got "
                + params.type()
                + "; wrap it in a list: [tensor]"
            )
        self.state: Dict[Tensor, Dict[str, Any]] = defaultdict(dict)
        self.param_groups: List[Dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __getstate__(self) -> Dict[str, Any]:
        # Only these three: a learning-rate scheduler's wrapper around ``step`` must not be copied or pickled.
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        lines = [self.__class__.__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines) + "\n)"

    def add_param_group(self, param_group: Dict[str, Any]) -> None:
        """Add a group of parameters (e.g. newly unfrozen layers) with its own hyperparameters."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering of "
                "tensors in sets will change between runs. Please use a list instead."
            )
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]  # from model.named_parameters()
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        param_group["params"] = params
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = names
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            param_group.setdefault(name, default)
        if len(params) != len(set(params)):
            import warnings

            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, this will cause an error",
                stacklevel=3,
            )
        for group in self.param_groups:
            if ("param_names" in param_group) != ("param_names" in group):
                kind = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    f"all optimizer param groups should be with/without names. cannot add param group {kind} to the optimizer"
                )
            if not set(group["params"]).isdisjoint(params):
                raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients before the next backward: set them to None (default) or fill them with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if p.grad.grad_fn is not None:
                        p.grad.detach_()
                    else:
                        p.grad.requires_grad_(False)
                    p.grad.zero_()

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Update every parameter that has a gradient; ``closure`` re-evaluates the loss when given."""
        raise NotImplementedError

    def state_dict(self) -> Dict[str, Any]:
        """The optimizer's state, with parameters replaced by their position (0, 1, ...) across the groups.

        Like PyTorch's, the returned dict refers to the live state tensors:
        ``copy.deepcopy`` it to keep a snapshot.
        """
        index: Dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {(index[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Restore a ``state_dict()``: the groups must have the same sizes, in the same order."""
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match the size of optimizer's group"
            )
        id_map = dict(
            zip(
                chain.from_iterable(g["params"] for g in saved_groups), chain.from_iterable(g["params"] for g in groups)
            )
        )
        state: Dict[Any, Dict[str, Any]] = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = {key: _cast_state(param, key, value) for key, value in v.items()}
            else:
                state[k] = v
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
        self.state, self.param_groups = state, saved_groups


def _cast_state(param: Tensor, key: str, value: Any) -> Any:
    """Loaded buffers move to the parameter's device and (if floating) dtype; ``step`` counters stay as saved."""
    if isinstance(value, Tensor):
        if key == "step":
            return value
        return value.to(device=param.device, dtype=param.dtype if param.is_floating_point() else None)
    if isinstance(value, dict):
        return {k: _cast_state(param, k, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_state(param, key, v) for v in value)
    return value


# ---- helpers shared by the optimizers ----------------------------------------------------------
def _check_flags(differentiable: bool, foreach: Optional[bool] = None, fused: Optional[bool] = None) -> None:
    """PyTorch's implementation switches: foreach/fused pick faster kernels, which minitorch doesn't need."""
    if differentiable:
        raise RuntimeError(
            "differentiable=True is not supported: minitorch optimizers update parameters in place "
            "outside autograd. Write the update with Tensor ops yourself to differentiate through it."
        )
    if fused and foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


def _evaluate(closure: Optional[Callable[[], Any]]) -> Any:
    """Run the closure (if any) with grad mode on, since it calls backward; return its loss."""
    if closure is None:
        return None
    with grad_mode.enable_grad():
        return closure()


def _step_counter() -> Tensor:
    """A fresh 0-d ``step`` counter: float32, or float64 when that is the default dtype (as in PyTorch)."""
    from ..ops.creation import zeros

    return zeros((), dtype=float64 if get_default_dtype() is float64 else float32)


def _advance(step_t: Tensor) -> float:
    """``step_t += 1`` in place; return the new count as a Python float."""
    step_t._data += 1
    step_t._version_counter.bump()
    return float(step_t._data)


def _lerp_(xp: Any, a: Any, b: Any, weight: float, work: Any) -> None:
    """``a <- a + weight * (b - a)`` in place, with PyTorch's two formulas (so results round the same).

    ``work`` is a scratch array of ``a``'s shape, so that nothing is allocated.
    """
    diff = xp.subtract(b, a, out=work)
    if abs(weight) < 0.5:
        diff *= weight
        a += diff
    else:
        diff *= 1 - weight
        xp.subtract(b, diff, out=a)


def _bump(*tensors: Tensor) -> None:
    """Record an in-place write, as every in-place Tensor op does (autograd checks these counters)."""
    for t in tensors:
        t._version_counter.bump()
