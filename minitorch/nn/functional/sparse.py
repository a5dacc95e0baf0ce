"""Embedding lookup and one-hot encoding: turning integer ids into vectors.

``embedding(input, weight)`` is ``weight[input]``: row i of the table is the
vector of id i. Its gradient adds each output row's gradient into the row it
came from (an id used twice gets both contributions); that scatter-add is a
Function of its own, so it too can be differentiated.
"""

from __future__ import annotations

from typing import Any, Optional

from ... import dtypes as dt
from ...autograd.function import Function
from ...autograd.grad_mode import no_grad
from ...ops import pointwise as pw
from ...ops.reduction import norm
from ...tensor import Tensor

__all__ = ["embedding", "one_hot"]


def _position_factor(indices: Tensor, num_weights: int, padding_idx: int, scale_grad_by_freq: bool) -> Any:
    """Per-position weights of the gradient: 0 at ``padding_idx``, 1/count of the id with
    ``scale_grad_by_freq``; None when every position counts fully."""
    if padding_idx < 0 and not scale_grad_by_freq:
        return None
    xp = indices._backend.xp
    ids = indices._data
    factor = xp.ones(ids.shape)
    if scale_grad_by_freq:
        factor /= xp.bincount(ids.reshape(-1), minlength=num_weights)[ids]
    if padding_idx >= 0:
        factor[ids == padding_idx] = 0
    return factor


class EmbeddingDenseBackward(Function):
    """The gradient of the table: zeros with each position's gradient row added to its id's row."""

    grad_fn_name = "EmbeddingDenseBackward0"

    @staticmethod
    def forward(ctx: Any, g: Tensor, indices: Tensor, num_weights: int, factor: Any) -> Tensor:
        ctx.save_for_backward(indices)
        ctx.factor = factor
        backend = g._backend
        dim = g.shape[-1]
        rows = g._data.reshape(-1, dim)
        if factor is not None:
            rows = rows * factor.reshape(-1, 1).astype(rows.dtype)
        out = backend.xp.zeros((num_weights, dim), dtype=rows.dtype)
        backend.index_add(out, 0, indices._data.reshape(-1), rows)  # repeated ids add up
        return g._new(out)

    @staticmethod
    def backward(ctx: Any, gg: Tensor) -> Any:
        (indices,) = ctx.saved_tensors
        rows = Embedding.apply(gg, indices, -1, False)
        if ctx.factor is not None:
            rows = rows * rows._new(ctx.factor[..., None].astype(rows.dtype.np))
        return rows, None, None, None


class Embedding(Function):
    """Rows of ``weight`` picked by integer ``indices``: output shape indices.shape + (dim,)."""

    grad_fn_name = "EmbeddingBackward0"

    @staticmethod
    def forward(ctx: Any, weight: Tensor, indices: Tensor, padding_idx: int, scale_grad_by_freq: bool) -> Tensor:
        ctx.save_for_backward(indices)
        ctx.num_weights = weight.shape[0]
        ctx.padding_idx, ctx.scale_grad_by_freq = padding_idx, scale_grad_by_freq
        return weight._new(weight._backend.xp.take(weight._data, indices._data, axis=0))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (indices,) = ctx.saved_tensors
        factor = _position_factor(indices, ctx.num_weights, ctx.padding_idx, ctx.scale_grad_by_freq)
        return EmbeddingDenseBackward.apply(g, indices, ctx.num_weights, factor), None, None, None


def _check_padding_idx(padding_idx: Optional[int], num_embeddings: int) -> int:
    """``padding_idx`` as a row number (negative counts from the end); -1 for none."""
    if padding_idx is None:
        return -1
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise AssertionError("Padding_idx must be within num_embeddings")
    return padding_idx % num_embeddings


def _renorm_rows(weight: Tensor, input: Tensor, max_norm: float, norm_type: float) -> None:
    """Shrink, in place, each looked-up row whose ``norm_type``-norm exceeds ``max_norm``."""
    with no_grad():
        ids = input._new(input._backend.xp.unique(input._data))
        rows = weight[ids]
        norms = norm(rows, norm_type, 1, keepdim=True)
        weight[ids] = rows * pw.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: Optional[int] = None,
    max_norm: Optional[float] = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Look up rows of ``weight`` (num_embeddings, dim) by the integer ids in ``input``.

    The ``padding_idx`` row gets no gradient; ``max_norm`` first rescales, in
    place, looked-up rows longer than it; ``scale_grad_by_freq`` divides each
    id's gradient by how often the id occurs in ``input``.
    """
    if input.dtype not in (dt.int64, dt.int32):
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; "
            f"but got {input.dtype} instead (while checking arguments for embedding)"
        )
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    if sparse:
        raise NotImplementedError("minitorch has no sparse tensors: use sparse=False (the gradient is then dense)")
    padding = _check_padding_idx(padding_idx, weight.shape[0])
    if input.numel() and not (0 <= int(input._data.min()) and int(input._data.max()) < weight.shape[0]):
        raise IndexError(f"index out of range in self (ids must be in [0, {weight.shape[0]}))")
    if max_norm is not None:
        _renorm_rows(weight, input, max_norm, norm_type)
    return Embedding.apply(weight, input, padding, scale_grad_by_freq)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 tensor with a trailing dim of ``num_classes``: 1 at each value's position, 0 elsewhere.

    ``num_classes=-1`` uses max value + 1.
    """
    if tensor.dtype is not dt.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    xp = tensor._backend.xp
    values = tensor._data
    if num_classes == -1:
        if values.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(values.max()) + 1
    if values.size:
        if int(values.min()) < 0:
            raise RuntimeError("Class values must be non-negative.")
        if int(values.max()) >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    elif num_classes < 0:
        raise RuntimeError("num_classes should be positive")
    return tensor._new((values[..., None] == xp.arange(num_classes)).astype(dt.int64.np))
