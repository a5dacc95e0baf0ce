"""View ops: new shape/strides/offset over the same storage, no data copied.

Each op computes its layout with ``layout.py`` and returns ``x._view(...)``;
a write through the view is seen in its base. Backward maps the gradient
of the view back onto the input's shape: by the inverse view (transpose,
reshape, squeeze), by summing (expand), or by writing it into zeros at the
viewed positions (slice, select, diagonal, unfold, as_strided).
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

from .. import layout
from ..autograd.function import Function
from ..tensor import Tensor

Geometry = Tuple[Tuple[int, ...], Tuple[int, ...], int]


def _dims(args: Sequence[Any]) -> Tuple[int, ...]:
    """Accept ``f(1, 2)``, ``f((1, 2))`` and ``f([1, 2])``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    return tuple(int(a) for a in args)


# ---- reshaping ----------------------------------------------------------------------------
class View(Function):
    grad_fn_name = "ViewBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, shape: Tuple[int, ...]) -> Tensor:
        ctx.in_shape = x.shape
        strides = layout.view_strides(x.shape, x.stride(), shape)
        if strides is None:
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one dimension "
                "spans across two contiguous subspaces). Use .reshape(...) instead."
            )
        return x._view(shape, strides, x._offset)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return g.reshape(ctx.in_shape), None


def view(input: Tensor, *shape: Any) -> Tensor:
    """The same data seen with another shape; fails (RuntimeError) if the strides do not allow it."""
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list)) and shape[0] is not None:
        from ..dtypes import dtype as _dtype_cls

        if isinstance(shape[0], _dtype_cls):
            raise RuntimeError("view(dtype) is not supported by minitorch; use .to(dtype) to convert")
    return View.apply(input, layout.infer_size(_dims(shape), input.numel()))


def reshape(input: Tensor, *shape: Any) -> Tensor:
    """Like ``view`` when possible; otherwise copies into a contiguous tensor first."""
    new_shape = layout.infer_size(_dims(shape), input.numel())
    if layout.view_strides(input.shape, input.stride(), new_shape) is None:
        input = contiguous(input)
    return View.apply(input, new_shape)


def view_as(input: Tensor, other: Tensor) -> Tensor:
    return view(input, other.shape)


def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    return reshape(input, other.shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one (a view when the layout allows)."""
    if input.ndim == 0:
        return reshape(input, 1)
    s = layout.normalize_dim(start_dim, input.ndim)
    e = layout.normalize_dim(end_dim, input.ndim)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    shape = input.shape
    return reshape(input, shape[:s] + (layout.numel(shape[s : e + 1]),) + shape[e + 1 :])


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """Split one dim into ``sizes`` (one entry may be -1)."""
    d = layout.normalize_dim(dim, input.ndim)
    sizes = layout.infer_size(tuple(sizes), input.shape[d])
    return view(input, input.shape[:d] + tuple(sizes) + input.shape[d + 1 :])


class Clone(Function):
    grad_fn_name = "CloneBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        return x._new(x._data.copy())

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        return g


def clone(input: Tensor, *, memory_format: Any = None) -> Tensor:
    """A copy with its own (contiguous) storage; gradients flow back unchanged."""
    return Clone.apply(input)


def contiguous(input: Tensor, memory_format: Any = None) -> Tensor:
    """``input`` itself if already row-major, else a contiguous copy."""
    return input if input.is_contiguous() else Clone.apply(input)


# ---- permuting dims ---------------------------------------------------------------------
class Permute(Function):
    grad_fn_name = "PermuteBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, order: Tuple[int, ...]) -> Tensor:
        ctx.order = order
        shape, strides = x.shape, x.stride()
        return x._view(tuple(shape[d] for d in order), tuple(strides[d] for d in order), x._offset)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        inverse = [0] * len(ctx.order)
        for i, d in enumerate(ctx.order):
            inverse[d] = i
        return permute(g, inverse), None


class Transpose(Permute):
    grad_fn_name = "TransposeBackward0"


class T(Permute):
    grad_fn_name = "TBackward0"


def permute(input: Tensor, *dims: Any) -> Tensor:
    """Reorder the dims: ``out.shape[i] == input.shape[dims[i]]`` (strides move with them)."""
    order = tuple(layout.normalize_dim(d, input.ndim) for d in _dims(dims))
    if sorted(order) != list(range(input.ndim)):
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the length of "
            f"the desired ordering of dimensions i.e. input.dim() = {input.ndim} is not equal to len(dims) = {len(order)}"
            if len(order) != input.ndim
            else f"permute(): duplicate dims are not allowed in {list(_dims(dims))}"
        )
    return Permute.apply(input, order)


def _swap_order(ndim: int, d0: int, d1: int) -> Tuple[int, ...]:
    order = list(range(ndim))
    order[d0], order[d1] = order[d1], order[d0]
    return tuple(order)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims (a view)."""
    if input.ndim == 0:
        layout.normalize_dim(dim0, 0), layout.normalize_dim(dim1, 0)
        return Transpose.apply(input, ())
    d0, d1 = layout.normalize_dim(dim0, input.ndim), layout.normalize_dim(dim1, input.ndim)
    return Transpose.apply(input, _swap_order(input.ndim, d0, d1))


swapaxes = swapdims = transpose


def t(input: Tensor) -> Tensor:
    """Transpose a matrix (a 0-d or 1-d tensor is returned as is)."""
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return T.apply(input, tuple(reversed(range(input.ndim))))


def movedim(input: Tensor, source: Any, destination: Any) -> Tensor:
    """Move dims from ``source`` positions to ``destination`` positions."""
    src = [layout.normalize_dim(d, input.ndim) for d in ((source,) if isinstance(source, int) else source)]
    dst = [
        layout.normalize_dim(d, input.ndim) for d in ((destination,) if isinstance(destination, int) else destination)
    ]
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({src} dims) should contain the same number of dims as destination ({dst} dims)"
        )
    rest = iter(d for d in range(input.ndim) if d not in src)
    placed = dict(zip(dst, src))
    order = [placed[i] if i in placed else next(rest) for i in range(input.ndim)]
    return permute(input, order)


