"""RNN, LSTM, GRU and their cells against PyTorch: outputs, final states, every gradient, errors, repr, init."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minitorch
import minitorch.nn as nn
from minitorch.autograd import gradcheck, gradgradcheck
from minitorch.nn.functional.rnn import (
    _gru_layer,
    _gru_reference,
    _lstm_layer,
    _lstm_reference,
    _rnn_layer,
    _rnn_reference,
)

from helpers import TOLERANCES, assert_close, check_raises, grads_ok, leaf64, requires_torch, torch
from nn_helpers import check_module

T, N, IN, HID = 3, 2, 3, 4  # sequence length, batch, input features, hidden features


def make(lib, kind, *args, **kwargs):
    """``nn.<kind>(*args, **kwargs)`` in either framework; kind 'RNN_relu' is RNN with relu."""
    if kind == "RNN_relu":
        return lib.nn.RNN(*args, nonlinearity="relu", **kwargs)
    return getattr(lib.nn, kind)(*args, **kwargs)


def wrapped(lib, module):
    """A module whose forward takes the initial states as separate tensors, so they get gradients too."""

    class WithStates(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = module

        def forward(self, x, *states):
            if not states:
                return self.rnn(x)
            return self.rnn(x, states if isinstance(self.rnn, lib.nn.LSTM) else states[0])

    return WithStates()


def state_arrays(kind, layers, batch, rng, proj_size=0):
    """Random initial states: (h0,) or (h0, c0) with batch dims ``batch`` (an empty tuple: unbatched)."""
    h = rng.standard_normal((layers, *batch, proj_size or HID))
    if kind == "LSTM":
        return h, rng.standard_normal((layers, *batch, HID))
    return (h,)


KINDS = ["RNN", "RNN_relu", "LSTM", "GRU"]
CONFIGS = [  # (num_layers, bidirectional, batch_first, bias, initial states given)
    (1, False, False, True, False),
    (1, False, True, True, True),
    (1, True, False, False, True),
    (2, False, False, True, True),
    (2, True, True, True, False),
    (2, True, False, True, True),
]


@requires_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("kind", KINDS)
def test_layers_match_torch(kind, config, dtype):
    layers, bidir, batch_first, bias, give_states = config
    kwargs = dict(num_layers=layers, bidirectional=bidir, batch_first=batch_first, bias=bias)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, T, IN) if batch_first else (T, N, IN))
    states = state_arrays(kind, layers * (1 + bidir), (N,), rng) if give_states else ()
    check_module(
        wrapped(minitorch, make(minitorch, kind, IN, HID, **kwargs)),
        wrapped(torch, make(torch, kind, IN, HID, **kwargs)),
        x,
        *states,
        dtype=dtype,
    )


@requires_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
def test_lstm_projection_matches_torch(config, dtype):
    layers, bidir, batch_first, bias, give_states = config
    kwargs = dict(num_layers=layers, bidirectional=bidir, batch_first=batch_first, bias=bias, proj_size=2)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, T, IN) if batch_first else (T, N, IN))
    states = state_arrays("LSTM", layers * (1 + bidir), (N,), rng, proj_size=2) if give_states else ()
    check_module(
        wrapped(minitorch, nn.LSTM(IN, HID, **kwargs)),
        wrapped(torch, torch.nn.LSTM(IN, HID, **kwargs)),
        x,
        *states,
        dtype=dtype,
    )


@requires_torch
@pytest.mark.parametrize("give_states", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_unbatched_input(kind, batch_first, give_states):
    kwargs = dict(num_layers=2, bidirectional=True, batch_first=batch_first)
    rng = np.random.default_rng(2)
    states = state_arrays(kind, 4, (), rng) if give_states else ()
    check_module(
        wrapped(minitorch, make(minitorch, kind, IN, HID, **kwargs)),
        wrapped(torch, make(torch, kind, IN, HID, **kwargs)),
        rng.standard_normal((T, IN)),
        *states,
    )


@requires_torch
@pytest.mark.parametrize("kind", KINDS)
def test_dropout_between_layers(kind):
    """Eval mode ignores dropout; in training, p=1 zeroes every layer's input but the first, as in torch."""
    x = np.random.default_rng(3).standard_normal((T, N, IN))
    for train, p in ((False, 0.5), (True, 1.0)):
        check_module(
            make(minitorch, kind, IN, HID, num_layers=3, dropout=p),
            make(torch, kind, IN, HID, num_layers=3, dropout=p),
            x,
            train=train,
        )


