"""Matrix products: matmul (``@``), mm, bmm, mv, dot, outer, addmm/baddbmm, einsum.

Every product is computed by the backend's ``matmul`` kernel (NumPy's on
the CPU; a GPU backend plugs in its own). For C = A @ B the gradients are
two more products: dL/dA = dL/dC @ B^T and dL/dB = A^T @ dL/dC. Batch dims
that were broadcast get their gradients summed back by the engine.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Sequence, Set, Tuple

from .. import dtypes as dt
from .. import layout
from ..autograd.function import Function
from ..device import check_same_device
from ..tensor import _LEGACY_NAMES, Tensor

# The C type names PyTorch prints in "same dtype" errors.
_C_NAMES = {
    "float32": "float",
    "float64": "double",
    "float16": "c10::Half",
    "int64": "long int",
    "int32": "int",
    "int16": "short int",
    "int8": "signed char",
    "uint8": "unsigned char",
    "bool": "bool",
}


def _scalar_name(d: dt.dtype) -> str:
    """PyTorch's ScalarType name: Float, Double, Long, ..."""
    return _LEGACY_NAMES[d.name][: -len("Tensor")]


def _check_operands(a: Any, b: Any, op: str) -> None:
    """Both are tensors on one device, with one dtype that the kernels support."""
    for name, x in (("input", a), ("other", b)):
        if not isinstance(x, Tensor):
            raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(x).__name__}")
    check_same_device(a, b)
    if a.dtype is not b.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {_C_NAMES[a.dtype.name]} != "
            f"{_C_NAMES[b.dtype.name]}; convert one first, e.g. b.to(a.dtype)"
        )
    if a.dtype is dt.bool:
        raise NotImplementedError(f"\"{op}\" not implemented for 'Bool'; convert to an integer or float dtype first")


def _shape_error(m: Tuple[int, ...], n: Tuple[int, ...]) -> RuntimeError:
    return RuntimeError(
        f"mat1 and mat2 shapes cannot be multiplied ({m[-2]}x{m[-1]} and {n[-2]}x{n[-1]}): "
        "the columns of the first must equal the rows of the second"
    )


# ---- the product Functions -----------------------------------------------------------------------
def _column_major(x: Tensor) -> bool:
    return x.ndim == 2 and x.shape[0] > 1 and x.shape[1] > 1 and x.stride() == (1, x.shape[0])


def _grad_left(a: Tensor, b: Tensor, g: Tensor) -> Tensor:
    """The gradient of ``a`` in ``a @ b``: ``g @ bᵀ``, laid out in memory the way ``a`` is.

    For a column-major ``a`` it is formed as ``(b @ gᵀ)ᵀ``: the same numbers,
    but it then reaches ``a``'s ``.grad`` without a transposing copy. This
    matters for ``F.linear``, which multiplies by ``weight.t()``; PyTorch's
    mm backward makes the same choice.
    """
    return matmul(b, g.mT).mT if _column_major(a) else matmul(g, b.mT)


def _grad_right(a: Tensor, b: Tensor, g: Tensor) -> Tensor:
    """The gradient of ``b`` in ``a @ b``: ``aᵀ @ g``, laid out the way ``b`` is (see ``_grad_left``)."""
    return matmul(g.mT, a).mT if _column_major(b) else matmul(a.mT, g)


class Matmul(Function):
    """A batched matrix product with broadcast batch dims (both inputs at least 2-D).

    PyTorch computes it as bmm followed by a view of the result, hence the
    node name. Dot, Mv, Mm and Bmm are the same forward with their own names.
    """

    grad_fn_name = "UnsafeViewBackward0"

    @staticmethod
    def forward(ctx: Any, a: Tensor, b: Tensor) -> Tensor:
        ctx.save_for_backward(a, b)
        return a._new(a._backend.xp.asarray(a._backend.matmul(a._data, b._data)))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        a, b = ctx.saved_tensors
        grad_a = _grad_left(a, b, g) if ctx.needs_input_grad[0] else None
        grad_b = _grad_right(a, b, g) if ctx.needs_input_grad[1] else None
        return grad_a, grad_b