moveaxis = movedim


def _T(self: Tensor) -> Tensor:
    """All dims reversed (PyTorch deprecates .T for ndim != 2 but allows it)."""
    return permute(self, tuple(reversed(range(self.ndim))))


def _mT(self: Tensor) -> Tensor:
    """The last two dims swapped: a batch of matrices transposed."""
    if self.ndim < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got {self.ndim}-D tensor.")
    return transpose(self, -2, -1)


# ---- adding and removing size-1 dims, broadcasting ------------------------------------------------
class Reshape1(Function):
    """Insert or drop size-1 dims: a view with the same strides for the other dims."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, shape: Tuple[int, ...], strides: Tuple[int, ...]) -> Tensor:
        ctx.in_shape = x.shape
        return x._view(shape, strides, x._offset)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return g.reshape(ctx.in_shape), None, None


class Squeeze(Reshape1):
    grad_fn_name = "SqueezeBackward0"


class Unsqueeze(Reshape1):
    grad_fn_name = "UnsqueezeBackward0"


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    """Drop dims of size 1 (all of them, or those in ``dim`` that have size 1)."""
    if dim is None:
        keep = [i for i, n in enumerate(input.shape) if n != 1]
    else:
        dims = {layout.normalize_dim(d, input.ndim) for d in ((dim,) if isinstance(dim, int) else dim)}
        keep = [i for i, n in enumerate(input.shape) if not (i in dims and n == 1)]
    strides = input.stride()
    return Squeeze.apply(input, tuple(input.shape[i] for i in keep), tuple(strides[i] for i in keep))


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim at ``dim`` (-ndim-1 <= dim <= ndim)."""
    d = layout.normalize_dim(dim, input.ndim + 1)
    shape, strides = list(input.shape), list(input.stride())
    new_stride = strides[d] * shape[d] if d < input.ndim else 1
    shape.insert(d, 1)
    strides.insert(d, new_stride)
    return Unsqueeze.apply(input, tuple(shape), tuple(strides))


class Expand(Function):
    grad_fn_name = "ExpandBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, shape: Tuple[int, ...]) -> Tensor:
        ctx.in_shape = x.shape
        return x._view(shape, layout.broadcast_strides(x.shape, x.stride(), shape), x._offset)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return g.sum_to_size(ctx.in_shape), None


