"""Matrix products (matmul, mm, bmm, mv, dot, outer, addmm, baddbmm) and einsum against PyTorch."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitorch

from helpers import LAYOUTS, both, check, check_raises, grads_ok, leaf64, requires_torch, torch
from strategies import floats

pytestmark = requires_torch

DTYPES = st.sampled_from(["float32", "float64"])


@st.composite
def matmul_shapes(draw):
    """Operand shapes that matmul accepts: 1-D or batched, with broadcast batch dims (sizes 0..4)."""
    n, k, m = draw(st.integers(0, 4)), draw(st.integers(0, 4)), draw(st.integers(0, 4))
    batch = draw(st.lists(st.integers(0, 3), max_size=2))
    a_batch = [draw(st.sampled_from([b, 1])) for b in batch]
    b_batch = [draw(st.sampled_from([b, 1])) for b in batch]
    a_batch = a_batch[draw(st.integers(0, len(a_batch))) :]
    b_batch = b_batch[draw(st.integers(0, len(b_batch))) :]
    a = (k,) if draw(st.booleans()) else tuple(a_batch) + (n, k)
    b = (k,) if draw(st.booleans()) else tuple(b_batch) + (k, m)
    return a, b


@given(shapes=matmul_shapes(), dtype=DTYPES)
def test_matmul_matches_torch(shapes, dtype):
    a, b = floats(shapes[0], dtype), floats(shapes[1], dtype, seed=1)
    check(*both(lambda m, x, y: m.matmul(x, y)), a, b, layouts=LAYOUTS)
    check(lambda x, y: x @ y, None, a, b)


@pytest.mark.parametrize("dtype", ["int64", "int32", "float16"])
def test_matmul_other_dtypes(dtype):
    a = (np.arange(6).reshape(2, 3) % 4).astype(dtype)
    b = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    check(lambda x, y: x @ y, None, a, b, grad=False)
    check(lambda x, y: x.matmul(y[:, 0]), None, a, b, grad=False)
    check(lambda x, y: x.unsqueeze(0).expand(2, 2, 3) @ y, None, a, b, grad=False)


def test_grad_fn_names_follow_torch():
    v, m, b3 = leaf64(3), leaf64(2, 3), leaf64(2, 3, 3)
    assert (v @ v).grad_fn.name() == "DotBackward0"
    assert (m @ v).grad_fn.name() == "MvBackward0"
    assert (m @ m.t()).grad_fn.name() == "MmBackward0"
    assert (b3 @ b3).grad_fn.name() == "UnsafeViewBackward0"
    assert minitorch.bmm(b3, b3).grad_fn.name() == "BmmBackward0"
    assert minitorch.addmm(v, m, b3[0]).grad_fn.name() == "AddmmBackward0"
    assert minitorch.baddbmm(v, b3, b3).grad_fn.name() == "BaddbmmBackward0"
    assert minitorch.outer(v, v).grad_fn.name() == "MulBackward0"


def test_matmul_gradcheck_every_case():
    for sa, sb in [
        ((3,), (3,)),
        ((2, 3), (3,)),
        ((3,), (3, 4)),
        ((2, 3), (3, 4)),
        ((2, 2, 3), (2, 3, 4)),
        ((2, 1, 2, 3), (3, 3, 2)),
        ((3,), (2, 3, 4)),
        ((2, 2, 3), (3,)),
    ]:
        grads_ok(lambda x, y: x @ y, leaf64(*sa), leaf64(*sb, seed=1))


def test_rmatmul_and_non_tensor_operand():
    x = minitorch.ones(2, 2)
    assert minitorch.Tensor.__rmatmul__(x, minitorch.eye(2) * 3).tolist() == [[3.0, 3.0], [3.0, 3.0]]
    with pytest.raises(TypeError):
        x @ 3


def test_matmul_errors():
    m, t = minitorch, torch
    cases = [
        (lambda k: k.randn(2, 3) @ k.randn(4, 5), "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"),
        (lambda k: k.randn(2, 2, 3) @ k.randn(2, 4, 5), "cannot be multiplied"),
        (lambda k: k.randn(2, 2, 3) @ k.randn(3, 3, 5), "must match"),
        (lambda k: k.randn(3) @ k.randn(4), "inconsistent tensor size"),
        (lambda k: k.randn(2, 3) @ k.randn(4), "size mismatch"),
        (lambda k: k.randn(3) @ k.randn(4, 5), "mat1 and mat2 shapes cannot be multiplied (1x3 and 4x5)"),
        (lambda k: k.matmul(k.randn(()), k.randn(3)), "at least 1D"),
        (
            lambda k: k.randn(2, 3) @ k.randn(3, 4).double(),
            "expected m1 and m2 to have the same dtype, but got: float != double",
        ),
        (lambda k: k.randn(2, 3, 3) @ k.randn(3, 4).double(), "same dtype"),
        (lambda k: k.ones(2, 3, dtype=k.int64) @ k.ones(3, 4), "same dtype"),
        (lambda k: k.ones(2, 3, dtype=k.bool) @ k.ones(3, 4, dtype=k.bool), "Bool"),
        (lambda k: k.mm(k.randn(3), k.randn(3, 4)), "self must be a matrix"),
        (lambda k: k.mm(k.randn(2, 3), k.randn(3)), "mat2 must be a matrix"),
        (lambda k: k.bmm(k.randn(2, 3), k.randn(2, 3, 4)), "batch1 must be a 3D tensor"),
        (lambda k: k.bmm(k.randn(2, 2, 3), k.randn(2, 3)), "batch2 must be a 3D tensor"),
        (
            lambda k: k.bmm(k.randn(2, 2, 3), k.randn(3, 3, 4)),
            "Expected size for first two dimensions of batch2 tensor",
        ),
        (
            lambda k: k.bmm(k.randn(2, 2, 3), k.randn(2, 4, 4)),
            "Expected size for first two dimensions of batch2 tensor",
        ),
        (lambda k: k.mv(k.randn(3), k.randn(3)), "vector + matrix @ vector expected"),
        (lambda k: k.mv(k.randn(2, 3), k.randn(4)), "size mismatch, got input (2), mat (2x3), vec (4)"),
        (lambda k: k.dot(k.randn(2, 3), k.randn(3)), "1D tensors expected, but got 2D and 1D tensors"),
        (
            lambda k: k.dot(k.randn(3), k.randn(3).double()),
            "expected both vectors to have same dtype, but found Float and Double",
        ),
        (lambda k: k.outer(k.randn(3), k.randn(2, 2)), "outer: Expected 1-D argument vec2, but got 2-D"),
        (lambda k: k.addmm(k.randn(3, 3), k.randn(2, 3), k.randn(3, 3)), "expanded size"),
        (lambda k: k.addmm(k.randn(3).double(), k.randn(2, 3), k.randn(3, 3)), "same dtype"),
    ]
    for fn, match in cases:
        check_raises(lambda f=fn: f(m), lambda f=fn: f(t), match=match)


@given(n=st.integers(0, 4), k=st.integers(0, 4), p=st.integers(0, 4), dtype=DTYPES)
def test_mm_mv_dot_outer_match_torch(n, k, p, dtype):
    a, b, v, w = (
        floats((n, k), dtype),
        floats((k, p), dtype, seed=1),
        floats((k,), dtype, seed=2),
        floats((n,), dtype, seed=3),
    )
    check(*both(lambda m, x, y: m.mm(x, y)), a, b, layouts=LAYOUTS)
    check(*both(lambda m, x, y: m.mv(x, y)), a, v, layouts=LAYOUTS)
    check(*both(lambda m, x, y: m.dot(x, y)), v, v[::-1].copy(), layouts=LAYOUTS)
    check(*both(lambda m, x, y: m.outer(x, y)), w, v, layouts=LAYOUTS)
    check(lambda x, y: x.ger(y), lambda x, y: torch.outer(x, y), w, v)


def test_bmm_and_products_gradcheck():
    grads_ok(lambda x, y: minitorch.bmm(x, y), leaf64(2, 2, 3), leaf64(2, 3, 4, seed=1))
    grads_ok(lambda x, y: minitorch.mv(x, y), leaf64(2, 3), leaf64(3, seed=1))
    grads_ok(lambda x, y: minitorch.dot(x, y), leaf64(3), leaf64(3, seed=1))
    grads_ok(lambda x, y: minitorch.outer(x, y), leaf64(3), leaf64(2, seed=1))
    check(*both(lambda m, x, y: m.bmm(x, y)), floats((2, 2, 3)), floats((2, 3, 4), seed=1), layouts=LAYOUTS)


def test_outer_promotes_like_torch():
    check(*both(lambda m, x, y: m.outer(x, y)), floats((3,), "float32"), np.arange(2))


@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0), (0, 1), (0, -1.5)])
@pytest.mark.parametrize("in_shape", [(3,), (2, 1), (2, 3), ()])
def test_addmm_matches_torch(beta, alpha, in_shape):
    check(
        *both(lambda m, i, x, y: m.addmm(i, x, y, beta=beta, alpha=alpha)),
        floats(in_shape),
        floats((2, 4), seed=1),
        floats((4, 3), seed=2),
        layouts=LAYOUTS,
    )
    check(
        *both(lambda m, i, x, y: m.baddbmm(i, x, y, beta=beta, alpha=alpha)),
        floats(in_shape),
        floats((2, 2, 4), seed=1),
        floats((2, 4, 3), seed=2),
    )
    grads_ok(
        lambda i, x, y: minitorch.addmm(i, x, y, beta=beta, alpha=alpha),
        leaf64(*in_shape),
        leaf64(2, 4, seed=1),
        leaf64(4, 3, seed=2),
    )
    grads_ok(
        lambda i, x, y: minitorch.baddbmm(i, x, y, beta=beta, alpha=alpha),
        leaf64(*in_shape),
        leaf64(2, 2, 4, seed=1),
        leaf64(2, 4, 3, seed=2),
    )


def test_addmm_beta_zero_ignores_nan():
    nan = minitorch.full((3,), float("nan"))
    out = minitorch.addmm(nan, minitorch.ones(2, 4), minitorch.ones(4, 3), beta=0)
    assert out.tolist() == [[4.0] * 3] * 2
    assert (
        minitorch.Tensor.addmm(nan, minitorch.ones(2, 4), minitorch.ones(4, 3), beta=0, alpha=0.5).tolist()
        == [[2.0] * 3] * 2
    )


# ---- einsum -------------------------------------------------------------------------------------------
EINSUM_CASES = [
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk->ki", [(2, 3), (3, 4)]),
    ("ii", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("ij->ji", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("i", [(3,)]),
    ("i->", [(4,)]),
    ("i,i->", [(3,), (3,)]),
    ("i,i->i", [(3,), (3,)]),
    ("i,j->ij", [(2,), (3,)]),
    ("i,j", [(2,), (3,)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]),
    ("ij,ij", [(2, 3), (2, 3)]),
    ("ij,j->i", [(2, 3), (3,)]),
    ("Ba,aB", [(2, 3), (3, 2)]),
    ("bA", [(2, 3)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 2, 5)]),
    ("...ij,...jk->...ik", [(5, 2, 3), (3, 4)]),
    ("...ij,...jk", [(2, 1, 2, 3), (4, 3, 2)]),
    ("...ij->ij", [(5, 2, 3)]),
    ("i...->...", [(5, 2, 3)]),
    ("...ii->...i", [(4, 3, 3)]),
    ("...i,...i->...", [(4, 3), (2, 1, 3)]),
    ("a...,...b->...ab", [(2, 3, 1), (4, 5)]),
    ("...", [(2, 3)]),
    ("...->...", [()]),
    ("iji->j", [(3, 2, 3)]),
    ("iij->j", [(2, 2, 4)]),
    ("ii,jj->ij", [(2, 2), (3, 3)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("abc,cd,bd->ad", [(2, 3, 4), (4, 5), (3, 5)]),
    ("i,i,i->", [(3,), (3,), (3,)]),
    ("ij,kl->ijkl", [(2, 3), (4, 1)]),
    ("ij,jk->ik", [(2, 1), (4, 4)]),
    ("i,i->i", [(2,), (1,)]),
    ("ij,jk", [(2, 0), (0, 4)]),
    ("ij->", [(0, 3)]),
    ("ij,jk->ik", [(0, 3), (3, 2)]),
    ("", [()]),
    ("->", [()]),
    ("i,->i", [(3,), ()]),
    (" i j , j k -> i k ", [(2, 3), (3, 4)]),
]


@pytest.mark.parametrize("equation,shapes", EINSUM_CASES, ids=[e for e, _ in EINSUM_CASES])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_einsum_matches_torch(equation, shapes, dtype):
    arrays = [floats(s, dtype, seed=i) for i, s in enumerate(shapes)]
    check(*both(lambda m, *xs: m.einsum(equation, *xs)), *arrays, layouts=LAYOUTS)
    check(*both(lambda m, *xs: m.einsum(equation, list(xs))), *arrays)


@pytest.mark.parametrize(
    "equation,shapes", [c for c in EINSUM_CASES if all(0 not in s for s in c[1])][::3], ids=lambda v: str(v)
)
def test_einsum_gradcheck(equation, shapes):
    grads_ok(lambda *xs: minitorch.einsum(equation, *xs), *[leaf64(*s, seed=i) for i, s in enumerate(shapes)])


def test_einsum_double_backward_of_repeated_index_and_batch():
    grads_ok(lambda x, y: minitorch.einsum("bii,bij->bj", x, y), leaf64(2, 3, 3), leaf64(2, 3, 2, seed=1))


def test_einsum_integer_dtypes():
    a, b = np.arange(6).reshape(2, 3).astype("int32"), np.arange(3).astype("int32")
    check(*both(lambda m, x: m.einsum("ij->", x)), a)
    check(*both(lambda m, x: m.einsum("ij->i", x)), a)
    check(*both(lambda m, x, y: m.einsum("ij,j->i", x, y)), a, b)


def test_einsum_errors():
    cases = [
        ("ij,jk->ik", [(2, 3)], "fewer operands"),
        ("ij->i", [(2, 3), (2,)], "more operands"),
        ("ij->ik", [(2, 3)], "output subscript k does not appear"),
        ("ij->ii", [(2, 3)], "output subscript i appears more than once"),
        ("ijk->i", [(2, 3)], "number of subscripts in the equation (3) does not match the number of dimensions (2)"),
        ("i1->i", [(2, 3)], "invalid subscript given at index 1"),
        ("ij->j->i", [(2, 3)], "invalid subscript given at index 5"),
        ("ij-i", [(2, 3)], "invalid subscript given at index 2"),
        ("i.j->i", [(2, 3)], "not part of any ellipsis"),
        ("i......->i", [(2, 3)], "ellipsis was already found"),
        ("ij->i.", [(2, 3)], "for output that is not part of any ellipsis"),
        ("ii->i", [(3, 2)], "subscript i is repeated for operand 0 but the sizes don't match, 3 != 2"),
        (
            "ij,jk->ik",
            [(2, 3), (4, 4)],
            "subscript j has size 4 for operand 1 which does not broadcast with previously seen size 3",
        ),
        ("...i,...i->...", [(4, 3), (2, 2, 3)], "does not broadcast"),
        ("i->", [()], "does not match the number of dimensions (0)"),
    ]
    for equation, shapes, match in cases:
        m_ops = [minitorch.zeros(s) for s in shapes]
        t_ops = [torch.zeros(s) for s in shapes]
        check_raises(
            lambda e=equation, o=m_ops: minitorch.einsum(e, *o),
            lambda e=equation, o=t_ops: torch.einsum(e, *o),
            match=match,
        )
    check_raises(lambda: minitorch.einsum("ij"), lambda: torch.einsum("ij"), match="at least one operand")
    check_raises(
        lambda: minitorch.einsum(1, minitorch.zeros(2)), lambda: torch.einsum(1, torch.zeros(2)), match="must be str"
    )
    check_raises(lambda: minitorch.einsum("i", 3), lambda: torch.einsum("i", 3), match="expected Tensor")
    check_raises(
        lambda: minitorch.einsum("ij,jk", minitorch.zeros(2, 3), minitorch.zeros(3, 4).double()),
        lambda: torch.einsum("ij,jk", torch.zeros(2, 3), torch.zeros(3, 4).double()),
        match="same dtype",
    )


@given(
    n_ops=st.integers(1, 3),
    data=st.data(),
)
def test_einsum_random_equations_match_torch(n_ops, data):
    """Random equations over letters a-d (repeats, sums and broadcasting included) agree with torch."""
    size = {c: data.draw(st.integers(1, 3), label=c) for c in "abcd"}
    terms = [data.draw(st.lists(st.sampled_from("abcd"), max_size=3)) for _ in range(n_ops)]
    used = sorted({c for t in terms for c in t})
    out = data.draw(st.lists(st.sampled_from(used), unique=True)) if used else []
    equation = ",".join("".join(t) for t in terms) + "->" + "".join(out)
    arrays = [floats(tuple(size[c] for c in t), seed=i) for i, t in enumerate(terms)]
    check(*both(lambda m, *xs: m.einsum(equation, *xs)), *arrays)


def test_gradient_of_a_transposed_weight_keeps_the_weight_layout():
    """F.linear multiplies by weight.t(); the weight's gradient still comes out row-major (no transposing copy)."""
    w = minitorch.randn(5, 3, requires_grad=True)
    x = minitorch.randn(4, 3, requires_grad=True)
    (x @ w.t()).sum().backward()
    assert w.grad.is_contiguous() and x.grad.is_contiguous()
    assert minitorch.allclose(w.grad, minitorch.ones(4, 5).t() @ x)
    b = minitorch.randn(5, 3).t().detach().requires_grad_()  # a column-major leaf gets a column-major gradient
    (x.detach() @ b).sum().backward()
    assert b.grad.stride() == (1, 3) or b.grad.is_contiguous()