class Mm(Matmul):
    grad_fn_name = "MmBackward0"


class Bmm(Matmul):
    grad_fn_name = "BmmBackward0"


class Mv(Matmul):
    grad_fn_name = "MvBackward0"

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        a, v = ctx.saved_tensors
        grad_a = g.unsqueeze(1) * v if ctx.needs_input_grad[0] else None  # the outer product g v^T
        grad_v = mv(a.mT, g) if ctx.needs_input_grad[1] else None
        return grad_a, grad_v


class Dot(Matmul):
    grad_fn_name = "DotBackward0"

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        a, b = ctx.saved_tensors
        return (g * b if ctx.needs_input_grad[0] else None), (g * a if ctx.needs_input_grad[1] else None)


# ---- the functional API -----------------------------------------------------------------------------
def dot(input: Tensor, other: Tensor) -> Tensor:
    """Inner product of two 1-D tensors of the same length (a 0-d result)."""
    if isinstance(input, Tensor) and isinstance(other, Tensor):
        if input.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
        if input.dtype is not other.dtype:
            raise RuntimeError(
                f"dot : expected both vectors to have same dtype, but found {_scalar_name(input.dtype)} "
                f"and {_scalar_name(other.dtype)}"
            )
        if input.shape[0] != other.shape[0]:
            n, m = input.shape[0], other.shape[0]
            raise RuntimeError(
                f"inconsistent tensor size, expected tensor [{n}] and src [{m}] to have the same number of "
                f"elements, but got {n} and {m} elements respectively"
            )
    _check_operands(input, other, "dot")
    return Dot.apply(input, other)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix (n, m) times vector (m,): a vector (n,)."""
    _check_operands(input, vec, "mv")
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input.ndim}, {vec.ndim}")
    n, m = input.shape
    if vec.shape[0] != m:
        raise RuntimeError(f"size mismatch, got input ({n}), mat ({n}x{m}), vec ({vec.shape[0]})")
    return Mv.apply(input, vec)


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Matrix product of two 2-D tensors, (n, m) @ (m, p) -> (n, p); no broadcasting."""
    _check_mm(input, mat2)
    return Mm.apply(input, mat2)


def _check_mm(input: Tensor, mat2: Tensor) -> None:
    _check_operands(input, mat2, "mm")
    if input.ndim != 2:
        raise RuntimeError(f"self must be a matrix, but got a {input.ndim}-D tensor; use matmul for other shapes")
    if mat2.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix, but got a {mat2.ndim}-D tensor; use matmul for other shapes")
    if input.shape[1] != mat2.shape[0]:
        raise _shape_error(input.shape, mat2.shape)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """A batch of matrix products, (b, n, m) @ (b, m, p) -> (b, n, p); no broadcasting."""
    _check_bmm(input, mat2)
    return Bmm.apply(input, mat2)