def test_dropout_in_training_is_random_and_scaled():
    minitorch.manual_seed(0)
    rnn = nn.GRU(IN, HID, num_layers=2, dropout=0.5)
    x = minitorch.randn(T, N, IN)
    out_a, _ = rnn(x)
    out_b, _ = rnn(x)
    assert not minitorch.equal(out_a, out_b)
    rnn.eval()
    assert minitorch.equal(rnn(x)[0], rnn(x)[0])


@requires_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("give_state", [False, True])
@pytest.mark.parametrize("kind", ["RNNCell", "RNNCell_relu", "LSTMCell", "GRUCell"])
def test_cells_match_torch(kind, give_state, batched, dtype):
    def cell(lib, bias):
        if kind == "RNNCell_relu":
            return lib.nn.RNNCell(IN, HID, bias=bias, nonlinearity="relu")
        return getattr(lib.nn, kind)(IN, HID, bias=bias)

    rng = np.random.default_rng(4)
    batch = (N,) if batched else ()
    x = rng.standard_normal((*batch, IN))
    states = [rng.standard_normal((*batch, HID)) for _ in range(2 if kind == "LSTMCell" else 1)] if give_state else []
    for bias in (True, False):

        def build(lib):
            class Step(lib.nn.Module):
                def __init__(self):
                    super().__init__()
                    self.cell = cell(lib, bias)

                def forward(self, x, *states):
                    if not states:
                        return self.cell(x)
                    return self.cell(x, states if len(states) == 2 else states[0])

            return Step()

        check_module(build(minitorch), build(torch), x, *states, dtype=dtype)


def test_cell_loop_equals_layer():
    """Stepping an LSTMCell through time gives the LSTM layer's output (same weights)."""
    minitorch.manual_seed(0)
    layer, cell = nn.LSTM(IN, HID), nn.LSTMCell(IN, HID)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(cell, name).data = getattr(layer, name + "_l0").data
    x = minitorch.randn(T, N, IN)
    out, (h_n, c_n) = layer(x)
    h, c = minitorch.zeros(N, HID), minitorch.zeros(N, HID)
    for t in range(T):
        h, c = cell(x[t], (h, c))
        assert minitorch.allclose(h, out[t], atol=1e-6)
    assert minitorch.allclose(h, h_n[0], atol=1e-6) and minitorch.allclose(c, c_n[0], atol=1e-6)


# ---- gradcheck in float64 --------------------------------------------------------------------------
def _with_weights(module, inputs, call):
    """``call(module, *inputs)`` as a function of the inputs and every parameter (all float64).

    gradcheck perturbs its inputs in place, so the parameters can be passed
    as inputs while the module keeps using them.
    """
    module.double()

    def fn(*args):
        return call(module, *args[: len(inputs)])

    return fn, (*inputs, *module.parameters())


@pytest.mark.parametrize(
    "cell, n_states",
    [(nn.RNNCell(3, 2), 1), (nn.RNNCell(3, 2, nonlinearity="relu"), 1), (nn.LSTMCell(3, 2), 2), (nn.GRUCell(3, 2), 1)],
    ids=["RNNCell", "RNNCell_relu", "LSTMCell", "GRUCell"],
)
def test_cells_gradcheck(cell, n_states):
    x = leaf64(2, 3, seed=1)
    states = [leaf64(2, 2, seed=2 + i) for i in range(n_states)]

    def call(cell, x, *states):
        out = cell(x, tuple(states) if n_states == 2 else states[0])
        return out

    fn, inputs = _with_weights(cell, [x, *states], call)
    grads_ok(fn, *inputs)


