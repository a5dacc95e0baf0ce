"""scaled_dot_product_attention and MultiheadAttention against PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitorch
import minitorch.nn as nn
import minitorch.nn.functional as F

from helpers import LAYOUTS, TEST_DEVICE, both, check, check_raises, grads_ok, requires_torch, torch
from nn_helpers import check_module
from strategies import floats

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # torch warns about its mask conversions


def sdpa(lib):
    return lib.nn.functional.scaled_dot_product_attention


# ---- scaled_dot_product_attention ----------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@given(
    batch=st.lists(st.integers(1, 3), max_size=2),
    L=st.integers(1, 4),
    S=st.integers(1, 4),
    E=st.integers(1, 4),
    Ev=st.integers(1, 4),
    mask=st.sampled_from(["none", "bool", "float", "causal"]),
    scale=st.sampled_from([None, 0.7]),
)
def test_sdpa_matches_torch(dtype, batch, L, S, E, Ev, mask, scale):
    q, k, v = (
        floats((*batch, L, E), dtype, seed=1),
        floats((*batch, S, E), dtype, seed=2),
        floats((*batch, S, Ev), dtype, seed=3),
    )
    if mask == "bool":
        m = np.random.default_rng(4).random((L, S)) > 0.3  # True: may attend (some rows see nothing)
        check(
            *both(lambda lib, a, b, c: sdpa(lib)(a, b, c, attn_mask=lib.tensor(m, device=a.device), scale=scale)),
            q,
            k,
            v,
        )
    elif mask == "float":
        m = floats((L, S), dtype, seed=5)
        check(*both(lambda lib, a, b, c, d: sdpa(lib)(a, b, c, attn_mask=d, scale=scale)), q, k, v, m)
    else:
        causal = mask == "causal"
        check(*both(lambda lib, a, b, c: sdpa(lib)(a, b, c, is_causal=causal, scale=scale)), q, k, v, layouts=LAYOUTS)


@requires_torch
def test_sdpa_rows_with_no_visible_key_give_zeros_like_torch():
    q, k, v = floats((2, 3, 4), seed=1), floats((2, 5, 4), seed=2), floats((2, 5, 6), seed=3)
    m = np.ones((3, 5), bool)
    m[1] = False
    check(*both(lambda lib, a, b, c: sdpa(lib)(a, b, c, attn_mask=lib.tensor(m, device=a.device))), q, k, v)
    mf = np.zeros((2, 3, 5))
    mf[0, 2] = -np.inf
    mf[1, 0, :3] = -np.inf
    check(*both(lambda lib, a, b, c, d: sdpa(lib)(a, b, c, attn_mask=d)), q, k, v, mf)
    out = sdpa(minitorch)(*(minitorch.tensor(a) for a in (q, k, v)), attn_mask=minitorch.tensor(m))
    assert not out[:, 1].numpy().any()


@requires_torch
def test_sdpa_broadcasts_batch_dims_and_groups_query_heads():
    q, k, v = floats((2, 3, 4), seed=1), floats((1, 5, 4), seed=2), floats((1, 5, 6), seed=3)
    check(*both(lambda lib, a, b, c: sdpa(lib)(a, b, c)), q, k, v)
    qg, kg, vg = floats((2, 4, 3, 8), seed=1), floats((2, 2, 5, 8), seed=2), floats((2, 2, 5, 8), seed=3)
    check(*both(lambda lib, a, b, c: sdpa(lib)(a, b, c, enable_gqa=True)), qg, kg, vg)
    check(
        *both(lambda lib, a, b, c: sdpa(lib)(a, b, c, is_causal=True)), floats((5, 4)), floats((3, 4)), floats((3, 4))
    )


def test_sdpa_dropout_drops_weights_and_repeats_under_a_seed():
    q, k = minitorch.randn(2, 4, 3), minitorch.randn(2, 6, 3)
    v = minitorch.ones(2, 6, 5)
    plain = sdpa(minitorch)(q, k, v)
    np.testing.assert_allclose(plain.numpy(), 1.0, rtol=1e-6)  # the weights sum to 1
    assert not sdpa(minitorch)(q, k, v, dropout_p=1.0).numpy().any()
    minitorch.manual_seed(3)
    a = sdpa(minitorch)(q, k, v, dropout_p=0.5)
    minitorch.manual_seed(3)
    b = sdpa(minitorch)(q, k, v, dropout_p=0.5)
    assert np.array_equal(a.numpy(), b.numpy()) and not np.allclose(a.numpy(), plain.numpy())


def test_sdpa_gradcheck():
    q, k, v = (
        minitorch.tensor(floats(s, seed=i), requires_grad=True) for i, s in enumerate([(2, 3, 2), (2, 4, 2), (2, 4, 3)])
    )
    m = minitorch.tensor(np.random.default_rng(0).random((3, 4)) > 0.4)
    grads_ok(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=m), q, k, v)
    grads_ok(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=True, scale=0.3), q, k, v)


@requires_torch
def test_sdpa_errors_match_torch():
    def inputs(lib, *shapes, dtype="float32"):
        return [lib.tensor(floats(s, dtype, seed=i)) for i, s in enumerate(shapes)]

    qkv = ((2, 3, 4), (2, 5, 4), (2, 5, 6))
    cases = [
        (
            lambda lib: sdpa(lib)(*inputs(lib, *qkv), attn_mask=lib.ones(3, 5, dtype=lib.bool), is_causal=True),
            "is_causal",
        ),
        (lambda lib: sdpa(lib)(*inputs(lib, (4,), (4,), (4,))), "at least 2 dimensional"),
        (lambda lib: sdpa(lib)(inputs(lib, qkv[0], dtype="float64")[0], *inputs(lib, *qkv[1:])), "same dtype"),
        (lambda lib: sdpa(lib)(*inputs(lib, *qkv), attn_mask=lib.ones(3, 5, dtype=lib.long)), "attn_mask dtype"),
        (lambda lib: sdpa(lib)(*inputs(lib, *qkv), attn_mask=lib.ones(3, 5, dtype=lib.float64)), "attn_mask dtype"),
        (lambda lib: sdpa(lib)(*inputs(lib, (1, 4, 3, 8), (1, 3, 5, 8), (1, 3, 5, 8)), enable_gqa=True), "divide"),
        (lambda lib: sdpa(lib)(*inputs(lib, (2, 3, 4), (2, 5, 3), (2, 5, 6))), None),
        (lambda lib: sdpa(lib)(*inputs(lib, *qkv), attn_mask=lib.ones(3, 4, dtype=lib.bool)), None),
    ]
    for make, match in cases:
        check_raises(lambda: make(minitorch), lambda: make(torch), match=match)


# ---- MultiheadAttention --------------------------------------------------------------------------------
E, HEADS, L, S, N = 8, 2, 3, 5, 2


def pair(**kwargs):
    """A minitorch and a torch MultiheadAttention built alike (weights are copied by check_module)."""
    return nn.MultiheadAttention(E, HEADS, **kwargs), torch.nn.MultiheadAttention(E, HEADS, **kwargs)


def qkv(kdim=E, vdim=E, batch_first=False, batched=True):
    lead = lambda n: ((N, n) if batch_first else (n, N)) if batched else (n,)  # noqa: E731
    return floats((*lead(L), E), seed=1), floats((*lead(S), kdim), seed=2), floats((*lead(S), vdim), seed=3)


@requires_torch
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"bias": False},
        {"kdim": 3, "vdim": 4},
        {"add_bias_kv": True},
        {"add_zero_attn": True},
        {"add_bias_kv": True, "add_zero_attn": True, "kdim": 5},
    ],
)
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_multihead_attention_matches_torch(kwargs, need_weights, dtype):
    ours, ref = pair(**kwargs)
    inputs = qkv(kwargs.get("kdim", E), kwargs.get("vdim", E))
    check_module(ours, ref, *inputs, dtype=dtype, kwargs={"need_weights": need_weights})


@requires_torch
@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_layouts_and_head_weights(need_weights):
    ours, ref = pair(batch_first=True)
    check_module(ours, ref, *qkv(batch_first=True), kwargs={"need_weights": need_weights})
    ours, ref = pair()
    check_module(ours, ref, *qkv(batched=False), kwargs={"need_weights": need_weights})
    ours, ref = pair()
    check_module(ours, ref, *qkv(), kwargs={"need_weights": need_weights, "average_attn_weights": False})


def masked(lib):
    """MultiheadAttention taking the masks positionally, so check_module can pass them as arrays."""

    class Masked(lib.nn.MultiheadAttention):
        def forward(self, query, key, value, key_padding_mask, attn_mask, **kwargs):
            return super().forward(query, key, value, key_padding_mask=key_padding_mask, attn_mask=attn_mask, **kwargs)

    return Masked


@requires_torch
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("extra", [{}, {"add_bias_kv": True, "add_zero_attn": True}])
def test_multihead_attention_masks_match_torch(need_weights, extra):
    rng = np.random.default_rng(0)
    padding = np.zeros((N, S), bool)
    padding[0, 2] = padding[1, 4] = True
    masks = [
        np.triu(np.ones((L, S), bool), 1),  # bool: True = may not attend
        rng.standard_normal((L, S)),  # float: added to the scores
        rng.random((N * HEADS, L, S)) > 0.7,  # one mask per (batch, head)
    ]
    for attn_mask in masks:
        ours, ref = masked(minitorch)(E, HEADS, **extra), masked(torch)(E, HEADS, **extra)
        check_module(ours, ref, *qkv(), padding, attn_mask, kwargs={"need_weights": need_weights})


@requires_torch
@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_causal_hint(need_weights):
    x = floats((L, N, E))
    causal = np.triu(np.ones((L, L), bool), 1)
    padding = np.zeros((N, L), bool)
    padding[1, 2] = True  # the last key of sample 1 (masking key 0 would leave query 0 nothing: nan)
    for pad in (None, padding):
        if pad is None:
            ours, ref = masked_causal(minitorch), masked_causal(torch)
            check_module(ours, ref, x, x, x, causal, kwargs={"need_weights": need_weights, "is_causal": True})
        else:
            ours, ref = masked(minitorch)(E, HEADS), masked(torch)(E, HEADS)
            check_module(ours, ref, x, x, x, pad, causal, kwargs={"need_weights": need_weights, "is_causal": True})


def masked_causal(lib):
    class Causal(lib.nn.MultiheadAttention):
        def forward(self, query, key, value, attn_mask, **kwargs):
            return super().forward(query, key, value, attn_mask=attn_mask, **kwargs)

    return Causal(E, HEADS)


@requires_torch
def test_multihead_attention_dropout_only_in_training():
    ours, ref = pair(dropout=0.5)
    check_module(ours, ref, *qkv(), train=False)
    ours.train()
    q, k, v = (minitorch.tensor(a, device=TEST_DEVICE) for a in qkv())  # check_module moved ours there
    minitorch.manual_seed(1)
    a, wa = ours(q, k, v)
    minitorch.manual_seed(1)
    b, wb = ours(q, k, v)
    assert np.array_equal(a.detach().cpu().numpy(), b.detach().cpu().numpy())
    assert np.array_equal(wa.detach().cpu().numpy(), wb.detach().cpu().numpy())
    assert not np.allclose(a.detach().cpu().numpy(), ours.eval()(q, k, v)[0].detach().cpu().numpy())


@requires_torch
@pytest.mark.parametrize(
    "kwargs", [{}, {"kdim": 3, "vdim": 4}, {"bias": False, "add_bias_kv": True}, {"batch_first": True, "dropout": 0.1}]
)
def test_multihead_attention_structure_matches_torch(kwargs):
    ours, ref = pair(**kwargs)
    assert repr(ours) == repr(ref)
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
    assert {n: tuple(p.shape) for n, p in ours.named_parameters()} == {
        n: tuple(p.shape) for n, p in ref.named_parameters()
    }
    for name in ("embed_dim", "kdim", "vdim", "num_heads", "head_dim", "dropout", "batch_first", "_qkv_same_embed_dim"):
        assert getattr(ours, name) == getattr(ref, name), name


def test_multihead_attention_default_init_follows_torch_rule():
    m = nn.MultiheadAttention(64, 4, add_bias_kv=True)
    bound = math.sqrt(6.0 / (64 + 3 * 64))  # xavier_uniform_ on the (3E, E) in_proj_weight
    w = m.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert not m.in_proj_bias.detach().numpy().any() and not m.out_proj.bias.detach().numpy().any()
    out_w = m.out_proj.weight.detach().numpy()  # Linear's own init: U(-1/sqrt(E), 1/sqrt(E))
    assert np.abs(out_w).max() <= 1 / math.sqrt(64)
    assert m.bias_k.detach().numpy().std() > 0  # xavier_normal_
    sep = nn.MultiheadAttention(8, 2, kdim=3)
    k_bound = math.sqrt(6.0 / (8 + 3))
    assert np.abs(sep.k_proj_weight.detach().numpy()).max() <= k_bound


@requires_torch
def test_multihead_attention_errors_match_torch():
    q3 = lambda lib: lib.tensor(floats((L, N, E), "float32"))  # noqa: E731
    cases = [
        (lambda lib: lib.nn.MultiheadAttention(6, 4), "divisible"),
        (lambda lib: lib.nn.MultiheadAttention(0, 2), "greater than 0"),
        (lambda lib: lib.nn.MultiheadAttention(E, HEADS)(q3(lib), q3(lib), q3(lib), is_causal=True), "attn_mask"),
        (lambda lib: lib.nn.MultiheadAttention(E, HEADS)(*(lib.zeros(1, L, N, E) for _ in range(3))), "3D"),
        (
            lambda lib: lib.nn.MultiheadAttention(E, HEADS)(
                q3(lib), q3(lib), q3(lib), attn_mask=lib.zeros(L + 1, L, dtype=lib.bool)
            ),
            "attn_mask",
        ),
    ]
    for make, match in cases:
        check_raises(lambda: make(minitorch), lambda: make(torch), match=match)
