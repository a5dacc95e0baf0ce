"""Normalization layers as functions: batch, layer, group, RMS and local response norm.

Batch, layer and group norm share one idea: over some dims, subtract the mean
and divide by the standard deviation, x̂ = (x - mean) / sqrt(var + eps), then
scale and shift per feature, y = x̂ * weight + bias. They differ only in
*which* dims the statistics are taken over (the batch, the features of one
sample, or groups of channels). ``_Normalize`` does that in one pass on
arrays. Its backward is the closed-form gradient, written once with plain
operators in backends/norm.py: it runs on tensors when the backward itself
must be differentiable (``create_graph=True``), else directly on arrays.
Batch and layer norm, the common ones, run as fused backend kernels instead
(``_BatchNorm``, ``_LayerNorm``), whose NumPy reference is the same formula,
and keep the tensor form for ``create_graph``.
"""

from __future__ import annotations

import math
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from ...autograd import grad_mode
from ...autograd.function import Function
from ...autograd.grad_mode import no_grad
from ...backends.norm import normalize_grads
from ...ops.creation import zeros
from ...ops.joining import cat
from ...ops.pointwise import clamp, rsqrt
from ...ops.reduction import mean as _mean
from ...ops.reduction import norm as _norm
from ...tensor import Tensor

__all__ = ["batch_norm", "instance_norm", "layer_norm", "group_norm", "rms_norm", "local_response_norm", "normalize"]


class _Normalize(Function):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, statistics over ``dims``.

    ``weight`` and ``bias`` (or None) are already shaped to broadcast against x.
    Also returns the batch mean and biased variance (keepdim), which carry no
    gradient; batch norm uses them to update its running statistics.
    """

    @staticmethod
    def forward(
        ctx: Any, x: Tensor, weight: Optional[Tensor], bias: Optional[Tensor], dims: Tuple[int, ...], eps: float
    ) -> Tuple[Tensor, Tensor, Tensor]:
        xp = x._backend.xp
        with xp.errstate(all="ignore"):  # empty input: statistics are nan, as in PyTorch
            mean = x._data.mean(axis=dims, keepdims=True)
            y = x._data - mean
            var = xp.square(y).mean(axis=dims, keepdims=True)
            y *= 1 / xp.sqrt(var + eps)
        if weight is not None:
            y *= weight._data
        if bias is not None:
            y += bias._data
        ctx.dims, ctx.eps = dims, eps
        ctx.save_for_backward(x, weight)
        stats = (x._new(mean), x._new(var))
        ctx.mark_non_differentiable(*stats)
        return (x._new(y),) + stats

    @staticmethod
    def backward(ctx: Any, g: Tensor, *_: Any) -> Any:
        x, weight = ctx.saved_tensors
        dims, eps, needs = ctx.dims, ctx.eps, ctx.needs_input_grad
        if grad_mode.is_grad_enabled():  # create_graph=True: record this backward, to differentiate it again
            grads = _normalize_grads(g, x, weight, lambda t: _mean(t, dims, keepdim=True), rsqrt, eps, needs)
            return grads + (None, None)
        # A plain backward records nothing, so the same formula runs directly on arrays (faster).
        xp = x._backend.xp
        w = None if weight is None else weight._data
        with xp.errstate(all="ignore"):
            grads = _normalize_grads(
                g._data, x._data, w, lambda a: a.mean(axis=dims, keepdims=True), lambda a: 1 / xp.sqrt(a), eps, needs
            )
        return tuple(None if a is None else g._new(a) for a in grads) + (None, None)


def _normalize_grads(g: Any, x: Any, weight: Any, mean: Any, rsqrt: Any, eps: float, needs: Sequence[bool]) -> Any:
    """``normalize_grads`` (backends/norm.py) with x̂'s statistics recomputed from x, given ``mean`` over the
    normalized dims and ``rsqrt``: on tensors or on arrays alike. The engine sums the weight and bias gradients
    back to their shapes."""
    centred = x - mean(x)
    return normalize_grads(g, centred, rsqrt(mean(centred * centred) + eps), weight, mean, needs)


def _fused_forward(
    ctx: Any,
    x: Tensor,
    weight: Optional[Tensor],
    view: Any,
    params: Tuple[Any, Any],
    kernel: Any,
    dims: Tuple[int, ...],
    eps: float,
    stat_shape: Tuple[int, ...],
) -> Tuple[Tensor, Tensor, Tensor]:
    """Run a backend's fused normalization ``kernel`` on ``view`` (x's array as the kernel takes it) and record
    what its backward needs; the statistics come back shaped ``stat_shape``, without gradient."""
    y, mean, var = kernel(view, *params, eps)
    ctx.dims, ctx.eps, ctx.stats = dims, eps, (mean, var)
    ctx.save_for_backward(x, weight)
    stats = (x._new(mean.reshape(stat_shape)), x._new(var.reshape(stat_shape)))
    ctx.mark_non_differentiable(*stats)
    return (x._new(y.reshape(x.shape)),) + stats


def _fused_backward(
    ctx: Any, g: Tensor, x: Tensor, view: Any, weight: Any, kernel: Any, param_shape: Tuple[int, ...]
) -> Tuple[Any, ...]:
    """The gradients of ``_fused_forward`` from the backend's fused ``kernel``: x's in x's shape, weight's and
    bias's in ``param_shape`` (None where not needed)."""
    gx, gw, gb = kernel(g._data.reshape(view.shape), view, weight, *ctx.stats, ctx.eps)
    needs = ctx.needs_input_grad
    return (
        g._new(gx.reshape(x.shape)) if needs[0] else None,
        g._new(gw.reshape(param_shape)) if needs[1] else None,
        g._new(gb.reshape(param_shape)) if needs[2] else None,
        None,
        None,
    )


