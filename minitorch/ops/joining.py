"""Joining and rearranging: cat/stack and friends, repeat/tile, flip/roll, tril/triu, meshgrid.

Every op here copies data into a new tensor. Each backward undoes the
rearrangement on the gradient: ``cat`` narrows the gradient back into
pieces, ``stack`` unbinds it, ``repeat`` sums the copies, ``flip`` and
``roll`` flip or roll it back, and ``tril``/``triu`` keep the same
triangle (the other one never reached the output).
"""

from __future__ import annotations

import warnings
from typing import Any, List, Sequence, Tuple

from .. import dtypes as dt
from .. import layout
from ..autograd.function import Function
from ..device import check_same_device
from ..tensor import Tensor
from .reduction import numpy_aliases
from .views import _dims, unbind


# ---- checking a list of tensors ----------------------------------------------------------------
def _tensor_list(tensors: Any, name: str) -> Tuple[Tensor, ...]:
    """The tensors of a list/tuple argument, checked to be tensors on one device."""
    if isinstance(tensors, Tensor):
        raise TypeError(
            f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor; wrap it: {name}([x, y])"
        )
    tensors = tuple(tensors)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}")
    check_same_device(*tensors)
    return tensors


def _is_legacy_empty(t: Tensor) -> bool:
    """A 1-D tensor of shape (0,): ``cat`` skips it, whatever the other shapes (as PyTorch does)."""
    return t.shape == (0,)


# ---- cat and stack ----------------------------------------------------------------------------------
class Cat(Function):
    grad_fn_name = "CatBackward0"

    @staticmethod
    def forward(ctx: Any, dim: int, out_dtype: dt.dtype, *tensors: Tensor) -> Tensor:
        joined = [t for t in tensors if not _is_legacy_empty(t)] or list(tensors)
        ctx.dim = dim
        ctx.sizes = [t.shape[dim] if any(t is j for j in joined) else None for t in tensors]
        xp = tensors[0]._backend.xp
        arrays = [t._data.astype(out_dtype.np, copy=False) for t in joined]
        return tensors[0]._new(xp.concatenate(arrays, axis=dim))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        # Each input gets back the slab of the gradient where its values landed.
        grads: List[Tensor | None] = []
        start = 0
        for n in ctx.sizes:
            if n is None:  # a skipped (0,) tensor: an empty gradient
                grads.append(g.new_zeros(0))
            else:
                grads.append(g.narrow(ctx.dim, start, n))
                start += n
        return (None, None, *grads)


@numpy_aliases
def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dim ``dim``; all other sizes must match.

    The result has the promoted dtype of all inputs. 1-D empty tensors of shape
    (0,) are skipped, so ``cat([empty(0), x])`` works for any ``x``.
    """
    tensors = _tensor_list(tensors, "cat")
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(
                f"zero-dimensional tensor (at position {i}) cannot be concatenated; use stack, or unsqueeze it first"
            )
    joined = [(i, t) for i, t in enumerate(tensors) if not _is_legacy_empty(t)] or [(0, tensors[0])]
    ref = joined[0][1]
    d = layout.normalize_dim(dim, ref.ndim)
    for i, t in joined:
        if t.ndim != ref.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} and {t.ndim}")
        for k in range(ref.ndim):
            if k != d and t.shape[k] != ref.shape[k]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size {ref.shape[k]} but got "
                    f"size {t.shape[k]} for tensor number {i} in the list."
                )
    return Cat.apply(d, dt.result_type(tensors), *tensors)


concat = concatenate = cat


class Stack(Function):
    grad_fn_name = "StackBackward0"

    @staticmethod
    def forward(ctx: Any, dim: int, out_dtype: dt.dtype, *tensors: Tensor) -> Tensor:
        ctx.dim = dim
        xp = tensors[0]._backend.xp
        return tensors[0]._new(xp.stack([t._data.astype(out_dtype.np, copy=False) for t in tensors], axis=dim))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return (None, None, *unbind(g, ctx.dim))


@numpy_aliases
def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join equally shaped tensors along a new dim inserted at ``dim``."""
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(tensors[0].shape)} at entry 0 "
                f"and {list(t.shape)} at entry {i}"
            )
    d = layout.normalize_dim(dim, tensors[0].ndim + 1)
    return Stack.apply(d, dt.result_type(tensors), *tensors)


def _atleast(t: Tensor, ndim: int) -> Tensor:
    """View ``t`` with at least ``ndim`` dims, as torch.atleast_1d/2d/3d place the new size-1 dims."""
    if t.ndim >= ndim:
        return t
    if t.ndim == 0:
        return t.reshape((1,) * ndim)
    if t.ndim == 1:  # (n,) -> (1, n) or (1, n, 1)
        return t.reshape((1, t.shape[0]) + (1,) * (ndim - 2))
    return t.unsqueeze(-1)  # (m, n) -> (m, n, 1)


