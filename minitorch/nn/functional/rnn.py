"""Recurrent steps as functions, and fused layers that run a whole sequence as one autograd node.

Each ``_*_step`` below is one time step of a cell written with ordinary
tensor ops: easy to read, and differentiable to any order, but a step costs
about a dozen autograd nodes. ``_run_steps`` loops a step over a sequence.

``_lstm_layer``, ``_gru_layer`` and ``_rnn_layer`` do the same work as that
loop in one Function each: forward loops over time on raw arrays and saves
the gates; backward is backpropagation through time on arrays, with the
weight gradients summed over all steps in one matrix product each. The
per-step code stays the reference they are tested against, and it is what
second derivatives are taken through (see ``_LSTMLayer``).
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Tuple

from ...autograd import grad as autograd_grad
from ...autograd import grad_mode
from ...autograd.function import Function
from ...ops.joining import stack
from ...ops.linalg import addmm
from ...tensor import Tensor

__all__: List[str] = []  # private helpers of nn.RNN, nn.LSTM, nn.GRU and the cells

State = Tuple[Tensor, ...]  # (h,) for RNN and GRU, (h, c) for LSTM


# ---- one time step of each kind of cell ----------------------------------------------------------
# ``gx`` is the step's input projection x @ W_ih^T + b_ih. For RNN and LSTM it also
# holds b_hh (the two biases are simply added), so the hidden part is one addmm.
def _rnn_step(gx: Tensor, h: Tensor, w_hh_t: Tensor, nonlinearity: str) -> Tensor:
    """h' = tanh(gx + h @ W_hh^T) (or relu)."""
    pre = addmm(gx, h, w_hh_t)
    return pre.tanh() if nonlinearity == "tanh" else pre.relu()