class _BatchNorm(_Normalize):
    """Batch norm: statistics per channel (dim 1) over every other dim, by the backend's fused kernels.

    The data is viewed as (N, C, L). A backward that must itself be
    differentiable (``create_graph=True``) uses ``_Normalize``'s tensor formula.
    """

    grad_fn_name = "NativeBatchNormBackward0"

    @staticmethod
    def forward(
        ctx: Any, x: Tensor, weight: Optional[Tensor], bias: Optional[Tensor], dims: Tuple[int, ...], eps: float
    ) -> Tuple[Tensor, Tensor, Tensor]:
        params = (_affine(x, weight, 1), _affine(x, bias, 0))
        return _fused_forward(ctx, x, weight, _channels(x), params, x._backend.batch_norm, dims, eps, (x.shape[1],))

    @staticmethod
    def backward(ctx: Any, g: Tensor, *_: Any) -> Any:
        if grad_mode.is_grad_enabled():
            return _Normalize.backward(ctx, g)
        x, weight = ctx.saved_tensors
        per_channel = (1, -1) + (1,) * (x.ndim - 2)
        kernel = x._backend.batch_norm_backward
        return _fused_backward(ctx, g, x, _channels(x), _affine(x, weight, 1), kernel, per_channel)


def _channels(x: Tensor) -> Any:
    """x's array as (N, C, L): the channels in the middle, every position of a sample after them (a view)."""
    return x._data.reshape(x.shape[0], x.shape[1], math.prod(x.shape[2:]))  # not -1: N may be 0


def _affine(x: Tensor, param: Optional[Tensor], default: float) -> Any:
    """A per-channel weight or bias as a ``(C,)`` array in x's dtype; ``default`` everywhere when absent."""
    if param is None:
        return x._backend.xp.full(x.shape[1], default, dtype=x._data.dtype)
    return param._data.reshape(-1).astype(x._data.dtype, copy=False)


class _LayerNorm(_Normalize):
    """Layer norm: statistics over the last dims (``dims``) of each sample, by the backend's fused kernels.

    The data is viewed as (M, D), one row per sample, D values in the
    normalized dims. A backward that must itself be differentiable
    (``create_graph=True``) uses ``_Normalize``'s tensor formula.
    """

    grad_fn_name = "NativeLayerNormBackward0"

    @staticmethod
    def forward(
        ctx: Any, x: Tensor, weight: Optional[Tensor], bias: Optional[Tensor], dims: Tuple[int, ...], eps: float
    ) -> Tuple[Tensor, Tensor, Tensor]:
        per_row = x.shape[: x.ndim - len(dims)] + (1,) * len(dims)
        params = (_flat(x, weight), _flat(x, bias))
        return _fused_forward(ctx, x, weight, _rows(x, dims), params, x._backend.layer_norm, dims, eps, per_row)

    @staticmethod
    def backward(ctx: Any, g: Tensor, *_: Any) -> Any:
        if grad_mode.is_grad_enabled():
            return _Normalize.backward(ctx, g)
        x, weight = ctx.saved_tensors
        features = x.shape[x.ndim - len(ctx.dims) :]
        kernel = x._backend.layer_norm_backward
        return _fused_backward(ctx, g, x, _rows(x, ctx.dims), _flat(x, weight), kernel, features)


def _rows(x: Tensor, dims: Tuple[int, ...]) -> Any:
    """x's array as (M, D): one row per sample, its D values in the last ``len(dims)`` dims (a view when it can be)."""
    d = math.prod(x.shape[x.ndim - len(dims) :])
    return x._data.reshape(math.prod(x.shape[: x.ndim - len(dims)]), d)


