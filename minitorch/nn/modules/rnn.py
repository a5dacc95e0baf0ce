"""Recurrent layers: RNN, LSTM and GRU over whole sequences, and their one-step cells.

A recurrent layer reads a sequence one time step at a time and carries a
hidden state ``h`` (an LSTM also a cell state ``c``) from step to step. Each
step mixes the step's input ``x_t`` and the previous state through two
weight matrices, ``W_ih`` (input to hidden) and ``W_hh`` (hidden to hidden),
and squashes the result through gates.

The input part ``x_t @ W_ih^T + b`` does not depend on the state, so a layer
computes it for all time steps in one matrix product before the loop; the
loop only adds ``h @ W_hh^T`` and applies the gates. Stacked layers feed each
layer's outputs to the next; a bidirectional layer runs a second copy of the
weights (the ``_reverse`` parameters) from the last step to the first.
Each layer runs its whole time loop, in each direction, as one fused
autograd node (``nn/functional/rnn.py``); the cells record every step's
tensor ops.

Gates are stacked along the rows of the weights in PyTorch's order (LSTM:
input, forget, cell, output; GRU: reset, update, new), so weights copied
from a PyTorch ``state_dict`` give the same results.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, List, Optional, Tuple

from ...ops.creation import empty, zeros
from ...ops.joining import cat, stack
from ...ops.linalg import addmm
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..functional.rnn import State, _gru_layer, _gru_step, _lstm_layer, _lstm_step, _rnn_layer, _rnn_step
from ..parameter import Parameter
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


def _project(x: Tensor, w_ih: Tensor, bias: Optional[Tensor]) -> Tensor:
    """x @ W_ih^T + bias over the last dim of x, as one matrix product."""
    flat = x.reshape(-1, x.shape[-1])
    out = flat.mm(w_ih.t()) if bias is None else addmm(bias, flat, w_ih.t())
    return out.reshape(*x.shape[:-1], w_ih.shape[0])


# ---- the sequence layers ---------------------------------------------------------------------------
class RNNBase(Module):
    """What RNN, LSTM and GRU share: the parameters, the checks and the loop over layers and time.

    ``mode`` is ``'RNN_TANH'``, ``'RNN_RELU'``, ``'LSTM'`` or ``'GRU'``. Inputs are
    plain tensors of shape (L, N, H_in) (or (N, L, H_in) with ``batch_first``,
    or (L, H_in) unbatched); PackedSequence is not supported.
    """

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of an element being zeroed"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                stacklevel=2,
            )
        for name, value in (("bias", bias), ("batch_first", batch_first)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} should be of type bool, got: {type(value).__name__}")
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int):
                raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
            if value <= 0:
                raise ValueError(f"{name} must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        gates = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}.get(mode)
        if gates is None:
            raise ValueError("Unrecognized RNN mode: " + mode)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size

        # Registered layer by layer, direction by direction, as PyTorch does, so that
        # parameters() and state_dict() come in the same order with the same names.
        out_size = proj_size or hidden_size
        self._all_weights: List[List[str]] = []
        for layer in range(num_layers):
            for suffix in ("", "_reverse")[: 1 + bidirectional]:
                in_size = input_size if layer == 0 else out_size * (1 + bidirectional)
                shapes = {"weight_ih": (gates * hidden_size, in_size), "weight_hh": (gates * hidden_size, out_size)}
                if bias:
                    shapes.update(bias_ih=(gates * hidden_size,), bias_hh=(gates * hidden_size,))
                if proj_size:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                names = []
                for kind, shape in shapes.items():
                    names.append(f"{kind}_l{layer}{suffix}")
                    setattr(self, names[-1], Parameter(empty(shape, device=device, dtype=dtype)))
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def all_weights(self) -> List[List[Parameter]]:
        """The parameters grouped per layer and direction: [[w_ih, w_hh, b_ih, b_hh], ...]."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """Does nothing: PyTorch packs the weights for cuDNN here; minitorch keeps them apart."""

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ---- forward ------------------------------------------------------------------------------------
    def forward(self, input: Tensor, hx: Any = None) -> Tuple[Tensor, Any]:
        """Run all layers over the sequence; return (output, final state) in PyTorch's shapes."""
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(
                f"{name}: expected input to be a Tensor, got {type(input).__name__}; PackedSequence is not "
                "supported in minitorch, pad the sequences into one tensor instead"
            )
        if input.dim() not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D instead")
        batched = input.dim() == 3
        batch_dim = 0 if self.batch_first else 1
        if not batched:
            input = input.unsqueeze(batch_dim)
        states = self._initial_states(input, hx, batched)
        x = input.transpose(0, 1) if self.batch_first else input  # time-major from here on
        if x.shape[0] == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")

        directions = 1 + self.bidirectional
        finals: List[State] = []
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0 and self.training:
                x = F.dropout(x, self.dropout, training=True)
            outputs = []
            for d in range(directions):
                k = layer * directions + d
                out, state = self._run_layer(x, tuple(s[k] for s in states), layer, reverse=d == 1)
                outputs.append(out)
                finals.append(state)
            x = outputs[0] if directions == 1 else cat(outputs, 2)

        output = x.transpose(0, 1) if self.batch_first else x
        final = tuple(stack([state[i] for state in finals]) for i in range(len(states)))
        if not batched:
            output = output.squeeze(batch_dim)
            final = tuple(s.squeeze(1) for s in final)
        return output, (final if self.mode == "LSTM" else final[0])

    def _initial_states(self, input: Tensor, hx: Any, batched: bool) -> State:
        """The checked initial state(s) as 3-D tensors (L * D, N, H); zeros when ``hx`` is None."""
        lstm = self.mode == "LSTM"
        states = None if hx is None else (hx[0], hx[1]) if lstm else (hx,)
        if states is not None:
            want = 3 if batched else 2
            if any(s.dim() != want for s in states):
                kind = "batched 3-D" if batched else "unbatched 2-D"
                got = ", ".join(f"{s.dim()}-D" for s in states)
                if lstm:
                    raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D but got ({got}) tensors")
                raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got {got} tensor")
            if not batched:
                states = tuple(s.unsqueeze(1) for s in states)
        if input.dtype is not self.weight_ih_l0.dtype:
            w = self.weight_ih_l0.dtype
            raise ValueError(
                f"RNN input dtype ({input.dtype}) does not match weight dtype ({w}). "
                f"Convert input: input.to({w}), or convert model: model.to({input.dtype})"
            )
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got {input.shape[-1]}"
            )
        batch = input.shape[0 if self.batch_first else 1]
        layers = self.num_layers * (1 + self.bidirectional)
        shapes = [(layers, batch, self.proj_size or self.hidden_size)] + [(layers, batch, self.hidden_size)] * lstm
        if states is None:
            return tuple(zeros(shape, dtype=input.dtype, device=input.device) for shape in shapes)
        for i, (s, shape) in enumerate(zip(states, shapes)):
            if tuple(s.shape) != shape:
                raise RuntimeError(f"Expected hidden{f'[{i}]' if lstm else ''} size {shape}, got {list(s.shape)}")
        return states

    def _run_layer(self, x: Tensor, state: State, layer: int, reverse: bool) -> Tuple[Tensor, State]:
        """One layer in one direction over the whole sequence x (T, N, H_in): (outputs (T, N, H), final state)."""

        def param(kind: str) -> Optional[Parameter]:
            return getattr(self, f"{kind}_l{layer}{'_reverse' if reverse else ''}", None)

        b_ih, b_hh = param("bias_ih"), param("bias_hh")
        if b_ih is not None and self.mode != "GRU":
            b_ih, b_hh = b_ih + b_hh, None  # both biases join the input projection
        gx = _project(x, param("weight_ih"), b_ih)
        # one fused autograd node for the whole sequence (see functional/rnn.py)
        if self.mode == "LSTM":
            return _lstm_layer(gx, state[0], state[1], param("weight_hh"), param("weight_hr"), reverse)
        if self.mode == "GRU":
            return _gru_layer(gx, state[0], param("weight_hh"), b_hh, reverse)
        return _rnn_layer(gx, state[0], param("weight_hh"), "tanh" if self.mode == "RNN_TANH" else "relu", reverse)