@pytest.mark.parametrize("kind", KINDS)
def test_tiny_two_step_layer_gradcheck_and_gradgradcheck(kind):
    """Through the module, weights included; second derivatives too, since the fused layers replay the
    per-step graph when asked for them."""
    lstm = kind == "LSTM"
    rnn = make(minitorch, kind, 2, 2, bidirectional=True)
    x = leaf64(2, 1, 2, seed=1)
    states = [leaf64(2, 1, 2, seed=2 + i) for i in range(2 if lstm else 1)]

    def call(rnn, x, *states):
        out, final = rnn(x, tuple(states) if lstm else states[0])
        return (out, *final) if lstm else (out, final)

    fn, inputs = _with_weights(rnn, [x, *states], call)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


# ---- the fused layers against their per-step references ----------------------------------------------
FUSED_CASES = ["LSTM", "LSTM_proj", "GRU", "GRU_no_bias", "RNN_tanh", "RNN_relu"]
FUSED = {  # kind: (the one-node layer, the per-step graph it must equal)
    "LSTM": (_lstm_layer, _lstm_reference),
    "GRU": (_gru_layer, _gru_reference),
    "RNN": (_rnn_layer, _rnn_reference),
}


def _fused_case(case, dtype="float64", batch=3, steps=5, hidden=5, seed=0):
    """(layer, reference, tensor arguments with None where absent, the arguments after them but ``reverse``),
    for one of FUSED_CASES; the tensors are leaves of uniform values in [-1.5, 1.5).

    LSTM: gx (T, N, 4H), h0 (N, P), c0 (N, H), w_hh (4H, P), w_hr (P, H) or None, with P = 2 or H.
    GRU: gx (T, N, 3H), h0 (N, H), w_hh (3H, H), b_hh (3H,) or None. RNN: gx (T, N, H), h0 (N, H), w_hh (H, H).
    """
    kind = case.split("_")[0]
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[kind]
    out = 2 if case == "LSTM_proj" else hidden
    shapes = [(steps, batch, gates * hidden), (batch, out)]
    if kind == "LSTM":
        shapes += [(batch, hidden), (4 * hidden, out), (out, hidden) if case == "LSTM_proj" else None]
    else:
        shapes += [(gates * hidden, hidden)]
    if kind == "GRU":
        shapes += [None if case == "GRU_no_bias" else (3 * hidden,)]
    rng = np.random.default_rng(seed)
    tensors = [
        None
        if s is None
        else minitorch.tensor(rng.uniform(-1.5, 1.5, s), dtype=getattr(minitorch, dtype), requires_grad=True)
        for s in shapes
    ]
    extra = (case.split("_")[1],) if kind == "RNN" else ()
    return (*FUSED[kind], tensors, extra)


def _outputs(layer, tensors, extra, reverse):
    """Every step's h and the final state, as one flat tuple."""
    out, state = layer(*tensors, *extra, reverse)
    return (out, *state)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("case", FUSED_CASES)
