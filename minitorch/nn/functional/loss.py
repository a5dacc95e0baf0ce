"""Loss functions: how far a prediction is from its target, as one number to minimise.

Regression losses (mse, l1, smooth L1, Huber) compare values elementwise;
classification losses score the log-probability given to the right class
(``nll_loss`` from log-probabilities, ``cross_entropy`` from raw scores);
``kl_div`` compares two distributions; the margin losses (soft margin,
ranking, cosine embedding, triplet) ask scores or embeddings to be apart by
a margin. Every loss ends with ``reduction``:
'none' keeps one loss per element, 'sum' adds them up and 'mean' averages
them (a class-weighted mean divides by the total weight of the targets).
"""

from __future__ import annotations

import warnings
from typing import Any, Optional, Tuple

from ... import dtypes as dt
from ...autograd import grad_mode
from ...autograd.function import Function
from ...device import check_same_device
from ...ops.linalg import _scalar_name
from ...ops.pointwise import minimum, where
from ...ops.reduction import log_softmax, softmax
from ...ops.views import broadcast_tensors
from ...tensor import Tensor

__all__ = [
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "kl_div",
    "soft_margin_loss",
    "margin_ranking_loss",
    "cosine_embedding_loss",
    "triplet_margin_loss",
]


# ---- reduction -------------------------------------------------------------------------------
def _legacy_reduction(size_average: Optional[bool], reduce: Optional[bool]) -> str:
    """The reduction that the deprecated ``size_average``/``reduce`` flags name (None counts as True)."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(
        f"size_average and reduce args will be deprecated, please use reduction='{reduction}' instead.", stacklevel=3
    )
    return reduction


def _reduction(
    size_average: Optional[bool], reduce: Optional[bool], reduction: str, extra: Tuple[str, ...] = ()
) -> str:
    """Check ``reduction``; the deprecated ``size_average``/``reduce`` flags, if given, choose it instead."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    valid = ("none", "mean", "sum") + extra
    if reduction not in valid:
        raise ValueError(f"{reduction} is not a valid value for reduction (use one of {', '.join(valid)})")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _weighted_reduce(loss: Tensor, weight: Optional[Tensor], reduction: str, input: Tensor) -> Tensor:
    """Scale each element's loss by ``weight``; the mean then divides by the total weight."""
    if weight is None:
        return _reduce(loss, reduction)
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    return loss.sum() / weight.sum() if reduction == "mean" else _reduce(loss, reduction)


def _check_constant(t: Optional[Tensor], op: str, arg: str) -> None:
    """Weights (and soft_margin_loss's target) are settings, not learned: PyTorch refuses ones that require grad."""
    if t is not None and t.requires_grad and grad_mode.is_grad_enabled():
        raise RuntimeError(
            f"The function '{op}' is not differentiable with respect to argument '{arg}'. "
            f"This input cannot have requires_grad True (pass {arg}.detach())."
        )


def _difference(input: Tensor, target: Tensor, name: Optional[str]) -> Tensor:
    """``input - target`` after broadcasting, warning (as PyTorch does) when the shapes differ."""
    if target.shape != input.shape:
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size ({input.shape}). "
            "This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.",
            stacklevel=3,
        )
    input, target = broadcast_tensors(input, target)
    diff = input - target
    if name is not None and not diff.dtype.is_floating_point:
        raise NotImplementedError(
            f"\"{name}\" not implemented for '{_scalar_name(diff.dtype)}': use floating point input, e.g. x.float()"
        )
    return diff


# ---- regression losses ---------------------------------------------------------------------------
def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
    weight: Optional[Tensor] = None,
) -> Tensor:
    """Squared error ``(input - target)**2``: large errors cost quadratically more."""
    reduction = _reduction(size_average, reduce, reduction)
    diff = _difference(input, target, "mse")
    return _weighted_reduce(diff * diff, weight, reduction, input)


def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
    weight: Optional[Tensor] = None,
) -> Tensor:
    """Absolute error ``|input - target|``: robust to outliers, gradient ±1 everywhere."""
    reduction = _reduction(size_average, reduce, reduction)
    return _weighted_reduce(_difference(input, target, None).abs(), weight, reduction, input)


