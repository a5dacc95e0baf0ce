"""Activation functions: the nonlinearities between layers, plus softmax and friends.

Most are elementwise. Each new one is a small autograd Function made by
``_elementwise`` from two pieces: the forward formula on backend arrays and
the input gradient written with tensor ops (so it can be differentiated
again, for double backward). ``relu``, ``sigmoid``, ``tanh`` and the softmaxes
reuse minitorch's core ops. ``inplace=True`` writes the result into the input
through ``ops.inplace``, which keeps autograd correct.

GELU has Functions of its own: the backend computes its value and its
input-gradient (on the CPU in C++, where erf is vectorised), and the
gradient is itself an op, so that it can be differentiated again.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Optional

from ...autograd.function import Function
from ...backends.erf import GELU_BETA, GELU_KAPPA, INV_SQRT_2PI
from ...ops import pointwise as pw
from ...ops import reduction
from ...ops.creation import rand
from ...ops.inplace import inplace as _write_inplace
from ...tensor import Tensor

__all__ = [
    "threshold",
    "threshold_",
    "relu",
    "relu_",
    "relu6",
    "hardtanh",
    "hardtanh_",
    "leaky_relu",
    "leaky_relu_",
    "rrelu",
    "rrelu_",
    "prelu",
    "elu",
    "elu_",
    "selu",
    "selu_",
    "celu",
    "celu_",
    "gelu",
    "silu",
    "mish",
    "softplus",
    "sigmoid",
    "tanh",
    "hardsigmoid",
    "hardswish",
    "logsigmoid",
    "softsign",
    "tanhshrink",
    "hardshrink",
    "softshrink",
    "glu",
    "softmax",
    "softmin",
    "log_softmax",
]


# ---- building blocks ---------------------------------------------------------------------------
def _elementwise(grad_fn_name: str, value: Callable[..., Any], grad: Callable[..., Tensor]) -> Any:
    """A Function for ``y = f(x, *params)``.

    ``value(xp, x, *params)`` computes y from the input array; ``grad(g, x,
    *params)`` returns dL/dx from the output gradient ``g`` using tensor ops.
    """

    def forward(ctx: Any, x: Tensor, *params: Any) -> Tensor:
        ctx.save_for_backward(x)
        ctx.params = params
        xp = x._backend.xp
        with xp.errstate(all="ignore"):
            out = value(xp, x._data, *params)
        return x._new(xp.asarray(out, dtype=x._data.dtype))

    def backward(ctx: Any, g: Tensor) -> Any:
        (x,) = ctx.saved_tensors
        return (grad(g, x, *ctx.params),) + (None,) * len(ctx.params)

    name = grad_fn_name.replace("Backward0", "")
    return type(
        name,
        (Function,),
        {
            "grad_fn_name": grad_fn_name,
            "forward": staticmethod(forward),
            "backward": staticmethod(backward),
            "__doc__": f"Elementwise {name}, with its derivative for backward.",
            "__module__": __name__,
        },
    )


def _floating(input: Tensor, name: str) -> None:
    """Activations other than the piecewise-linear ones need floating-point input (as in PyTorch)."""
    if not input.dtype.is_floating_point:
        raise NotImplementedError(
            f"\"{name}\" not implemented for '{input.dtype.name.capitalize()}'; convert the input with .float()"
        )


def _maybe_inplace(input: Tensor, inplace: bool, compute: Callable[[Tensor], Tensor]) -> Tensor:
    """``compute(input)``, or the same written into ``input``'s memory when ``inplace``."""
    return _write_inplace(input, compute) if inplace else compute(input)