def test_fused_layer_matches_per_step_reference(case, reverse, dtype):
    """Outputs, final states and every input gradient of the one-node layer, by both of its backward paths,
    equal the per-step graph's; in float64 to rounding (1e-12)."""
    layer, reference, tensors, extra = _fused_case(case, dtype)
    leaves = [t for t in tensors if t is not None]
    rng = np.random.default_rng(1)
    upstream = [  # the same output gradients for all three
        minitorch.tensor(rng.standard_normal(o.shape), dtype=o.dtype)
        for o in _outputs(reference, tensors, extra, reverse)
    ]
    results = {}
    # "replay" is the fused layer differentiated with create_graph, which takes its second backward path
    for name, fn, create_graph in (("fused", layer, False), ("replay", layer, True), ("reference", reference, False)):
        outs = _outputs(fn, tensors, extra, reverse)
        grads = minitorch.autograd.grad(outs, leaves, upstream, create_graph=create_graph)
        assert all((g.grad_fn is not None) == create_graph for g in grads)
        results[name] = (*outs, *grads)
    assert results["fused"][0].grad_fn.name() == case.split("_")[0] + "LayerBackward"
    n_out = len(upstream)
    (fwd_atol, fwd_rtol), (grad_atol, grad_rtol) = ((1e-12, 1e-12),) * 2 if dtype == "float64" else TOLERANCES[dtype]
    for name in ("fused", "replay"):
        for k, (ours, ref) in enumerate(zip(results[name], results["reference"])):
            atol, rtol = (fwd_atol, fwd_rtol) if k < n_out else (grad_atol, grad_rtol)
            assert ours.dtype is ref.dtype and ours.shape == ref.shape
            assert_close(ours.detach(), ref.detach().numpy(), atol, rtol, f"{name} result {k}")


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("case", FUSED_CASES)
def test_fused_layer_gradcheck_and_gradgradcheck(case, reverse):
    """First order runs the array BPTT; second order differentiates the replayed per-step graph."""
    layer, _, tensors, extra = _fused_case(case, batch=2, steps=3, hidden=3)
    leaves = [t for t in tensors if t is not None]

    def fn(*args):
        it = iter(args)
        return _outputs(layer, [None if t is None else next(it) for t in tensors], extra, reverse)

    assert gradcheck(fn, leaves)
    assert gradgradcheck(fn, leaves)


@pytest.mark.parametrize("case", FUSED_CASES)
def test_fused_layer_backward_twice_needs_retain_graph(case):
    layer, _, tensors, extra = _fused_case(case)
    loss = sum(o.sum() for o in _outputs(layer, tensors, extra, False))
    loss.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


@pytest.mark.parametrize("case", FUSED_CASES)
def test_fused_layer_leaves_inputs_and_upstream_gradients_unchanged(case):
    layer, _, tensors, extra = _fused_case(case)
    leaves = [t for t in tensors if t is not None]
    before = [t.detach().numpy().copy() for t in leaves]
    outs = _outputs(layer, tensors, extra, False)
    grads = [minitorch.ones_like(o) for o in outs]
    minitorch.autograd.grad(outs, leaves, grads)
    assert all(np.array_equal(t.detach().numpy(), b) for t, b in zip(leaves, before))
    assert all(np.array_equal(g.numpy(), np.ones(g.shape)) for g in grads)


@pytest.mark.parametrize("kind", KINDS)
def test_layers_run_as_one_fused_node(kind):
    """nn.RNN, nn.LSTM and nn.GRU record one node per layer and direction, not a dozen per step."""
    out, _ = make(minitorch, kind, IN, HID)(minitorch.randn(T, N, IN))
    assert out.grad_fn.name() == kind.split("_")[0] + "LayerBackward"


@requires_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_fused_layers_match_torch_at_odd_sizes(kind, bias, dtype):
    """Two bidirectional layers, batch_first, 9 steps of batch 3, 7 inputs and 5 hidden features."""
    kwargs = dict(num_layers=2, bidirectional=True, batch_first=True, bias=bias)
    rng = np.random.default_rng(6)
    check_module(
        wrapped(minitorch, make(minitorch, kind, 7, 5, **kwargs)),
        wrapped(torch, make(torch, kind, 7, 5, **kwargs)),
        rng.standard_normal((3, 9, 7)),
        *[rng.standard_normal((4, 3, 5)) for _ in range(2 if kind == "LSTM" else 1)],
        dtype=dtype,
    )