def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """``0.5 d**2 / beta`` where ``|d| < beta``, else ``|d| - beta / 2``: quadratic near 0, linear beyond."""
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    d = _difference(input, target, "smooth_l1").abs()
    loss = d if beta == 0 else where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(
    input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0, weight: Optional[Tensor] = None
) -> Tensor:
    """``0.5 d**2`` where ``|d| < delta``, else ``delta (|d| - delta / 2)``: smooth_l1 scaled by ``delta``."""
    reduction = _reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    d = _difference(input, target, "huber").abs()
    loss = where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta))
    if weight is not None:
        if weight.shape != input.shape:
            raise ValueError("Weights and input must have the same size.")
        loss = loss * weight  # unlike mse/l1, PyTorch's weighted Huber mean divides by the element count
    return _reduce(loss, reduction)


# ---- classification from class indices ------------------------------------------------------------
class NllLoss(Function):
    """``-weight[y] * logp[y]`` for each target class ``y``, with the class scores in dim 1.

    ``fused`` (used by ``cross_entropy``) takes raw scores and applies
    log_softmax itself; its gradient is then the closed form
    ``scale * (a * softmax(x) - q)``, where ``q`` is the weighted (and
    smoothed) one-hot target and ``a`` its total weight per position.
    """

    grad_fn_name = "NllLossBackward0"

    @staticmethod
    def forward(
        ctx: Any,
        x: Tensor,
        target: Tensor,
        weight: Optional[Tensor],
        reduction: str,
        ignore_index: int,
        smoothing: float,
        fused: bool,
    ) -> Tensor:
        xp = x._backend.xp
        logp = x._backend.log_softmax(x._data, 1) if fused else x._data
        keep, t, w_target = _target_weights(xp, target, weight, ignore_index, logp.dtype)
        loss = -w_target * xp.take_along_axis(logp, xp.expand_dims(t, 1), axis=1).squeeze(1)
        if smoothing:  # mix in the uniform target: -(sum over classes of weight * logp) / C
            n_classes = x.shape[1]
            all_classes = logp if weight is None else logp * _class_column(weight._data, x.ndim)
            loss = (1 - smoothing) * loss - (smoothing / n_classes) * keep * all_classes.sum(axis=1)
        ctx.reduction, ctx.ignore_index, ctx.smoothing, ctx.fused = reduction, ignore_index, smoothing, fused
        ctx.total = float(w_target.sum())  # the mean's denominator: total weight of the counted targets
        ctx.save_for_backward(x, target, weight, x._new(logp) if fused else None)
        with xp.errstate(invalid="ignore", divide="ignore"):
            out = loss if reduction == "none" else loss.sum() if reduction == "sum" else loss.sum() / ctx.total
        return x._new(xp.asarray(out, dtype=x.dtype.np))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        x, target, weight, logp = ctx.saved_tensors
        xp = x._backend.xp
        keep, t, w_target = _target_weights(xp, target, weight, ctx.ignore_index, x.dtype.np)
        n_classes, eps = x.shape[1], ctx.smoothing
        classes = xp.arange(n_classes).reshape((1, n_classes) + (1,) * (x.ndim - 2))
        w_target = xp.expand_dims(w_target, 1)
        q = (xp.expand_dims(t, 1) == classes) * ((1 - eps) * w_target)
        a = (1 - eps) * w_target
        if eps:
            keep = xp.expand_dims(keep, 1)
            w_class = 1.0 if weight is None else _class_column(weight._data, x.ndim)
            total_class_weight = n_classes if weight is None else weight._data.sum()
            q = q + (eps / n_classes) * keep * w_class
            a = a + (eps / n_classes) * total_class_weight * keep
        if ctx.reduction == "none":
            g = g.unsqueeze(1)
        elif ctx.reduction == "mean":
            g = g / ctx.total if ctx.total else g * 0.0  # nothing counted (all ignored): no gradient, as in PyTorch
        rest = (None,) * 6
        if not ctx.fused:
            return -g * x._new(q.astype(x.dtype.np)), *rest
        if grad_mode.is_grad_enabled():  # recorded (double backward): softmax(x) again, as a differentiable op
            bracket = x._new(a.astype(x.dtype.np)) * softmax(x, 1) - x._new(q.astype(x.dtype.np))
        else:  # a plain backward: the bracket on arrays from the saved log-probabilities, one op fewer per term
            bracket = x._new((a * xp.exp(logp._data) - q).astype(x.dtype.np))
        return g * bracket, *rest


