"""The backend contract, implemented once over any NumPy-compatible module."""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

import numpy as np

from ..device import device
from . import im2col, pool
from .erf import GELU_BETA, GELU_KAPPA, INV_SQRT_2PI, SQRT1_2, erf_array
from .norm import normalize_grads
from .windows import Geometry

_ALL = (True, True, True)  # needs: the fused normalization kernels return every gradient


class Backend:
    """Array operations for one device, written against the array module ``xp``.

    NumPy and CuPy share an API, so one implementation serves both; a
    backend subclass overrides only what its own kernels do better
    (matmul, convolution, pooling, softmax).
    """

    def __init__(self, xp: Any, dev: device) -> None:
        self.xp = xp
        self.device = dev

    # ---- memory --------------------------------------------------------------
    def as_strided(self, buffer: Any, shape: Sequence[int], strides: Sequence[int], offset: int) -> Any:
        """An array viewing the flat ``buffer`` with element strides and offset."""
        item = buffer.itemsize
        return self.xp.ndarray(
            tuple(shape),
            buffer.dtype,
            buffer[offset:] if offset else buffer,
            0,
            tuple(s * item for s in strides),
        )

    def from_host(self, array: np.ndarray) -> Any:
        """Copy a NumPy array onto this device (a no-op on the CPU)."""
        return self.xp.asarray(array)

    def to_host(self, array: Any) -> np.ndarray:
        """A NumPy array with the data of ``array`` (shares memory on the CPU)."""
        return np.asarray(array)

    def data_ptr(self, array: Any) -> int:
        return int(array.__array_interface__["data"][0])

    def synchronize(self) -> None:
        """Wait for queued work; the CPU computes eagerly, so there is none."""

    # ---- kernels a device may replace -----------------------------------------
    def matmul(self, a: Any, b: Any) -> Any:
        """Batched matrix product with NumPy's broadcasting rules."""
        return self.xp.matmul(a, b)

    def softmax(self, x: Any, axis: int) -> Any:
        """exp(x - max) / sum(exp(x - max)) along ``axis``; the shift avoids overflow.

        A row holding inf or only -inf gives nan, silently, as in PyTorch.
        """
        if x.shape[axis] == 0:  # nothing to normalise (and max over no values has no answer)
            return x.copy()
        with self.xp.errstate(invalid="ignore", over="ignore"):
            shifted = x - x.max(axis=axis, keepdims=True)
            e = self.xp.exp(shifted)
            return e / e.sum(axis=axis, keepdims=True)

    def log_softmax(self, x: Any, axis: int) -> Any:
        """x - logsumexp(x) along ``axis``, computed from the shifted values."""
        if x.shape[axis] == 0:
            return x.copy()
        with self.xp.errstate(invalid="ignore", over="ignore", divide="ignore"):
            shifted = x - x.max(axis=axis, keepdims=True)
            return shifted - self.xp.log(self.xp.exp(shifted).sum(axis=axis, keepdims=True))

    def softmax_backward(self, y: Any, g: Any, axis: int) -> Any:
        """The input-gradient of ``y = softmax(x)``: ``(g - sum(g * y)) * y`` along ``axis``."""
        return (g - (g * y).sum(axis=axis, keepdims=True)) * y

    def log_softmax_backward(self, y: Any, g: Any, axis: int) -> Any:
        """The input-gradient of ``y = log_softmax(x)``: ``g - exp(y) * sum(g)`` along ``axis``."""
        return g - self.xp.exp(y) * g.sum(axis=axis, keepdims=True)

    # A convolution needs three kernels, each the adjoint of another (see nn/functional/conv.py).
    def conv(self, x: Any, w: Any, geom: Geometry, groups: int, keep: bool = False) -> Tuple[Any, Optional[Any]]:
        """The convolution of ``x`` (N, C, *size) with ``w`` (O, C/groups, *kernel), no bias.

        Returns ``(y, saved)``: ``saved`` is whatever this backend can reuse
        for the weight gradient when ``keep`` is set (the CPU keeps the im2col
        columns, as PyTorch's CPU kernel does), else None.
        """
        return im2col.conv(x, w, geom, groups, self.xp, keep)

    def conv_input_grad(self, g: Any, w: Any, geom: Geometry, groups: int) -> Any:
        """The gradient of a convolution with respect to its input (a transposed convolution of ``g``)."""
        return im2col.conv_input_grad(g, w, geom, groups, self.xp)

    def conv_weight_grad(self, x: Any, g: Any, geom: Geometry, groups: int, saved: Optional[Any] = None) -> Any:
        """The gradient of a convolution with respect to its weight; ``saved`` comes from ``conv``."""
        return im2col.conv_weight_grad(x, g, geom, groups, self.xp, saved)

    # Pooling over 2-d windows (1-d pools run over a height of 1); see backends/pool.py.
    def max_pool2d(self, x: Any, geom: Geometry) -> Tuple[Any, Any]:
        """Each window's largest value, and which kernel tap (0 .. kh * kw - 1, int64) held it."""
        return pool.max_pool(x, geom, self.xp)

    def max_pool2d_backward(self, g: Any, taps: Any, geom: Geometry) -> Any:
        """The input-gradient of ``max_pool2d``: each ``g`` value added at its window's winning tap."""
        return pool.put_windows(g, taps, geom, self.xp)

    def avg_pool2d(self, x: Any, geom: Geometry, divisor: Any) -> Any:
        """Each window's sum divided by ``divisor``, a number or an ``(oh, ow)`` array."""
        return pool.avg_pool(x, geom, divisor, self.xp)

    def avg_pool2d_backward(self, g: Any, geom: Geometry, divisor: Any) -> Any:
        """The input-gradient of ``avg_pool2d``: ``g / divisor`` spread over every tap of its window."""
        return pool.avg_pool_backward(g, geom, divisor, self.xp)

    # Batch norm in training mode, over x viewed as (N, C, L): statistics per channel over N and L.
    def batch_norm(self, x: Any, weight: Any, bias: Any, eps: float) -> Tuple[Any, Any, Any]:
        """``y = (x - mean) / sqrt(var + eps) * weight + bias``; returns y and the ``(C,)`` mean and biased var."""
        xp, count = self.xp, x.shape[0] * x.shape[2]
        with xp.errstate(all="ignore"):  # no values in a channel: nan statistics, as in PyTorch (sum / 0: no warning)
            mean = x.sum(axis=(0, 2)) / count
            var = xp.square(x - mean[:, None]).sum(axis=(0, 2)) / count
            scale = weight / xp.sqrt(var + eps)
            return (x - mean[:, None]) * scale[:, None] + bias[:, None], mean, var

    def batch_norm_backward(self, g: Any, x: Any, weight: Any, mean: Any, var: Any, eps: float) -> Tuple[Any, Any, Any]:
        """The gradients of ``batch_norm`` for x, weight and bias: ``normalize_grads`` (norm.py) over each
        channel's N * L values, its weight and bias parts summed there."""
        xp, count = self.xp, x.shape[0] * x.shape[2]
        with xp.errstate(all="ignore"):
            rstd = (1 / xp.sqrt(var + eps))[:, None]
            gx, gw, gb = normalize_grads(
                g, x - mean[:, None], rstd, weight[:, None], lambda a: a.sum(axis=(0, 2), keepdims=True) / count, _ALL
            )
        return gx, gw.sum(axis=(0, 2)), gb.sum(axis=(0, 2))

    # Layer norm over x viewed as (M, D): statistics per row, over its D features.
    def layer_norm(self, x: Any, weight: Optional[Any], bias: Optional[Any], eps: float) -> Tuple[Any, Any, Any]:
        """``y = (x - mean) / sqrt(var + eps) * weight + bias`` per row; returns y and the ``(M,)`` mean and biased var.

        ``weight`` and ``bias`` are ``(D,)`` or None (no scale, no shift).
        """
        xp, d = self.xp, x.shape[1]
        with xp.errstate(all="ignore"):  # no features (D = 0): nan statistics, as in PyTorch (sum / D: no warning)
            mean = x.sum(axis=1) / d
            y = x - mean[:, None]
            var = xp.square(y).sum(axis=1) / d
            y *= (1 / xp.sqrt(var + eps))[:, None]
        if weight is not None:
            y *= weight
        if bias is not None:
            y += bias
        return y, mean, var

    def layer_norm_backward(
        self, g: Any, x: Any, weight: Optional[Any], mean: Any, var: Any, eps: float
    ) -> Tuple[Any, Any, Any]:
        """The gradients of ``layer_norm`` for x, weight and bias (the last two as if both were given):
        ``normalize_grads`` (norm.py) over each row's D features, its weight and bias parts summed over rows."""
        xp, d = self.xp, x.shape[1]
        with xp.errstate(all="ignore"):
            rstd = (1 / xp.sqrt(var + eps))[:, None]
            gx, gw, gb = normalize_grads(
                g, x - mean[:, None], rstd, weight, lambda a: a.sum(axis=1, keepdims=True) / d, _ALL
            )
        return gx, gw.sum(axis=0), gb.sum(axis=0)

    # erf, and GELU, x * Phi(x): Phi the normal CDF (approximate "none") or PyTorch's tanh formula for it ("tanh").
    def erf(self, x: Any) -> Any:
        """The error function, elementwise (see erf.py)."""
        return erf_array(self.xp, x)

    def gelu(self, x: Any, approximate: str) -> Tuple[Any, Optional[Any]]:
        """``x * Phi(x)`` with ``Phi(x) = (1 + erf(x / sqrt 2)) / 2``, or with
        ``Phi(x) = (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x³))) / 2`` when ``approximate`` is ``"tanh"``.

        Returns the result and what ``gelu_backward`` can reuse: here Phi(x), since erf is the costly part
        (a backend that recomputes it cheaply returns None)."""
        xp = self.xp
        with xp.errstate(all="ignore"):  # -inf * 0 is nan, silently, as in PyTorch
            if approximate == "tanh":
                cdf = 0.5 * (1 + xp.tanh(GELU_BETA * (x + GELU_KAPPA * x * x * x)))
            else:
                cdf = 0.5 * (1 + erf_array(xp, x * SQRT1_2))
            return x * cdf, cdf

    def gelu_backward(self, g: Any, x: Any, approximate: str, saved: Optional[Any] = None) -> Any:
        """The input-gradient of ``gelu``, ``g * (Phi(x) + x * Phi'(x))``: ``Phi'(x) = exp(-x² / 2) / sqrt(2 pi)``,
        or for the tanh formula, with t = 2 Phi(x) - 1 its tanh, ``(1 - t²) / 2 * sqrt(2 / pi) * (1 + 3 * 0.044715 x²)``.
        ``saved`` is what ``gelu`` returned beside the result (Phi(x) is recomputed when it is None)."""
        xp = self.xp
        cdf = self.gelu(x, approximate)[1] if saved is None else saved
        with xp.errstate(all="ignore"):
            if approximate == "tanh":
                t = 2 * cdf - 1
                return g * (cdf + 0.5 * x * (1 - t * t) * GELU_BETA * (1 + 3 * GELU_KAPPA * x * x))
            return g * (cdf + x * xp.exp(-0.5 * x * x) * INV_SQRT_2PI)

    # The input-gradients of tanh and sigmoid from their outputs y, as PyTorch's tanh_backward and sigmoid_backward.
    # The ops' table (ops/pointwise.py) writes the same formulas on tensors, for a backward that is recorded.
    def tanh_backward(self, g: Any, y: Any) -> Any:
        """``g * (1 - y²)``, the derivative of ``y = tanh(x)`` times the output gradient."""
        return g * (1 - y * y)

    def sigmoid_backward(self, g: Any, y: Any) -> Any:
        """``g * y * (1 - y)``, the derivative of ``y = sigmoid(x)`` times the output gradient."""
        return g * y * (1 - y)

    # One time step of an LSTM cell, its elementwise part: the matrix products around it are the caller's.
    # Arrays are (N, 4H) for the four blocks of gates i | f | g | o, or (N, H); results go into the given arrays.
    def lstm_cell(self, gx: Any, hw: Any, c_prev: Any, gates: Any, c: Any, tanh_c: Any, h: Any) -> None:
        """From the pre-activations ``gx + hw``, write the gates (sigmoid for i, f, o; tanh for g) into ``gates``,
        ``c = f * c_prev + i * g`` into ``c``, ``tanh(c)`` into ``tanh_c`` and ``h = o * tanh(c)`` into ``h``.

        sigmoid(x) = (1 + tanh(x / 2)) / 2, so one tanh pass over all four blocks gives every gate.
        """
        xp, n, hidden = self.xp, c.shape[0], c.shape[1]
        scale = xp.asarray((0.5, 0.5, 1, 0.5), dtype=gates.dtype)[:, None]  # per block: 1/2 for a sigmoid, 1 for g
        z = xp.add(gx, hw, out=gates).reshape(n, 4, hidden)  # a view: it splits the unit-stride dim
        z *= scale
        xp.tanh(z, out=z)
        z *= scale
        z += 1 - scale
        i, f, g, o = z[:, 0], z[:, 1], z[:, 2], z[:, 3]
        xp.multiply(f, c_prev, out=c)
        c += i * g
        xp.tanh(c, out=tanh_c)
        xp.multiply(o, tanh_c, out=h)

    def lstm_cell_backward(self, gates: Any, c_prev: Any, tanh_c: Any, d_h: Any, d_c: Any, d_gates: Any) -> None:
        """The backward of ``lstm_cell``, given the gradient ``d_h`` of h: write that of the pre-activations into
        ``d_gates``, and turn ``d_c``, the gradient of c from later steps, into that of ``c_prev``, in place.

        The gradient reaching c is d_c plus d_h * o * (1 - tanh(c)²) through h; each gate's is that times what the
        gate multiplies, times its activation's derivative, y (1 - y) for a sigmoid and (1 + y)(1 - y) for tanh.
        """
        xp, n, hidden = self.xp, d_c.shape[0], d_c.shape[1]
        z, dz = gates.reshape(n, 4, hidden), d_gates.reshape(n, 4, hidden)
        i, f, g, o = z[:, 0], z[:, 1], z[:, 2], z[:, 3]
        d_c += d_h * o * (1 - tanh_c * tanh_c)
        xp.multiply(d_c, g, out=dz[:, 0])
        xp.multiply(d_c, c_prev, out=dz[:, 1])
        xp.multiply(d_c, i, out=dz[:, 2])
        xp.multiply(d_h, tanh_c, out=dz[:, 3])
        d_act = z + xp.asarray((0, 0, 1, 0), dtype=z.dtype)[:, None]  # y + 1 for the tanh block, y for the others
        d_act *= 1 - z
        dz *= d_act
        d_c *= f

    # Along one axis, with integer indices the caller has checked: every value inside ``out`` (or ``x``) there.
    def index_add(self, out: Any, axis: int, index: Any, src: Any) -> None:
        """Add, in place, ``src``'s slice m along ``axis`` into ``out``'s slice ``index[m]`` (``index`` is 1-d).

        A repeated index adds every slice sent to it, which ``out[key] += src`` would not; this is the
        backward of an embedding lookup and of ``index_select``.
        """
        self.xp.add.at(out, (slice(None),) * axis + (index,), src)

    def scatter_add(self, out: Any, axis: int, index: Any, src: Any) -> None:
        """Add, in place, each ``src[p]`` into ``out`` at ``p`` with ``p[axis]`` replaced by ``index[p]``.

        ``index`` and ``src`` share one shape, of ``out``'s rank and no larger than it off ``axis``; repeated
        positions add up. The adjoint of ``gather``.
        """
        self.xp.add.at(out, self.positions_along(index, axis), src)

    def gather(self, x: Any, axis: int, index: Any) -> Any:
        """``x`` at ``p`` with ``p[axis]`` replaced by ``index[p]``, for every position ``p`` of ``index``."""
        return x[self.positions_along(index, axis)]

    def positions_along(self, index: Any, axis: int) -> Tuple[Any, ...]:
        """The advanced-index key of gather and scatter: each element's own coordinates, its value along ``axis``."""
        coords = []
        for d, n in enumerate(index.shape):
            shape = [1] * index.ndim
            shape[d] = n
            coords.append(index if d == axis else self.xp.arange(n).reshape(shape))
        return tuple(coords)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.device}>"