# ---- piecewise-linear units ---------------------------------------------------------------------
_Threshold = _elementwise(
    "ThresholdBackward0",
    lambda xp, x, th, value: xp.where(x <= th, value, x),
    lambda g, x, th, value: pw.where(x <= th, 0.0, g),
)
_Hardtanh = _elementwise(
    "HardtanhBackward0",
    lambda xp, x, lo, hi: xp.minimum(xp.maximum(x, lo), hi),
    lambda g, x, lo, hi: pw.where((x > lo) & (x < hi), g, 0.0),
)
_LeakyRelu = _elementwise(
    "LeakyReluBackward0",
    lambda xp, x, slope: xp.where(x > 0, x, x * slope),
    lambda g, x, slope: pw.where(x > 0, g, g * slope),
)
_Hardshrink = _elementwise(
    "HardshrinkBackward0",
    lambda xp, x, lambd: xp.where((x >= -lambd) & (x <= lambd), 0, x),
    lambda g, x, lambd: pw.where((x >= -lambd) & (x <= lambd), 0.0, g),
)
_Softshrink = _elementwise(
    "SoftshrinkBackward0",
    lambda xp, x, lambd: xp.where(x > lambd, x - lambd, xp.where(x < -lambd, x + lambd, 0)),
    lambda g, x, lambd: pw.where((x >= -lambd) & (x <= lambd), 0.0, g),
)
_Hardsigmoid = _elementwise(
    "HardsigmoidBackward0",
    lambda xp, x: xp.minimum(xp.maximum(x + 3, 0), 6) / 6,
    lambda g, x: pw.where((x > -3) & (x < 3), g / 6, 0.0),
)
_Hardswish = _elementwise(
    "HardswishBackward0",
    lambda xp, x: x * xp.minimum(xp.maximum(x + 3, 0), 6) / 6,
    lambda g, x: pw.where(x <= -3, 0.0, pw.where(x < 3, g * (x / 3 + 0.5), g)),
)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``input`` where it exceeds ``threshold``, else ``value``."""
    return _maybe_inplace(input, inplace, lambda x: _Threshold.apply(x, threshold, value))


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    return _maybe_inplace(input, True, lambda x: _Threshold.apply(x, threshold, value))


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(0, x): the default nonlinearity of deep networks."""
    return input.relu_() if inplace else pw.relu(input)


def relu_(input: Tensor) -> Tensor:
    return input.relu_()


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """Clamp to [min_val, max_val]; the gradient passes strictly inside."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _maybe_inplace(input, inplace, lambda x: _Hardtanh.apply(x, min_val, max_val))


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(0, x), 6): a ReLU capped at 6 (``hardtanh(x, 0, 6)``)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, else ``negative_slope * x``: negative inputs keep a small gradient."""
    _floating(input, "leaky_relu_cpu")
    return _maybe_inplace(input, inplace, lambda x: _LeakyRelu.apply(x, negative_slope))


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return leaky_relu(input, negative_slope, inplace=True)


