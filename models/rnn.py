"""Sequence models built on ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU``: a sequence classifier and a character language model.

* :class:`RNNClassifier` reads a whole sequence (token ids through an
  ``Embedding``, or feature vectors such as the rows of an image) and
  predicts one class from the recurrent layer's last hidden state.
  Factories: ``rnn_classifier``, ``lstm_classifier``, ``gru_classifier``.
* :class:`CharRNN` predicts the next token at every position, and
  ``generate`` continues a prompt (greedy, sampled or beam search, see
  :mod:`models.decoding`), carrying the hidden state from step to step.
  Factories: ``char_rnn``, ``char_lstm``, ``char_gru``.

Both are batch-first: inputs are (N, L) token ids or (N, L, features).
"""

from __future__ import annotations

from typing import Any, Optional, Tuple, Union

from minitorch import Tensor, nn

from . import decoding

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}

State = Union[Tensor, Tuple[Tensor, Tensor]]  # h (RNN, GRU) or (h, c) (LSTM), each (layers, N, hidden)


def _recurrent(
    cell: str, input_size: int, hidden_size: int, num_layers: int, dropout: float, **kwargs: Any
) -> nn.Module:
    """A batch-first nn.RNN / nn.LSTM / nn.GRU; dropout between stacked layers only (there are none with one layer)."""
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
    return CELLS[cell](
        input_size, hidden_size, num_layers, batch_first=True, dropout=dropout if num_layers > 1 else 0.0, **kwargs
    )


class RNNClassifier(nn.Module):
    """``embedding`` (token input only) -> ``rnn`` -> ``dropout`` -> ``fc``: one set of logits per sequence.

    Give ``vocab_size`` for token ids (N, L) or ``input_size`` for feature
    vectors (N, L, input_size). The classifier reads the last layer's final
    hidden state (both directions' when ``bidirectional``), which has seen
    the whole sequence.
    """

    def __init__(
        self,
        num_classes: int,
        vocab_size: Optional[int] = None,
        input_size: Optional[int] = None,
        embedding_dim: int = 64,
        hidden_size: int = 128,
        num_layers: int = 1,
        cell: str = "lstm",
        bidirectional: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if (vocab_size is None) == (input_size is None):
            raise ValueError("give vocab_size (token ids as input) or input_size (feature vectors), exactly one")
        self.embedding = nn.Embedding(vocab_size, embedding_dim) if vocab_size is not None else None
        width = embedding_dim if vocab_size is not None else input_size
        self.rnn = _recurrent(cell, width, hidden_size, num_layers, dropout, bidirectional=bidirectional)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden_size * (2 if bidirectional else 1), num_classes)

    def forward(self, input: Tensor) -> Tensor:
        if self.embedding is not None:
            if input.dim() != 2 or input.dtype.is_floating_point:
                raise ValueError(f"expected token ids of shape (N, L), got {input.dtype} of shape {tuple(input.shape)}")
            input = self.embedding(input)
        elif input.dim() != 3:
            raise ValueError(
                f"expected feature vectors of shape (N, L, {self.rnn.input_size}), got {tuple(input.shape)}"
            )
        _, state = self.rnn(input)
        h = state[0] if isinstance(state, tuple) else state  # (layers * directions, N, hidden)
        directions = 2 if self.rnn.bidirectional else 1
        last = h[-directions:].transpose(0, 1).reshape(h.shape[1], -1)  # the top layer, directions side by side
        return self.fc(self.dropout(last))


class CharRNN(nn.Module):
    """A recurrent language model: ``embedding`` -> ``rnn`` -> ``dropout`` -> ``head`` (logits over the vocabulary).

    ``forward(input, hx=None)`` gives logits (N, L, vocab_size) predicting
    the token after each position of ``input`` (N, L); ``hx`` is an initial
    state as the recurrent layer takes it (zeros by default).
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int = 64,
        hidden_size: int = 256,
        num_layers: int = 2,
        cell: str = "lstm",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.rnn = _recurrent(cell, embedding_dim, hidden_size, num_layers, dropout)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, input: Tensor, hx: Optional[State] = None) -> Tensor:
        return self.decode_step(input, hx)[0]

    # ---- generation (see models.decoding): the state is the recurrent layer's ----------------------
    def init_state(self, prompt: Tensor) -> Optional[State]:
        """Decoding starts from the zero state (None)."""
        return None

    def decode_step(self, tokens: Tensor, state: Optional[State]) -> Tuple[Tensor, State]:
        """Logits (N, L, V) for ``tokens`` (N, L) read after ``state``, and the state after them."""
        if tokens.dim() != 2 or tokens.dtype.is_floating_point:
            raise ValueError(f"expected token ids of shape (N, L), got {tokens.dtype} of shape {tuple(tokens.shape)}")
        out, state = self.rnn(self.embedding(tokens), state)
        return self.head(self.dropout(out)), state

    def reorder_state(self, state: Optional[State], index: Tensor) -> Optional[State]:
        """The state of batch rows ``index`` (the batch is dim 1 of h and c)."""
        if state is None:
            return None
        if isinstance(state, tuple):
            return tuple(s.index_select(1, index) for s in state)
        return state.index_select(1, index)

    def generate(self, prompt: Tensor, max_new_tokens: int, **options: Any) -> Tensor:
        """Continue ``prompt`` (N, T0) by ``max_new_tokens`` tokens: see :func:`models.decoding.generate`."""
        return decoding.generate(self, prompt, max_new_tokens, **options)


# ---- factories ----------------------------------------------------------------------------------
def rnn_classifier(num_classes: int, **options: Any) -> RNNClassifier:
    """A classifier over an Elman RNN (tanh); pass ``vocab_size`` or ``input_size`` and any RNNClassifier option."""
    return RNNClassifier(num_classes, cell="rnn", **options)


def lstm_classifier(num_classes: int, **options: Any) -> RNNClassifier:
    """A classifier over an LSTM; pass ``vocab_size`` or ``input_size`` and any RNNClassifier option."""
    return RNNClassifier(num_classes, cell="lstm", **options)


def gru_classifier(num_classes: int, **options: Any) -> RNNClassifier:
    """A classifier over a GRU; pass ``vocab_size`` or ``input_size`` and any RNNClassifier option."""
    return RNNClassifier(num_classes, cell="gru", **options)


def char_rnn(vocab_size: int, **options: Any) -> CharRNN:
    """A character language model over an Elman RNN (tanh)."""
    return CharRNN(vocab_size, cell="rnn", **options)


def char_lstm(vocab_size: int, **options: Any) -> CharRNN:
    """A character language model over an LSTM (Karpathy's char-rnn: 2 layers by default)."""
    return CharRNN(vocab_size, cell="lstm", **options)


def char_gru(vocab_size: int, **options: Any) -> CharRNN:
    """A character language model over a GRU."""
    return CharRNN(vocab_size, cell="gru", **options)