def _check_bmm(input: Tensor, mat2: Tensor) -> None:
    _check_operands(input, mat2, "bmm")
    for name, x in (("batch1", input), ("batch2", mat2)):
        if x.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor, but got a {x.ndim}-D tensor")
    expected = [input.shape[0], input.shape[2]]
    if list(mat2.shape[:2]) != expected:
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: {expected} but got: {list(mat2.shape[:2])}."
        )


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """The ``@`` operator: a matrix product that follows the operands' dims.

    1-D @ 1-D is a dot product; 2-D @ 2-D is ``mm``; a 1-D operand is
    treated as a matrix by prepending (left) or appending (right) a size-1
    dim, which is removed from the result; with more dims, the leading dims
    are batch dims and broadcast against each other.
    """
    _check_operands(input, other, "matmul")
    a, b = input, other
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D")
    if a.ndim == 1 and b.ndim == 1:
        return dot(a, b)
    if a.ndim == 2 and b.ndim == 1:
        return mv(a, b)
    if a.ndim == 2 and b.ndim == 2:
        return mm(a, b)
    if a.ndim == 1:
        return matmul(a.unsqueeze(0), b).squeeze(-2)
    if b.ndim == 1:
        return matmul(a, b.unsqueeze(-1)).squeeze(-1)
    if a.shape[-1] != b.shape[-2]:
        raise _shape_error(a.shape, b.shape)
    layout.broadcast_shapes(a.shape[:-2], b.shape[:-2])  # raises if the batch dims do not broadcast
    return Matmul.apply(a, b)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two 1-D tensors: out[i, j] = input[i] * vec2[j]."""
    for name, x in (("self", input), ("vec2", vec2)):
        if x.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {x.ndim}-D")
    return input.unsqueeze(1) * vec2


ger = outer


class Addmm(Function):
    """beta * input + alpha * (mat1 @ mat2), with ``input`` broadcast to the product's shape."""

    grad_fn_name = "AddmmBackward0"

    @staticmethod
    def forward(ctx: Any, input: Tensor, m1: Tensor, m2: Tensor, beta: Any, alpha: Any) -> Tensor:
        ctx.save_for_backward(m1, m2)
        ctx.beta, ctx.alpha = beta, alpha
        out = input._backend.matmul(m1._data, m2._data)
        if alpha != 1:
            out = out * alpha
        if beta != 0:  # beta == 0 ignores input entirely, so nan/inf there do not leak through
            out += input._data if beta == 1 else input._data * beta
        return input._new(out.astype(m1.dtype.np, copy=False))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        m1, m2 = ctx.saved_tensors
        ga = g * ctx.alpha if ctx.alpha != 1 else g
        grad_input = (g if ctx.beta == 1 else g * ctx.beta) if ctx.needs_input_grad[0] else None
        grad_m1 = _grad_left(m1, m2, ga) if ctx.needs_input_grad[1] else None
        grad_m2 = _grad_right(m1, m2, ga) if ctx.needs_input_grad[2] else None
        return grad_input, grad_m1, grad_m2, None, None


class Baddbmm(Addmm):
    grad_fn_name = "BaddbmmBackward0"