# ---- construction: names, repr, init --------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize(
    "kind, kwargs",
    [
        ("RNN", {}),
        ("RNN", dict(num_layers=2, nonlinearity="relu", bias=False, batch_first=True, dropout=0.5, bidirectional=True)),
        ("LSTM", dict(proj_size=2)),
        ("LSTM", dict(num_layers=3, bidirectional=True, proj_size=1, bias=False)),
        ("GRU", dict(num_layers=2, dropout=0.25)),
        ("RNNCell", {}),
        ("RNNCell", dict(bias=False, nonlinearity="relu")),
        ("LSTMCell", dict(bias=False)),
        ("GRUCell", {}),
    ],
)
def test_names_shapes_and_repr_match_torch(kind, kwargs):
    ours, theirs = getattr(nn, kind)(IN, HID, **kwargs), getattr(torch.nn, kind)(IN, HID, **kwargs)
    assert repr(ours) == repr(theirs)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in theirs.named_parameters()
    ]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    if "Cell" not in kind:
        assert [[tuple(w.shape) for w in ws] for ws in ours.all_weights] == [
            [tuple(w.shape) for w in ws] for ws in theirs.all_weights
        ]


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"])
def test_default_init_is_uniform_within_one_over_sqrt_hidden(kind):
    minitorch.manual_seed(0)
    hidden = 64
    module = getattr(nn, kind)(32, hidden)
    bound = 1 / math.sqrt(hidden)
    values = np.concatenate([p.detach().numpy().ravel() for p in module.parameters()])
    assert values.dtype == np.float32
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > 0.99 * bound  # it fills the whole range
    assert abs(values.mean()) < 0.02 * bound
    assert abs(values.std() - bound / math.sqrt(3)) < 0.02 * bound  # the std of U(-b, b)


def test_dtype_and_device_arguments():
    rnn = nn.LSTM(IN, HID, dtype=minitorch.float64, device="cpu")
    assert all(p.dtype is minitorch.float64 for p in rnn.parameters())
    out, (h, c) = rnn(minitorch.randn(T, N, IN, dtype=minitorch.float64))
    assert out.dtype is h.dtype is c.dtype is minitorch.float64


def test_output_shapes():
    out, (h, c) = nn.LSTM(IN, HID, num_layers=2, bidirectional=True, proj_size=3, batch_first=True)(
        minitorch.randn(N, 5, IN)
    )
    assert out.shape == (N, 5, 6) and h.shape == (4, N, 3) and c.shape == (4, N, HID)
    out, h = nn.GRU(IN, HID, num_layers=3)(minitorch.randn(5, IN))
    assert out.shape == (5, HID) and h.shape == (3, HID)


# ---- errors ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kind, args, kwargs, match",
    [
        ("LSTM", (IN, HID), dict(dropout=1.5), "dropout should be a number in range [0, 1]"),
        ("GRU", (IN, HID), dict(dropout=True), "dropout should be a number"),
        ("LSTM", (IN, HID), dict(proj_size=HID), "proj_size has to be smaller than hidden_size"),
        ("LSTM", (IN, HID), dict(proj_size=-1), "proj_size should be a positive integer"),
        ("RNN", (IN, HID), dict(nonlinearity="sigmoid"), "Unknown nonlinearity 'sigmoid'"),
        ("RNN", (IN, HID), dict(bias=1), "bias should be of type bool"),
        ("GRU", (IN, HID), dict(batch_first=None), "batch_first should be of type bool"),
        ("LSTM", (IN, 0), {}, "hidden_size must be greater than zero"),
        ("LSTM", (2.0, HID), {}, "input_size should be of type int"),
        ("GRU", (IN, HID), dict(num_layers=0), "num_layers must be greater than zero"),
    ],
)
def test_constructor_errors(kind, args, kwargs, match):
    check_raises(lambda: getattr(nn, kind)(*args, **kwargs), lambda: getattr(torch.nn, kind)(*args, **kwargs), match)


def test_dropout_with_one_layer_warns():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.LSTM(IN, HID, dropout=0.5)


