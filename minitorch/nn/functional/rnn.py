"""Recurrent steps as functions, and a fused LSTM layer that runs a whole sequence as one autograd node.

Each ``_*_step`` below is one time step of a cell written with ordinary
tensor ops: easy to read, and differentiable to any order, but a step costs
about a dozen autograd nodes. ``_run_steps`` loops a step over a sequence.

For the LSTM, ``_lstm_layer`` does the same work as that loop in one
Function: forward loops over time on raw arrays and saves the gates and cell
states; backward is backpropagation through time on arrays, with the weight
gradients summed over all steps in one matrix product each. The per-step code
stays the reference it is tested against, and it is what second derivatives
are taken through (see ``_LSTMLayer``).
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


# ---- the fused LSTM layer --------------------------------------------------------------------------
def _gate_constants(xp: Any, hidden: int, dtype: Any) -> Tuple[Any, Any]:
    """Per-column constants that let all four gates share one tanh pass.

    sigmoid(x) = 0.5 * tanh(0.5 * x) + 0.5, so with ``scale`` = 0.5 on the
    sigmoid gates (i, f, o) and 1 on the candidate g, every gate is
    ``scale * tanh(scale * pre) + shift`` with ``shift`` = 0.5 or 0.
    """
    scale = xp.full(4 * hidden, 0.5, dtype=dtype)
    scale[2 * hidden : 3 * hidden] = 1
    shift = xp.full(4 * hidden, 0.5, dtype=dtype)
    shift[2 * hidden : 3 * hidden] = 0
    return scale, shift


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
        xp = gx._backend.xp
        steps, batch, hidden = gx.shape[0], gx.shape[1], c0.shape[1]
        scale, shift = _gate_constants(xp, hidden, gx._data.dtype)
        # Each step scales its pre-activations (gx[t] by one multiply, h @ W_hh^T through
        # W_hh^T's columns, scaled once here); then one tanh, a multiply and an add give all four gates.
        gates = xp.empty_like(gx._data)
        w_hh_t = xp.ascontiguousarray(w_hh._data.T) * scale  # row-major: BLAS is faster on it than on a transpose
        w_hr_t = None if w_hr is None else w_hr._data.T
        cells = xp.empty((steps, batch, hidden), dtype=gates.dtype)
        tanh_cells = xp.empty_like(cells)
        hidden_out = xp.empty_like(cells) if w_hr is not None else None  # o * tanh(c) before projection
        out = xp.empty((steps, batch, h0.shape[1]), dtype=gates.dtype)
        h, c = h0._data, c0._data
        for t in reversed(range(steps)) if reverse else range(steps):
            z = xp.multiply(gx._data[t], scale, out=gates[t])
            z += h @ w_hh_t
            xp.tanh(z, out=z)
            z *= scale
            z += shift
            i, f, g, o = (z[:, k * hidden : (k + 1) * hidden] for k in range(4))
            c = xp.multiply(f, c, out=cells[t])
            c += i * g
            xp.tanh(c, out=tanh_cells[t])
            if w_hr_t is None:
                h = xp.multiply(o, tanh_cells[t], out=out[t])
            else:
                xp.multiply(o, tanh_cells[t], out=hidden_out[t])
                h = xp.matmul(hidden_out[t], w_hr_t, out=out[t])
        last = 0 if reverse else steps - 1
        ctx.reverse = reverse
        out, h_n, c_n = gx._new(out), gx._new(out[last].copy()), gx._new(cells[last].copy())
        saved = [gx._new(a) for a in (gates, cells, tanh_cells)] + [hidden_out if w_hr is None else gx._new(hidden_out)]
        ctx.save_for_backward(gx, h0, c0, w_hh, w_hr, out, *saved)
        return out, h_n, c_n

    @staticmethod
    def backward(ctx: Any, g_out: Tensor, g_h: Tensor, g_c: Tensor) -> Tuple[Any, ...]:
        if grad_mode.is_grad_enabled():  # create_graph=True: differentiate the replayed per-step graph
            return _replay_backward(ctx, g_out, g_h, g_c)
        saved = ctx.saved_tensors
        xp = saved[0]._backend.xp
        gx, h0, c0, w_hh, w_hr, out, gates, cells, tanh_cells, hidden_out = (
            None if t is None else t._data for t in saved
        )
        steps, hidden, reverse = gates.shape[0], cells.shape[2], ctx.reverse
        needs = ctx.needs_input_grad
        i, f, g, o = (gates[..., k * hidden : (k + 1) * hidden] for k in range(4))
        # d gate / d pre-activation is y * (1 - y) for a sigmoid gate and (1 + y) * (1 - y)
        # for the tanh candidate g: (y + is_g) * (1 - y) for all four at once.
        is_g = xp.zeros(4 * hidden, dtype=gates.dtype)
        is_g[2 * hidden : 3 * hidden] = 1
        d_c_from_h = (1 - tanh_cells * tanh_cells) * o  # d h / d c = o * (1 - tanh(c)^2)
        order = list(reversed(range(steps))) if reverse else list(range(steps))
        c_prev = [c0 if n == 0 else cells[order[n - 1]] for n in range(steps)]
        d_gates = xp.empty_like(gates)  # the gradient of each step's pre-activations, i.e. of gx
        d_out = g_out._data + 0  # becomes the total gradient of each step's h (a private copy)
        dh, dc = g_h._data, g_c._data
        for n in reversed(range(steps)):
            t = order[n]
            d_out[t] += dh
            d_hidden = d_out[t] if w_hr is None else d_out[t] @ w_hr
            dc = dc + d_hidden * d_c_from_h[t]
            dz = d_gates[t]
            xp.multiply(dc, g[t], out=dz[:, :hidden])
            xp.multiply(dc, c_prev[n], out=dz[:, hidden : 2 * hidden])
            xp.multiply(dc, i[t], out=dz[:, 2 * hidden : 3 * hidden])
            xp.multiply(d_hidden, tanh_cells[t], out=dz[:, 3 * hidden :])
            d_act = gates[t] + is_g
            d_act *= 1 - gates[t]
            dz *= d_act
            dc = dc * f[t]
            dh = dz @ w_hh
        flat_dz = d_gates.reshape(-1, 4 * hidden)
        d_w_hh = d_w_hr = None
        if needs[3]:  # sum over steps of dz_t^T h_{t-1}, as one product over all steps
            h_prev = xp.concatenate((out[1:], h0[None])) if reverse else xp.concatenate((h0[None], out[:-1]))
            d_w_hh = flat_dz.T @ h_prev.reshape(-1, h_prev.shape[2])
        if w_hr is not None and needs[4]:
            d_w_hr = d_out.reshape(-1, d_out.shape[2]).T @ hidden_out.reshape(-1, hidden)
        arrays = (d_gates, dh, dc, d_w_hh, d_w_hr)
        return tuple(None if a is None or not need else g_out._new(a) for a, need in zip(arrays, needs)) + (None,)


def _replay_backward(ctx: Any, g_out: Tensor, g_h: Tensor, g_c: Tensor) -> Tuple[Any, ...]:
    """The gradients of ``_LSTMLayer`` as differentiable tensors, through the per-step reference graph."""
    gx, h0, c0, w_hh, w_hr = ctx.saved_tensors[:5]
    inputs = (gx, h0, c0, w_hh, w_hr)
    out, (h_n, c_n) = _lstm_reference(gx, h0, c0, w_hh, w_hr, ctx.reverse)
    wanted = [t for t, need in zip(inputs, ctx.needs_input_grad) if need]
    grads = iter(autograd_grad((out, h_n, c_n), wanted, (g_out, g_h, g_c), create_graph=True, allow_unused=True))
    return tuple(next(grads) if need else None for need in ctx.needs_input_grad[:5]) + (None,)


def _lstm_layer(
    gx: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor, w_hr: Optional[Tensor], reverse: bool
) -> Tuple[Tensor, State]:
    """An LSTM layer over the sequence from its input projection gx (T, N, 4H): (every h, (h_n, c_n))."""
    out, h_n, c_n = _LSTMLayer.apply(gx, h0, c0, w_hh, w_hr, reverse)
    return out, (h_n, c_n)
