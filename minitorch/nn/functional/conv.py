"""Convolutions: conv1d/2d/3d and their transposes.

A convolution is a matrix product over windows. The arithmetic is the
backend's (``Backend.conv``, ``conv_input_grad``, ``conv_weight_grad``):
im2col with one batched matmul by default (minitorch/backends/im2col.py),
or a kernel of the device's own. This module checks arguments and wires
autograd.

Three bilinear Functions make up convolution and all its derivatives:

* ``Conv``: ``y = conv(x, w)``;
* ``ConvTranspose``: ``x' = conv_t(g, w)``, the input-gradient of a conv;
* ``ConvWeight``: ``w' = corr(x, g)``, the weight-gradient of a conv.

Each one's backward is made of the other two, so gradients of any order work.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

from ...autograd.function import Function
from ...backends.windows import Geometry, out_size
from ...tensor import Tensor
from .vision import ntuple

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]


def _bias_sum(g: Tensor) -> Tensor:
    """The bias gradient: the output gradient summed over batch and positions."""
    return g.sum([0] + list(range(2, g.ndim)))


class Conv(Function):
    """``y[n, o] = sum over c, taps of w[o, c, tap] * x[n, c, at o's window + tap]`` (+ bias)."""

    grad_fn_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, w: Tensor, b: Optional[Tensor], geom: Geometry, groups: int) -> Tensor:
        ctx.geom, ctx.groups = geom, groups
        ctx.save_for_backward(x, w)
        # What the backend saves (on the CPU, the im2col columns) is reused by the weight gradient.
        y, ctx.saved = x._backend.conv(x._data, w._data, geom, groups, keep=ctx.needs_input_grad[1])
        if b is not None:
            y += b._data.reshape((w.shape[0],) + (1,) * len(geom.out))
        return x._new(y)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        gx = ConvTranspose.apply(g, w, None, ctx.geom, ctx.groups) if need_x else None
        saved, ctx.saved = ctx.saved, None  # used once; a retained graph's next backward recomputes it
        gw = ConvWeight.apply(x, g, ctx.geom, ctx.groups, saved) if need_w else None
        return gx, gw, _bias_sum(g) if need_b else None, None, None


class ConvTranspose(Function):
    """The adjoint of ``Conv`` in its input: spread each ``g`` value over its window, weighted by ``w``."""

    grad_fn_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx: Any, g: Tensor, w: Tensor, b: Optional[Tensor], geom: Geometry, groups: int) -> Tensor:
        ctx.geom, ctx.groups = geom, groups
        ctx.save_for_backward(g, w)
        x = g._backend.conv_input_grad(g._data, w._data, geom, groups)
        if b is not None:
            x = x + b._data.reshape((w.shape[1] * groups,) + (1,) * len(geom.size))
        return g._new(x)

    @staticmethod
    def backward(ctx: Any, gx: Tensor) -> Any:
        g, w = ctx.saved_tensors
        need_g, need_w, need_b = ctx.needs_input_grad[:3]
        gg = Conv.apply(gx, w, None, ctx.geom, ctx.groups) if need_g else None
        gw = ConvWeight.apply(gx, g, ctx.geom, ctx.groups, None) if need_w else None
        return gg, gw, _bias_sum(gx) if need_b else None, None, None


class ConvWeight(Function):
    """The adjoint of ``Conv`` in its weight: correlate the input windows with the output gradient.

    ``saved`` may pass in what the backend kept from the forward pass (the CPU's im2col columns).
    """

    grad_fn_name = "ConvolutionBackwardBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, g: Tensor, geom: Geometry, groups: int, saved: Any) -> Tensor:
        ctx.geom, ctx.groups = geom, groups
        ctx.save_for_backward(x, g)
        return x._new(x._backend.conv_weight_grad(x._data, g._data, geom, groups, saved))

    @staticmethod
    def backward(ctx: Any, gw: Tensor) -> Any:
        x, g = ctx.saved_tensors
        need_x, need_g = ctx.needs_input_grad[:2]
        gx = ConvTranspose.apply(g, gw, None, ctx.geom, ctx.groups) if need_x else None
        gg = Conv.apply(x, gw, None, ctx.geom, ctx.groups) if need_g else None
        return gx, gg, None, None, None


# ---- argument checks shared by conv and conv_transpose ---------------------------------------------
def _check_dtypes(input: Tensor, weight: Tensor, bias: Optional[Tensor]) -> None:
    if input.dtype is not weight.dtype:
        raise RuntimeError(
            f"Input type ({input.dtype}) and weight type ({weight.dtype}) should be the same; "
            "convert one, e.g. input.to(weight.dtype)"
        )
    if bias is not None and bias.dtype is not input.dtype:
        raise RuntimeError(f"Input type ({input.dtype}) and bias type ({bias.dtype}) should be the same")


def _check_shapes(name: str, nd: int, input: Tensor, weight: Tensor) -> bool:
    """Validate ranks; returns True when the input has no batch dim."""
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {name}, but got input of size: "
            f"{list(input.shape)}"
        )
    if weight.ndim != nd + 2:
        raise RuntimeError(
            f"Expected {nd + 2}D weight (out_channels, in_channels / groups, *kernel_size) for {name}, but got "
            f"weight of size {list(weight.shape)}"
        )
    return input.ndim == nd + 1


def _check_bias(bias: Optional[Tensor], weight: Tensor, channels: int) -> None:
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != channels):
        raise RuntimeError(
            f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with {channels} "
            f"elements, but got bias of size {list(bias.shape)} instead"
        )