def _lstm_step(gx: Tensor, h: Tensor, c: Tensor, w_hh_t: Tensor, w_hr_t: Optional[Tensor]) -> State:
    """c' = f * c + i * g and h' = o * tanh(c'), with gates i, f, o in (0, 1) and candidate g in (-1, 1).

    With a projection (``proj_size > 0``) the new h is further multiplied by W_hr^T.
    """
    i, f, g, o = addmm(gx, h, w_hh_t).chunk(4, 1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    return (h if w_hr_t is None else h.mm(w_hr_t)), c


def _gru_step(gx: Tensor, h: Tensor, w_hh_t: Tensor, b_hh: Optional[Tensor]) -> Tensor:
    """h' = n + z * (h - n), where n = tanh(gx_n + r * (h @ W_hn^T + b_hn)).

    The reset gate r scales the hidden part of the candidate n *including* its
    bias, which is why GRU keeps b_hh out of ``gx``.
    """
    x_r, x_z, x_n = gx.chunk(3, 1)
    h_r, h_z, h_n = (h.mm(w_hh_t) if b_hh is None else addmm(b_hh, h, w_hh_t)).chunk(3, 1)
    r, z = (x_r + h_r).sigmoid(), (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    return n + z * (h - n)


def _run_steps(step: Callable[[Tensor, State], State], gx: Tensor, state: State, reverse: bool) -> Tuple[Tensor, State]:
    """Apply ``step`` along time (dim 0 of gx, backwards if ``reverse``): (every step's h stacked, final state)."""
    steps = gx.unbind(0)
    outputs: List[Any] = [None] * len(steps)
    for t in reversed(range(len(steps))) if reverse else range(len(steps)):
        state = step(steps[t], state)
        outputs[t] = state[0]
    return stack(outputs), state


def _lstm_reference(
    gx: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor, w_hr: Optional[Tensor], reverse: bool
) -> Tuple[Tensor, State]:
    """An LSTM layer as a loop of ``_lstm_step``: what ``_lstm_layer`` computes, one autograd node per op."""
    w_hh_t, w_hr_t = w_hh.t(), None if w_hr is None else w_hr.t()
    return _run_steps(lambda g, s: _lstm_step(g, s[0], s[1], w_hh_t, w_hr_t), gx, (h0, c0), reverse)


def _gru_reference(gx: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Optional[Tensor], reverse: bool) -> Tuple[Tensor, State]:
    """A GRU layer as a loop of ``_gru_step``: what ``_gru_layer`` computes."""
    w_hh_t = w_hh.t()
    return _run_steps(lambda g, s: (_gru_step(g, s[0], w_hh_t, b_hh),), gx, (h0,), reverse)


def _rnn_reference(gx: Tensor, h0: Tensor, w_hh: Tensor, nonlinearity: str, reverse: bool) -> Tuple[Tensor, State]:
    """An Elman RNN layer as a loop of ``_rnn_step``: what ``_rnn_layer`` computes."""
    w_hh_t = w_hh.t()
    return _run_steps(lambda g, s: (_rnn_step(g, s[0], w_hh_t, nonlinearity),), gx, (h0,), reverse)


# ---- the fused LSTM layer --------------------------------------------------------------------------
def _previous_states(xp: Any, out: Any, h0: Any, reverse: bool) -> Any:
    """The h each step started from (T, N, H): h0, then the outputs shifted one step along the direction of travel."""
    return xp.concatenate((out[1:], h0[None])) if reverse else xp.concatenate((h0[None], out[:-1]))


class _LSTMLayer(Function):
    """One LSTM layer in one direction over a whole sequence, as a single autograd node.

    Takes the input projection ``gx`` (T, N, 4H) for all steps, the initial
    ``h0`` (N, P) and ``c0`` (N, H), ``w_hh`` (4H, P), ``w_hr`` (P, H) or None
    (P = H without projection); returns every step's h (T, N, P), and the final
    h and c. Two backward paths, chosen by what the caller needs:

    - first order (a plain ``backward()``): backpropagation through time on
      arrays, no autograd nodes; fast.
    - higher order (``create_graph=True``, i.e. grad mode on during backward):
      the forward is replayed with the readable per-step tensor ops
      (``_lstm_reference``) from the saved inputs and differentiated with
      ``create_graph``, so the gradients are themselves differentiable. This
      costs a second forward, but keeps a single hand-written derivative.
    """

    grad_fn_name = "LSTMLayerBackward"

    @staticmethod
    def forward(
        ctx: Any, gx: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor, w_hr: Optional[Tensor], reverse: bool
    ) -> Tuple[Tensor, Tensor, Tensor]:
        backend = gx._backend
        xp = backend.xp
        steps, batch, hidden = gx.shape[0], gx.shape[1], c0.shape[1]
        gates = xp.empty_like(gx._data)  # every step's activated gates i | f | g | o
        w_hh_t = xp.ascontiguousarray(w_hh._data.T)  # row-major: BLAS is faster on it than on a transpose
        w_hr_t = None if w_hr is None else w_hr._data.T
        cells = xp.empty((steps, batch, hidden), dtype=gates.dtype)
        tanh_cells = xp.empty_like(cells)
        hidden_out = xp.empty_like(cells) if w_hr is not None else None  # o * tanh(c) before projection
        out = xp.empty((steps, batch, h0.shape[1]), dtype=gates.dtype)
        h, c = h0._data, c0._data
        for t in reversed(range(steps)) if reverse else range(steps):
            # The product in BLAS, the dozen elementwise operations of the cell in one backend call.
            h_t = out[t] if w_hr_t is None else hidden_out[t]
            backend.lstm_cell(gx._data[t], h @ w_hh_t, c, gates[t], cells[t], tanh_cells[t], h_t)
            h = h_t if w_hr_t is None else xp.matmul(h_t, w_hr_t, out=out[t])
            c = cells[t]
        last = 0 if reverse else steps - 1
        ctx.reverse = reverse
        out, h_n, c_n = gx._new(out), gx._new(out[last].copy()), gx._new(cells[last].copy())
        saved = [gx._new(a) for a in (gates, cells, tanh_cells)] + [hidden_out if w_hr is None else gx._new(hidden_out)]
        ctx.save_for_backward(gx, h0, c0, w_hh, w_hr, out, *saved)
        return out, h_n, c_n

    @staticmethod
    def backward(ctx: Any, g_out: Tensor, g_h: Tensor, g_c: Tensor) -> Tuple[Any, ...]:
        if grad_mode.is_grad_enabled():  # create_graph=True: differentiate the replayed per-step graph
            inputs = ctx.saved_tensors[:5]
            return _replay_backward(ctx, inputs, lambda *a: _lstm_reference(*a, ctx.reverse), (g_out, g_h, g_c))
        saved = ctx.saved_tensors
        backend = saved[0]._backend
        xp = backend.xp
        gx, h0, c0, w_hh, w_hr, out, gates, cells, tanh_cells, hidden_out = (
            None if t is None else t._data for t in saved
        )
        steps, hidden, reverse = gates.shape[0], cells.shape[2], ctx.reverse
        needs = ctx.needs_input_grad
        order = list(reversed(range(steps))) if reverse else list(range(steps))
        c_prev = [c0 if n == 0 else cells[order[n - 1]] for n in range(steps)]
        d_gates = xp.empty_like(gates)  # the gradient of each step's pre-activations, i.e. of gx
        d_out = g_out._data + 0  # becomes the total gradient of each step's h (a private copy)
        dh, dc = g_h._data, xp.array(g_c._data, order="C")  # dc is updated in place, step by step
        for n in reversed(range(steps)):
            t = order[n]
            d_out[t] += dh
            d_hidden = d_out[t] if w_hr is None else d_out[t] @ w_hr
            backend.lstm_cell_backward(gates[t], c_prev[n], tanh_cells[t], d_hidden, dc, d_gates[t])
            dh = d_gates[t] @ w_hh
        flat_dz = d_gates.reshape(-1, 4 * hidden)
        d_w_hh = d_w_hr = None
        if needs[3]:  # sum over steps of dz_t^T h_{t-1}, as one product over all steps
            d_w_hh = flat_dz.T @ _previous_states(xp, out, h0, reverse).reshape(-1, out.shape[2])
        if w_hr is not None and needs[4]:
            d_w_hr = d_out.reshape(-1, d_out.shape[2]).T @ hidden_out.reshape(-1, hidden)
        arrays = (d_gates, dh, dc, d_w_hh, d_w_hr)
        return tuple(None if a is None or not need else g_out._new(a) for a, need in zip(arrays, needs)) + (None,)


def _replay_backward(
    ctx: Any, inputs: Tuple[Any, ...], reference: Callable[..., Tuple[Tensor, State]], grad_outputs: Tuple[Tensor, ...]
) -> Tuple[Any, ...]:
    """A fused layer's gradients as differentiable tensors: run ``reference(*inputs)``, the per-step graph, and
    differentiate it with ``create_graph``. ``inputs`` are the layer's tensor arguments (None where absent);
    the arguments after them (the direction, the nonlinearity) get no gradient."""
    out, state = reference(*inputs)
    needs = ctx.needs_input_grad
    wanted = [t for t, need in zip(inputs, needs) if need]
    grads = iter(autograd_grad((out, *state), wanted, grad_outputs, create_graph=True, allow_unused=True))
    return tuple(next(grads) if need else None for need in needs[: len(inputs)]) + (None,) * (len(needs) - len(inputs))


def _lstm_layer(
    gx: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor, w_hr: Optional[Tensor], reverse: bool
) -> Tuple[Tensor, State]:
    """An LSTM layer over the sequence from its input projection gx (T, N, 4H): (every h, (h_n, c_n))."""
    out, h_n, c_n = _LSTMLayer.apply(gx, h0, c0, w_hh, w_hr, reverse)
    return out, (h_n, c_n)


# ---- the fused GRU layer ---------------------------------------------------------------------------
class _GRULayer(Function):
    """One GRU layer in one direction over a whole sequence, as a single autograd node.

    Takes the input projection ``gx`` (T, N, 3H), the initial ``h0`` (N, H),
    ``w_hh`` (3H, H) and ``b_hh`` (3H,) or None; returns every step's h
    (T, N, H) and the final h. Its two backward paths are those of ``_LSTMLayer``.
    """

    grad_fn_name = "GRULayerBackward"

    @staticmethod
    def forward(
        ctx: Any, gx: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Optional[Tensor], reverse: bool
    ) -> Tuple[Tensor, Tensor]:
        xp = gx._backend.xp
        steps, batch, hidden = gx.shape[0], gx.shape[1], h0.shape[1]
        # sigmoid(x) = 0.5 * tanh(0.5 * x) + 0.5: the r and z columns of gx, W_hh^T and b_hh are
        # scaled by 0.5 (W_hh^T and b_hh once, here), so r and z take one tanh, a multiply and an add.
        scale = xp.ones(3 * hidden, dtype=gx._data.dtype)
        scale[: 2 * hidden] = 0.5
        w_hh_t = xp.ascontiguousarray(w_hh._data.T) * scale  # row-major: BLAS is faster on it than on a transpose
        bias = None if b_hh is None else b_hh._data * scale
        gates = xp.empty_like(gx._data)  # r, z, n of every step
        hh = xp.empty_like(gates)  # every step's h @ W_hh^T + b_hh: backward needs the n part, which r scales
        out = xp.empty((steps, batch, hidden), dtype=gates.dtype)
        rz_part, n_part = slice(0, 2 * hidden), slice(2 * hidden, 3 * hidden)
        h = h0._data
        for t in reversed(range(steps)) if reverse else range(steps):
            a = xp.multiply(gx._data[t], scale, out=gates[t])
            xp.matmul(h, w_hh_t, out=hh[t])
            if bias is not None:
                hh[t] += bias
            rz = a[:, rz_part]
            rz += hh[t][:, rz_part]
            xp.tanh(rz, out=rz)
            rz *= 0.5
            rz += 0.5
            r, z, n = a[:, :hidden], a[:, hidden : 2 * hidden], a[:, n_part]
            n += r * hh[t][:, n_part]
            xp.tanh(n, out=n)
            h_new = xp.subtract(h, n, out=out[t])  # h' = n + z * (h - n), in the reference's order
            h_new *= z
            h = xp.add(n, h_new, out=h_new)
        ctx.reverse = reverse
        out, h_n = gx._new(out), gx._new(out[0 if reverse else steps - 1].copy())
        ctx.save_for_backward(gx, h0, w_hh, b_hh, out, gx._new(gates), gx._new(hh))
        return out, h_n

    @staticmethod
    def backward(ctx: Any, g_out: Tensor, g_h: Tensor) -> Tuple[Any, ...]:
        if grad_mode.is_grad_enabled():  # create_graph=True: differentiate the replayed per-step graph
            inputs = ctx.saved_tensors[:4]
            return _replay_backward(ctx, inputs, lambda *a: _gru_reference(*a, ctx.reverse), (g_out, g_h))
        saved = ctx.saved_tensors
        xp = saved[0]._backend.xp
        _, h0, w_hh, _, out, gates, hh = (None if t is None else t._data for t in saved)
        steps, hidden = out.shape[0], out.shape[2]
        needs = ctx.needs_input_grad
        r, z, n = gates[..., :hidden], gates[..., hidden : 2 * hidden], gates[..., 2 * hidden :]
        h_prev = _previous_states(xp, out, h0, ctx.reverse)
        # d h'/d n, d h'/d z and d n/d r, through their pre-activations, for all steps at once;
        # inside the loop each is then one multiply by the step's d h.
        dn_from_h = (1 - z) * (1 - n * n)
        dz_from_h = (h_prev - n) * z * (1 - z)
        dr_from_n = hh[..., 2 * hidden :] * r * (1 - r)
        d_hh = xp.empty_like(gates)  # the gradient of each step's h @ W_hh^T + b_hh
        d_xn = xp.empty_like(out)  # ... and of gx's n part, the only part of gx's gradient that differs
        d_out = g_out._data + 0  # becomes the total gradient of each step's h (a private copy)
        dh = g_h._data
        for t in range(steps) if ctx.reverse else reversed(range(steps)):
            d_out[t] += dh
            dh = d_out[t]
            dn = xp.multiply(dh, dn_from_h[t], out=d_xn[t])
            xp.multiply(dn, dr_from_n[t], out=d_hh[t][:, :hidden])
            xp.multiply(dh, dz_from_h[t], out=d_hh[t][:, hidden : 2 * hidden])
            xp.multiply(dn, r[t], out=d_hh[t][:, 2 * hidden :])
            dh = dh * z[t]
            dh += d_hh[t] @ w_hh
        d_gx = xp.concatenate((d_hh[..., : 2 * hidden], d_xn), axis=2) if needs[0] else None
        flat = d_hh.reshape(-1, 3 * hidden)
        d_w_hh = flat.T @ h_prev.reshape(-1, hidden) if needs[2] else None
        d_b_hh = flat.sum(0) if needs[3] else None
        arrays = (d_gx, dh, d_w_hh, d_b_hh)
        return tuple(None if a is None or not need else g_out._new(a) for a, need in zip(arrays, needs)) + (None,)


def _gru_layer(gx: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Optional[Tensor], reverse: bool) -> Tuple[Tensor, State]:
    """A GRU layer over the sequence from its input projection gx (T, N, 3H): (every h, (h_n,))."""
    out, h_n = _GRULayer.apply(gx, h0, w_hh, b_hh, reverse)
    return out, (h_n,)


# ---- the fused Elman RNN layer ---------------------------------------------------------------------
class _RNNLayer(Function):
    """One tanh or relu RNN layer in one direction over a whole sequence, as a single autograd node.

    Takes ``gx`` (T, N, H), the input projection with both biases if any, ``h0``
    (N, H), ``w_hh`` (H, H) and the nonlinearity; returns every step's h and
    the final h. Its two backward paths are those of ``_LSTMLayer``.
    """

    grad_fn_name = "RNNLayerBackward"

    @staticmethod
    def forward(
        ctx: Any, gx: Tensor, h0: Tensor, w_hh: Tensor, nonlinearity: str, reverse: bool
    ) -> Tuple[Tensor, Tensor]:
        xp = gx._backend.xp
        steps = gx.shape[0]
        w_hh_t = xp.ascontiguousarray(w_hh._data.T)
        out = xp.empty_like(gx._data)
        h = h0._data
        for t in reversed(range(steps)) if reverse else range(steps):
            h = xp.matmul(h, w_hh_t, out=out[t])
            h += gx._data[t]
            if nonlinearity == "tanh":
                xp.tanh(h, out=h)
            else:
                xp.maximum(h, 0, out=h)
        ctx.reverse, ctx.nonlinearity = reverse, nonlinearity
        out, h_n = gx._new(out), gx._new(out[0 if reverse else steps - 1].copy())
        ctx.save_for_backward(gx, h0, w_hh, out)
        return out, h_n

    @staticmethod
    def backward(ctx: Any, g_out: Tensor, g_h: Tensor) -> Tuple[Any, ...]:
        if grad_mode.is_grad_enabled():  # create_graph=True: differentiate the replayed per-step graph
            inputs = ctx.saved_tensors[:3]
            return _replay_backward(
                ctx, inputs, lambda *a: _rnn_reference(*a, ctx.nonlinearity, ctx.reverse), (g_out, g_h)
            )
        saved = ctx.saved_tensors
        xp = saved[0]._backend.xp
        _, h0, w_hh, out = (t._data for t in saved)
        # d h / d pre-activation, from the output alone: 1 - h^2 for tanh, h > 0 for relu
        d_act = 1 - out * out if ctx.nonlinearity == "tanh" else out > 0
        d_pre = xp.empty_like(out)  # the gradient of each step's pre-activation, i.e. of gx
        d_out = g_out._data + 0  # becomes the total gradient of each step's h (a private copy)
        dh = g_h._data
        for t in range(out.shape[0]) if ctx.reverse else reversed(range(out.shape[0])):
            d_out[t] += dh
            xp.multiply(d_out[t], d_act[t], out=d_pre[t])
            dh = d_pre[t] @ w_hh
        needs = ctx.needs_input_grad
        d_w_hh = None
        if needs[2]:
            h_prev = _previous_states(xp, out, h0, ctx.reverse)
            d_w_hh = d_pre.reshape(-1, out.shape[2]).T @ h_prev.reshape(-1, out.shape[2])
        arrays = (d_pre, dh, d_w_hh)
        return tuple(None if a is None or not need else g_out._new(a) for a, need in zip(arrays, needs)) + (None, None)


def _rnn_layer(gx: Tensor, h0: Tensor, w_hh: Tensor, nonlinearity: str, reverse: bool) -> Tuple[Tensor, State]:
    """An Elman RNN layer over the sequence from its input projection gx (T, N, H): (every h, (h_n,))."""
    out, h_n = _RNNLayer.apply(gx, h0, w_hh, nonlinearity, reverse)
    return out, (h_n,)