def _target_weights(xp: Any, target: Tensor, weight: Optional[Tensor], ignore_index: int, dtype: Any) -> Tuple:
    """(counted mask, class index with ignored ones set to 0, weight of each target class or 0 if ignored)."""
    t = target._data.astype(xp.int64)
    keep = t != ignore_index
    t = xp.where(keep, t, 0)
    w_target = keep.astype(dtype) if weight is None else weight._data.reshape(-1)[t] * keep
    return keep, t, w_target


def _class_column(w: Any, ndim: int) -> Any:
    """The class weights shaped (1, C, 1, ...) to broadcast along dim 1 of an ``ndim`` input."""
    return w.reshape((1, -1) + (1,) * (ndim - 2))


def _check_class_targets(input: Tensor, target: Tensor, weight: Optional[Tensor], ignore_index: int) -> None:
    """PyTorch's checks on (input, class-index target, weight) for nll_loss and cross_entropy."""
    if not input.dtype.is_floating_point:
        raise NotImplementedError(
            f"nll_loss/cross_entropy not implemented for '{_scalar_name(input.dtype)}': "
            "pass floating point scores, e.g. input.float()"
        )
    if target.dtype not in (dt.int64, dt.uint8):
        raise RuntimeError(
            f"expected target dtype to be Long or Byte, but got {_scalar_name(target.dtype)}; "
            "class indices must be integers, e.g. target.long()"
        )
    if input.ndim != 1 and input.shape[0] != (target.shape[0] if target.ndim else 1):
        raise ValueError(
            f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
            f"({target.shape[0] if target.ndim else 1})."
        )
    if input.ndim <= 2 and (target.ndim > 1 or (input.ndim == 1 and target.numel() != 1)):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    expected = (input.shape[0],) + tuple(input.shape[2:])
    if input.ndim > 2 and tuple(target.shape) != expected:
        raise RuntimeError(f"Expected target size {list(expected)}, got {list(target.shape)}")
    check_same_device(input, target, weight)
    n_classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    if weight is not None:
        if weight.numel() != n_classes:
            raise RuntimeError(
                f"weight tensor should be defined either for all {n_classes} classes or no classes but got "
                f"weight tensor of shape: {list(weight.shape)}"
            )
        if weight.dtype is not input.dtype:
            raise RuntimeError(
                f"expected scalar type {_scalar_name(input.dtype)} but found {_scalar_name(weight.dtype)} "
                "(weight must have the input's dtype)"
            )
        _check_constant(weight, "nll_loss_forward", "weight")
    t = target._data.astype(input._backend.xp.int64)
    bad = t[(t != ignore_index) & ((t < 0) | (t >= n_classes))]
    if bad.size:
        raise IndexError(f"Target {int(bad.reshape(-1)[0])} is out of bounds (classes are 0..{n_classes - 1}).")