class RNN(RNNBase):
    """An Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu).

    ``forward(input, h_0=None)`` returns ``(output, h_n)``: output holds the last
    layer's h_t for every t (both directions concatenated), h_n the final h of
    every layer and direction, shape (num_layers * num_directions, N, hidden_size).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__(
            "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device=device,
            dtype=dtype,
        )


class LSTM(RNNBase):
    """Long short-term memory: a gated cell state c carries information across many steps.

    ``forward(input, (h_0, c_0)=None)`` returns ``(output, (h_n, c_n))``. With
    ``proj_size > 0`` each h is projected by ``weight_hr`` to ``proj_size`` features.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device=device,
            dtype=dtype,
        )


class GRU(RNNBase):
    """Gated recurrent unit: a reset gate and an update gate blend the old h with a candidate.

    ``forward(input, h_0=None)`` returns ``(output, h_n)`` shaped as for RNN.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            "GRU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device=device,
            dtype=dtype,
        )


# ---- the cells: one step, for writing the time loop yourself ----------------------------------------
class RNNCellBase(Module):
    """What the cells share: ``weight_ih`` (G * hidden, input), ``weight_hh`` (G * hidden, hidden) and biases."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        rows = num_chunks * hidden_size
        self.weight_ih = Parameter(empty((rows, input_size), device=device, dtype=dtype))
        self.weight_hh = Parameter(empty((rows, hidden_size), device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(rows, device=device, dtype=dtype))
            self.bias_hh = Parameter(empty(rows, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input: Tensor, hx: Any, n_states: int) -> Tuple[Tensor, State, bool]:
        """Check the shapes; return 2-D input, 2-D states (zeros when ``hx`` is None), and whether it was batched."""
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        states = (hx,) if n_states == 1 or hx is None else tuple(hx)
        for i, s in enumerate(states):
            if s is not None and s.dim() not in (1, 2):
                what = "hidden" if n_states == 1 else f"hx[{i}]"
                raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {s.dim()}D instead")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
        if input.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} expected {self.input_size}")
        if hx is None:
            h = zeros(input.shape[0], self.hidden_size, dtype=input.dtype, device=input.device)
            return input, (h,) * n_states, batched
        if not batched:
            states = tuple(s.unsqueeze(0) for s in states)
        for i, s in enumerate(states):
            if s.shape[0] != input.shape[0]:
                raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match hidden{i} batch size {s.shape[0]}")
            if s.shape[1] != self.hidden_size:
                raise RuntimeError(
                    f"hidden{i} has inconsistent hidden_size: got {s.shape[1]}, expected {self.hidden_size}"
                )
        return input, states, batched

    def _gx(self, input: Tensor, fold_bias_hh: bool) -> Tensor:
        """The input projection x @ W_ih^T + b_ih (+ b_hh when it can be folded in)."""
        bias = self.bias_ih
        if bias is not None and fold_bias_hh:
            bias = bias + self.bias_hh
        return _project(input, self.weight_ih, bias)


class RNNCell(RNNCellBase):
    """One step of an Elman RNN: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:
        input, (h,), batched = self._prepare(input, hx, 1)
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        h = _rnn_step(self._gx(input, True), h, self.weight_hh.t(), self.nonlinearity)
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step: ``forward(input, (h, c)=None)`` returns the new ``(h, c)``."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Optional[Tuple[Tensor, Tensor]] = None) -> Tuple[Tensor, Tensor]:
        input, (h, c), batched = self._prepare(input, hx, 2)
        h, c = _lstm_step(self._gx(input, True), h, c, self.weight_hh.t(), None)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step: ``forward(input, h=None)`` returns the new h."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:
        input, (h,), batched = self._prepare(input, hx, 1)
        h = _gru_step(self._gx(input, False), h, self.weight_hh.t(), self.bias_hh)
        return h if batched else h.squeeze(0)
