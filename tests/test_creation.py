"""Factories (minitorch/ops/creation.py) against PyTorch: dtypes, shapes, values, memory sharing, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minitorch

from helpers import check_raises, requires_torch, torch

pytestmark = requires_torch

NP_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
sizes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)


def assert_same(mt: minitorch.Tensor, th, exact: bool = True, ulps: int = 2) -> None:
    """Same dtype, shape and values (``exact=False``: equal up to ``ulps`` roundings in the dtype)."""
    assert mt.dtype.name == str(th.dtype).replace("torch.", ""), f"dtype {mt.dtype} != torch's {th.dtype}"
    assert tuple(mt.shape) == tuple(th.shape)
    if exact or not mt.dtype.is_floating_point:
        np.testing.assert_array_equal(mt.numpy(), th.numpy())
    else:
        eps = float(np.finfo(mt.dtype.np).eps)
        np.testing.assert_allclose(
            mt.numpy().astype(np.float64), th.numpy().astype(np.float64), rtol=ulps * eps, atol=ulps * eps
        )


def both(fn, exact: bool = True, ulps: int = 2) -> None:
    """Run ``fn(minitorch)`` and ``fn(torch)``; compare the tensors."""
    assert_same(fn(minitorch), fn(torch), exact, ulps)


# ---- tensor(): dtype inference --------------------------------------------------------------
PY_DATA = [
    [1, 2],
    [1.0, 2],
    [True, False],
    [True, 1],
    [True, 1.5],
    [[1, 2], [3, 4]],
    [[1.5], [2.5]],
    3,
    3.5,
    True,
    (1, 2),
    [[[]]],
    [],
    [[], []],
]


@pytest.mark.parametrize("data", PY_DATA, ids=repr)
@pytest.mark.parametrize("default", ["float32", "float64"])
def test_tensor_infers_dtype_from_python_data(data, default):
    minitorch.set_default_dtype(getattr(minitorch, default))
    torch.set_default_dtype(getattr(torch, default))
    try:
        both(lambda L: L.tensor(data))
    finally:
        torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize(
    "make",
    [
        lambda: np.float64(1.5),
        lambda: np.int32(3),
        lambda: np.bool_(True),
        lambda: [np.float64(1.5), np.float64(2)],
        lambda: [np.int32(1), np.int32(2)],
        lambda: [np.float32(1.5), 2],
    ],
    ids=["f64", "i32", "bool", "[f64]", "[i32]", "[f32, int]"],
)
def test_tensor_keeps_numpy_scalar_dtypes(make):
    both(lambda L: L.tensor(make()))


def test_tensor_from_list_of_tensors_keeps_their_dtype():
    both(lambda L: L.tensor([L.tensor(1.0, dtype=L.float64), L.tensor(2.0, dtype=L.float64)]))
    both(lambda L: L.tensor([L.tensor(1, dtype=L.int32), L.tensor(2, dtype=L.int32)]))


@given(st.sampled_from(NP_DTYPES), sizes, st.data())
def test_tensor_from_numpy_array_keeps_dtype_and_copies(dtype, shape, data):
    array = data.draw(hnp.arrays(dtype, shape))
    t = minitorch.tensor(array)
    assert_same(t, torch.tensor(array))
    if array.size:
        before = array.copy()
        array.reshape(-1)[0] = array.reshape(-1)[-1] if array.size > 1 else 0
        np.testing.assert_array_equal(t.numpy(), before)  # tensor() copies


@pytest.mark.parametrize("dtype", NP_DTYPES)
def test_tensor_with_explicit_dtype(dtype):
    data = [[0.0, 1.7], [-1.2, 3.0]] if dtype != "uint8" else [[0.0, 1.7], [1.2, 3.0]]
    both(lambda L: L.tensor(data, dtype=getattr(L, dtype)))
    both(lambda L: L.tensor(np.array(data), dtype=getattr(L, dtype)))


def test_tensor_python_type_as_dtype():
    for py in (float, int, bool):
        both(lambda L: L.tensor([1, 0], dtype=py))
    minitorch.set_default_dtype(minitorch.float64)  # `float` means float64, whatever the default
    both(lambda L: L.tensor([1], dtype=float))


def test_tensor_of_tensor_copies():
    src = minitorch.tensor([1, 2], dtype=minitorch.int16)
    t = minitorch.tensor(src)
    assert t.dtype is minitorch.int16 and t.data_ptr() != src.data_ptr()


def test_tensor_bad_data_raises_like_torch():
    check_raises(lambda: minitorch.tensor([[1, 2], [3]]), lambda: torch.tensor([[1, 2], [3]]))
    check_raises(lambda: minitorch.tensor("a"), lambda: torch.tensor("a"), match="str")
    check_raises(lambda: minitorch.tensor(None), lambda: torch.tensor(None), match="NoneType")
    check_raises(lambda: minitorch.tensor({1: 2}), lambda: torch.tensor({1: 2}), match="dict")
    check_raises(lambda: minitorch.tensor(2**63), lambda: torch.tensor(2**63), match="overflow")


def test_requires_grad_needs_a_floating_dtype():
    check_raises(
        lambda: minitorch.tensor([1, 2], requires_grad=True),
        lambda: torch.tensor([1, 2], requires_grad=True),
        "floating",
    )
    check_raises(
        lambda: minitorch.zeros(2, dtype=minitorch.int64, requires_grad=True),
        lambda: torch.zeros(2, dtype=torch.int64, requires_grad=True),
    )
    check_raises(lambda: minitorch.arange(3, requires_grad=True), lambda: torch.arange(3, requires_grad=True))
    check_raises(
        lambda: minitorch.ones(2, dtype=minitorch.bool).requires_grad_(),
        lambda: torch.ones(2, dtype=torch.bool).requires_grad_(),
    )
    t = minitorch.tensor([1.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf


# ---- sharing memory with NumPy -------------------------------------------------------------
def numpy_layouts():
    base = np.arange(24.0).reshape(4, 6)
    return {
        "contiguous": base,
        "step": base[:, ::2],
        "transposed": base.T,
        "offset": base[1:, 2:],
        "3d-permuted": np.arange(24, dtype=np.int32).reshape(2, 3, 4).transpose(2, 0, 1),
        "0d": np.array(5.0),
        "empty": np.zeros((0, 3), dtype=np.float32),
    }


@pytest.mark.parametrize("make", ["from_numpy", "as_tensor", "asarray"])
@pytest.mark.parametrize("kind", list(numpy_layouts()))
def test_from_numpy_shares_memory_both_ways(make, kind):
    array = numpy_layouts()[kind]
    t = getattr(minitorch, make)(array)
    th = getattr(torch, make)(array)
    assert_same(t, th)
    if array.size:  # (NumPy gives empty arrays zero strides; an empty tensor's strides never matter)
        assert t.stride() == th.stride()
        idx = (0,) * array.ndim
        array[idx] = 77
        assert np.asarray(t.tolist())[idx] == 77
        t.zero_()  # a write through the tensor shows in the array
        assert not array.any()


def test_numpy_shares_memory_and_refuses_requires_grad():
    t = minitorch.arange(6.0).reshape(2, 3)
    n = t.numpy()
    n[1, 2] = -1
    assert t.tolist()[1][2] == -1
    assert np.shares_memory(t.t().numpy(), n)
    check_raises(
        lambda: minitorch.ones(2, requires_grad=True).numpy(),
        lambda: torch.ones(2, requires_grad=True).numpy(),
        "detach",
    )
    assert minitorch.ones(2, requires_grad=True).numpy(force=True).tolist() == [1.0, 1.0]
    assert minitorch.ones(2, requires_grad=True).detach().numpy().tolist() == [1.0, 1.0]


def test_negative_strides_are_refused_like_torch():
    flipped = np.arange(6.0)[::-1]
    check_raises(lambda: minitorch.from_numpy(flipped), lambda: torch.from_numpy(flipped), "copy")
    check_raises(lambda: minitorch.as_tensor(flipped), lambda: torch.as_tensor(flipped), "copy")


def test_from_numpy_errors_like_torch():
    check_raises(lambda: minitorch.from_numpy([1, 2]), lambda: torch.from_numpy([1, 2]), "np.ndarray")
    objects = np.array([1, "a"], dtype=object)
    check_raises(lambda: minitorch.from_numpy(objects), lambda: torch.from_numpy(objects), "supported types")


def test_as_tensor_converts_only_when_asked():
    t = minitorch.tensor([1.0, 2.0])
    assert minitorch.as_tensor(t) is t
    assert minitorch.as_tensor(t, dtype=minitorch.float32) is t
    both(lambda L: L.as_tensor(L.tensor([1.5, 2.5]), dtype=L.int32))
    both(lambda L: L.as_tensor([1.5], dtype=L.float64))
    array = np.arange(3.0)
    converted = minitorch.as_tensor(array, dtype=minitorch.float32)
    array[0] = 5
    assert converted.tolist() == [0.0, 1.0, 2.0]  # a dtype change copies


def test_dlpack_exchange_with_numpy():
    t = minitorch.arange(6.0).reshape(2, 3).t()
    n = np.from_dlpack(t)
    assert n.shape == (3, 2) and n.strides == tuple(t.element_size() * s for s in t.stride())
    n[0, 1] = 42  # shared memory
    assert t.tolist()[0][1] == 42
    array = np.arange(12, dtype=np.int16).reshape(3, 4)[:, 1::2]
    m = minitorch.from_dlpack(array)
    assert m.dtype is minitorch.int16 and m.stride() == (4, 2) and m.tolist() == array.tolist()
    array[2, 1] = -5
    assert m.tolist()[2][1] == -5
    assert minitorch.from_dlpack(t) is t
    check_raises(
        lambda: np.from_dlpack(minitorch.ones(2, requires_grad=True)),
        lambda: np.from_dlpack(torch.ones(2, requires_grad=True)),
    )
    assert torch.from_dlpack(minitorch.arange(3)).tolist() == [0, 1, 2]


# ---- tolist / item -----------------------------------------------------------------------------
@given(st.sampled_from(NP_DTYPES), sizes, st.data())
def test_tolist_and_item_match_torch(dtype, shape, data):
    array = data.draw(hnp.arrays(dtype, shape))
    t, th = minitorch.tensor(array), torch.tensor(array)
    mt_list, th_list = t.tolist(), th.tolist()
    assert repr(mt_list) == repr(th_list)  # same nesting, same Python types
    if array.size == 1:
        assert repr(t.item()) == repr(th.item())
        assert type(t.item()) is type(th.item())
    else:
        check_raises(t.item, th.item, "elements")


# ---- filled tensors -------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["zeros", "ones", "empty"])
@given(sizes, st.sampled_from([None] + NP_DTYPES))
def test_zeros_ones_empty(name, shape, dtype):
    def make(L):
        d = {} if dtype is None else {"dtype": getattr(L, dtype)}
        made = [getattr(L, name)(shape, **d), getattr(L, name)(list(shape), **d)]
        return made + ([getattr(L, name)(*shape, **d)] if shape else [])  # zeros() without a size is an error

    for mt_t, th_t in zip(make(minitorch), make(torch)):
        if name == "empty":  # values are unspecified; compare the rest
            assert mt_t.dtype.name == str(th_t.dtype)[6:] and tuple(mt_t.shape) == tuple(th_t.shape)
        else:
            assert_same(mt_t, th_t)


@pytest.mark.parametrize("fill", [3, 2.5, True, -7, 1e20])
@pytest.mark.parametrize("dtype", [None, "float64", "int32", "bool"])
def test_full_dtype_follows_fill_value(fill, dtype):
    if dtype == "int32" and fill == 1e20:
        return  # out of int32's range: undefined in both
    kw = lambda L: {} if dtype is None else {"dtype": getattr(L, dtype)}  # noqa: E731
    both(lambda L: L.full((2, 3), fill, **kw(L)))
    both(lambda L: L.full([2], L.tensor(fill), **kw(L)))
    both(lambda L: L.full((), fill, **kw(L)))


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"])
@pytest.mark.parametrize("dtype", ["float64", "float16", "int32"])
def test_like_factories_copy_shape_dtype_device(name, dtype):
    def make(L, **kw):
        return getattr(L, name)(L.ones(2, 3, dtype=getattr(L, dtype)).t(), **kw)

    if name.startswith("rand") and dtype == "int32":
        check_raises(lambda: make(minitorch), lambda: make(torch))
        return
    mt_t, th_t = make(minitorch), make(torch)
    assert mt_t.dtype.name == dtype and tuple(mt_t.shape) == tuple(th_t.shape) == (3, 2)
    assert mt_t.device == minitorch.device("cpu")
    if name in ("zeros_like", "ones_like"):
        assert_same(mt_t, th_t)
    mt_t = make(minitorch, dtype=minitorch.float32, requires_grad=True)
    assert mt_t.dtype is minitorch.float32 and mt_t.requires_grad and mt_t.is_leaf


def test_full_like_and_randint_like():
    both(lambda L: L.full_like(L.zeros(2, dtype=L.int32), 2.7))
    both(lambda L: L.full_like(L.zeros(2), 2, dtype=L.float64))
    t = minitorch.randint_like(minitorch.zeros(50, dtype=minitorch.int16), 3, 6)
    assert t.dtype is minitorch.int16 and 3 <= t.numpy().min() and t.numpy().max() < 6
    t = minitorch.randint_like(minitorch.zeros(50), 4)
    assert t.dtype is minitorch.float32 and set(t.tolist()) <= {0.0, 1.0, 2.0, 3.0}


@pytest.mark.parametrize("n, m", [(0, None), (1, None), (3, None), (2, 4), (4, 2), (3, 0)])
@pytest.mark.parametrize("dtype", [None, "int64", "bool", "float64"])
def test_eye(n, m, dtype):
    kw = lambda L: {} if dtype is None else {"dtype": getattr(L, dtype)}  # noqa: E731
    both(lambda L: L.eye(n, **kw(L)) if m is None else L.eye(n, m, **kw(L)))


# ---- ranges ---------------------------------------------------------------------------------
ARANGE_ARGS = [
    (5,),
    (0,),
    (2, 7),
    (7, 2, -1),
    (0, 1, 0.1),
    (-1, 1, 0.1),
    (1, 2.5, 0.5),
    (5, 0, -1.5),
    (3, 3),
    (0.5,),
    (2.5, 7),
    (0, 10, 3),
    (-3, 4, 2),
    (1e-3, 2e-3, 1e-4),
]


@pytest.mark.parametrize("args", ARANGE_ARGS, ids=repr)
@pytest.mark.parametrize("dtype", [None, "float64", "int32", "float16"])
def test_arange_matches_torch(args, dtype):
    if dtype in ("int32",) and any(isinstance(a, float) for a in args):
        return  # torch truncates the step first: covered by its own test below
    kw = lambda L: {} if dtype is None else {"dtype": getattr(L, dtype)}  # noqa: E731
    # Same length and dtype; float values agree to rounding (PyTorch's SIMD kernel rounds in float32).
    both(lambda L: L.arange(*args, **kw(L)), exact=False)


@given(st.integers(-20, 20), st.integers(-20, 20), st.sampled_from([1, 2, 3, -1, -2, 0.25, 0.3, -0.7, 1.5]))
def test_arange_length_rule(start, end, step):
    """Length is ceil((end - start) / step); a step pointing away from end is an error."""
    if (end - start) * step < 0:
        check_raises(lambda: minitorch.arange(start, end, step), lambda: torch.arange(start, end, step), "step")
        return
    both(lambda L: L.arange(start, end, step), exact=False)
    assert len(minitorch.arange(start, end, step)) == max(0, math.ceil((end - start) / step))


def test_arange_errors():
    check_raises(lambda: minitorch.arange(0, 5, 0), lambda: torch.arange(0, 5, 0), "nonzero")
    check_raises(lambda: minitorch.arange(0, 5, -1), lambda: torch.arange(0, 5, -1), "step sign")
    check_raises(lambda: minitorch.arange(0, float("inf")), lambda: torch.arange(0, float("inf")), "inf")
    check_raises(lambda: minitorch.arange(0, float("nan")), lambda: torch.arange(0, float("nan")), "nan")
    both(lambda L: L.arange(L.tensor(4)))


@pytest.mark.parametrize(
    "args", [(0, 1, 5), (2, 3, 1), (2, 3, 0), (-5, 5, 11), (0, 10, 4), (3, -3, 7), (0.5, 0.25, 3)], ids=repr
)
@pytest.mark.parametrize("dtype", [None, "float64", "int64", "float16"])
def test_linspace_and_logspace(args, dtype):
    kw = lambda L: {} if dtype is None else {"dtype": getattr(L, dtype)}  # noqa: E731
    both(lambda L: L.linspace(*args, **kw(L)), exact=False)
    if dtype == "float16" and max(args[:2]) > 4:
        return  # 10 ** 5 is past float16's range
    if dtype == "int64" and any(isinstance(a, float) for a in args):
        return  # torch truncates fractional endpoints to ints before exponentiating (unlike minitorch)
    # base ** x multiplies x's rounding error by |x ln(base)| (up to ~25 here).
    both(lambda L: L.logspace(*args, **kw(L)), exact=False, ulps=32)
    both(lambda L: L.logspace(*args, base=2, **kw(L)), exact=False, ulps=32)
    check_raises(lambda: minitorch.linspace(0, 1, -1), lambda: torch.linspace(0, 1, -1), "non-negative")
    check_raises(lambda: minitorch.logspace(0, 1, -1), lambda: torch.logspace(0, 1, -1), "non-negative")


# ---- random ---------------------------------------------------------------------------------
@given(sizes)
def test_rand_randn_shapes_ranges_dtypes(shape):
    for dtype in (None, minitorch.float64, minitorch.float16):
        kw = {} if dtype is None else {"dtype": dtype}
        u = minitorch.rand(*shape, **kw)
        n = minitorch.randn(shape, **kw)
        assert tuple(u.shape) == tuple(n.shape) == tuple(shape)
        assert u.dtype is n.dtype is (dtype or minitorch.float32)
        assert ((u.numpy() >= 0) & (u.numpy() < 1)).all()


def test_random_distributions_look_right():
    u = minitorch.rand(20000, dtype=minitorch.float64).numpy()
    n = minitorch.randn(20000, dtype=minitorch.float64).numpy()
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.var() - 1 / 12) < 0.005
    assert abs(n.mean()) < 0.03 and abs(n.std() - 1) < 0.03
    g = minitorch.normal(3.0, 2.0, (20000,)).numpy()
    assert abs(g.mean() - 3) < 0.06 and abs(g.std() - 2) < 0.06
    r = minitorch.randint(-2, 3, (5000,)).numpy()
    assert set(np.unique(r).tolist()) == {-2, -1, 0, 1, 2}


def test_randint():
    t = minitorch.randint(10, (3, 4))
    assert t.dtype is minitorch.int64 and tuple(t.shape) == (3, 4)
    assert minitorch.randint(2, 5, (7,), dtype=minitorch.int8).dtype is minitorch.int8
    assert minitorch.randint(5, (3,), dtype=minitorch.float32).dtype is minitorch.float32
    assert minitorch.randint(3, 4, (6,)).tolist() == [3] * 6
    check_raises(lambda: minitorch.randint(5, 5, (2,)), lambda: torch.randint(5, 5, (2,)), "from")
    check_raises(lambda: minitorch.randint(5), lambda: torch.randint(5))


def test_randperm():
    for n in (0, 1, 7):
        p = minitorch.randperm(n)
        assert p.dtype is minitorch.int64 and sorted(p.tolist()) == list(range(n))
    assert minitorch.randperm(4, dtype=minitorch.float32).dtype is minitorch.float32
    check_raises(lambda: minitorch.randperm(-1), lambda: torch.randperm(-1), "-1")


def test_normal_with_tensor_arguments():
    mean = minitorch.arange(4.0, dtype=minitorch.float64) * 100
    out = minitorch.normal(mean, 0.01)
    assert out.dtype is minitorch.float64 and np.allclose(out.numpy(), mean.numpy(), atol=0.1)
    out = minitorch.normal(1.0, minitorch.zeros(2, 3))
    assert tuple(out.shape) == (2, 3) and out.tolist() == [[1.0] * 3] * 2
    check_raises(lambda: minitorch.normal(0.0, -1.0, (3,)), lambda: torch.normal(0.0, -1.0, (3,)), "std")
    check_raises(lambda: minitorch.normal(0.0, -minitorch.ones(2)), lambda: torch.normal(0.0, -torch.ones(2)), "std")


def test_random_factories_need_floating_dtypes():
    for name in ("rand", "randn"):
        check_raises(
            lambda: getattr(minitorch, name)(2, dtype=minitorch.int64),
            lambda: getattr(torch, name)(2, dtype=torch.int64),
            "not implemented",
        )


def test_manual_seed_makes_runs_repeatable():
    def draw():
        return [
            minitorch.rand(3).tolist(),
            minitorch.randn(2, 2).tolist(),
            minitorch.randint(100, (4,)).tolist(),
            minitorch.randperm(5).tolist(),
        ]

    minitorch.manual_seed(123)
    first = draw()
    minitorch.manual_seed(123)
    assert draw() == first
    minitorch.manual_seed(124)
    assert draw() != first
    assert minitorch.initial_seed() == 124


def test_generator_objects_are_independent():
    g1, g2 = minitorch.Generator().manual_seed(7), minitorch.Generator().manual_seed(7)
    a = minitorch.rand(4, generator=g1)
    minitorch.rand(100)  # the default generator does not disturb g2
    b = minitorch.rand(4, generator=g2)
    assert a.tolist() == b.tolist()
    assert g1.initial_seed() == 7
    assert minitorch.randn(3, generator=g1).tolist() == minitorch.randn(3, generator=g2).tolist()
    assert minitorch.randint(0, 9, (3,), generator=g1).tolist() == minitorch.randint(0, 9, (3,), generator=g2).tolist()
    assert minitorch.randperm(6, generator=g1).tolist() == minitorch.randperm(6, generator=g2).tolist()
    assert (
        minitorch.normal(0.0, 1.0, (2,), generator=g1).tolist()
        == minitorch.normal(0.0, 1.0, (2,), generator=g2).tolist()
    )


def test_rng_state_round_trip():
    state = minitorch.get_rng_state()
    assert state.dtype is minitorch.uint8 and state.ndim == 1
    first = minitorch.randn(5).tolist()
    minitorch.rand(17)  # move on, then rewind
    minitorch.set_rng_state(state)
    assert minitorch.randn(5).tolist() == first
    g = minitorch.Generator().manual_seed(1)
    s = g.get_state()
    x = minitorch.rand(3, generator=g).tolist()
    assert minitorch.rand(3, generator=g.set_state(s)).tolist() == x
    check_raises(
        lambda: minitorch.set_rng_state(minitorch.zeros(3, dtype=minitorch.uint8)),
        lambda: torch.set_rng_state(torch.zeros(3, dtype=torch.uint8)),
    )


# ---- Tensor.new_* ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "int16", "bool"])
def test_new_methods_inherit_dtype(dtype):
    src = lambda L: L.ones(2, dtype=getattr(L, dtype))  # noqa: E731
    both(lambda L: src(L).new_zeros(3))
    both(lambda L: src(L).new_zeros((2, 3)))
    both(lambda L: src(L).new_ones(2, 1))
    both(lambda L: src(L).new_ones([2]))
    both(lambda L: src(L).new_full((2, 2), 3))
    both(lambda L: src(L).new_full((2,), 3, dtype=L.float32))
    both(lambda L: src(L).new_tensor([1, 0]))
    both(lambda L: src(L).new_zeros(2, dtype=L.int32))
    mt_t, th_t = src(minitorch).new_empty(2, 3), src(torch).new_empty(2, 3)
    assert mt_t.dtype.name == dtype and tuple(mt_t.shape) == tuple(th_t.shape)
    if dtype == "float64":
        assert src(minitorch).new_zeros(2, requires_grad=True).requires_grad


# ---- size arguments and keywords ------------------------------------------------------------
def test_size_arguments_like_torch():
    both(lambda L: L.zeros(np.int64(2), 3))
    both(lambda L: L.ones(L.Size([2, 3])))
    both(lambda L: L.zeros(()))
    both(lambda L: L.zeros([]))
    both(lambda L: L.zeros(L.tensor(2), 3))
    for bad in ((-1,), (2, -3), ((2, -3),)):
        check_raises(lambda: minitorch.zeros(*bad), lambda: torch.zeros(*bad), "negative")
        check_raises(lambda: minitorch.rand(*bad), lambda: torch.rand(*bad), "negative")
    for bad in ((2.5,), (True,), ((2,), 3), ("3",)):
        check_raises(lambda: minitorch.zeros(*bad), lambda: torch.zeros(*bad))
        check_raises(lambda: minitorch.empty(*bad), lambda: torch.empty(*bad))
    check_raises(lambda: minitorch.eye(-1), lambda: torch.eye(-1), "-1")
    check_raises(lambda: minitorch.eye(2, -1), lambda: torch.eye(2, -1), "-1")


@pytest.mark.parametrize(
    "name", ["zeros", "ones", "empty", "rand", "randn", "full", "eye", "arange", "linspace", "randperm"]
)
def test_out_keyword_is_refused(name):
    args = {"full": ((2,), 1.0), "linspace": (0, 1, 2)}.get(name, (2,))
    with pytest.raises(TypeError, match="out"):
        getattr(minitorch, name)(*args, out=minitorch.zeros(2))


def test_ignored_torch_keywords_are_accepted():
    t = minitorch.zeros(2, layout=None, pin_memory=False)
    assert t.tolist() == [0.0, 0.0]
    assert minitorch.tensor([1.0], pin_memory=False).tolist() == [1.0]


def test_legacy_constructor():
    both(lambda L: L.Tensor([1, 2]))
    assert tuple(minitorch.Tensor(2, 3).shape) == (2, 3) and minitorch.Tensor(2, 3).dtype is minitorch.float32


def test_default_dtype_drives_float_factories():
    minitorch.set_default_dtype(minitorch.float64)
    for t in (
        minitorch.zeros(2),
        minitorch.ones(2),
        minitorch.empty(2),
        minitorch.full((2,), 1.5),
        minitorch.rand(2),
        minitorch.randn(2),
        minitorch.eye(2),
        minitorch.arange(0.5),
        minitorch.linspace(0, 1, 3),
        minitorch.logspace(0, 1, 3),
        minitorch.tensor([1.5]),
        minitorch.normal(0.0, 1.0, (2,)),
    ):
        assert t.dtype is minitorch.float64
    assert minitorch.arange(3).dtype is minitorch.int64
    assert minitorch.full((2,), 1).dtype is minitorch.int64
    assert minitorch.tensor(np.float32(1)).dtype is minitorch.float32
    check_raises(
        lambda: minitorch.set_default_dtype(minitorch.int64), lambda: torch.set_default_dtype(torch.int64), "floating"
    )


def test_multinomial_and_bernoulli():
    minitorch.manual_seed(0)
    probs = minitorch.tensor([[0.0, 0.2, 0.8], [1.0, 0.0, 0.0]])
    draws = minitorch.multinomial(probs, 1000, replacement=True)
    assert draws.shape == (2, 1000) and draws.dtype is minitorch.int64
    counts = np.bincount(draws[0].numpy(), minlength=3) / 1000
    assert counts[0] == 0 and abs(counts[2] - 0.8) < 0.05 and (draws[1] == 0).all()
    no_repeat = minitorch.multinomial(minitorch.ones(5), 5)
    assert sorted(no_repeat.tolist()) == [0, 1, 2, 3, 4]
    assert probs[0].multinomial(2).shape == (2,)
    with pytest.raises(RuntimeError, match="without replacement"):
        minitorch.multinomial(minitorch.tensor([0.0, 1.0]), 2)
    with pytest.raises(RuntimeError, match="element < 0"):
        minitorch.multinomial(minitorch.tensor([-1.0, 1.0]), 1)
    b = minitorch.bernoulli(minitorch.full((2000,), 0.25))
    assert b.dtype is minitorch.float32 and set(np.unique(b.numpy()).tolist()) <= {0.0, 1.0}
    assert abs(b.mean().item() - 0.25) < 0.04
    assert minitorch.bernoulli(minitorch.zeros(3), p=1.0).tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("dtype", [minitorch.float16, minitorch.float32, minitorch.float64])
def test_rand_never_reaches_one_after_rounding(dtype):
    u = minitorch.rand(200_000, dtype=dtype).numpy()
    assert u.max() < 1.0 and u.min() >= 0.0