def expand(input: Tensor, *sizes: Any) -> Tensor:
    """Broadcast to a bigger shape without copying (stride 0); -1 keeps a size."""
    sizes = _dims(sizes)
    if len(sizes) < input.ndim:
        raise RuntimeError(
            f"expand(minitorch.FloatTensor{{{list(input.shape)}}}, size=[{', '.join(map(str, sizes))}]): the number of "
            f"sizes provided ({len(sizes)}) must be greater or equal to the number of dimensions in the tensor ({input.ndim})"
        )
    lead = len(sizes) - input.ndim
    shape = tuple(input.shape[i - lead] if (n == -1 and i >= lead) else n for i, n in enumerate(sizes))
    if any(n < 0 for n in shape):
        raise RuntimeError(
            f"The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension {shape.index(-1) if -1 in shape else 0}"
        )
    if shape == tuple(input.shape):
        return input
    return Expand.apply(input, shape)


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other.shape)


def broadcast_to(input: Tensor, size: Sequence[int]) -> Tensor:
    return expand(input, tuple(size))


def broadcast_tensors(*tensors: Tensor) -> List[Tensor]:
    """Expand all tensors to their common broadcast shape."""
    shape = layout.broadcast_shapes(*(t.shape for t in tensors))
    return [expand(t, shape) for t in tensors]


# ---- picking out parts: slice, select, diagonal, unfold, as_strided ------------------------------
class _Window(Function):
    """A view of part of the input, with a layout given in the input's own index space.

    ``geometry(shape, strides, offset)`` maps any layout of the input's shape
    to the view's layout. Forward applies it to the input's real layout;
    backward applies it to a fresh zero tensor of the input's shape and
    writes (or, where windows overlap, adds) the gradient there.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, geometry: Any) -> Tensor:
        ctx.in_shape, ctx.in_dtype, ctx.geometry = x.shape, x.dtype, geometry
        return x._view(*geometry(x.shape, x.stride(), x._offset))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return WindowScatter.apply(g, ctx.in_shape, ctx.geometry), None


class WindowScatter(Function):
    """Zeros of ``shape`` with ``g`` added at the window's positions (the adjoint of _Window)."""

    grad_fn_name = "WindowScatterBackward0"

    @staticmethod
    def forward(ctx: Any, g: Tensor, shape: Tuple[int, ...], geometry: Any) -> Tensor:
        ctx.geometry = geometry
        xp = g._backend.xp
        out = Tensor._make(xp.zeros(shape, dtype=g.dtype.np), g._backend)
        vshape, vstrides, voffset = geometry(shape, layout.contiguous_strides(shape), 0)
        if layout.has_overlap(vshape, vstrides):
            # Overlapping windows (unfold with step < size): accumulate with add.at.
            ids = g._backend.as_strided(xp.arange(out.numel()), vshape, vstrides, voffset)
            xp.add.at(out._storage.data, ids.ravel(), g._data.ravel())
        else:
            g._backend.as_strided(out._storage.data, vshape, vstrides, voffset)[...] = g._data
        return out

    @staticmethod
    def backward(ctx: Any, gg: Tensor) -> Any:
        return _Window.apply(gg, ctx.geometry), None, None


class Slice(_Window):
    grad_fn_name = "SliceBackward0"


class Select(_Window):
    grad_fn_name = "SelectBackward0"


class Diagonal(_Window):
    grad_fn_name = "DiagonalBackward0"


class Unfold(_Window):
    grad_fn_name = "UnfoldBackward0"