def _check_add_input(input: Tensor, m1: Tensor, out_shape: Tuple[int, ...]) -> None:
    if input.dtype is not m1.dtype:
        raise RuntimeError(
            f"self and mat2 must have the same dtype, but got {_scalar_name(input.dtype)} and {_scalar_name(m1.dtype)}"
        )
    layout.broadcast_strides(input.shape, input.stride(), out_shape)  # raises if input cannot expand


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)`` in one op (a linear layer's ``b + x @ W^T``)."""
    _check_mm(mat1, mat2)
    _check_add_input(input, mat1, (mat1.shape[0], mat2.shape[1]))
    return Addmm.apply(input, mat1, mat2, beta, alpha)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)``."""
    _check_bmm(batch1, batch2)
    _check_add_input(input, batch1, (batch1.shape[0], batch1.shape[1], batch2.shape[2]))
    return Baddbmm.apply(input, batch1, batch2, beta, alpha)


# ---- einsum --------------------------------------------------------------------------------------------
ELLIPSIS = "..."
Label = Any  # a letter, or an int (-k..-1) for the k-th dim from the right covered by "..."


def _subscripts(text: str, offset: int, output: bool) -> List[List[Any]]:
    """Split one side of the equation into a label list per operand; '...' stays one entry."""
    terms: List[List[Any]] = [[]]
    i = 0
    while i < len(text):
        c = text[i]
        who = "output" if output else f"operand {len(terms) - 1}"
        if c == "." and text[i : i + 3] == "..." and ELLIPSIS not in terms[-1]:
            terms[-1].append(ELLIPSIS)
            i += 3
            continue
        if c == ".":
            if ELLIPSIS in terms[-1]:
                raise RuntimeError(f"einsum(): found '.' for {who} for which an ellipsis was already found")
            raise RuntimeError(f"einsum(): found '.' for {who} that is not part of any ellipsis (...)")
        if c == "," and not output:
            terms.append([])
        elif c.isascii() and c.isalpha():
            terms[-1].append(c)
        elif c != " ":
            raise RuntimeError(
                f"einsum(): invalid subscript given at index {offset + i} in the equation string, subscripts must be in [a-zA-Z]"
            )
        i += 1
    return terms


def _parse(equation: str, operands: Sequence[Tensor]) -> Tuple[List[List[Label]], List[Label]]:
    """The labels of every operand's dims and of the output's dims, all checked."""
    lhs, arrow, rhs = equation.partition("->")
    inputs = _subscripts(lhs, 0, False)
    if len(inputs) < len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    if len(inputs) > len(operands):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    sizes: Dict[Label, int] = {}
    n_ellipsis = 0
    for k, (labels, x) in enumerate(zip(inputs, operands)):
        letters = [c for c in labels if c != ELLIPSIS]
        if ELLIPSIS not in labels and len(letters) != x.ndim:
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({len(letters)}) does not match the number "
                f"of dimensions ({x.ndim}) for operand {k} and no ellipsis was given"
            )
        if len(letters) > x.ndim:
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({len(letters)}) is more than the number "
                f"of dimensions ({x.ndim}) for operand {k}"
            )
        if ELLIPSIS in labels:  # the dims under "..." get labels -k..-1, aligned from the right
            at, covered = labels.index(ELLIPSIS), x.ndim - len(letters)
            labels[at : at + 1] = range(-covered, 0)
            n_ellipsis = max(n_ellipsis, covered)
        own: Dict[Label, int] = {}
        for label, n in zip(labels, x.shape):
            if own.setdefault(label, n) != n:
                raise RuntimeError(
                    f"einsum(): subscript {label} is repeated for operand {k} but the sizes don't match, {own[label]} != {n}"
                )
            seen = sizes.get(label, 1)
            if seen != 1 and n != 1 and seen != n:
                raise RuntimeError(
                    f"einsum(): subscript {label} has size {n} for operand {k} which does not broadcast with previously seen size {seen}"
                    if isinstance(label, str)
                    else f"einsum(): dimension covered by ellipsis in operand {k} has size {n} which does not broadcast with "
                    f"previously seen ellipsis with size {seen} for the respective dimension"
                )
            sizes[label] = n if seen == 1 else seen
    counts: Dict[Label, int] = {}
    for labels in inputs:
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
    if not arrow:  # implicit output: the "..." dims, then the letters used once, in alphabetical order
        return inputs, list(range(-n_ellipsis, 0)) + sorted(c for c in counts if isinstance(c, str) and counts[c] == 1)
    (out,) = _subscripts(rhs, len(lhs) + 2, True)
    if ELLIPSIS in out:
        at = out.index(ELLIPSIS)
        out[at : at + 1] = range(-n_ellipsis, 0)
    for label in out:
        if out.count(label) > 1:
            raise RuntimeError(f"einsum(): output subscript {label} appears more than once in the output")
        if label not in counts:
            raise RuntimeError(
                f"einsum(): output subscript {label} does not appear in the equation for any input operand"
            )
    return inputs, out


def _prepare(x: Tensor, labels: List[Label], keep: Set[Label]) -> Tuple[Tensor, List[Label]]:
    """Take the diagonal for each repeated label ('ii'), then sum the labels not in ``keep``."""
    labels = list(labels)
    while len(set(labels)) < len(labels):
        label = next(c for c in labels if labels.count(c) > 1)
        i = labels.index(label)
        j = labels.index(label, i + 1)
        x = x.diagonal(0, i, j)  # the diagonal becomes the last dim
        labels = [c for k, c in enumerate(labels) if k not in (i, j)] + [label]
    summed = [k for k, c in enumerate(labels) if c not in keep]
    if summed:
        x = x.sum(summed)
        labels = [c for c in labels if c in keep]
    return x, labels


def _contract(a: Tensor, la: List[Label], b: Tensor, lb: List[Label], keep: Set[Label]) -> Tuple[Tensor, List[Label]]:
    """Multiply two labelled tensors and sum the shared labels not in ``keep``, as one matmul.

    Labels fall into four groups: batch (in both, kept), summed (in both, not
    kept), left (only in a) and right (only in b). Arrange a as
    (batch, left, summed) and b as (batch, summed, right), merge each group
    into one dim, and a batched matmul does all the multiplying and summing.
    """
    batch = [c for c in la if c in lb and c in keep]
    summed = [c for c in la if c in lb and c not in keep]
    left = [c for c in la if c not in lb]
    right = [c for c in lb if c not in la]
    size = {c: n for c, n in zip(la, a.shape)}
    for c, n in zip(lb, b.shape):
        size[c] = max(size.get(c, 1), n)

    def arrange(x: Tensor, labels: List[Label], rows: List[Label], cols: List[Label]) -> Tensor:
        x = x.permute([labels.index(c) for c in batch + rows + cols])
        lead = x.shape[: len(batch)]
        x = x.expand(lead + tuple(size[c] for c in rows + cols))  # a size-1 summed label broadcasts
        return x.reshape(lead + (math.prod(size[c] for c in rows), math.prod(size[c] for c in cols)))

    a3 = arrange(a, la, left, summed)
    b3 = arrange(b, lb, summed, right)
    out = matmul(a3, b3)
    out = out.reshape(out.shape[: len(batch)] + tuple(size[c] for c in left + right))
    return out, batch + left + right


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation: a product of tensors described by index letters.

    ``'ij,jk->ik'`` is a matrix product: each letter names a dim, letters
    shared by operands are multiplied along, and letters missing from the
    output (after '->') are summed over. A letter repeated within one
    operand takes the diagonal (``'ii->i'``); ``'...'`` stands for any
    number of broadcast dims. Without '->', the output is '...' plus the
    letters used once, in alphabetical order.

    It is built only from differentiable ops: ``diagonal`` for repeated
    letters, ``sum`` for letters used by one operand alone, then one
    ``matmul`` per pair of operands (left to right) and a final ``permute``.
    So backward, and double backward, come from those ops' own rules.
    """
    if not isinstance(equation, str):
        raise TypeError(f"einsum(): argument 'equation' (position 1) must be str, not {type(equation).__name__}")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum(): must specify the equation string and at least one operand")
    for i, x in enumerate(operands):
        if not isinstance(x, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 1, but got {type(x).__name__}")
    inputs, output = _parse(equation, operands)
    wanted = set(output)
    for labels in inputs[1:]:
        wanted.update(labels)
    result, labels = _prepare(operands[0], inputs[0], wanted)
    for k in range(1, len(operands)):
        keep = set(output).union(*inputs[k + 1 :])
        others = keep.union(*inputs[:k])
        x, lx = _prepare(operands[k], inputs[k], others)
        result, labels = _contract(result, labels, x, lx, keep)
    return result.permute([labels.index(c) for c in output])


__all__ = ["matmul", "mm", "bmm", "mv", "dot", "outer", "ger", "addmm", "baddbmm", "einsum"]


def _matmul_op(self: Tensor, other: Any) -> Any:
    return matmul(self, other) if isinstance(other, Tensor) else NotImplemented


def _rmatmul_op(self: Tensor, other: Any) -> Any:
    return matmul(other, self) if isinstance(other, Tensor) else NotImplemented


def _install() -> None:
    for name in ("matmul", "mm", "bmm", "mv", "dot", "outer", "ger", "addmm", "baddbmm"):
        setattr(Tensor, name, globals()[name])
    Tensor.__matmul__ = _matmul_op
    Tensor.__rmatmul__ = _rmatmul_op


_install()