def _flat(x: Tensor, param: Optional[Tensor]) -> Any:
    """A weight or bias over the normalized dims as a ``(D,)`` array in x's dtype, or None."""
    return None if param is None else param._data.reshape(-1).astype(x._data.dtype, copy=False)


class _InstanceNorm(_Normalize):
    grad_fn_name = "NativeBatchNormBackward0"  # PyTorch runs instance norm as a batch norm of one sample


class _GroupNorm(_Normalize):
    grad_fn_name = "NativeGroupNormBackward0"


def _floating(input: Tensor, kernel: str) -> None:
    if not input.dtype.is_floating_point:
        raise NotImplementedError(
            f"\"{kernel}\" not implemented for '{input.dtype.name.capitalize()}'; convert the input with .float()"
        )


def _verify_batch_size(size: Sequence[int]) -> None:
    """Training statistics need at least two values per channel."""
    if math.prod(size[:1] + size[2:]) == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {size}")


def _per_channel(input: Tensor, tensors: Any) -> Tuple[Any, ...]:
    """Check that each of ``tensors`` (name -> tensor or None) has one value per channel (dim 1)."""
    channels = input.shape[1] if input.ndim > 1 else 0
    for name, t in tensors.items():
        if t is not None and t.numel() != channels:
            raise RuntimeError(f"{name} should contain {channels} elements not {t.numel()}")
    return (1, channels) + (1,) * (input.ndim - 2)


def _with_running_stats(input: Tensor, running_mean: Any, running_var: Any, w: Any, b: Any, eps: float) -> Tensor:
    """Evaluation mode: a fixed per-channel affine map y = x * scale + shift from the running statistics."""
    if running_mean is None or running_var is None:
        raise RuntimeError(
            "running_mean must be defined in evaluation mode (pass the running statistics, or training=True)"
        )
    shape = (1, -1) + (1,) * (input.ndim - 2)
    scale = rsqrt(running_var.reshape(shape) + eps)
    if w is not None:
        scale = scale * w
    shift = -running_mean.reshape(shape) * scale
    if b is not None:
        shift = shift + b
    return input * scale + shift


def _update_running(running: Optional[Tensor], batch_value: Tensor, momentum: float) -> None:
    """running = (1 - momentum) * running + momentum * batch_value, in place and untracked."""
    if running is not None:
        with no_grad():
            running.mul_(1 - momentum).add_(batch_value, alpha=momentum)


def batch_norm(
    input: Tensor,
    running_mean: Optional[Tensor],
    running_var: Optional[Tensor],
    weight: Optional[Tensor] = None,
    bias: Optional[Tensor] = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each channel (dim 1) over the batch and spatial dims.

    Training uses the batch's statistics and, if given, moves the running ones
    towards them in place: running = (1 - momentum) * running + momentum * batch,
    with the unbiased variance. Evaluation uses the running statistics.
    """
    _floating(input, "batch_norm")
    if training:
        _verify_batch_size(list(input.shape))
    shape = _per_channel(
        input, {"running_mean": running_mean, "running_var": running_var, "weight": weight, "bias": bias}
    )
    w = None if weight is None else weight.reshape(shape)
    b = None if bias is None else bias.reshape(shape)
    if not training:
        return _with_running_stats(input, running_mean, running_var, w, b, eps)
    out, mean, var = _BatchNorm.apply(input, w, b, (0,) + tuple(range(2, input.ndim)), eps)
    n = input.numel() // shape[1]
    _update_running(running_mean, mean.reshape(-1), momentum)
    _update_running(running_var, var.reshape(-1) * (n / (n - 1)), momentum)
    return out


def instance_norm(
    input: Tensor,
    running_mean: Optional[Tensor] = None,
    running_var: Optional[Tensor] = None,
    weight: Optional[Tensor] = None,
    bias: Optional[Tensor] = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each channel of each sample over its spatial dims (style transfer's norm).

    Running statistics, if given, move towards the batch average of the
    per-sample statistics; ``use_input_stats=False`` normalizes with them instead.
    """
    _floating(input, "instance_norm")
    if use_input_stats and math.prod(input.shape[2:]) == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {list(input.shape)}")
    shape = _per_channel(
        input, {"running_mean": running_mean, "running_var": running_var, "weight": weight, "bias": bias}
    )
    w = None if weight is None else weight.reshape(shape)
    b = None if bias is None else bias.reshape(shape)
    if not use_input_stats:
        return _with_running_stats(input, running_mean, running_var, w, b, eps)
    out, mean, var = _InstanceNorm.apply(input, w, b, tuple(range(2, input.ndim)), eps)
    n = math.prod(input.shape[2:])
    _update_running(running_mean, _mean(mean, 0).reshape(-1), momentum)
    _update_running(running_var, _mean(var, 0).reshape(-1) * (n / (n - 1)), momentum)
    return out


def _check_normalized_shape(input: Tensor, normalized_shape: Any, pattern: str) -> Tuple[int, ...]:
    if isinstance(normalized_shape, int):
        raise TypeError(
            f"normalized_shape must be a tuple of ints, not int: pass ({normalized_shape},) to normalize the last dim"
        )
    shape = tuple(normalized_shape)
    k = len(shape)
    if k == 0 or tuple(input.shape[input.ndim - k :]) != shape or input.ndim < k:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape {pattern.format(', '.join(map(str, shape)))}, "
            f"but got input of size{list(input.shape)}"
        )
    return shape


