"""Indexing: ``x[...]`` reads and writes, gather/scatter, index_select/index_add/index_fill/index_put,
take, take_along_dim, masked_select and nonzero.

``x[index]`` is handled in two steps, as in PyTorch. The *basic* parts of
the index (ints, slices, None, ``...``) are applied first with view ops,
so ``x[1, ::2]`` shares memory with ``x``. If *advanced* parts remain
(integer tensors, lists, boolean masks), ``Index`` then copies the chosen
elements out of that view; its backward adds the gradient back into zeros
at the chosen positions, so an element picked twice gets both gradients.

Where do the dims of the index tensors go? They broadcast to one shape B.
If the indexed dims are next to each other, B replaces them in place;
if slices separate them, B goes first (NumPy's rule, see ``_indexed_shape``).
"""

from __future__ import annotations

import operator
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from .. import dtypes as dt
from .. import layout
from ..autograd.function import Function
from ..tensor import Tensor
from .creation import full, tensor
from .inplace import _type_name, inplace
from .views import WindowScatter, select, slice_dim, unsqueeze

Indices = Tuple[Optional[Tensor], ...]  # one entry per leading dim: an int64 index tensor, or None for ``:``


# ---- helpers -------------------------------------------------------------------------------
def _first_outside(arr: Any, low: int, high: int) -> int | None:
    """The first value of ``arr`` outside [low, high), or None if all are inside."""
    if arr.size == 0 or (low <= int(arr.min()) and int(arr.max()) < high):  # two fast reductions, no temporaries
        return None
    return int(arr[(arr < low) | (arr >= high)].reshape(-1)[0])


def _wrapped(index: Tensor, size: int) -> Tensor:
    """``index`` as a fresh int64 tensor with negative entries counted from the end."""
    arr = index._data
    return index._new(index._backend.xp.where(arr < 0, arr + size, arr).astype(np.int64))


def _key(indices: Indices) -> Tuple[Any, ...]:
    """The backend-array subscript for ``indices``: a slice for each None, the array otherwise."""
    return tuple(slice(None) if t is None else t._data for t in indices)


def _indexed_shape(shape: Sequence[int], indices: Indices) -> Tuple[int, ...]:
    """Shape of ``x[indices]``: B (the broadcast index shape) replaces adjacent indexed dims, else goes first."""
    dims = [d for d, t in enumerate(indices) if t is not None]
    b = layout.broadcast_shapes(*(indices[d].shape for d in dims))
    rest = [n for d, n in enumerate(shape) if d not in dims]
    if dims == list(range(dims[0], dims[-1] + 1)):
        return tuple(rest[: dims[0]]) + b + tuple(rest[dims[0] :])
    return b + tuple(rest)


def _broadcasts_to(shape: Sequence[int], target: Sequence[int]) -> bool:
    try:
        return layout.broadcast_shapes(shape, target) == tuple(target)
    except RuntimeError:
        return False


def _as_index_tensors(index: Tensor, shape: Sequence[int], dim: int) -> List[Tensor]:
    """An index tensor used at ``dim`` as integer tensors, one per dim it covers (a k-dim mask covers k)."""
    if index.dtype in (dt.bool, dt.uint8):
        if dim + index.ndim > len(shape):
            raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
        for j, n in enumerate(index.shape):
            if n != shape[dim + j]:
                raise IndexError(
                    f"The shape of the mask {list(index.shape)} at index {j} does not match the shape of the "
                    f"indexed tensor {list(shape)} at index {dim + j}"
                )
        return list(nonzero(index, as_tuple=True))
    if index.dtype not in (dt.int64, dt.int32):
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    return [index]


def _checked_indices(shape: Sequence[int], tensors: Sequence[Tensor | None]) -> Indices:
    """Check integer index tensors against ``shape`` (count, broadcasting, bounds); wrap negatives."""
    if len(tensors) > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)} (got {len(tensors)})")
    shapes = [list(t.shape) for t in tensors if t is not None]
    try:
        layout.broadcast_shapes(*shapes)
    except RuntimeError:
        raise IndexError(
            "shape mismatch: indexing tensors could not be broadcast together with shapes "
            + ", ".join(map(str, shapes))
        ) from None
    out = []
    for d, t in enumerate(tensors):
        if t is not None:
            bad = _first_outside(t._data, -shape[d], shape[d])
            if bad is not None:
                raise IndexError(f"index {bad} is out of bounds for dimension {d} with size {shape[d]}")
            t = _wrapped(t, shape[d])
        out.append(t)
    return tuple(out)