def _check_steps(stride: Tuple[int, ...], dilation: Tuple[int, ...], padding: Tuple[int, ...], groups: int) -> None:
    if min(stride) <= 0:
        raise RuntimeError("non-positive stride is not supported")
    if min(dilation) <= 0:
        raise RuntimeError("dilation should be greater than zero")
    if min(padding) < 0:
        raise RuntimeError("negative padding is not supported")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")


def _conv(
    name: str,
    nd: int,
    input: Tensor,
    weight: Tensor,
    bias: Optional[Tensor],
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
) -> Tensor:
    unbatched = _check_shapes(name, nd, input, weight)
    if unbatched:
        return _conv(name, nd, input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    _check_dtypes(input, weight, bias)
    step, dil = ntuple(stride, nd, "stride"), ntuple(dilation, nd, "dilation")
    kernel = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * nd
        elif padding == "same":
            if max(step) != 1:
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            # The dilated kernel spans d * (k - 1) extra positions; an odd total puts the extra one after.
            pads = tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dil))
        else:
            raise RuntimeError(f"Invalid padding string: {padding!r}; use 'same', 'valid', an int or a tuple")
    else:
        pads = tuple((p, p) for p in ntuple(padding, nd, "padding"))
    _check_steps(step, dil, tuple(p for p, _ in pads), groups)
    out_ch, in_ch = weight.shape[0], input.shape[1]
    if out_ch % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but got weight "
            f"of size {list(weight.shape)} instead"
        )
    if in_ch != weight.shape[1] * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected input{list(input.shape)} to "
            f"have {weight.shape[1] * groups} channels, but got {in_ch} channels instead"
        )
    _check_bias(bias, weight, out_ch)
    size = tuple(input.shape[2:])
    padded = tuple(n + b + a for n, (b, a) in zip(size, pads))
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dil))
    if any(s > p for s, p in zip(span, padded)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). Kernel size: "
            f"({' x '.join(map(str, span))}). Kernel size can't be greater than actual input size"
        )
    out = tuple(out_size(n, k, s, d, b, a) for n, k, s, d, (b, a) in zip(size, kernel, step, dil, pads))
    return Conv.apply(input, weight, bias, Geometry(size, out, kernel, step, dil, pads), groups)


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Optional[Tensor] = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """1-D convolution (cross-correlation) of ``(N, C_in, L)`` with ``(C_out, C_in / groups, k)``."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Optional[Tensor] = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution of ``(N, C_in, H, W)`` with ``(C_out, C_in / groups, kh, kw)``.

    ``padding`` is an int, a tuple, ``'valid'`` (none) or ``'same'`` (output as large as the input).
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Optional[Tensor] = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """3-D convolution of ``(N, C_in, D, H, W)`` with ``(C_out, C_in / groups, kd, kh, kw)``."""
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(
    name: str,
    nd: int,
    input: Tensor,
    weight: Tensor,
    bias: Optional[Tensor],
    stride: Any,
    padding: Any,
    output_padding: Any,
    groups: int,
    dilation: Any,
) -> Tensor:
    unbatched = _check_shapes(name, nd, input, weight)
    if unbatched:
        args = (weight, bias, stride, padding, output_padding, groups, dilation)
        return _conv_transpose(name, nd, input.unsqueeze(0), *args).squeeze(0)
    _check_dtypes(input, weight, bias)
    if isinstance(padding, str):
        raise RuntimeError(f"{name}: padding must be an int or a tuple of ints, not {padding!r}")
    step, dil = ntuple(stride, nd, "stride"), ntuple(dilation, nd, "dilation")
    pad, extra = ntuple(padding, nd, "padding"), ntuple(output_padding, nd, "output_padding")
    _check_steps(step, dil, pad, groups)
    for e, s, d in zip(extra, step, dil):
        if e < 0 or (e >= s and e >= d):
            raise RuntimeError(
                f"output padding must be smaller than either stride or dilation, but got output_padding={list(extra)}, "
                f"stride={list(step)} and dilation={list(dil)}"
            )
    in_ch = input.shape[1]
    if weight.shape[0] != in_ch:
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected input{list(input.shape)} to have "
            f"{weight.shape[0]} channels, but got {in_ch} channels instead"
        )
    if in_ch % groups:
        raise RuntimeError(f"Given groups={groups}, expected input channels ({in_ch}) to be divisible by groups")
    _check_bias(bias, weight, weight.shape[1] * groups)
    kernel, n_in = tuple(weight.shape[2:]), tuple(input.shape[2:])
    # The output is the input of the convolution whose gradient this is.
    size = tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + e + 1 for n, s, p, d, k, e in zip(n_in, step, pad, dil, kernel, extra)
    )
    if min(size) <= 0:
        raise RuntimeError(
            f"Given input size per channel: {list(n_in)}. Calculated output size per channel: {list(size)}. Output size is too small"
        )
    return ConvTranspose.apply(
        input, weight, bias, Geometry(size, n_in, kernel, step, dil, tuple((p, p) for p in pad)), groups
    )


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Optional[Tensor] = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """The adjoint of conv1d ("deconvolution"); ``weight`` is ``(C_in, C_out / groups, k)``."""
    return _conv_transpose(
        "conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Optional[Tensor] = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """The adjoint of conv2d: upsamples by ``stride``; ``weight`` is ``(C_in, C_out / groups, kh, kw)``.

    The output has size ``(n - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1``.
    """
    return _conv_transpose(
        "conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


def conv_transpose3d(
    input: Tensor,
    weight: Tensor,
    bias: Optional[Tensor] = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """The adjoint of conv3d; ``weight`` is ``(C_in, C_out / groups, kd, kh, kw)``."""
    return _conv_transpose(
        "conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding, groups, dilation
    )