def _pair(kind, **kwargs):
    ours, theirs = make(minitorch, kind, IN, HID, **kwargs), make(torch, kind, IN, HID, **kwargs)
    ours.load_state_dict({k: minitorch.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    return ours, theirs


def _raises_like_torch(ours, theirs, shapes, match, dtype="float32"):
    """Call both modules on zero tensors of ``shapes`` (input, then the state or a tuple of states)."""

    def args(lib, d):
        def z(s):
            return lib.zeros(*s, dtype=getattr(lib, d))

        return [z(shapes[0])] + [tuple(z(s) for s in st) if isinstance(st[0], tuple) else z(st) for st in shapes[1:]]

    check_raises(lambda: ours(*args(minitorch, dtype)), lambda: theirs(*args(torch, dtype)), match)


@requires_torch
@pytest.mark.parametrize("kind", KINDS)
def test_forward_errors(kind):
    ours, theirs = _pair(kind, num_layers=2)
    lstm = kind == "LSTM"

    def state(*shape):
        return ((shape, shape),) if lstm else (shape,)

    _raises_like_torch(ours, theirs, [(T, N, IN, 1)], "Expected input to be 2D or 3D, got 4D")
    _raises_like_torch(ours, theirs, [(T, N, IN + 1)], "input.size(-1) must be equal to input_size. Expected 3, got 4")
    _raises_like_torch(ours, theirs, [(T, N, IN), *state(1, N, HID)], "size (2, 2, 4), got [1, 2, 4]")
    _raises_like_torch(ours, theirs, [(T, N, IN), *state(2, N + 1, HID)], "got [2, 3, 4]")
    _raises_like_torch(ours, theirs, [(T, N, IN), *state(2, HID)], "For batched 3-D input")
    _raises_like_torch(ours, theirs, [(T, IN), *state(2, 1, HID)], "For unbatched 2-D input")
    _raises_like_torch(ours, theirs, [(0, N, IN)], "sequence length to be larger than 0")
    check_raises(
        lambda: ours(minitorch.zeros(T, N, IN, dtype=minitorch.float64)),
        lambda: theirs(torch.zeros(T, N, IN, dtype=torch.float64)),
        "does not match weight dtype (minitorch.float32)",
    )
    check_raises(lambda: ours([[1.0] * IN]), None, "PackedSequence is not supported")


@requires_torch
def test_lstm_cell_state_size_error():
    ours, theirs = _pair("LSTM")
    _raises_like_torch(ours, theirs, [(T, N, IN), ((1, N, HID), (1, N, HID + 1))], "Expected hidden[1] size (1, 2, 4)")


@requires_torch
@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_errors(kind):
    ours, theirs = getattr(nn, kind)(IN, HID), getattr(torch.nn, kind)(IN, HID)
    n = 2 if kind == "LSTMCell" else 1

    def state(*shape):
        return (tuple([shape] * n),) if n == 2 else (shape,)

    _raises_like_torch(ours, theirs, [(N, IN, 1)], "Expected input to be 1D or 2D, got 3D")
    _raises_like_torch(ours, theirs, [(N, IN), *state(1, N, HID)], "to be 1D or 2D, got 3D")
    _raises_like_torch(ours, theirs, [(N, IN + 1)], "input has inconsistent input_size: got 4 expected 3")
    _raises_like_torch(
        ours, theirs, [(N, IN), *state(N + 1, HID)], "Input batch size 2 doesn't match hidden0 batch size 3"
    )
    _raises_like_torch(
        ours, theirs, [(N, IN), *state(N, HID + 1)], "hidden0 has inconsistent hidden_size: got 5, expected 4"
    )


def test_cell_unknown_nonlinearity_fails_at_forward():
    check_raises(
        lambda: nn.RNNCell(IN, HID, nonlinearity="gelu")(minitorch.zeros(IN)),
        lambda: torch.nn.RNNCell(IN, HID, nonlinearity="gelu")(torch.zeros(IN)),
        "Unknown nonlinearity: gelu",
    )


@requires_torch
@pytest.mark.parametrize("kind", KINDS)
def test_empty_batch(kind):
    check_module(
        make(minitorch, kind, IN, HID, bidirectional=True),
        make(torch, kind, IN, HID, bidirectional=True),
        np.zeros((T, 0, IN)),
    )


@requires_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kind", KINDS)
def test_longer_sequence(kind, dtype):
    """Twenty steps: the gradients travel back through the whole chain of states."""
    x = np.random.default_rng(5).standard_normal((20, 3, IN))
    check_module(make(minitorch, kind, IN, 8, num_layers=2), make(torch, kind, IN, 8, num_layers=2), x, dtype=dtype)