def _atleast_1d(arr: Any) -> Any:
    """gather/scatter treat a 0-d tensor as one element along dim 0."""
    return arr.reshape(1) if arr.ndim == 0 else arr


def _zero_pad(t: Tensor, shape: Tuple[int, ...]) -> Tensor:
    """``t`` in the leading corner of zeros of ``shape`` (the gradient of reading that corner)."""
    if t.shape == shape:
        return t
    return WindowScatter.apply(t, shape, lambda _, strides, offset: (tuple(t.shape), strides, offset))


def _check_index_dtype(index: Tensor, op: str) -> None:
    if index.dtype not in (dt.int64, dt.int32):
        raise RuntimeError(f"{op}(): Expected dtype int32/int64 for index")


# ---- x[index]: basic indexing as views, advanced indexing as Index -----------------------------
class Alias(Function):
    """``x[...]`` or ``x[()]``: a new tensor object viewing the same memory."""

    grad_fn_name = "AliasBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        return x._view(x.shape, x.stride(), x._offset)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        return g


class Index(Function):
    """``x[indices]`` with integer index tensors (a copy); backward adds ``g`` back at those positions."""

    grad_fn_name = "IndexBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, indices: Indices) -> Tensor:
        ctx.in_shape = x.shape
        ctx.save_for_backward(*indices)
        return x._new(x._data[_key(indices)])

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return IndexPut.apply(g.new_zeros(ctx.in_shape), ctx.saved_tensors, g, True), None


class IndexPut(Function):
    """A copy of ``x`` with ``values`` written (or, with ``accumulate``, added) at ``indices``."""

    grad_fn_name = "IndexPutBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, indices: Indices, values: Tensor, accumulate: bool) -> Tensor:
        if values.dtype is not x.dtype:
            raise RuntimeError(
                f"Index put requires the source and destination dtypes match, got {_type_name(x.dtype)} for the "
                f"destination and {_type_name(values.dtype)} for the source."
            )
        target = _indexed_shape(x.shape, indices)
        if not _broadcasts_to(values.shape, target):
            raise RuntimeError(
                f"shape mismatch: value tensor of shape {list(values.shape)} cannot be broadcast to indexing "
                f"result of shape {list(target)}"
            )
        ctx.save_for_backward(*indices)
        ctx.accumulate = accumulate
        xp = x._backend.xp
        out = x._data.copy()
        vals = xp.broadcast_to(values._data, target)
        if accumulate:
            _add_at(x._backend, out, indices, vals)
        else:
            out[_key(indices)] = vals
        return x._new(out)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        indices = ctx.saved_tensors
        grad_x = g if ctx.accumulate else IndexPut.apply(g, indices, g.new_zeros(()), False)
        grad_values = Index.apply(g, indices) if ctx.needs_input_grad[2] else None
        return grad_x, None, grad_values, None


def _add_at(backend: Any, out: Any, indices: Indices, vals: Any) -> None:
    """``out[indices] += vals`` in place, repeated positions adding up (``out[key] += vals`` keeps only one).

    With a single index tensor (``x[idx]``'s backward, ``take``'s) this is ``index_add`` along its dim.
    """
    dims = [d for d, t in enumerate(indices) if t is not None]
    if len(dims) != 1:
        backend.xp.add.at(out, _key(indices), vals)
        return
    d, index = dims[0], indices[dims[0]]._data.reshape(-1)
    backend.index_add(out, d, index, vals.reshape(out.shape[:d] + index.shape + out.shape[d + 1 :]))


_INDEX_TYPES = "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid indices"