def rrelu(
    input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False, inplace: bool = False
) -> Tensor:
    """Randomized leaky ReLU: while training each negative element gets a slope drawn from
    U(lower, upper); in evaluation the slope is their mean."""
    _floating(input, "rrelu_with_noise_cpu")
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    slopes = rand(input.shape, dtype=input.dtype, device=input.device) * (upper - lower) + lower
    return _maybe_inplace(input, inplace, lambda x: x * pw.where(x <= 0, slopes, 1.0))


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False) -> Tensor:
    return rrelu(input, lower, upper, training, inplace=True)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """Leaky ReLU whose slope is learned: one per channel (dim 1) or one shared."""
    _floating(input, "prelu_cpu")
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.ndim}")
    channels = input.shape[1] if input.ndim >= 2 else 1
    if weight.numel() != 1 and weight.numel() != channels:
        raise RuntimeError(
            "Mismatch of parameter numbers and input channel size. "
            f"Found parameter numbers = {weight.numel()} and channel size = {channels}."
        )
    if weight.numel() == 1:
        slope = weight.reshape(())
    else:
        slope = weight.reshape((channels,) + (1,) * (input.ndim - 2))
    return pw.where(input > 0, input, slope * input)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """0 for |x| <= lambd, else x."""
    _floating(input, "hardshrink_cpu")
    return _Hardshrink.apply(input, lambd)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """Shrink towards 0 by ``lambd`` (0 inside [-lambd, lambd])."""
    _floating(input, "softshrink_cpu")
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    return _Softshrink.apply(input, lambd)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """A piecewise-linear sigmoid: clamp(x/6 + 1/2, 0, 1)."""
    _floating(input, "hardsigmoid_cpu")
    return _maybe_inplace(input, inplace, _Hardsigmoid.apply)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * hardsigmoid(x): a cheap SiLU (MobileNetV3)."""
    _floating(input, "hardswish_cpu")
    return _maybe_inplace(input, inplace, _Hardswish.apply)


# ---- exponential units ---------------------------------------------------------------------------
def _elu_value(xp: Any, x: Any, alpha: float, scale: float, input_scale: float) -> Any:
    return xp.where(x > 0, x * scale, xp.expm1(x * input_scale) * (alpha * scale))


def _elu_grad(g: Tensor, x: Tensor, alpha: float, scale: float, input_scale: float) -> Tensor:
    return pw.where(x > 0, g * scale, g * (input_scale * alpha * scale) * pw.exp(x * input_scale))


_Elu = _elementwise("EluBackward0", _elu_value, _elu_grad)
_Celu = _elementwise("CeluBackward0", _elu_value, _elu_grad)

#: SELU's constants: with them, activations keep zero mean and unit variance through layers.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, else alpha * (e^x - 1): smooth, with negative outputs down to -alpha."""
    _floating(input, "elu_cpu")
    return _maybe_inplace(input, inplace, lambda x: _Elu.apply(x, alpha, 1.0, 1.0))


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, inplace=True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with the self-normalizing constants of Klambauer et al."""
    _floating(input, "elu_cpu")
    return _maybe_inplace(input, inplace, lambda x: _Elu.apply(x, _SELU_ALPHA, _SELU_SCALE, 1.0))


def selu_(input: Tensor) -> Tensor:
    return selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, else alpha * (e^(x/alpha) - 1): an ELU whose slope at 0 is always 1."""
    _floating(input, "elu_cpu")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _maybe_inplace(input, inplace, lambda x: _Celu.apply(x, alpha, 1.0, 1.0 / alpha))


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return celu(input, alpha, inplace=True)


# ---- smooth gates: GELU, SiLU, Mish, softplus ------------------------------------------------------
def _gelu_second_derivative(x: Tensor, approximate: str) -> Tensor:
    """GELU'' with tensor ops (differentiable again). With Phi' the normal density, GELU' = Phi + x Phi' and
    GELU'' = Phi' (2 - x²); for the tanh formula, with u = beta (x + kappa x³) and t = tanh(u),
    GELU' = (1 + t) / 2 + x (1 - t²) u' / 2 and GELU'' = (1 - t²) (u' + x u'' / 2 - x t u'²)."""
    if approximate == "tanh":
        t = pw.tanh(GELU_BETA * (x + GELU_KAPPA * x * x * x))
        slope = GELU_BETA * (1 + 3 * GELU_KAPPA * x * x)  # u'
        return (1 - t * t) * (slope + 3 * GELU_BETA * GELU_KAPPA * x * x - x * t * slope * slope)
    return pw.exp(-0.5 * x * x) * INV_SQRT_2PI * (2 - x * x)


class _GeluBackward(Function):
    """GELU's input-gradient ``g * GELU'(x)`` as an op of its own: the backend computes it (in C++ on the CPU)
    and, for higher derivatives, its backward gives ``GELU'(x)`` for g (itself again) and ``g GELU''(x)`` for x.
    ``saved`` is what the backend's ``gelu`` kept for it."""

    grad_fn_name = "GeluBackwardBackward0"

    @staticmethod
    def forward(ctx: Any, g: Tensor, x: Tensor, approximate: str, saved: Any) -> Tensor:
        ctx.save_for_backward(g, x)
        ctx.approximate, ctx.saved = approximate, saved
        return g._new(g._backend.gelu_backward(g._data, x._data, approximate, saved))

    @staticmethod
    def backward(ctx: Any, gg: Tensor) -> Any:
        g, x = ctx.saved_tensors
        needs = ctx.needs_input_grad
        grad_g = _GeluBackward.apply(gg, x, ctx.approximate, ctx.saved) if needs[0] else None
        grad_x = gg * g * _gelu_second_derivative(x, ctx.approximate) if needs[1] else None
        return grad_g, grad_x, None, None