def _nonempty(tensors: Any, name: str) -> Tuple[Tensor, ...]:
    tensors = _tensor_list(tensors, name)
    if not tensors:
        raise RuntimeError(f"{name} expects a non-empty TensorList")
    return tensors


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Join column-wise: along dim 0 for 1-D tensors, else along dim 1."""
    tensors = [_atleast(t, 1) for t in _nonempty(tensors, "hstack")]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Join row-wise (dim 0), treating 1-D tensors as rows."""
    return cat([_atleast(t, 2) for t in _nonempty(tensors, "vstack")], 0)


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """Join depth-wise (dim 2), after making every tensor at least 3-D."""
    return cat([_atleast(t, 3) for t in _nonempty(tensors, "dstack")], 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """Join as columns: 0-D and 1-D tensors become (n, 1) columns, then ``hstack``."""
    tensors = _nonempty(tensors, "column_stack")
    return hstack([t.reshape(t.numel(), 1) if t.ndim <= 1 else t for t in tensors])


# ---- repeating ----------------------------------------------------------------------------------------
class Repeat(Function):
    grad_fn_name = "RepeatBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, repeats: Tuple[int, ...]) -> Tensor:
        padded = (1,) * (len(repeats) - x.ndim) + tuple(x.shape)
        ctx.in_shape, ctx.padded, ctx.repeats = x.shape, padded, repeats
        return x._new(x._backend.xp.tile(x._data.reshape(padded), repeats))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        # Output dim k has index r * n + i for copy r of input index i: split it into
        # (copies, n) and sum over the copies.
        split = tuple(n for pair in zip(ctx.repeats, ctx.padded) for n in pair)
        copies = tuple(range(0, len(split), 2))
        return g.reshape(split).sum(copies).reshape(ctx.in_shape), None


def repeat(input: Tensor, *sizes: Any) -> Tensor:
    """Tile the whole tensor ``sizes[k]`` times along dim k (extra leading sizes add dims)."""
    repeats = _dims(sizes)
    if len(repeats) < input.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor; "
            f"got {len(repeats)} repeats for a {input.ndim}-D tensor"
        )
    if any(r < 0 for r in repeats):
        raise RuntimeError(f"Trying to create tensor with negative dimension: repeats {list(repeats)} must be >= 0")
    return Repeat.apply(input, repeats)


def tile(input: Tensor, dims: Any) -> Tensor:
    """``repeat``, except that fewer ``dims`` than input dims are padded with leading 1s."""
    dims = _dims((dims,))
    return repeat(input, (1,) * (input.ndim - len(dims)) + dims)


def repeat_interleave(
    input: Tensor, repeats: Any = None, dim: int | None = None, *, output_size: int | None = None
) -> Tensor:
    """Repeat each element (each slice along ``dim``) in place: [a, b] -> [a, a, b, b].

    ``repeats`` is an int or a tensor with one count per slice. With no
    ``dim`` the input is flattened first. ``repeat_interleave(counts)``
    alone repeats each index ``i`` counts[i] times.
    """
    if repeats is None:
        from .creation import arange

        return repeat_interleave(arange(input.numel(), device=input.device), input)
    if dim is None:
        input, dim = input.flatten(), 0
    d = layout.normalize_dim(dim, input.ndim)
    if isinstance(repeats, Tensor):
        if repeats.dtype.is_floating_point or repeats.dtype is dt.bool:
            raise RuntimeError(f"repeat_interleave: repeats must be an integer tensor, got {repeats.dtype}")
        if repeats.ndim > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        if repeats.numel() != 1:
            return _repeat_each(input, d, repeats.tolist())
        repeats = int(repeats.item())
    if repeats < 0:
        raise RuntimeError("Repeats must be non-negative")
    # A new size-1 dim after ``d``, broadcast to ``repeats`` and merged into ``d``.
    shape = list(input.shape)
    shape.insert(d + 1, repeats)
    return input.unsqueeze(d + 1).expand(shape).flatten(d, d + 1)


def _repeat_each(input: Tensor, d: int, counts: List[int]) -> Tensor:
    """Slice i along ``d`` broadcast to ``counts[i]`` copies, all joined with ``cat``."""
    if len(counts) != input.shape[d]:
        raise RuntimeError(
            f"repeats must have the same size as input along dim, but got repeats.size(0) = {len(counts)} "
            f"and input.size({d}) = {input.shape[d]}"
        )
    if any(n < 0 for n in counts):
        raise RuntimeError("repeats can not be negative")
    pieces = []
    for i, n in enumerate(counts):
        piece = input.narrow(d, i, 1)
        pieces.append(piece.expand(piece.shape[:d] + (n,) + piece.shape[d + 1 :]))
    return cat(pieces or [input], d)


# ---- flip and roll ------------------------------------------------------------------------------------
class Flip(Function):
    grad_fn_name = "FlipBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, dims: Tuple[int, ...]) -> Tensor:
        ctx.dims = dims
        return x._new(x._backend.xp.flip(x._data, axis=dims).copy())

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return Flip.apply(g, ctx.dims), None