def _class_loss(
    input: Tensor,
    target: Tensor,
    weight: Optional[Tensor],
    ignore_index: int,
    reduction: str,
    smoothing: float,
    fused: bool,
) -> Tensor:
    _check_class_targets(input, target, weight, ignore_index)
    if input.ndim > 1:
        return NllLoss.apply(input, target, weight, reduction, ignore_index, smoothing, fused)
    # One sample of C scores: treat it as a batch of one.
    out = NllLoss.apply(input.unsqueeze(0), target.reshape(1), weight, reduction, ignore_index, smoothing, fused)
    return out.squeeze(0) if reduction == "none" else out


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Optional[Tensor] = None,
    size_average: Optional[bool] = None,
    ignore_index: int = -100,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood: ``-input[n, target[n]]`` from log-probabilities ``input`` (classes in dim 1).

    Targets equal to ``ignore_index`` count for nothing; with ``weight`` each
    class's loss is scaled and the mean divides by the total target weight.
    """
    reduction = _reduction(size_average, reduce, reduction)
    if input.ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.ndim})")
    return _class_loss(input, target, weight, ignore_index, reduction, 0.0, False)


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Optional[Tensor] = None,
    size_average: Optional[bool] = None,
    ignore_index: int = -100,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """``nll_loss(log_softmax(input, 1), target)`` for class-index targets, fused into one op.

    A float ``target`` of the input's shape holds class probabilities instead.
    ``label_smoothing`` mixes the target with the uniform distribution.
    """
    reduction = _reduction(size_average, reduce, reduction)
    if label_smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if input.shape == target.shape:
        return _cross_entropy_probs(input, target, weight, ignore_index, reduction, label_smoothing)
    return _class_loss(input, target, weight, ignore_index, reduction, max(label_smoothing, 0.0), True)


def _cross_entropy_probs(
    input: Tensor, target: Tensor, weight: Optional[Tensor], ignore_index: int, reduction: str, smoothing: float
) -> Tensor:
    """Cross entropy ``-sum_c target_c * log_softmax(input)_c`` against a distribution over classes."""
    if not target.dtype.is_floating_point:
        raise RuntimeError(
            f"Expected floating point type for target with class probabilities, got {_scalar_name(target.dtype)}"
        )
    if ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")
    dim = 1 if input.ndim > 1 else 0
    n_classes = input.shape[dim]
    if smoothing > 0:
        target = target * (1 - smoothing) + smoothing / n_classes
    terms = log_softmax(input, dim) * target
    if weight is not None:
        terms = terms * weight.reshape((-1,) + (1,) * (input.ndim - dim - 1))
    if reduction == "none":
        return -terms.sum(dim)
    if reduction == "sum":
        return -terms.sum()
    return -terms.sum() / (input.numel() / n_classes if n_classes else 0.0)


# ---- binary classification -----------------------------------------------------------------------
_EPSILON = 9.999999960041972e-13  # PyTorch's 1e-12 as the float32 it is stored in, so slopes match exactly


class BinaryCrossEntropy(Function):
    """``-w (t log x + (1 - t) log(1 - x))`` per element, with each log clamped at -100 as PyTorch does."""

    grad_fn_name = "BinaryCrossEntropyBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, t: Tensor, w: Optional[Tensor]) -> Tensor:
        xp = x._backend.xp
        with xp.errstate(divide="ignore"):
            loss = (t._data - 1) * xp.maximum(xp.log1p(-x._data), -100) - t._data * xp.maximum(xp.log(x._data), -100)
        if w is not None:
            loss = loss * w._data
        ctx.save_for_backward(x, t, w)
        return x._new(xp.asarray(loss, dtype=x.dtype.np))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        x, t, w = ctx.saved_tensors
        if w is not None:
            g = g * w
        # d/dx = (x - t) / (x (1 - x)); the denominator is kept >= about 1e-12 so x = 0 or 1 gives a finite slope.
        grad_x = g * (x - t) / (x * (1 - x)).clamp(min=_EPSILON) if ctx.needs_input_grad[0] else None
        grad_t = g * ((-x).log1p() - x.log()) if ctx.needs_input_grad[1] else None
        return grad_x, grad_t, None


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Optional[Tensor] = None,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
) -> Tensor:
    """Cross entropy between probabilities ``input`` in [0, 1] and binary (or soft) targets."""
    reduction = _reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input size ({input.shape}) is "
            "deprecated. Please ensure they have the same size."
        )
    check_same_device(input, target, weight)
    if target.dtype is not input.dtype:
        raise RuntimeError(
            f"Found dtype {_scalar_name(target.dtype)} but expected {_scalar_name(input.dtype)}: "
            "give the target the input's dtype, e.g. target.float()"
        )
    if not bool(((input >= 0) & (input <= 1)).all()):
        raise RuntimeError(
            "all elements of input should be between 0 and 1 (apply sigmoid first, or use "
            "binary_cross_entropy_with_logits on raw scores)"
        )
    _check_constant(weight, "binary_cross_entropy", "weight")
    if weight is not None:
        weight = weight.expand(broadcast_tensors(target, weight)[0].shape)
    return _reduce(BinaryCrossEntropy.apply(input, target, weight), reduction)


def _softplus(z: Tensor) -> Tensor:
    """``log(1 + exp(z))`` as ``m + log(exp(-m) + exp(z - m))`` with ``m = max(z, 0)``: no exponential overflows."""
    m = z.clamp(min=0)
    return m + ((-m).exp() + (z - m).exp()).log()


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Optional[Tensor] = None,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
    pos_weight: Optional[Tensor] = None,
) -> Tensor:
    """``binary_cross_entropy(sigmoid(input), target)`` computed from the logits without overflow.

    It is ``(1 - t) x + (1 + (pos_weight - 1) t) softplus(-x)``; see ``_softplus``
    for how that is computed without overflow.
    """
    reduction = _reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    if not target.dtype.is_floating_point:
        raise RuntimeError(
            f"result type {_scalar_name(input.dtype)} can't be cast to the desired output type "
            f"{_scalar_name(target.dtype)}: targets must be floating point, e.g. target.float()"
        )
    _check_constant(weight, "binary_cross_entropy_with_logits", "weight")
    _check_constant(pos_weight, "binary_cross_entropy_with_logits", "pos_weight")
    softplus_neg = _softplus(-input)
    log_weight = softplus_neg if pos_weight is None else ((pos_weight - 1) * target + 1) * softplus_neg
    loss = (1 - target) * input + log_weight
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# ---- distributions ---------------------------------------------------------------------------------
def kl_div(
    input: Tensor,
    target: Tensor,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """Kullback-Leibler divergence ``target * (log target - input)`` with ``input`` given as log-probabilities.

    ``log_target=True`` takes the target as log-probabilities too;
    'batchmean' divides the sum by the batch size (the true KL divergence).
    """
    if size_average is None and reduce is None and reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support size. "
            "'batchmean' divides only by the batch size, and aligns with the KL div math definition.",
            stacklevel=2,
        )
    reduction = _reduction(size_average, reduce, reduction, ("batchmean",))
    if log_target:
        loss = target.exp() * (target - input)
    else:
        # target * log(target), defined as 0 where target == 0 (log is taken of 1 there, so no nan gradient)
        zero = target == 0
        loss = where(zero, 0.0, target * where(zero, 1.0, target).log()) - target * input
    if reduction != "batchmean":
        return _reduce(loss, reduction)
    return loss.sum() / input.shape[0] if input.ndim else loss.sum()


# ---- margin and embedding losses -------------------------------------------------------------------
def soft_margin_loss(
    input: Tensor,
    target: Tensor,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
) -> Tensor:
    """Logistic loss ``log(1 + exp(-target * input))`` for targets of +1 or -1 (computed without overflow)."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_constant(target, "soft_margin_loss", "target")
    return _reduce(_softplus(-input * target), reduction)