def _index_item(item: Any, x: Tensor) -> Any:
    """One entry of an index, normalised: int, slice, None, Ellipsis or an index Tensor."""
    if item is None or item is Ellipsis:
        return item
    if isinstance(item, bool):
        return tensor(item, device=x.device)
    if isinstance(item, (int, np.integer)):
        return int(item)
    if isinstance(item, slice):
        return slice(*(None if v is None else operator.index(v) for v in (item.start, item.stop, item.step)))
    if isinstance(item, (list, tuple, np.ndarray)):
        empty_list = not isinstance(item, np.ndarray) and np.size(item) == 0  # [] and [[]] index as int64
        item = tensor(item, dtype=dt.int64 if empty_list else None, device=x.device)
    if not isinstance(item, Tensor):
        raise IndexError(f"{_INDEX_TYPES} (got {type(item).__name__})")
    if item.ndim == 0 and not item.dtype.is_floating_point and item.dtype not in (dt.bool, dt.uint8):
        return int(item.item())  # a 0-d integer tensor acts like a Python int
    if item.dtype not in (dt.int64, dt.int32, dt.uint8, dt.bool):
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    return item.to(x.device)


def _dims_used(item: Any) -> int:
    if item is None or item is Ellipsis:
        return 0
    if isinstance(item, Tensor):
        return item.ndim if item.dtype in (dt.bool, dt.uint8) else 1
    return 1


def _split_index(x: Tensor, index: Any) -> Tuple[Tensor, List[Tensor | None]]:
    """Apply the basic parts of ``x[index]`` as views.

    Returns that view and, for each of its leading dims, the advanced index
    tensor still to apply there (None where there is none).
    """
    items = [_index_item(i, x) for i in (index if isinstance(index, tuple) else (index,))]
    used = sum(_dims_used(i) for i in items)
    if used > x.ndim:
        if x.ndim == 0:
            raise IndexError(
                "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` in C++ to "
                "convert a 0-dim tensor to a number"
            )
        raise IndexError(f"too many indices for tensor of dimension {x.ndim}")
    if sum(i is Ellipsis for i in items) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    out, dim, tensors = x, 0, []
    for item in items:
        if item is Ellipsis:
            tensors += [None] * (x.ndim - used)
            dim += x.ndim - used
        elif item is None:
            out = unsqueeze(out, dim)
            tensors.append(None)
            dim += 1
        elif isinstance(item, int):
            out = select(out, dim, item)
        elif isinstance(item, slice):
            out = slice_dim(out, dim, item.start, item.stop, 1 if item.step is None else item.step)
            tensors.append(None)
            dim += 1
        elif item.ndim == 0:  # a bool scalar: a new dim of size 1, kept (True) or emptied (False)
            out = unsqueeze(out, dim)
            tensors.append(x._new(x._backend.xp.zeros(int(bool(item.item())), dtype=np.int64)))
            dim += 1
        else:
            new = _as_index_tensors(item, out.shape, dim)
            tensors += new
            dim += len(new)
    return out, tensors


def _getitem(self: Tensor, index: Any) -> Tensor:
    """``x[index]``: a view for ints, slices, None and ``...``; a copy when index tensors or masks appear."""
    out, tensors = _split_index(self, index)
    if any(t is not None for t in tensors):
        return Index.apply(out, _checked_indices(out.shape, tensors))
    return Alias.apply(out) if out is self else out


def _setitem(self: Tensor, index: Any, value: Any) -> None:
    """``x[index] = value``: copy into the view ``x[index]``, or ``index_put_`` for advanced indices."""
    if isinstance(value, (int, float, bool, np.generic)):
        value = full((), value, dtype=self.dtype, device=self.device)
    elif not isinstance(value, Tensor):
        raise TypeError(f"can't assign a {type(value).__name__} to a {self.type()}")
    ones = next((i for i, n in enumerate(value.shape) if n != 1), value.ndim)
    if ones:  # leading size-1 dims of the value are dropped, as in PyTorch
        value = value.reshape(value.shape[ones:])
    target, tensors = _split_index(self, index)
    if any(t is not None for t in tensors):
        indices = _checked_indices(target.shape, tensors)
        inplace(target, lambda t, v: IndexPut.apply(t, indices, v, False), value)
    else:  # x[...] = v writes through a view too, so x keeps its history (CopySlices)
        (Alias.apply(target) if target is self else target).copy_(value)


