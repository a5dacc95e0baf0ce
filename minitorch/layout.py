"""Layout arithmetic: how an n-d index becomes a position in a flat buffer.

A tensor's elements live in one flat buffer (its storage). Three numbers per
tensor say where each element is:

* ``shape``   - the size of every dimension, e.g. ``(2, 3)``;
* ``strides`` - how many *elements* to skip in the buffer to move one step
  along each dimension, e.g. ``(3, 1)`` for a row-major 2x3 matrix;
* ``offset``  - where element ``(0, 0, ...)`` sits in the buffer.

Element ``idx`` is at ``offset + sum(i * s for i, s in zip(idx, strides))``.
Every view (transpose, slice, expand, ...) is just a new (shape, strides,
offset) over the same buffer; nothing here touches data. The functions are
pure and small so that this module can be read on its own.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

Shape = Tuple[int, ...]
Strides = Tuple[int, ...]


def contiguous_strides(shape: Sequence[int]) -> Strides:
    """Row-major (C order) strides: the last dimension moves fastest.

    >>> contiguous_strides((2, 3, 4))
    (12, 4, 1)
    """
    strides = []
    step = 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


def numel(shape: Sequence[int]) -> int:
    """Number of elements of a shape; ``()`` (a scalar) holds one."""
    n = 1
    for size in shape:
        n *= size
    return n


def index_to_position(index: Sequence[int], strides: Sequence[int], offset: int = 0) -> int:
    """Position in the flat buffer of the element at ``index``."""
    return offset + sum(i * s for i, s in zip(index, strides))


def position_to_index(ordinal: int, shape: Sequence[int]) -> Tuple[int, ...]:
    """Inverse of counting through ``shape`` in row-major order.

    ``ordinal`` is the element's number when the tensor is read in row-major
    order (0 .. numel-1); the result is its n-d index.
    """
    index = []
    for size in reversed(shape):
        index.append(ordinal % size)
        ordinal //= size
    return tuple(reversed(index))


def is_contiguous(shape: Sequence[int], strides: Sequence[int]) -> bool:
    """True when the strides are the row-major strides of the shape.

    Dimensions of size 1 may have any stride (they are never stepped along),
    and an empty tensor is always contiguous, as in PyTorch.
    """
    if numel(shape) == 0:
        return True
    expected = 1
    for size, stride in zip(reversed(shape), reversed(strides)):
        if size != 1 and stride != expected:
            return False
        expected *= size
    return True


def normalize_dim(dim: int, ndim: int) -> int:
    """Turn a possibly negative ``dim`` into 0..ndim-1, or raise IndexError.

    A 0-d tensor accepts dims -1 and 0, as in PyTorch.
    """
    bound = max(ndim, 1)
    if not -bound <= dim < bound:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-bound}, {bound - 1}], but got {dim})")
    return dim % bound


def broadcast_shapes(*shapes: Sequence[int]) -> Shape:
    """The shape two or more shapes broadcast to, following NumPy's rules.

    Shapes are aligned on the right; each pair of sizes must be equal or one of
    them must be 1. Missing leading dimensions count as 1.

    >>> broadcast_shapes((3, 1), (4,))
    (3, 4)
    """
    ndim = max((len(s) for s in shapes), default=0)
    result = [1] * ndim
    for shape in shapes:
        for i, size in enumerate(shape):
            j = ndim - len(shape) + i
            if result[j] == 1:
                result[j] = size
            elif size != 1 and size != result[j]:
                raise RuntimeError(
                    f"The size of tensor a ({result[j]}) must match the size of tensor b ({size}) "
                    f"at non-singleton dimension {i}; shapes {tuple(shapes[0])} and {tuple(shape)} "
                    "cannot be broadcast together"
                )
    return tuple(result)


def broadcast_strides(shape: Sequence[int], strides: Sequence[int], target: Sequence[int]) -> Strides:
    """Strides that show a tensor of ``shape`` as the bigger ``target`` shape.

    A broadcast dimension gets stride 0: every step along it reads the same
    element again. This is how ``expand`` works without copying.
    """
    lead = len(target) - len(shape)
    if lead < 0:
        raise RuntimeError(
            f"the number of sizes provided ({len(target)}) must be greater or equal to the "
            f"number of dimensions in the tensor ({len(shape)})"
        )
    out = [0] * lead
    for size, stride, want in zip(shape, strides, target[lead:]):
        if size == want:
            out.append(stride)
        elif size == 1:
            out.append(0)
        else:
            raise RuntimeError(
                f"The expanded size of the tensor ({want}) must match the existing size ({size}) "
                f"at non-singleton dimension {len(out)}.  Target sizes: {list(target)}.  "
                f"Tensor sizes: {list(shape)}"
            )
    return tuple(out)


def view_strides(shape: Sequence[int], strides: Sequence[int], new_shape: Sequence[int]) -> Optional[Strides]:
    """Strides for seeing ``shape``/``strides`` as ``new_shape`` without a copy.

    Returns None when no such strides exist (then ``view`` fails and
    ``reshape`` copies). The rule, as in PyTorch's ``computeStride``: walk
    the old dims from the right, grouping them into "chunks" that sit one
    after another in memory (``stride[d-1] == stride[d] * size[d]``). Each
    chunk can be split or merged freely, but the new dims must cover whole
    chunks; a new dim that straddles two chunks would need a copy.
    """
    if numel(shape) == 0:  # nothing to address: any strides do; keep them if the shape stays
        return tuple(strides) if tuple(shape) == tuple(new_shape) else contiguous_strides(new_shape)
    if len(shape) == 0:  # a scalar behaves like a one-element vector
        shape, strides = (1,), (1,)
    result = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk_base_stride = strides[-1]
    chunk_numel = 1
    view_numel = 1
    for d in range(len(shape) - 1, -1, -1):
        chunk_numel *= shape[d]
        chunk_ends = d == 0 or (shape[d - 1] != 1 and strides[d - 1] != chunk_numel * chunk_base_stride)
        if chunk_ends:
            while view_d >= 0 and (view_numel < chunk_numel or new_shape[view_d] == 1):
                result[view_d] = view_numel * chunk_base_stride
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != chunk_numel:
                return None
            if d > 0:
                chunk_base_stride = strides[d - 1]
                chunk_numel = 1
                view_numel = 1
    if view_d != -1:
        return None
    return tuple(result)


def infer_size(new_shape: Sequence[int], total: int) -> Shape:
    """Resolve a single ``-1`` in a requested shape so it holds ``total`` elements."""
    shape = list(new_shape)
    unknown = [i for i, n in enumerate(shape) if n == -1]
    if len(unknown) > 1:
        raise RuntimeError("only one dimension can be inferred")
    for n in shape:
        if n < -1:
            raise RuntimeError(f"invalid shape dimension {n}")
    known = numel(n for n in shape if n != -1)
    if unknown:
        if known == 0 or total % known != 0:
            raise RuntimeError(f"shape '{list(new_shape)}' is invalid for input of size {total}")
        shape[unknown[0]] = total // known
    elif known != total:
        raise RuntimeError(f"shape '{list(new_shape)}' is invalid for input of size {total}")
    return tuple(shape)


def has_overlap(shape: Sequence[int], strides: Sequence[int]) -> bool:
    """True when two different indices may reach one position (stride 0, overlapping windows).

    Sort the dims by stride; each dim's stride must step past everything the
    smaller dims can reach, else positions repeat. (Like PyTorch, this may
    answer True for exotic layouts that happen not to overlap.)
    """
    if numel(shape) == 0:
        return False
    extent = 1  # the inner dims reach positions 0 .. extent-1
    for stride, size in sorted((s, n) for n, s in zip(shape, strides) if n > 1):
        if stride < extent:
            return True
        extent += stride * (size - 1)
    return False
