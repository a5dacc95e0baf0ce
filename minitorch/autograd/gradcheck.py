"""gradcheck and gradgradcheck: compare autograd with finite differences.

For a function f and inputs x, the *numerical* Jacobian comes from central
differences, (f(x + eps e_j) - f(x - eps e_j)) / 2 eps for each input
element j; the *analytical* Jacobian comes from running backward once per
output element with a one-hot output gradient. They must agree within
``atol + rtol * |numerical|``. Use float64: in float32 the difference
quotient loses about half of its digits.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from . import grad_mode


class GradcheckError(RuntimeError):
    """Raised when analytical and numerical gradients disagree."""


def _as_tuple(x: Any) -> Tuple[Any, ...]:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _differentiable_outputs(func: Callable, inputs: Tuple[Any, ...]) -> List[Any]:
    from ..tensor import Tensor

    outs = _as_tuple(func(*inputs))
    return [o for o in outs if isinstance(o, Tensor) and o.dtype.is_floating_point]


def _check_inputs(inputs: Tuple[Any, ...]) -> List[int]:
    from .. import dtypes
    from ..layout import has_overlap
    from ..tensor import Tensor

    wrt = []
    for i, t in enumerate(inputs):
        if not (isinstance(t, Tensor) and t.requires_grad):
            continue
        if t.dtype is not dtypes.float64:
            raise GradcheckError(
                f"Input #{i} requires gradient and is {t.dtype}, not float64. Finite differences in lower "
                "precision are too inexact to check gradients; pass inputs made with dtype=minitorch.float64."
            )
        if t.numel() > 1 and has_overlap(t.shape, t.stride()):
            raise GradcheckError(
                f"The {i}th input has a dimension with stride 0 (or overlapping memory). gradcheck only "
                "supports inputs that are non-overlapping to be able to compute the numerical gradients "
                "correctly. You should call .contiguous on the input before passing it to gradcheck."
            )
        wrt.append(i)
    if not wrt:
        raise ValueError(
            "gradcheck expects at least one input tensor to require gradient, but none of them have requires_grad=True."
        )
    return wrt


def _flat_outputs(func: Callable, inputs: Tuple[Any, ...]) -> np.ndarray:
    # Grad mode stays on: gradgradcheck's function itself calls autograd.grad.
    outs = _differentiable_outputs(func, inputs)
    return np.concatenate([o.detach().cpu().numpy().astype(np.float64).ravel() for o in outs]) if outs else np.zeros(0)


def _numerical_jacobian(func: Callable, inputs: Tuple[Any, ...], wrt: List[int], eps: float) -> List[np.ndarray]:
    """One (n_outputs x n_input_elements) matrix per input, by central differences.

    Each element is perturbed in place in the input's own memory, so
    non-contiguous inputs (transposed, sliced) are checked as they are.
    """
    jacobians = []
    for i in wrt:
        x = inputs[i]
        arr = x._data  # a strided view of the input's storage
        columns = []
        for j in range(x.numel()):
            idx = np.unravel_index(j, arr.shape) if arr.ndim else ()
            orig = arr[idx].item()
            arr[idx] = orig + eps
            plus = _flat_outputs(func, inputs)
            arr[idx] = orig - eps
            minus = _flat_outputs(func, inputs)
            arr[idx] = orig
            columns.append((plus - minus) / (2 * eps))
        n_out = _flat_outputs(func, inputs).size
        jacobians.append(np.stack(columns, axis=1) if columns else np.zeros((n_out, 0)))
    return jacobians


def _analytical_jacobian(func: Callable, inputs: Tuple[Any, ...], wrt: List[int]) -> List[np.ndarray]:
    """One matrix per input: row k is the gradient of output element k (one backward each)."""
    from ..ops.creation import zeros_like
    from . import grad as autograd_grad

    with grad_mode.enable_grad():
        outs = _differentiable_outputs(func, inputs)
    sizes = [o.numel() for o in outs]
    jac = [np.zeros((sum(sizes), inputs[i].numel())) for i in wrt]
    row = 0
    for out in outs:
        for k in range(out.numel()):
            g = zeros_like(out)
            g._data.reshape(-1)[k] = 1
            grads = _grads_of(autograd_grad, out, [inputs[i] for i in wrt], g)
            for col, gi in enumerate(grads):
                if gi is not None:
                    jac[col][row] = gi.detach().cpu().numpy().astype(np.float64).ravel()
            row += 1
    return jac


def _grads_of(autograd_grad: Callable, out: Any, ins: List[Any], g: Any) -> Tuple[Any, ...]:
    if not out.requires_grad:
        return (None,) * len(ins)
    return autograd_grad(out, ins, g, retain_graph=True, allow_unused=True)


def _fail(msg: str, raise_exception: bool) -> bool:
    if raise_exception:
        raise GradcheckError(msg)
    return False


def _compare(analytical: np.ndarray, numerical: np.ndarray, atol: float, rtol: float, input_nr: int) -> Optional[str]:
    if analytical.shape != numerical.shape:
        return (
            f"Jacobian shape mismatch for input {input_nr}: analytical {analytical.shape}, numerical {numerical.shape}"
        )
    err = np.abs(analytical - numerical)
    bad = err > atol + rtol * np.abs(numerical)
    bad |= np.isnan(analytical) != np.isnan(numerical)
    if not bad.any():
        return None
    worst = np.unravel_index(np.argmax(np.where(bad, np.nan_to_num(err, nan=np.inf), -1)), err.shape)
    return (
        f"Jacobian mismatch for output 0 with respect to input {input_nr}: worst element at "
        f"(output element {worst[0]}, input element {worst[1]}): analytical {analytical[worst]!r}, "
        f"numerical {numerical[worst]!r}, error {err[worst]!r} > atol {atol} + rtol {rtol} * |numerical|.\n"
        f"numerical:{numerical}\nanalytical:{analytical}\n"
    )


def gradcheck(
    func: Callable[..., Any],
    inputs: Any,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    fast_mode: bool = False,
    **_: Any,
) -> bool:
    """True when ``func``'s gradients w.r.t. every input that requires grad match finite differences.

    Defaults are PyTorch's. ``fast_mode`` compares a random projection
    vᵀJu instead of the whole Jacobian (one backward, two forwards per input).
    """
    inputs = _as_tuple(inputs)
    wrt = _check_inputs(inputs)
    if fast_mode:
        return _fast_gradcheck(func, inputs, wrt, eps, atol, rtol, raise_exception)
    numerical = _numerical_jacobian(func, inputs, wrt, eps)
    analytical = _analytical_jacobian(func, inputs, wrt)
    for n, (a, num) in enumerate(zip(analytical, numerical)):
        msg = _compare(a, num, atol, rtol, wrt[n])
        if msg:
            return _fail(msg, raise_exception)
    again = _analytical_jacobian(func, inputs, wrt)
    for a, b in zip(analytical, again):
        if np.abs(a - b).max(initial=0) > nondet_tol:
            return _fail(
                "Backward is not reentrant, i.e., running backward with same input and grad_output "
                f"multiple times gives different values (max difference {np.abs(a - b).max()}).",
                raise_exception,
            )
    if check_undefined_grad and not _zero_grad_gives_zero(func, inputs, wrt):
        return _fail("Backward with a zero output gradient gave a nonzero input gradient.", raise_exception)
    return True


def _zero_grad_gives_zero(func: Callable, inputs: Tuple[Any, ...], wrt: List[int]) -> bool:
    from ..ops.creation import zeros_like
    from . import grad as autograd_grad

    with grad_mode.enable_grad():
        outs = [o for o in _differentiable_outputs(func, inputs) if o.requires_grad]
    if not outs:
        return True
    grads = autograd_grad(outs, [inputs[i] for i in wrt], [zeros_like(o) for o in outs], allow_unused=True)
    return all(g is None or not bool((g != 0).any()) for g in grads)


def _fast_gradcheck(
    func: Callable, inputs: Tuple[Any, ...], wrt: List[int], eps: float, atol: float, rtol: float, raise_exception: bool
) -> bool:
    from ..ops.creation import tensor
    from . import grad as autograd_grad

    rng = np.random.default_rng(0)
    with grad_mode.enable_grad():
        outs = _differentiable_outputs(func, inputs)
    vs = [tensor(rng.standard_normal(tuple(o.shape)), dtype=o.dtype, device=o.device) for o in outs]
    grads = autograd_grad(
        [o for o in outs if o.requires_grad],
        [inputs[i] for i in wrt],
        [v for v, o in zip(vs, outs) if o.requires_grad],
        allow_unused=True,
    )
    v_flat = np.concatenate([v.cpu().numpy().ravel() for v in vs]) if vs else np.zeros(0)
    for n, i in enumerate(wrt):
        x = inputs[i]
        u = rng.standard_normal(tuple(x.shape))
        arr, step = x._data, x._backend.from_host(eps * u)
        orig = arr.copy()
        arr[...] = orig + step
        plus = _flat_outputs(func, inputs)
        arr[...] = orig - step
        minus = _flat_outputs(func, inputs)
        arr[...] = orig
        numerical = float(v_flat @ ((plus - minus) / (2 * eps)))
        g = grads[n]
        analytical = float((g.detach().cpu().numpy() * u).sum()) if g is not None else 0.0
        if abs(analytical - numerical) > atol + rtol * abs(numerical):
            return _fail(
                f"Jacobian mismatch for input {i} in fast mode: vᵀJu analytical {analytical!r}, numerical {numerical!r}",
                raise_exception,
            )
    return True


def gradgradcheck(
    func: Callable[..., Any],
    inputs: Any,
    grad_outputs: Optional[Sequence[Any]] = None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    gen_non_contig_grad_outputs: bool = False,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    fast_mode: bool = False,
    **_: Any,
) -> bool:
    """gradcheck of the *backward* pass: checks second derivatives (create_graph=True)."""
    from ..ops.creation import tensor
    from . import grad as autograd_grad

    inputs = _as_tuple(inputs)
    wrt = _check_inputs(inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        with grad_mode.no_grad():
            outs = _differentiable_outputs(func, inputs)
        grad_outputs = tuple(
            tensor(rng.standard_normal(tuple(o.shape)), dtype=o.dtype, device=o.device, requires_grad=True)
            for o in outs
        )
    grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)

    def first_derivatives(*args: Any) -> Tuple[Any, ...]:
        ins, gos = args[:n_in], args[n_in:]
        outs = [o for o in _differentiable_outputs(func, ins) if o.requires_grad]
        grads = autograd_grad(outs, [ins[i] for i in wrt], list(gos[: len(outs)]), create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(
        first_derivatives,
        inputs + grad_outputs,
        eps=eps,
        atol=atol,
        rtol=rtol,
        raise_exception=raise_exception,
        nondet_tol=nondet_tol,
        check_undefined_grad=False,
        fast_mode=fast_mode,
    )