class _Gelu(Function):
    """x * Phi(x), Phi the normal CDF (through erf) or its tanh approximation, computed by the backend."""

    grad_fn_name = "GeluBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, approximate: str) -> Tensor:
        y, saved = x._backend.gelu(x._data, approximate)
        ctx.save_for_backward(x)
        ctx.approximate, ctx.saved = approximate, saved
        return x._new(y)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (x,) = ctx.saved_tensors
        return _GeluBackward.apply(g, x, ctx.approximate, ctx.saved), None


def _silu_grad(g: Tensor, x: Tensor) -> Tensor:
    s = pw.sigmoid(x)
    return g * s * (1 + x * (1 - s))


_Silu = _elementwise("SiluBackward0", lambda xp, x: x / (1 + xp.exp(-x)), _silu_grad)

# Above ``threshold`` softplus is x itself (to rounding); its slope, sigmoid(beta*x), is stable everywhere.
_Softplus = _elementwise(
    "SoftplusBackward0",
    lambda xp, x, beta, th: xp.where(x * beta > th, x, xp.log1p(xp.exp(x * beta)) / beta),
    lambda g, x, beta, th: pw.where(x * beta > th, g, g * pw.sigmoid(x * beta)),
)


def _mish_grad(g: Tensor, x: Tensor) -> Tensor:
    t = pw.tanh(_Softplus.apply(x, 1.0, 20.0))
    return g * (t + x * pw.sigmoid(x) * (1 - t * t))


_Mish = _elementwise("MishBackward0", lambda xp, x: x * xp.tanh(xp.log1p(xp.exp(x))), _mish_grad)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x), Phi the standard normal CDF; ``approximate='tanh'`` uses the tanh formula."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    _floating(input, "GeluKernelImpl")
    return _Gelu.apply(input, approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    _floating(input, "silu_cpu")
    return _maybe_inplace(input, inplace, _Silu.apply)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x))."""
    _floating(input, "mish_cpu")
    return _maybe_inplace(input, inplace, _Mish.apply)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta: a smooth ReLU; linear where beta*x > threshold."""
    _floating(input, "softplus_cpu")
    return _Softplus.apply(input, beta, threshold)


# ---- sigmoid-shaped ------------------------------------------------------------------------------
_LogSigmoid = _elementwise(
    "LogSigmoidBackward0",
    lambda xp, x: xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x))),
    lambda g, x: g * pw.sigmoid(-x),
)


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + e^-x)."""
    return pw.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    return pw.tanh(input)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)), computed as min(x, 0) - log(1 + e^-|x|) so it never overflows."""
    _floating(input, "log_sigmoid_cpu")
    return _LogSigmoid.apply(input)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return input / (1 + pw.abs(input))


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    return input - pw.tanh(input)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: split ``dim`` in halves a, b and return a * sigmoid(b)."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    _floating(input, "glu_cpu")
    size = input.size(dim)  # also checks dim
    if size % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim % input.ndim} is size {size}")
    a, b = input.chunk(2, dim)
    return a * pw.sigmoid(b)


# ---- softmax family ----------------------------------------------------------------------------
def _implicit_dim(name: str, ndim: int, stacklevel: int) -> int:
    """PyTorch's deprecated rule when no ``dim`` is given: dim 0 for 0-, 1- and 3-D input, else 1."""
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as an argument.",
        stacklevel=stacklevel,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``; ``dtype`` casts the input first."""
    if dim is None:
        dim = _implicit_dim("softmax", input.ndim, _stacklevel)
    return reduction.softmax(input, dim, dtype=dtype)


def softmin(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """softmax(-x): the smallest entries get the most weight."""
    if dim is None:
        dim = _implicit_dim("softmin", input.ndim, _stacklevel)
    return reduction.softmax(-input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """log(softmax(x)) along ``dim``, computed stably (the input of nll_loss)."""
    if dim is None:
        dim = _implicit_dim("log_softmax", input.ndim, _stacklevel)
    return reduction.log_softmax(input, dim, dtype=dtype)
