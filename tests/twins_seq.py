"""PyTorch twins of the sequence models, and ``CASES``: one small instance of every sequence model and Transformer variant.

The twins are written in plain ``torch.nn`` (no transformers library) with
the same ``state_dict`` keys and parameter order as ``models/rnn.py`` and
``models/transformer.py``, so ``check_module`` can load one's weights into
the other. They are written independently where the maths allows another
route (RoPE through complex numbers, ALiBi slopes by the paper's reference
code, sinusoidal positions filled into even and odd columns), and they
have no dropout and no cache: compare with ``dropout=0``.

``CASES[name]`` builds our model, its twin (None without torch) and inputs
for ``model(*inputs)``: token ids (int64) and padding masks (bool, True at
padding; the last tokens of some rows). This module imports without torch.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from models.rnn import CharRNN, RNNClassifier
from models.transformer import Transformer, TransformerConfig

from helpers import torch
from zoo_cases import Case

# ---- the configurations under test ----------------------------------------------------------------
_TINY = dict(
    d_model=16, nhead=2, dim_feedforward=24, dropout=0.0, max_len=12, num_encoder_layers=2, num_decoder_layers=2
)
_THREE_HEADS = dict(_TINY, d_model=18, nhead=3)  # ALiBi's slopes for a head count that is not a power of two

TRANSFORMER_CONFIGS: Dict[str, TransformerConfig] = {
    # The seed's encoder-decoder, as in "Attention Is All You Need".
    "transformer": TransformerConfig(vocab_size=7, tgt_vocab_size=9, **_TINY),
    "transformer_rope_swiglu_rms": TransformerConfig(
        vocab_size=7, tgt_vocab_size=9, position="rope", activation="swiglu", norm="pre_rms", **_TINY
    ),
    "transformer_alibi_geglu_preln": TransformerConfig(
        vocab_size=7, tgt_vocab_size=9, position="alibi", activation="geglu", norm="pre_ln", **_THREE_HEADS
    ),
    "encoder_only": TransformerConfig(
        vocab_size=7, architecture="encoder", position="learned", activation="gelu", **_TINY
    ),
    "encoder_rope_geglu_preln": TransformerConfig(
        vocab_size=7,
        tgt_vocab_size=4,
        architecture="encoder",
        position="rope",
        activation="geglu",
        norm="pre_ln",
        **_TINY,
    ),
    "gpt": TransformerConfig(
        vocab_size=7, architecture="decoder", position="learned", activation="gelu", norm="pre_ln", **_TINY
    ),
    "decoder_only": TransformerConfig(
        vocab_size=7, architecture="decoder", position="rope", activation="swiglu", norm="pre_rms", bias=False, **_TINY
    ),
    "decoder_alibi": TransformerConfig(vocab_size=7, architecture="decoder", position="alibi", **_THREE_HEADS),
    "prefix_decoder": TransformerConfig(
        vocab_size=7, architecture="prefix_decoder", position="rope", activation="geglu", norm="pre_ln", **_TINY
    ),
    "prefix_decoder_sinusoidal_rms": TransformerConfig(
        vocab_size=7, architecture="prefix_decoder", activation="swiglu", norm="pre_rms", **_TINY
    ),
}

RNN_CLASSIFIERS: Dict[str, Dict[str, Any]] = {
    "rnn_classifier": dict(num_classes=3, vocab_size=7, embedding_dim=6, hidden_size=8, cell="rnn"),
    "lstm_classifier": dict(
        num_classes=3, vocab_size=7, embedding_dim=6, hidden_size=8, num_layers=2, cell="lstm", bidirectional=True
    ),
    "gru_classifier": dict(num_classes=4, input_size=5, hidden_size=8, num_layers=2, cell="gru"),
}

CHAR_RNNS: Dict[str, Dict[str, Any]] = {
    "char_rnn": dict(vocab_size=7, embedding_dim=6, hidden_size=8, num_layers=1, cell="rnn"),
    "char_lstm": dict(vocab_size=7, embedding_dim=6, hidden_size=8, num_layers=2, cell="lstm"),
    "char_gru": dict(vocab_size=7, embedding_dim=6, hidden_size=8, num_layers=2, cell="gru"),
}


# ---- inputs ------------------------------------------------------------------------------------------
def padding_mask(batch: int, length: int, pads: List[int]) -> np.ndarray:
    """True at the last ``pads[i]`` positions of row i (right padding, as a batch of unequal sequences has)."""
    return np.arange(length)[None, :] >= (length - np.asarray(pads))[:, None]


def transformer_inputs(config: TransformerConfig, rng: np.random.Generator) -> List[np.ndarray]:
    """Token ids and padding masks for ``Transformer.forward`` (source, its mask[, target, its mask])."""
    src = rng.integers(0, config.vocab_size, size=(3, 5))
    src_mask = padding_mask(3, 5, [0, 2, 1])
    if config.architecture == "encoder_decoder":
        tgt = rng.integers(0, config.output_vocab_size, size=(3, 4))
        return [src, src_mask, tgt, padding_mask(3, 4, [0, 1, 0])]
    if config.architecture == "prefix_decoder":
        return [src, src_mask, rng.integers(0, config.vocab_size, size=(3, 3)), padding_mask(3, 3, [1, 0, 0])]
    return [src, src_mask]


# ---- the twins ---------------------------------------------------------------------------------------
if torch is not None:
    tnn = torch.nn
    TF = torch.nn.functional

    _TORCH_RNNS = {"rnn": tnn.RNN, "lstm": tnn.LSTM, "gru": tnn.GRU}

    class TorchRNNClassifier(tnn.Module):
        def __init__(
            self,
            num_classes,
            vocab_size=None,
            input_size=None,
            embedding_dim=64,
            hidden_size=128,
            num_layers=1,
            cell="lstm",
            bidirectional=False,
        ):
            super().__init__()
            self.embedding = tnn.Embedding(vocab_size, embedding_dim) if vocab_size else None
            width = embedding_dim if vocab_size else input_size
            self.rnn = _TORCH_RNNS[cell](width, hidden_size, num_layers, batch_first=True, bidirectional=bidirectional)
            self.fc = tnn.Linear(hidden_size * (1 + bidirectional), num_classes)

        def forward(self, x):
            _, h = self.rnn(self.embedding(x) if self.embedding is not None else x)
            h = h[0] if isinstance(h, tuple) else h
            last = [h[-1]] if not self.rnn.bidirectional else [h[-2], h[-1]]  # forward, backward of the top layer
            return self.fc(torch.cat(last, -1))

    class TorchCharRNN(tnn.Module):
        def __init__(self, vocab_size, embedding_dim=64, hidden_size=256, num_layers=2, cell="lstm"):
            super().__init__()
            self.embedding = tnn.Embedding(vocab_size, embedding_dim)
            self.rnn = _TORCH_RNNS[cell](embedding_dim, hidden_size, num_layers, batch_first=True)
            self.head = tnn.Linear(hidden_size, vocab_size)

        def forward(self, x, hx=None):
            return self.head(self.rnn(self.embedding(x), hx)[0])

    def _sinusoidal(length, d):
        pe = torch.zeros(length, d, dtype=torch.float64)
        pos = torch.arange(length, dtype=torch.float64)[:, None]
        div = 10000.0 ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
        pe[:, 0::2], pe[:, 1::2] = torch.sin(pos / div), torch.cos(pos / div)
        return pe

    def _rope(x, pos):
        """Rotate (x_i, x_{i+D/2}) as the complex number x_i + i x_{i+D/2} by pos * theta_i."""
        half = x.shape[-1] // 2
        theta = 10000.0 ** (-torch.arange(half, dtype=torch.float64) / half)
        turn = torch.polar(torch.ones(len(pos), half, dtype=torch.float64), pos[:, None].double() * theta)
        z = torch.complex(x[..., :half].double(), x[..., half:].double()) * turn
        return torch.cat([z.real, z.imag], -1).to(x.dtype)

    def _alibi_slopes(n):
        """The reference implementation from the ALiBi authors."""

        def power_of_2(n):
            start = 2 ** (-(2 ** -(math.log2(n) - 3)))
            return [start * start**i for i in range(n)]

        if math.log2(n).is_integer():
            return power_of_2(n)
        closest = 2 ** math.floor(math.log2(n))
        return power_of_2(closest) + _alibi_slopes(2 * closest)[0::2][: n - closest]

    def _norm(c):
        return (
            tnn.RMSNorm(c.d_model, eps=c.norm_eps) if c.norm == "pre_rms" else tnn.LayerNorm(c.d_model, eps=c.norm_eps)
        )

    class TorchAttention(tnn.Module):
        def __init__(self, c, rotary):
            super().__init__()
            self.h, self.rotary = c.nhead, rotary
            self.q_proj, self.k_proj, self.v_proj, self.out_proj = (
                tnn.Linear(c.d_model, c.d_model, bias=c.bias) for _ in range(4)
            )

        def forward(self, x, source, mask, pos=None):
            n, length, d = x.shape
            pairs = ((self.q_proj, x), (self.k_proj, source), (self.v_proj, source))
            q, k, v = (proj(t).view(n, -1, self.h, d // self.h).transpose(1, 2) for proj, t in pairs)
            if self.rotary:
                q, k = _rope(q, pos), _rope(k, pos)
            out = TF.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            return self.out_proj(out.transpose(1, 2).reshape(n, length, d))

    class TorchFeedForward(tnn.Module):
        def __init__(self, c):
            super().__init__()
            self.act = {"relu": TF.relu, "gelu": TF.gelu, "swiglu": TF.silu, "geglu": TF.gelu}[c.activation]
            self.linear1 = tnn.Linear(c.d_model, c.dim_feedforward, bias=c.bias)
            glu = c.activation in ("swiglu", "geglu")
            self.gate = tnn.Linear(c.d_model, c.dim_feedforward, bias=c.bias) if glu else None
            self.linear2 = tnn.Linear(c.dim_feedforward, c.d_model, bias=c.bias)

        def forward(self, x):
            h = self.act(self.linear1(x)) if self.gate is None else self.act(self.gate(x)) * self.linear1(x)
            return self.linear2(h)

    class TorchLayer(tnn.Module):
        def __init__(self, c, cross):
            super().__init__()
            self.pre = c.norm != "post_ln"
            self.self_attn, self.attn_norm = TorchAttention(c, c.position == "rope"), _norm(c)
            self.cross_attn = TorchAttention(c, False) if cross else None
            self.cross_norm = _norm(c) if cross else None
            self.feed_forward, self.ff_norm = TorchFeedForward(c), _norm(c)

        def forward(self, x, mask, pos, memory, memory_mask):
            def sub(x, norm, f):
                return x + f(norm(x)) if self.pre else norm(x + f(x))

            x = sub(x, self.attn_norm, lambda h: self.self_attn(h, h, mask, pos))
            if self.cross_attn is not None:
                x = sub(x, self.cross_norm, lambda h: self.cross_attn(h, memory, memory_mask))
            return sub(x, self.ff_norm, self.feed_forward)

    class TorchStack(tnn.Module):
        def __init__(self, c, vocab, num_layers, decoder):
            super().__init__()
            self.c, self.causal = c, decoder
            self.embed = tnn.Embedding(vocab, c.d_model)
            self.pos_embed = tnn.Embedding(c.max_len, c.d_model) if c.position == "learned" else None
            cross = decoder and c.architecture == "encoder_decoder"
            self.layers = tnn.ModuleList(TorchLayer(c, cross) for _ in range(num_layers))
            self.norm = _norm(c) if c.norm != "post_ln" else None

        def forward(self, tokens, padding=None, prefix=0, memory=None, memory_mask=None):
            c, length = self.c, tokens.shape[1]
            pos = torch.arange(length)
            x = self.embed(tokens) * c.d_model**0.5
            if c.position == "sinusoidal":
                x = x + _sinusoidal(length, c.d_model).to(x.dtype)
            if c.position == "learned":
                x = x + self.pos_embed(pos)
            scores = torch.zeros(1, 1, length, length, dtype=x.dtype)
            if self.causal:
                visible = (pos[None, :] <= pos[:, None]) | (pos[None, :] < prefix)
                scores = scores.masked_fill(~visible, -math.inf)
            if c.position == "alibi":
                slopes = torch.tensor(_alibi_slopes(c.nhead), dtype=x.dtype).view(1, -1, 1, 1)
                scores = scores - slopes * (pos[:, None] - pos[None, :]).abs().to(x.dtype)
            if padding is not None:
                scores = scores.masked_fill(padding[:, None, None, :], -math.inf)
            for layer in self.layers:
                x = layer(x, scores, pos, memory, memory_mask)
            return x if self.norm is None else self.norm(x)

    class TorchTransformer(tnn.Module):
        def __init__(self, c):
            super().__init__()
            self.c = c
            if c.architecture in ("encoder_decoder", "encoder"):
                self.encoder = TorchStack(c, c.vocab_size, c.num_encoder_layers, decoder=False)
            if c.architecture != "encoder":
                vocab = c.output_vocab_size if c.architecture == "encoder_decoder" else c.vocab_size
                self.decoder = TorchStack(c, vocab, c.num_decoder_layers, decoder=True)
            self.head = tnn.Linear(c.d_model, c.output_vocab_size)

        def forward(self, src, src_key_padding_mask=None, tgt=None, tgt_key_padding_mask=None):
            arch = self.c.architecture
            if arch == "encoder":
                return self.head(self.encoder(src, src_key_padding_mask))
            if arch == "decoder":
                return self.head(self.decoder(src, src_key_padding_mask))
            if arch == "prefix_decoder":
                tokens, padding = src, src_key_padding_mask
                if tgt is not None:
                    tokens = torch.cat([src, tgt], 1)
                    if src_key_padding_mask is not None or tgt_key_padding_mask is not None:
                        sm = src_key_padding_mask if src_key_padding_mask is not None else torch.zeros_like(src).bool()
                        tm = tgt_key_padding_mask if tgt_key_padding_mask is not None else torch.zeros_like(tgt).bool()
                        padding = torch.cat([sm, tm], 1)
                return self.head(self.decoder(tokens, padding, prefix=src.shape[1]))
            memory = self.encoder(src, src_key_padding_mask)
            memory_mask = None
            if src_key_padding_mask is not None:
                memory_mask = torch.zeros(src.shape, dtype=memory.dtype).masked_fill(src_key_padding_mask, -math.inf)
                memory_mask = memory_mask[:, None, None, :]
            return self.head(self.decoder(tgt, tgt_key_padding_mask, memory=memory, memory_mask=memory_mask))


def _twin(make: Callable[[], Any]) -> Optional[Callable[[], Any]]:
    return make if torch is not None else None


def _transformer_case(config: TransformerConfig) -> Case:
    return Case(
        build=lambda: Transformer(config),
        build_torch=_twin(lambda: TorchTransformer(config)),
        inputs=lambda rng: transformer_inputs(config, rng),
    )


def _classifier_case(kwargs: Dict[str, Any]) -> Case:
    def inputs(rng: np.random.Generator) -> List[np.ndarray]:
        if "vocab_size" in kwargs:
            return [rng.integers(0, kwargs["vocab_size"], size=(3, 6))]
        return [rng.standard_normal((3, 6, kwargs["input_size"]))]

    return Case(
        build=lambda: RNNClassifier(**kwargs),
        build_torch=_twin(lambda: TorchRNNClassifier(**kwargs)),
        inputs=inputs,
    )


def _char_rnn_case(kwargs: Dict[str, Any]) -> Case:
    return Case(
        build=lambda: CharRNN(**kwargs),
        build_torch=_twin(lambda: TorchCharRNN(**kwargs)),
        inputs=lambda rng: [rng.integers(0, kwargs["vocab_size"], size=(3, 6))],
    )


CASES: Dict[str, Case] = {
    **{name: _transformer_case(config) for name, config in TRANSFORMER_CONFIGS.items()},
    **{name: _classifier_case(kwargs) for name, kwargs in RNN_CLASSIFIERS.items()},
    **{name: _char_rnn_case(kwargs) for name, kwargs in CHAR_RNNS.items()},
}