def _slice_geometry(dim: int, start: int, stop: int, step: int) -> Any:
    def geometry(shape: Tuple[int, ...], strides: Tuple[int, ...], offset: int) -> Geometry:
        n = max(0, (stop - start + step - 1) // step)
        new_shape = shape[:dim] + (n,) + shape[dim + 1 :]
        new_strides = strides[:dim] + (strides[dim] * step,) + strides[dim + 1 :]
        return new_shape, new_strides, offset + start * strides[dim]

    return geometry


def slice_dim(input: Tensor, dim: int, start: Optional[int], stop: Optional[int], step: int = 1) -> Tensor:
    """``input[..., start:stop:step, ...]`` along ``dim`` (Python slice rules, step > 0)."""
    if step <= 0:
        raise ValueError("step must be greater than zero")
    d = layout.normalize_dim(dim, input.ndim)
    start, stop, _ = slice(start, stop).indices(input.shape[d])
    stop = max(stop, start)
    return Slice.apply(input, _slice_geometry(d, start, stop, step))


def narrow(input: Tensor, dim: int, start: Any, length: int) -> Tensor:
    """``length`` elements along ``dim`` from ``start`` (a view)."""
    d = layout.normalize_dim(dim, input.ndim)
    size = input.shape[d]
    start = int(start)
    if start < 0:
        start += size
    if not 0 <= start <= size or length < 0 or start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    return Slice.apply(input, _slice_geometry(d, start, start + length, 1))


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The slice at ``index`` along ``dim``, with that dim removed (``x[i]`` for dim 0)."""
    if input.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = layout.normalize_dim(dim, input.ndim)
    size = input.shape[d]
    index = int(index)
    if not -size <= index < size:
        raise IndexError(f"index {index} is out of bounds for dimension {d} with size {size}")
    index %= size

    def geometry(shape: Tuple[int, ...], strides: Tuple[int, ...], offset: int) -> Geometry:
        return shape[:d] + shape[d + 1 :], strides[:d] + strides[d + 1 :], offset + index * strides[d]

    return Select.apply(input, geometry)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of the (dim1, dim2) planes, moved to the last dim (a view)."""
    d1, d2 = layout.normalize_dim(dim1, input.ndim), layout.normalize_dim(dim2, input.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    k = offset

    def geometry(shape: Tuple[int, ...], strides: Tuple[int, ...], off: int) -> Geometry:
        n = max(0, min(shape[d1] + min(k, 0), shape[d2] - max(k, 0)))
        start = (-k * strides[d1] if k < 0 else k * strides[d2]) if n else 0
        rest = [i for i in range(len(shape)) if i not in (d1, d2)]
        return (
            tuple(shape[i] for i in rest) + (n,),
            tuple(strides[i] for i in rest) + (strides[d1] + strides[d2],),
            off + start,
        )

    return Diagonal.apply(input, geometry)


def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """All windows of ``size`` along ``dimension``, ``step`` apart, as a new last dim (a view)."""
    d = layout.normalize_dim(dimension, input.ndim)
    length = input.shape[d] if input.ndim else 1
    if size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {length} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")

    def geometry(shape: Tuple[int, ...], strides: Tuple[int, ...], offset: int) -> Geometry:
        if not shape:
            return (size,), (1,), offset
        count = (shape[d] - size) // step + 1
        return (
            shape[:d] + (count,) + shape[d + 1 :] + (size,),
            strides[:d] + (strides[d] * step,) + strides[d + 1 :] + (strides[d],),
            offset,
        )

    return Unfold.apply(input, geometry)


class Unbind(Function):
    """All slices along a dim, as views recorded by one node.

    Backward stacks the slices' gradients (zeros for slices that got none).
    One ``select`` per slice would instead make every slice's backward build
    a zero tensor of the whole input, which costs O(n²) over a sequence.
    """

    grad_fn_name = "UnbindBackward0"
    #: several outputs share this one node, so none of them may be written in place
    multi_output_view = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, d: int) -> Tuple[Tensor, ...]:
        ctx.d = d
        strides = x.stride()
        shape, rest = x.shape[:d] + x.shape[d + 1 :], strides[:d] + strides[d + 1 :]
        return tuple(x._view(shape, rest, x._offset + i * strides[d]) for i in range(x.shape[d]))

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> Any:
        from .joining import stack

        return stack(grads, ctx.d), None


def unbind(input: Tensor, dim: int = 0) -> Tuple[Tensor, ...]:
    """All slices along ``dim``, each with that dim removed (views of ``input``)."""
    d = layout.normalize_dim(dim, input.ndim)
    return Unbind.apply(input, d)


def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> Tuple[Tensor, ...]:
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the given sizes."""
    d = layout.normalize_dim(dim, tensor.ndim)
    size = tensor.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0 and not (step == 0 and size == 0):
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {size}")
        sizes = [min(step, size - s) for s in range(0, size, step)] if step else [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != size:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's size at dimension {d}), "
                f"but got split_sizes={sizes}"
            )
    out, start = [], 0
    for n in sizes:
        out.append(narrow(tensor, d, start, n))
        start += n
    return tuple(out)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> Tuple[Tensor, ...]:
    """At most ``chunks`` pieces of equal size (ceil) along ``dim``."""
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    d = layout.normalize_dim(dim, input.ndim)
    size = input.shape[d]
    return split(input, max(1, -(-size // chunks)), d) if size else split(input, 0, d) * chunks


def tensor_split(input: Tensor, indices_or_sections: Any, dim: int = 0) -> Tuple[Tensor, ...]:
    """Split into n nearly equal parts, or at the given indices."""
    d = layout.normalize_dim(dim, input.ndim)
    size = input.shape[d]
    if isinstance(indices_or_sections, int):
        n = indices_or_sections
        base, extra = divmod(size, n)
        sizes = [base + 1] * extra + [base] * (n - extra)
        return split(input, sizes, d)
    bounds = [0] + [min(max(int(i), 0), size) for i in indices_or_sections] + [size]
    return tuple(narrow(input, d, a, max(0, b - a)) for a, b in zip(bounds, bounds[1:]))


# ---- as_strided: a view in storage coordinates -----------------------------------------------------
class AsStrided(Function):
    """Any (size, stride, offset) over the input's storage, as ``torch.as_strided``.

    Backward works in storage positions, so it is right for any input layout:
    each element of the view is matched to the input element at the same
    storage position, and gradients of views that overlap are added.
    """

    grad_fn_name = "AsStridedBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, size: Tuple[int, ...], stride: Tuple[int, ...], offset: int) -> Tensor:
        extent = offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1 if layout.numel(size) else 0
        if extent > x._storage.size():
            raise RuntimeError(
                f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset} require a "
                f"storage of at least {extent} elements, but the storage has {x._storage.size()}"
            )
        ctx.index = _input_index_of_view(x, size, stride, offset)
        ctx.in_shape = x.shape
        return x._view(size, stride, offset)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return IndexAddFlat.apply(g, ctx.index, ctx.in_shape), None, None, None


def _input_index_of_view(x: Tensor, size: Tuple[int, ...], stride: Tuple[int, ...], offset: int) -> Any:
    """For each view element, the row-major number of the input element at that storage position."""
    backend, xp = x._backend, x._backend.xp
    n_storage = x._storage.size()
    positions = xp.arange(n_storage)
    owner = xp.full(n_storage, -1, dtype=xp.int64)
    owner[backend.as_strided(positions, x.shape, x.stride(), x._offset).ravel()] = xp.arange(x.numel())
    index = owner[backend.as_strided(positions, size, stride, offset)]
    if bool((index < 0).any()):
        raise RuntimeError(
            "as_strided: the view reaches storage elements outside the input tensor; its gradient is undefined"
        )
    return index


class IndexAddFlat(Function):
    """Zeros of ``shape`` with ``g`` added at row-major positions ``index`` (adjoint of a gather)."""

    grad_fn_name = "IndexAddFlatBackward0"

    @staticmethod
    def forward(ctx: Any, g: Tensor, index: Any, shape: Tuple[int, ...]) -> Tensor:
        ctx.index = index
        xp = g._backend.xp
        out = xp.zeros(layout.numel(shape), dtype=g.dtype.np)
        xp.add.at(out, index.ravel(), g._data.ravel())
        return g._new(out.reshape(shape))

    @staticmethod
    def backward(ctx: Any, gg: Tensor) -> Any:
        return GatherFlat.apply(gg, ctx.index), None, None


class GatherFlat(Function):
    """``x.flatten()[index]``: read elements by row-major position."""

    grad_fn_name = "GatherFlatBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, index: Any) -> Tensor:
        ctx.index, ctx.in_shape = index, x.shape
        return x._new(x._data.reshape(-1)[index])

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return IndexAddFlat.apply(g, ctx.index, ctx.in_shape), None


def as_strided(
    input: Tensor, size: Sequence[int], stride: Sequence[int], storage_offset: Optional[int] = None
) -> Tensor:
    """View the input's storage with any size/stride/offset (advanced; can overlap)."""
    if len(size) != len(stride):
        raise RuntimeError(f"mismatch in length of strides and shape: {len(size)} vs {len(stride)}")
    if any(s < 0 for s in stride):
        raise RuntimeError(
            "as_strided: Negative strides are not supported at the moment, got strides: " + str(list(stride))
        )
    offset = input._offset if storage_offset is None else storage_offset
    return AsStrided.apply(input, tuple(size), tuple(stride), offset)


def _install() -> None:
    for name in (
        "view",
        "reshape",
        "view_as",
        "reshape_as",
        "flatten",
        "unflatten",
        "clone",
        "contiguous",
        "permute",
        "transpose",
        "swapaxes",
        "swapdims",
        "t",
        "movedim",
        "moveaxis",
        "squeeze",
        "unsqueeze",
        "expand",
        "expand_as",
        "broadcast_to",
        "narrow",
        "select",
        "diagonal",
        "unfold",
        "unbind",
        "split",
        "chunk",
        "tensor_split",
        "as_strided",
    ):
        setattr(Tensor, name, globals()[name])
    Tensor.T = property(_T)
    Tensor.mT = property(_mT)
    Tensor.H = property(_T)
    Tensor.mH = property(_mT)


_install()