def flip(input: Tensor, dims: Sequence[int]) -> Tensor:
    """Reverse the order of elements along each dim in ``dims`` (a copy, unlike NumPy's view)."""
    if isinstance(dims, int):
        raise TypeError(
            f"flip(): argument 'dims' (position 2) must be tuple of ints, not int; write flip(x, ({dims},))"
        )
    normalized = tuple(layout.normalize_dim(d, input.ndim) for d in dims)
    for d in normalized:
        if normalized.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return Flip.apply(input, normalized if input.ndim else ())


def _flip_method(self: Tensor, *dims: Any) -> Tensor:
    """``x.flip(0, 1)`` or ``x.flip((0, 1))``."""
    if not dims:
        raise TypeError('flip() missing 1 required positional arguments: "dims"; e.g. x.flip(0)')
    return flip(self, _dims(dims))


def fliplr(input: Tensor) -> Tensor:
    """Reverse the columns (dim 1)."""
    if input.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, (1,))


def flipud(input: Tensor) -> Tensor:
    """Reverse the rows (dim 0)."""
    if input.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, (0,))


class Roll(Function):
    grad_fn_name = "RollBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, shifts: Tuple[int, ...], dims: Tuple[int, ...]) -> Tensor:
        ctx.shifts, ctx.dims = shifts, dims
        return x._new(x._backend.xp.roll(x._data, shifts, axis=dims))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return Roll.apply(g, tuple(-s for s in ctx.shifts), ctx.dims), None, None


def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """Shift elements along ``dims`` circularly; with no ``dims``, roll the flattened tensor."""
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = () if dims is None else (dims,) if isinstance(dims, int) else tuple(dims)
    if not dims:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
        return Roll.apply(input.flatten(), shifts, (0,)).view(input.shape)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    if input.ndim == 0:
        raise IndexError(f"Dimension specified as {dims[0]} but tensor has no dimensions")
    return Roll.apply(input, shifts, tuple(layout.normalize_dim(d, input.ndim) for d in dims))


# ---- triangles ---------------------------------------------------------------------------------------
class Tril(Function):
    """Keep one triangle of the last two dims; the gradient keeps the same triangle."""

    grad_fn_name = "TrilBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, diagonal: int, upper: bool) -> Tensor:
        ctx.diagonal, ctx.upper = diagonal, upper
        keep = x._backend.xp.triu if upper else x._backend.xp.tril
        return x._new(keep(x._data, diagonal))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return (triu if ctx.upper else tril)(g, ctx.diagonal), None, None


class Triu(Tril):
    grad_fn_name = "TriuBackward0"


def _matrix_batch(input: Tensor, name: str) -> None:
    if input.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """Keep the lower triangle of the last two dims (on and below ``diagonal``), zero the rest."""
    _matrix_batch(input, "tril")
    return Tril.apply(input, diagonal, False)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """Keep the upper triangle of the last two dims (on and above ``diagonal``), zero the rest."""
    _matrix_batch(input, "triu")
    return Triu.apply(input, diagonal, True)


# ---- grids ------------------------------------------------------------------------------------------
def meshgrid(*tensors: Any, indexing: str | None = None) -> Tuple[Tensor, ...]:
    """Coordinate grids: output i holds ``tensors[i]``'s values broadcast along every other axis.

    With ``indexing='ij'`` output dim i follows input i; ``'xy'`` swaps the
    first two dims (Cartesian x/y as in NumPy). Outputs are expanded views.
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    tensors = _nonempty(tensors, "meshgrid")
    if indexing is None:
        warnings.warn(
            "torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
            UserWarning,
            stacklevel=2,
        )
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(
                f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got a tensor of shape {list(t.shape)}"
            )
        if t.dtype is not tensors[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    axes = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        axes[0], axes[1] = 1, 0
    shape = [0] * len(tensors)
    for t, axis in zip(tensors, axes):
        shape[axis] = t.numel()
    grids = []
    for t, axis in zip(tensors, axes):
        column = [1] * len(tensors)
        column[axis] = -1
        grids.append(t.reshape(column).expand(shape))
    return tuple(grids)


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """All combinations of the elements of 1-D tensors, one combination per row."""
    for t in tensors:
        if t.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    return stack([g.flatten() for g in meshgrid(*tensors, indexing="ij")], 1)


__all__ = [
    "cat",
    "concat",
    "concatenate",
    "stack",
    "hstack",
    "vstack",
    "dstack",
    "column_stack",
    "tile",
    "repeat_interleave",
    "flip",
    "fliplr",
    "flipud",
    "roll",
    "tril",
    "triu",
    "meshgrid",
    "cartesian_prod",
]


def _install() -> None:
    for name in ("repeat", "tile", "repeat_interleave", "fliplr", "flipud", "roll", "tril", "triu"):
        setattr(Tensor, name, globals()[name])
    Tensor.flip = _flip_method


_install()