def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
) -> Tensor:
    """``max(0, -target * (input1 - input2) + margin)``: target 1 asks input1 to rank higher by ``margin``, -1 lower."""
    reduction = _reduction(size_average, reduce, reduction)
    if not input1.ndim == input2.ndim == target.ndim:
        raise RuntimeError(
            "margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {input1.shape}, input2: {input2.shape}, target: {target.shape} "
        )
    return _reduce((-target * (input1 - input2) + margin).clamp(min=0), reduction)


def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
) -> Tensor:
    """``1 - cos(input1, input2)`` where target is 1 and ``max(0, cos - margin)`` where it is -1.

    The vectors lie along the last dim: (N, D) inputs with an (N,) target, or (D,) with a 0-d target.
    """
    reduction = _reduction(size_average, reduce, reduction)
    if target.ndim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if input1.ndim != target.ndim + 1 or input2.ndim != target.ndim + 1:
        raise RuntimeError(
            f"{target.ndim}D target tensor expects {target.ndim + 1}D input tensors, but found inputs with sizes "
            f"{list(input1.shape)} and {list(input2.shape)}."
        )
    dim = target.ndim
    # 1e-12 in each squared length keeps the cosine finite for zero vectors
    lengths = ((input1 * input1).sum(dim) + 1e-12) * ((input2 * input2).sum(dim) + 1e-12)
    cos = (input1 * input2).sum(dim) / lengths.sqrt()
    loss = where(target == 1, 1 - cos, 0.0) + where(target == -1, (cos - margin).clamp(min=0), 0.0)
    return _reduce(loss, reduction)


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
) -> Tensor:
    """``max(0, margin + d(anchor, positive) - d(anchor, negative))`` with the p-norm distance over the last dim.

    ``swap`` uses the positive-negative distance instead when it is smaller.
    """
    reduction = _reduction(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number of dimensions, but "
            f"got: anchor {anchor.ndim}D, positive {positive.ndim}D, and negative {negative.ndim}D inputs"
        )

    def distance(a: Tensor, b: Tensor) -> Tensor:
        return (a - b + eps).norm(p, dim=-1)

    d_neg = distance(anchor, negative)
    if swap:
        d_neg = minimum(d_neg, distance(positive, negative))
    return _reduce((margin + distance(anchor, positive) - d_neg).clamp(min=0), reduction)