def _check_weight_shape(t: Optional[Tensor], shape: Tuple[int, ...], name: str) -> None:
    if t is not None and tuple(t.shape) != shape:
        raise RuntimeError(
            f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
            f"{list(t.shape)} and normalized_shape = {list(shape)}"
        )


def layer_norm(
    input: Tensor,
    normalized_shape: Sequence[int],
    weight: Optional[Tensor] = None,
    bias: Optional[Tensor] = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each sample over its last ``len(normalized_shape)`` dims (the features)."""
    shape = _check_normalized_shape(input, normalized_shape, "[*, {}]")
    _check_weight_shape(weight, shape, "weight")
    _check_weight_shape(bias, shape, "bias")
    _floating(input, "LayerNormKernelImpl")
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    return _LayerNorm.apply(input, weight, bias, dims, eps)[0]


def group_norm(
    input: Tensor, num_groups: int, weight: Optional[Tensor] = None, bias: Optional[Tensor] = None, eps: float = 1e-5
) -> Tensor:
    """Split the channels into ``num_groups`` groups and normalize each group of each sample."""
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.ndim}")
    n, channels = input.shape[0], input.shape[1]
    if num_groups <= 0 or channels % num_groups:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got input of shape "
            f"{list(input.shape)} and num_groups={num_groups}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.ndim != 1 or t.numel() != channels):
            raise RuntimeError(
                f"Expected {name} to be a vector of size equal to the number of channels in input, but got "
                f"{name} of shape {list(t.shape)} and input of shape {list(input.shape)}"
            )
    _floating(input, "GroupNormKernelImpl")
    # View as (N, groups, channels per group, positions) and normalize over the last two dims;
    # the per-channel weight and bias then broadcast as (groups, channels per group, 1).
    groups = input.reshape(n, num_groups, channels // num_groups, -1)
    per_channel = (num_groups, channels // num_groups, 1)
    w = None if weight is None else weight.reshape(per_channel)
    b = None if bias is None else bias.reshape(per_channel)
    return _GroupNorm.apply(groups, w, b, (2, 3), eps)[0].reshape(input.shape)


def rms_norm(
    input: Tensor, normalized_shape: Sequence[int], weight: Optional[Tensor] = None, eps: Optional[float] = None
) -> Tensor:
    """x / sqrt(mean(x²) + eps) over the last dims, times ``weight``; ``eps`` defaults to the dtype's epsilon."""
    shape = _check_normalized_shape(input, normalized_shape, "[*{}]")
    _check_weight_shape(weight, shape, "weight")
    _floating(input, "rms_norm")
    if eps is None:
        eps = float(np.finfo(input.dtype.np).eps)  # host-side metadata, not tensor data
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    out = input * rsqrt(_mean(input * input, dims, keepdim=True) + eps)
    return out if weight is None else out * weight


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """Divide each value by (k + alpha * mean of x² over ``size`` neighbouring channels)^beta (AlexNet)."""
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} dimensions)")
    if input.numel() == 0:
        return input
    squares = input * input
    # Zero-pad the channel dim by size//2 before and (size-1)//2 after, then average each window.
    pad = [
        zeros(input.shape[:1] + (p,) + input.shape[2:], dtype=input.dtype, device=input.device)
        for p in (size // 2, (size - 1) // 2)
    ]
    padded = cat([pad[0], squares, pad[1]], dim=1)
    channels = input.shape[1]
    windows: List[Tensor] = [padded.narrow(1, i, channels) for i in range(size)]
    total = windows[0]
    for w in windows[1:]:
        total = total + w
    return input / ((total / size) * alpha + k) ** beta


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Any = None) -> Tensor:
    """Scale slices along ``dim`` to unit p-norm: x / max(||x||_p, eps)."""
    if out is not None:
        raise TypeError("normalize(): out= is not supported by minitorch; assign the result instead")
    denom = clamp(_norm(input, p, dim, keepdim=True), min=eps)
    return input / denom