def index_put(input: Tensor, indices: Sequence[Tensor], values: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``input[indices] = values`` (or ``+=`` with ``accumulate``; repeats add up)."""
    if not isinstance(values, Tensor):
        raise TypeError(f"index_put(): argument 'values' (position 3) must be Tensor, not {type(values).__name__}")
    tensors: List[Tensor | None] = []
    for t in indices:
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {len(tensors)} in argument 1, but got {type(t).__name__}")
        tensors += _as_index_tensors(t.to(input.device), input.shape, len(tensors))
    return IndexPut.apply(input, _checked_indices(input.shape, tensors), values, accumulate)


def index_put_(input: Tensor, indices: Sequence[Tensor], values: Tensor, accumulate: bool = False) -> Tensor:
    """In-place ``index_put``."""
    return inplace(input, lambda x, v: index_put(x, indices, v, accumulate), values)


# ---- gather and scatter ---------------------------------------------------------------------
def _check_gather_scatter(op: str, x: Tensor, dim: int, index: Tensor, src: Any = None) -> int:
    """PyTorch's checks for gather/scatter arguments; returns the normalised dim."""
    d = layout.normalize_dim(dim, x.ndim)
    _check_index_dtype(index, op)
    if max(index.ndim, 1) != max(x.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    if isinstance(src, Tensor) and max(src.ndim, 1) != max(index.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    for k in range(index.ndim):
        too_big = k != d and index.shape[k] > x.shape[k]
        if isinstance(src, Tensor) and (too_big or index.shape[k] > src.shape[k]):
            raise RuntimeError(
                f"Expected index {list(index.shape)} to be no larger than self {list(x.shape)} apart from dimension "
                f"{d} and to be no larger size than src {list(src.shape)}"
            )
        if too_big:
            raise RuntimeError(
                f"Size does not match at dimension {k} expected index {list(index.shape)} to be no larger than "
                f"self {list(x.shape)} apart from dimension {d}"
            )
    size = x.shape[d] if x.ndim else 1
    bad = _first_outside(index._data, 0, size)
    if bad is not None:
        raise RuntimeError(f"index {bad} is out of bounds for dimension {d} with size {size}")
    if isinstance(src, Tensor) and src.dtype is not x.dtype:
        raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype")
    return d


class Gather(Function):
    """``out[i][j] = x[i][index[i][j]]`` (for dim=1): read along ``dim`` at the given positions."""

    grad_fn_name = "GatherBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, dim: int, index: Tensor) -> Tensor:
        ctx.in_shape, ctx.dim = x.shape, dim
        ctx.save_for_backward(index)
        return x._new(x._backend.gather(_atleast_1d(x._data), dim, _atleast_1d(index._data)).reshape(index.shape))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (index,) = ctx.saved_tensors
        return ScatterAdd.apply(g.new_zeros(ctx.in_shape), ctx.dim, index, g), None, None


class Scatter(Function):
    """A copy of ``x`` with ``x[i][index[i][j]] = src[i][j]`` (for dim=1); ``src`` may be a number."""

    grad_fn_name = "ScatterBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, dim: int, index: Tensor, src: Any) -> Tensor:
        ctx.dim, ctx.src_shape = dim, src.shape if isinstance(src, Tensor) else None
        ctx.save_for_backward(index)
        out = _atleast_1d(x._data).copy()
        idx = _atleast_1d(index._data)
        out[x._backend.positions_along(idx, dim)] = _src_part(src, idx.shape)
        return x._new(out.reshape(x.shape))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (index,) = ctx.saved_tensors
        grad_x = ScatterValue.apply(g, ctx.dim, index, 0.0) if ctx.needs_input_grad[0] else None
        grad_src = _zero_pad(Gather.apply(g, ctx.dim, index), ctx.src_shape) if ctx.needs_input_grad[3] else None
        return grad_x, None, None, grad_src


class ScatterValue(Scatter):
    grad_fn_name = "ScatterBackward1"


class ScatterAdd(Function):
    """A copy of ``x`` with ``src`` added at ``index`` along ``dim`` (repeated positions add up)."""

    grad_fn_name = "ScatterAddBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
        ctx.dim, ctx.src_shape = dim, src.shape
        ctx.save_for_backward(index)
        out = _atleast_1d(x._data).copy()
        idx = _atleast_1d(index._data)
        x._backend.scatter_add(out, dim, idx, _src_part(src, idx.shape))
        return x._new(out.reshape(x.shape))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (index,) = ctx.saved_tensors
        grad_src = _zero_pad(Gather.apply(g, ctx.dim, index), ctx.src_shape) if ctx.needs_input_grad[3] else None
        return g, None, None, grad_src


def _src_part(src: Any, shape: Tuple[int, ...]) -> Any:
    """The leading ``shape`` corner of ``src`` (scatter reads only that much of it), or the number."""
    if not isinstance(src, Tensor):
        return src
    return _atleast_1d(src._data)[tuple(slice(0, n) for n in shape)]


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """Values of ``input`` along ``dim`` at ``index`` (``out`` has ``index``'s shape)."""
    return Gather.apply(input, _check_gather_scatter("gather", input, dim, index), index)


def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, value: Any = None) -> Tensor:
    """A copy of ``input`` with ``src`` (a tensor, or the number ``value``) written at ``index`` along ``dim``."""
    src = value if src is None else src
    if src is None:
        raise TypeError("scatter() missing required argument 'src' (a Tensor) or 'value' (a number)")
    d = _check_gather_scatter("scatter", input, dim, index, src)
    return (Scatter if isinstance(src, Tensor) else ScatterValue).apply(input, d, index, src)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim``; the adjoint of ``gather``."""
    return ScatterAdd.apply(input, _check_gather_scatter("scatter_add", input, dim, index, src), index, src)


def _scatter_(input: Tensor, dim: int, index: Tensor, src: Any = None, value: Any = None) -> Tensor:
    """In-place ``scatter``."""
    return inplace(input, lambda x, s: scatter(x, dim, index, s), value if src is None else src)


def _scatter_add_(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """In-place ``scatter_add``."""
    return inplace(input, lambda x, s: scatter_add(x, dim, index, s), src)


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """``gather`` after broadcasting ``input`` and ``indices`` (except along ``dim``); dim=None flattens both."""
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    if indices.dtype is not dt.int64:
        raise RuntimeError(
            f"torch.take_along_dim(): dtype of indices should be Long but got {_type_name(indices.dtype)}"
        )
    if input.ndim != indices.ndim:
        raise RuntimeError(
            f"torch.take_along_dim(): input and indices should have the same number of dimensions, but got "
            f"{input.ndim} dimensions for input, and {indices.ndim} dimensions for indices"
        )
    d = layout.normalize_dim(dim, input.ndim)
    if input.ndim == 0:
        return gather(input, d, indices)
    common = layout.broadcast_shapes(_with_size(input.shape, d, 1), _with_size(indices.shape, d, 1))
    return gather(
        input.expand(_with_size(common, d, input.shape[d])), d, indices.expand(_with_size(common, d, indices.shape[d]))
    )


def _with_size(shape: Sequence[int], d: int, n: int) -> Tuple[int, ...]:
    return tuple(shape[:d]) + (n,) + tuple(shape[d + 1 :])


# ---- index_select, index_add, index_fill along one dim -------------------------------------------
def _check_vector_index(op: str, x: Tensor, dim: int, index: Tensor) -> int:
    d = layout.normalize_dim(dim, x.ndim)
    if index.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector, but got dim: {index.ndim}")
    return d


class IndexSelect(Function):
    """The slices of ``x`` at positions ``index`` along ``dim``, stacked along ``dim``."""

    grad_fn_name = "IndexSelectBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, dim: int, index: Tensor) -> Tensor:
        ctx.in_shape, ctx.dim = x.shape, dim
        ctx.save_for_backward(index)
        out = x._backend.xp.take(_atleast_1d(x._data), index._data.reshape(-1), axis=dim)
        return x._new(out.reshape(x.shape) if x.ndim == 0 else out)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (index,) = ctx.saved_tensors
        return IndexAdd.apply(g.new_zeros(ctx.in_shape), ctx.dim, index, g, 1), None, None


class IndexAdd(Function):
    """A copy of ``x`` with ``alpha * source``'s slices added at positions ``index`` along ``dim``."""

    grad_fn_name = "IndexAddBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, dim: int, index: Tensor, source: Tensor, alpha: Any) -> Tensor:
        ctx.dim, ctx.alpha = dim, alpha
        ctx.save_for_backward(index)
        out = _atleast_1d(x._data).copy()
        src = _atleast_1d(source._data)
        x._backend.index_add(out, dim, index._data.reshape(-1), src if alpha == 1 else src * alpha)
        return x._new(out.reshape(x.shape))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (index,) = ctx.saved_tensors
        grad_source = None
        if ctx.needs_input_grad[3]:
            grad_source = IndexSelect.apply(g, ctx.dim, index)
            grad_source = grad_source if ctx.alpha == 1 else grad_source * ctx.alpha
        return g, None, None, grad_source, None


class IndexFill(Function):
    """A copy of ``x`` with the slices at ``index`` along ``dim`` set to ``value``."""

    grad_fn_name = "IndexFillBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
        ctx.dim = dim
        ctx.save_for_backward(index)
        out = _atleast_1d(x._data).copy()
        out[(slice(None),) * dim + (index._data.reshape(-1),)] = value._data if isinstance(value, Tensor) else value
        return x._new(out.reshape(x.shape))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (index,) = ctx.saved_tensors
        outside = IndexFill.apply(g, ctx.dim, index, 0.0)  # the filled entries get no gradient...
        grad_value = (g - outside).sum() if ctx.needs_input_grad[3] else None  # ...their sum goes to value
        return outside, None, None, grad_value


class IndexFillTensor(IndexFill):
    grad_fn_name = "IndexFillBackward1"


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries of ``input`` at positions ``index`` (a vector) along ``dim``."""
    d = _check_vector_index("index_select", input, dim, index)
    if index.dtype not in (dt.int64, dt.int32):
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    if input.ndim == 0 and index.numel() != 1:
        raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got {index.numel()} value(s)")
    size = input.shape[d] if input.ndim else 1
    bad = _first_outside(index._data, 0, size)
    if bad is not None:
        raise IndexError(f"index_select(): index {bad} is out of range for dimension {d} with size {size}")
    return IndexSelect.apply(input, d, index)


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1) -> Tensor:
    """A copy of ``input`` with ``alpha * source`` added at positions ``index`` along ``dim`` (repeats add up)."""
    d = _check_vector_index("index_add_", input, dim, index)
    if index.dtype not in (dt.int64, dt.int32):
        raise RuntimeError(f"index_add_(): Expected dtype int32/int64 for index but got: {_type_name(index.dtype)}")
    if source.dtype is not input.dtype:
        raise RuntimeError(
            f"index_add_(): self ({_type_name(input.dtype)}) and source ({_type_name(source.dtype)}) must have the "
            "same scalar type"
        )
    if source.ndim and (
        input.shape[:d] + input.shape[d + 1 :] != source.shape[:d] + source.shape[d + 1 :]
        or source.ndim != max(input.ndim, 1)
    ):
        raise RuntimeError(
            "source tensor shape must match self tensor shape, excluding the specified dimension. Got self.shape = "
            f"{list(input.shape)} source.shape = {list(source.shape)}"
        )
    count = source.shape[d] if source.ndim else 1
    if index.numel() != count:
        raise RuntimeError(
            f"index_add_(): Number of indices ({index.numel()}) should be equal to source.size(dim): ({count}), for dim: {d}"
        )
    size = input.shape[d] if input.ndim else 1
    bad = _first_outside(index._data, 0, size)
    if bad is not None:
        raise RuntimeError(f"index {bad} is out of bounds for dimension {d} with size {size}")
    return IndexAdd.apply(input, d, index, source, alpha)


def index_fill(input: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    """A copy of ``input`` with the entries at ``index`` along ``dim`` set to ``value`` (a number or 0-d tensor)."""
    d = layout.normalize_dim(dim, input.ndim)
    if index.dtype is not dt.int64:
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    if index.ndim > 1:
        raise RuntimeError("Index has to be a vector/scalar")
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(
            f"index_fill_ only supports a 0-dimensional value tensor, but got tensor with {value.ndim} dimension(s)."
        )
    size = input.shape[d] if input.ndim else 1
    bad = _first_outside(index._data, -size, size)
    if bad is not None:
        raise IndexError(f"index {bad} is out of bounds for dimension {d} with size {size}")
    fill = IndexFillTensor if isinstance(value, Tensor) else IndexFill
    return fill.apply(input, d, _wrapped(index, size), value)


def _index_add_(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1) -> Tensor:
    """In-place ``index_add``."""
    return inplace(input, lambda x, s: index_add(x, dim, index, s, alpha=alpha), source)


def _index_fill_(input: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    """In-place ``index_fill``."""
    return inplace(input, lambda x, v: index_fill(x, dim, index, v), value)


# ---- flat and mask selection ----------------------------------------------------------------------
class Take(Function):
    """``input.flatten()[index]``, shaped like ``index``."""

    grad_fn_name = "TakeBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, index: Tensor) -> Tensor:
        ctx.in_shape = x.shape
        ctx.save_for_backward(index)
        return x._new(x._data.reshape(-1)[index._data])

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (index,) = ctx.saved_tensors
        flat = IndexPut.apply(g.new_zeros((layout.numel(ctx.in_shape),)), (index,), g, True)
        return flat.reshape(ctx.in_shape), None


def take(input: Tensor, index: Tensor) -> Tensor:
    """Elements of ``input`` as if it were 1-d, at ``index`` (negative counts from the end)."""
    if index.dtype is not dt.int64:
        raise RuntimeError(f"take(): Expected a long tensor for index, but got {_type_name(index.dtype)}")
    n = input.numel()
    bad = _first_outside(index._data, -n, n)
    if bad is not None:
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")
    return Take.apply(input, _wrapped(index, n))


class MaskedSelect(Function):
    """The elements of ``x`` where ``mask`` is True (both broadcast), as a 1-d tensor."""

    grad_fn_name = "MaskedSelectBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, mask: Tensor) -> Tensor:
        xp = x._backend.xp
        shape = layout.broadcast_shapes(x.shape, mask.shape)
        m = xp.broadcast_to(mask._data, shape)
        ctx.shape, ctx.positions = shape, x._new(xp.flatnonzero(m))
        return x._new(xp.broadcast_to(x._data, shape)[m])

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        flat = IndexPut.apply(g.new_zeros((layout.numel(ctx.shape),)), (ctx.positions,), g, False)
        return flat.reshape(ctx.shape), None  # the engine sums it back to x's shape


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """A 1-d tensor of the elements where ``mask`` (bool, broadcast with ``input``) is True."""
    if mask.dtype is not dt.bool:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    return MaskedSelect.apply(input, mask)


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    """Indices of the nonzero elements: an (n, ndim) int64 tensor, or one 1-d tensor per dim with ``as_tuple``."""
    xp = input._backend.xp
    if input.ndim == 0:  # a 0-d tensor is treated as one element along one dim
        n = int(bool(input.item()))
        return (input._new(xp.zeros(n, dtype=np.int64)),) if as_tuple else input._new(xp.zeros((n, 0), dtype=np.int64))
    coords = xp.nonzero(input._data)
    if as_tuple:
        return tuple(input._new(c.astype(np.int64)) for c in coords)
    return input._new(xp.stack(coords, axis=1).astype(np.int64))


def argwhere(input: Tensor) -> Tensor:
    """Same as ``nonzero(input)``: one row of indices per nonzero element."""
    return nonzero(input)


__all__ = [
    "argwhere",
    "gather",
    "index_add",
    "index_fill",
    "index_put",
    "index_put_",
    "index_select",
    "masked_select",
    "nonzero",
    "scatter",
    "scatter_add",
    "take",
    "take_along_dim",
]


def _install() -> None:
    Tensor.__getitem__ = _getitem
    Tensor.__setitem__ = _setitem
    for name in (
        "argwhere",
        "gather",
        "index_add",
        "index_fill",
        "index_put",
        "index_put_",
        "index_select",
        "masked_select",
        "nonzero",
        "scatter",
        "scatter_add",
        "take",
        "take_along_dim",
    ):
        setattr(Tensor, name, globals()[name])
    Tensor.scatter_, Tensor.scatter_add_ = _scatter_, _scatter_add_
    Tensor.index_add_, Tensor.index_fill_ = _index_add_, _index_fill_


_install()
