"""One configurable Transformer: the encoder-decoder of "Attention Is All You Need" and its common variants.

A :class:`TransformerConfig` picks one value in each column of the seed's table:

================  ==================================================================
``architecture``  ``"encoder_decoder"`` (the paper), ``"encoder"`` (BERT-like, every
                  token sees every token), ``"decoder"`` (GPT-like, causal) or
                  ``"prefix_decoder"`` (bidirectional over a prefix, causal after it)
``position``      ``"sinusoidal"`` (added to the embeddings), ``"learned"`` (an
                  embedding per position, up to ``max_len``), ``"rope"`` (queries and
                  keys rotated by their position) or ``"alibi"`` (a distance penalty
                  added to the attention scores)
``activation``    feed-forward ``"relu"``, ``"gelu"``, ``"swiglu"`` or ``"geglu"``
``norm``          ``"post_ln"`` (the paper: LayerNorm after each residual sum),
                  ``"pre_ln"`` (LayerNorm before each sublayer, one more at the end) or
                  ``"pre_rms"`` (the same with RMSNorm)
================  ==================================================================

The model is a stack of identical layers. Each layer is self-attention, then
(in an encoder-decoder's decoder) cross-attention to the encoder's output,
then a position-wise feed-forward network; every sublayer sits inside a
residual connection with a normalisation. Decoders mask the attention so a
position never sees later ones, which lets them generate one token at a
time: :mod:`models.decoding` does greedy, sampled and beam-search decoding
with a key-value cache (:class:`DecodingState`).

Where we differ from the paper: the input and output embeddings are not
tied, and token embeddings start at N(0, 1/d_model) and are multiplied by
sqrt(d_model) (as in the paper and tensor2tensor), so they enter the first
layer at unit scale whatever the position scheme.

``state_dict`` names, e.g. for an encoder-decoder::

    encoder.embed.weight                          token embeddings (V, d_model)
    encoder.pos_embed.weight                      learned positions only (max_len, d_model)
    encoder.layers.0.self_attn.{q,k,v,out}_proj.{weight,bias}
    encoder.layers.0.attn_norm.{weight,bias}      the norm that goes with self-attention
    encoder.layers.0.feed_forward.{linear1,gate,linear2}.{weight,bias}   gate: GLU variants only
    encoder.layers.0.ff_norm.{weight,bias}
    encoder.norm.{weight,bias}                    pre-norm variants only
    decoder.layers.0.cross_attn.* and cross_norm.*  encoder-decoder only
    head.{weight,bias}                            hidden state -> logits over the vocabulary

Single-stack models have only ``encoder`` (architecture ``"encoder"``) or
only ``decoder`` (``"decoder"``, ``"prefix_decoder"``). RMSNorm has no bias.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, List, Optional, Tuple

import minitorch
from minitorch import Tensor, nn
from minitorch.nn import functional as F

from . import decoding

ARCHITECTURES = ("encoder_decoder", "encoder", "decoder", "prefix_decoder")
POSITIONS = ("sinusoidal", "learned", "rope", "alibi")
ACTIVATIONS = ("relu", "gelu", "swiglu", "geglu")
NORMS = ("post_ln", "pre_ln", "pre_rms")

KeysValues = Tuple[Tensor, Tensor]  # keys and values split into heads, each (N, heads, S, head_dim)


@dataclass(frozen=True)
class TransformerConfig:
    """Every size and choice of a :class:`Transformer`; the defaults are the paper's base model.

    ``vocab_size`` is the input vocabulary (the source's, for an
    encoder-decoder). ``tgt_vocab_size`` is the output vocabulary of an
    encoder-decoder (its decoder reads and predicts it) or of an encoder's
    per-token head; it defaults to ``vocab_size``. Language models (the
    decoders) predict their own vocabulary.
    """

    vocab_size: int
    tgt_vocab_size: Optional[int] = None
    architecture: str = "encoder_decoder"
    position: str = "sinusoidal"
    activation: str = "relu"
    norm: str = "post_ln"
    d_model: int = 512
    nhead: int = 8
    num_encoder_layers: int = 6
    num_decoder_layers: int = 6
    dim_feedforward: int = 2048
    dropout: float = 0.1
    max_len: int = 512  # the longest sequence learned positions cover
    norm_eps: float = 1e-5
    bias: bool = True  # biases in the attention projections and the feed-forward layers

    def __post_init__(self) -> None:
        for field, choices in (
            ("architecture", ARCHITECTURES),
            ("position", POSITIONS),
            ("activation", ACTIVATIONS),
            ("norm", NORMS),
        ):
            if getattr(self, field) not in choices:
                raise ValueError(f"{field} must be one of {choices}, got {getattr(self, field)!r}")
        for field in ("vocab_size", "d_model", "nhead", "dim_feedforward", "max_len"):
            if getattr(self, field) <= 0:
                raise ValueError(f"{field} must be positive, got {getattr(self, field)}")
        if self.d_model % self.nhead:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by nhead ({self.nhead})")
        if self.position == "sinusoidal" and self.d_model % 2:
            raise ValueError(f"sinusoidal positions pair sines and cosines: d_model must be even, got {self.d_model}")
        if self.position == "rope" and self.head_dim % 2:
            raise ValueError(f"RoPE rotates pairs of features: the head size must be even, got {self.head_dim}")
        if self.tgt_vocab_size is not None and self.architecture in ("decoder", "prefix_decoder"):
            raise ValueError("a language model predicts its own vocabulary: tgt_vocab_size is for encoders only")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {self.dropout}")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.nhead

    @property
    def output_vocab_size(self) -> int:
        return self.tgt_vocab_size if self.tgt_vocab_size is not None else self.vocab_size


# ---- positions -------------------------------------------------------------------------------------
def sinusoidal_encoding(positions: Tensor, d_model: int, dtype: Any) -> Tensor:
    """PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d)): shape (L, d_model).

    Each pair of features turns at its own frequency, so any offset between
    two positions is a fixed rotation the model can learn to read.
    """
    freq = minitorch.exp(minitorch.arange(0, d_model, 2, dtype=minitorch.float64) * (-math.log(10000.0) / d_model))
    angles = positions.to(minitorch.float64).unsqueeze(1) * freq.to(positions.device)
    return minitorch.stack([angles.sin(), angles.cos()], -1).reshape(len(positions), d_model).to(dtype)


def rotary_embedding(x: Tensor, positions: Tensor) -> Tensor:
    """RoPE (Su et al., 2021): rotate feature pairs (x_i, x_{i+D/2}) of x (..., L, D) by angle pos * 10000^(-2i/D).

    The dot product of a rotated query and a rotated key then depends only on
    how far apart they are. (Pairs are the two halves, as in GPT-NeoX and LLaMA.)
    """
    half = x.shape[-1] // 2
    freq = minitorch.exp(minitorch.arange(0, half, dtype=minitorch.float64) * (-math.log(10000.0) / half))
    angles = positions.to(minitorch.float64).unsqueeze(1) * freq.to(positions.device)
    cos, sin = (minitorch.cat([a, a], -1).to(x.dtype) for a in (angles.cos(), angles.sin()))
    rotated_half = minitorch.cat([-x[..., half:], x[..., :half]], -1)
    return x * cos + rotated_half * sin


def alibi_slopes(nhead: int) -> List[float]:
    """ALiBi's per-head slopes (Press et al., 2022): the geometric sequence 2^(-8/n), 2^(-16/n), ...

    For a head count that is not a power of two, the paper takes the slopes of
    the nearest smaller power of two and fills up with every other slope of the next.
    """

    def powers(n: int) -> List[float]:
        return [2.0 ** (-8.0 * (i + 1) / n) for i in range(n)]

    below = 2 ** int(math.floor(math.log2(nhead)))
    return powers(below) + powers(2 * below)[0::2][: nhead - below]


def attention_mask(
    config: TransformerConfig,
    n_queries: int,
    n_keys: int,
    causal: bool,
    prefix_length: Optional[int],
    key_padding_mask: Optional[Tensor],
    dtype: Any,
    device: Any,
) -> Optional[Tensor]:
    """The scores to add before the softmax in self-attention: -inf where a query may not look, else 0 (or ALiBi's bias).

    Queries are the last ``n_queries`` of ``n_keys`` positions (the earlier
    ones are in the cache). ``causal`` hides later keys, except the first
    ``prefix_length``, which every query sees. ``key_padding_mask`` (N, S)
    is True at padding. Broadcasts to (N, heads, L, S); None when nothing is masked.
    """
    queries = minitorch.arange(n_keys - n_queries, n_keys, device=device)
    keys = minitorch.arange(n_keys, device=device)
    mask = None
    if causal:
        hidden = keys.unsqueeze(0) > queries.unsqueeze(1)
        if prefix_length:
            hidden = hidden & (keys >= prefix_length).unsqueeze(0)
        mask = minitorch.zeros(n_queries, n_keys, dtype=dtype, device=device).masked_fill(hidden, -math.inf)
    if config.position == "alibi":
        slopes = minitorch.tensor(alibi_slopes(config.nhead), dtype=dtype, device=device).reshape(-1, 1, 1)
        distance = (queries.unsqueeze(1) - keys.unsqueeze(0)).abs().to(dtype)
        bias = -slopes * distance
        mask = bias if mask is None else mask + bias
    if key_padding_mask is not None:
        padding = padding_scores(key_padding_mask, dtype)
        mask = padding if mask is None else mask + padding
    return mask


def padding_scores(key_padding_mask: Tensor, dtype: Any) -> Tensor:
    """A (N, S) padding mask (True = padding) as scores (N, 1, 1, S): -inf at padding, 0 elsewhere."""
    zeros = minitorch.zeros(key_padding_mask.shape, dtype=dtype, device=key_padding_mask.device)
    return zeros.masked_fill(key_padding_mask, -math.inf).reshape(key_padding_mask.shape[0], 1, 1, -1)


# ---- the layers ----------------------------------------------------------------------------------
class Attention(nn.Module):
    """Multi-head attention with its four projections kept apart (``q_proj``, ``k_proj``, ``v_proj``, ``out_proj``).

    Keys and values are made by :meth:`keys_values`, separately from the
    queries, so a decoder can cache them and cross-attention can compute the
    encoder's once. With ``rotary`` the queries and keys are rotated (RoPE).
    """

    def __init__(self, config: TransformerConfig, rotary: bool) -> None:
        super().__init__()
        d, bias = config.d_model, config.bias
        self.nhead, self.dropout, self.rotary = config.nhead, config.dropout, rotary
        self.q_proj = nn.Linear(d, d, bias=bias)
        self.k_proj = nn.Linear(d, d, bias=bias)
        self.v_proj = nn.Linear(d, d, bias=bias)
        self.out_proj = nn.Linear(d, d, bias=bias)

    def _heads(self, x: Tensor) -> Tensor:
        """(N, L, d_model) -> (N, heads, L, head_dim)."""
        n, length, d = x.shape
        return x.reshape(n, length, self.nhead, d // self.nhead).transpose(1, 2)

    def keys_values(self, source: Tensor, positions: Optional[Tensor] = None) -> KeysValues:
        """The keys and values of ``source`` (N, S, d_model), split into heads; keys rotated when ``rotary``."""
        keys = self._heads(self.k_proj(source))
        if self.rotary:
            keys = rotary_embedding(keys, positions)
        return keys, self._heads(self.v_proj(source))

    def forward(
        self, x: Tensor, keys_values: KeysValues, mask: Optional[Tensor], positions: Optional[Tensor] = None
    ) -> Tensor:
        """Attend from every position of ``x`` (N, L, d_model) to the keys; ``mask`` is added to the scores."""
        queries = self._heads(self.q_proj(x))
        if self.rotary:
            queries = rotary_embedding(queries, positions)
        keys, values = keys_values
        p = self.dropout if self.training else 0.0
        out = F.scaled_dot_product_attention(queries, keys, values, attn_mask=mask, dropout_p=p)
        return self.out_proj(out.transpose(1, 2).reshape(x.shape))


class FeedForward(nn.Module):
    """The position-wise network: ``linear2(act(linear1(x)))``, or ``linear2(act(gate(x)) * linear1(x))`` for a GLU.

    SwiGLU and GeGLU (Shazeer, 2020) multiply a linear branch by a gated one
    (SiLU or GELU of ``gate(x)``).
    """

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        d, hidden, bias = config.d_model, config.dim_feedforward, config.bias
        self.activation = {"relu": F.relu, "gelu": F.gelu, "swiglu": F.silu, "geglu": F.gelu}[config.activation]
        self.linear1 = nn.Linear(d, hidden, bias=bias)
        self.gate = nn.Linear(d, hidden, bias=bias) if config.activation.endswith("glu") else None
        self.dropout = nn.Dropout(config.dropout)
        self.linear2 = nn.Linear(hidden, d, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        h = self.linear1(x)
        h = self.activation(h) if self.gate is None else self.activation(self.gate(x)) * h
        return self.linear2(self.dropout(h))


def _norm(config: TransformerConfig) -> nn.Module:
    if config.norm == "pre_rms":
        return nn.RMSNorm(config.d_model, eps=config.norm_eps)
    return nn.LayerNorm(config.d_model, eps=config.norm_eps)


class TransformerLayer(nn.Module):
    """Self-attention, cross-attention (``cross_attention``: the encoder-decoder's decoder) and feed-forward.

    Each sublayer f is wrapped as ``norm(x + f(x))`` (post-norm) or
    ``x + f(norm(x))`` (pre-norm); ``self.pre_norm`` says which.
    """

    def __init__(self, config: TransformerConfig, cross_attention: bool) -> None:
        super().__init__()
        self.pre_norm = config.norm != "post_ln"
        self.self_attn = Attention(config, rotary=config.position == "rope")
        self.attn_norm = _norm(config)
        # Positions of the target and of the source mean nothing to each other: no RoPE across them.
        self.cross_attn = Attention(config, rotary=False) if cross_attention else None
        self.cross_norm = _norm(config) if cross_attention else None
        self.feed_forward = FeedForward(config)
        self.ff_norm = _norm(config)
        self.dropout = nn.Dropout(config.dropout)

    def _sublayer_input(self, x: Tensor, norm: nn.Module) -> Tensor:
        return norm(x) if self.pre_norm else x

    def _residual(self, x: Tensor, out: Tensor, norm: nn.Module) -> Tensor:
        x = x + self.dropout(out)
        return x if self.pre_norm else norm(x)

    def forward(
        self,
        x: Tensor,
        positions: Tensor,
        mask: Optional[Tensor],
        past: Optional[KeysValues] = None,
        cross: Optional[KeysValues] = None,
        cross_mask: Optional[Tensor] = None,
    ) -> Tuple[Tensor, KeysValues]:
        """The layer's output for ``x`` (N, L, d_model) and its self-attention keys/values including ``past``."""
        h = self._sublayer_input(x, self.attn_norm)
        keys, values = self.self_attn.keys_values(h, positions)
        if past is not None:  # the cache: keys and values of the earlier positions, computed at earlier steps
            keys, values = minitorch.cat([past[0], keys], 2), minitorch.cat([past[1], values], 2)
        x = self._residual(x, self.self_attn(h, (keys, values), mask, positions), self.attn_norm)
        if self.cross_attn is not None:
            h = self._sublayer_input(x, self.cross_norm)
            x = self._residual(x, self.cross_attn(h, cross, cross_mask), self.cross_norm)
        x = self._residual(x, self.feed_forward(self._sublayer_input(x, self.ff_norm)), self.ff_norm)
        return x, (keys, values)


class TransformerStack(nn.Module):
    """An encoder or a decoder: token embedding, positions, ``layers``, and a final norm for pre-norm models."""

    def __init__(self, config: TransformerConfig, vocab_size: int, num_layers: int, decoder: bool) -> None:
        super().__init__()
        self.config = config
        self.causal = decoder
        self.embed = nn.Embedding(vocab_size, config.d_model)
        nn.init.normal_(self.embed.weight, std=config.d_model**-0.5)  # scaled up by sqrt(d_model) in forward
        self.pos_embed = nn.Embedding(config.max_len, config.d_model) if config.position == "learned" else None
        self.dropout = nn.Dropout(config.dropout)
        cross = decoder and config.architecture == "encoder_decoder"
        self.layers = nn.ModuleList([TransformerLayer(config, cross) for _ in range(num_layers)])
        self.norm = _norm(config) if config.norm != "post_ln" else None

    def forward(
        self,
        tokens: Tensor,
        key_padding_mask: Optional[Tensor] = None,
        prefix_length: Optional[int] = None,
        past: Optional[Tuple[KeysValues, ...]] = None,
        cross: Optional[Tuple[KeysValues, ...]] = None,
        cross_mask: Optional[Tensor] = None,
    ) -> Tuple[Tensor, Tuple[KeysValues, ...]]:
        """Hidden states (N, L, d_model) of ``tokens`` (N, L), and every layer's keys/values (for the cache).

        ``past`` holds the keys/values of the positions before ``tokens``;
        ``key_padding_mask`` then covers them too, shape (N, past + L).
        """
        config = self.config
        offset = 0 if past is None else past[0][0].shape[2]
        length = tokens.shape[1]
        positions = minitorch.arange(offset, offset + length, device=tokens.device)
        x = self.embed(tokens) * math.sqrt(config.d_model)
        if config.position == "sinusoidal":
            x = x + sinusoidal_encoding(positions, config.d_model, x.dtype)
        elif config.position == "learned":
            if offset + length > config.max_len:
                raise IndexError(
                    f"sequence of {offset + length} tokens is longer than the {config.max_len} positions the model "
                    "learned (max_len): shorten it, or build the model with a larger max_len"
                )
            x = x + self.pos_embed(positions)
        x = self.dropout(x)
        mask = attention_mask(
            config, length, offset + length, self.causal, prefix_length, key_padding_mask, x.dtype, x.device
        )
        new_past = []
        for i, layer in enumerate(self.layers):
            x, keys_values = layer(
                x, positions, mask, None if past is None else past[i], None if cross is None else cross[i], cross_mask
            )
            new_past.append(keys_values)
        return (x if self.norm is None else self.norm(x)), tuple(new_past)


@dataclass(frozen=True)
class DecodingState:
    """What a decoder carries from one generation step to the next.

    ``past`` is the key-value cache: every decoder layer's self-attention
    keys and values for the tokens seen so far (None before the first step),
    so a step only computes the new token's. ``cross`` holds every layer's
    cross-attention keys/values of the encoder output, computed once, and
    ``cross_mask`` the source padding as scores. ``prefix_length`` is the
    prompt length of a prefix decoder (its bidirectional part).
    """

    past: Optional[Tuple[KeysValues, ...]] = None
    cross: Optional[Tuple[KeysValues, ...]] = None
    cross_mask: Optional[Tensor] = None
    prefix_length: Optional[int] = None

    def index_select(self, index: Tensor) -> "DecodingState":
        """The state of the batch rows ``index`` (beam search keeps, reorders and duplicates rows)."""

        def pick(t: Optional[Tensor]) -> Optional[Tensor]:
            return None if t is None else t.index_select(0, index)

        def pick_layers(layers: Optional[Tuple[KeysValues, ...]]) -> Optional[Tuple[KeysValues, ...]]:
            return None if layers is None else tuple((pick(k), pick(v)) for k, v in layers)

        return replace(
            self, past=pick_layers(self.past), cross=pick_layers(self.cross), cross_mask=pick(self.cross_mask)
        )


class Transformer(nn.Module):
    """A Transformer built from a :class:`TransformerConfig`; ``head`` turns hidden states into logits.

    ``forward(src, src_key_padding_mask=None, tgt=None, tgt_key_padding_mask=None)``
    (T5's order: the source and its mask, then the target and its mask, so
    every architecture can be called positionally) returns logits for every
    output position:

    * encoder-decoder: the encoder reads ``src`` (N, S), the decoder reads
      ``tgt`` (N, T) (the target shifted right behind a start token): (N, T, V);
    * encoder: (N, S, V) from ``src``, every token seeing all others;
    * decoder: (N, S, V) from ``src``, token i seeing tokens 0..i;
    * prefix decoder: ``src`` is the prefix (seen bidirectionally) and the
      optional ``tgt`` the continuation (causal, seeing all of the prefix):
      (N, S + T, V) for the two joined.

    Padding masks are True at padding tokens (PyTorch's convention);
    ``src_key_padding_mask`` also hides padded source tokens from cross-attention.
    """

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = config
        arch = config.architecture
        if arch in ("encoder_decoder", "encoder"):
            self.encoder = TransformerStack(config, config.vocab_size, config.num_encoder_layers, decoder=False)
        if arch != "encoder":
            vocab = config.output_vocab_size if arch == "encoder_decoder" else config.vocab_size
            self.decoder = TransformerStack(config, vocab, config.num_decoder_layers, decoder=True)
        self.head = nn.Linear(config.d_model, config.output_vocab_size)

    def forward(
        self,
        src: Tensor,
        src_key_padding_mask: Optional[Tensor] = None,
        tgt: Optional[Tensor] = None,
        tgt_key_padding_mask: Optional[Tensor] = None,
    ) -> Tensor:
        arch = self.config.architecture
        _check_tokens("src", src, src_key_padding_mask, "src_key_padding_mask")
        if tgt is None and arch == "encoder_decoder":
            raise TypeError("an encoder-decoder Transformer needs tgt, the decoder's input tokens (N, T)")
        if tgt is not None:
            if arch in ("encoder", "decoder"):
                raise TypeError(f"an {arch}-only Transformer reads one sequence: pass src only, not tgt")
            _check_tokens("tgt", tgt, tgt_key_padding_mask, "tgt_key_padding_mask")
            if tgt.shape[0] != src.shape[0]:
                raise ValueError(
                    f"src and tgt must hold the same number of sequences, got {src.shape[0]} and {tgt.shape[0]}"
                )
        elif tgt_key_padding_mask is not None:
            raise ValueError("tgt_key_padding_mask was given without tgt")

        if arch == "encoder":
            return self.head(self.encoder(src, src_key_padding_mask)[0])
        if arch == "decoder":
            return self.head(self.decoder(src, src_key_padding_mask)[0])
        if arch == "prefix_decoder":
            tokens, padding = src, src_key_padding_mask
            if tgt is not None:
                tokens = minitorch.cat([src, tgt], 1)
                padding = _join_padding(src, src_key_padding_mask, tgt, tgt_key_padding_mask)
            return self.head(self.decoder(tokens, padding, prefix_length=src.shape[1])[0])
        state = self.init_state(tgt, src, src_key_padding_mask)
        hidden, _ = self.decoder(tgt, tgt_key_padding_mask, cross=state.cross, cross_mask=state.cross_mask)
        return self.head(hidden)

    # ---- generation, one token at a time (see models.decoding) --------------------------------------
    def init_state(
        self, prompt: Tensor, src: Optional[Tensor] = None, src_key_padding_mask: Optional[Tensor] = None
    ) -> DecodingState:
        """Prepare decoding of ``prompt`` (N, T0): run the encoder on ``src`` and cache its keys/values per layer."""
        arch = self.config.architecture
        if arch == "encoder":
            raise RuntimeError("an encoder-only Transformer has no decoder to generate with")
        if arch != "encoder_decoder":
            if src is not None:
                raise TypeError(f"a {arch} generates from its prompt alone: pass no src")
            return DecodingState(prefix_length=prompt.shape[1] if arch == "prefix_decoder" else None)
        if src is None:
            raise TypeError("an encoder-decoder Transformer generates from a source: pass src (N, S)")
        _check_tokens("src", src, src_key_padding_mask, "src_key_padding_mask")
        memory, _ = self.encoder(src, src_key_padding_mask)
        cross = tuple(layer.cross_attn.keys_values(memory) for layer in self.decoder.layers)
        mask = None if src_key_padding_mask is None else padding_scores(src_key_padding_mask, memory.dtype)
        return DecodingState(cross=cross, cross_mask=mask)

    def decode_step(self, tokens: Tensor, state: DecodingState) -> Tuple[Tensor, DecodingState]:
        """Logits (N, L, V) for ``tokens`` (N, L) following the cached ones, and the state with them added."""
        hidden, past = self.decoder(
            tokens, prefix_length=state.prefix_length, past=state.past, cross=state.cross, cross_mask=state.cross_mask
        )
        return self.head(hidden), replace(state, past=past)

    def reorder_state(self, state: DecodingState, index: Tensor) -> DecodingState:
        """Keep the batch rows ``index`` of the state (for beam search)."""
        return state.index_select(index)

    def generate(self, prompt: Tensor, max_new_tokens: int, **options: Any) -> Tensor:
        """Continue ``prompt`` (N, T0) by ``max_new_tokens`` tokens: see :func:`models.decoding.generate`."""
        return decoding.generate(self, prompt, max_new_tokens, **options)


def _check_tokens(name: str, tokens: Tensor, padding: Optional[Tensor], padding_name: str) -> None:
    """Token ids come as (N, L) integers; a padding mask as bool of the same shape."""
    if tokens.dim() != 2 or tokens.dtype.is_floating_point:
        raise ValueError(
            f"{name} must hold token ids of shape (N, L), got {tokens.dtype} of shape {tuple(tokens.shape)}"
        )
    if padding is None:
        return
    if padding.dtype is not minitorch.bool:
        hint = " (the target comes third, or by name: model(src, tgt=tgt))" if name == "src" else ""
        raise TypeError(f"{padding_name} must be a bool tensor (True at padding), got {padding.dtype}{hint}")
    if tuple(padding.shape) != tuple(tokens.shape):
        raise ValueError(
            f"{padding_name} must have the shape of {name}, {tuple(tokens.shape)}, got {tuple(padding.shape)}"
        )


def _join_padding(src: Tensor, src_mask: Optional[Tensor], tgt: Tensor, tgt_mask: Optional[Tensor]) -> Optional[Tensor]:
    """The padding mask of src and tgt joined (None when neither has one)."""
    if src_mask is None and tgt_mask is None:
        return None
    src_mask = src_mask if src_mask is not None else minitorch.zeros(src.shape, dtype=minitorch.bool, device=src.device)
    tgt_mask = tgt_mask if tgt_mask is not None else minitorch.zeros(tgt.shape, dtype=minitorch.bool, device=tgt.device)
    return minitorch.cat([src_mask, tgt_mask], 1)


# ---- factories ----------------------------------------------------------------------------------
def transformer(src_vocab_size: int, tgt_vocab_size: Optional[int] = None, **options: Any) -> Transformer:
    """The encoder-decoder of "Attention Is All You Need" (base model: 6 + 6 layers, d_model 512, 8 heads,
    feed-forward 2048, dropout 0.1, sinusoidal positions, ReLU, Post-LN); ``options`` override any config field."""
    return Transformer(TransformerConfig(vocab_size=src_vocab_size, tgt_vocab_size=tgt_vocab_size, **options))


def encoder_only(vocab_size: int, num_layers: int = 6, **options: Any) -> Transformer:
    """An encoder with a per-token head (BERT's layout: learned positions, GELU, Post-LN unless overridden)."""
    options = {"position": "learned", "activation": "gelu", **options}
    return Transformer(
        TransformerConfig(vocab_size=vocab_size, architecture="encoder", num_encoder_layers=num_layers, **options)
    )


def decoder_only(vocab_size: int, num_layers: int = 6, **options: Any) -> Transformer:
    """A causal language model; by default the modern recipe: RoPE, SwiGLU, pre-norm RMSNorm (as LLaMA)."""
    options = {"position": "rope", "activation": "swiglu", "norm": "pre_rms", **options}
    return Transformer(
        TransformerConfig(vocab_size=vocab_size, architecture="decoder", num_decoder_layers=num_layers, **options)
    )


def gpt(vocab_size: int, num_layers: int = 12, **options: Any) -> Transformer:
    """A GPT-2-style causal language model: learned positions (1024), GELU, Pre-LN; GPT-2 small's sizes by default."""
    options = {
        "position": "learned",
        "activation": "gelu",
        "norm": "pre_ln",
        "d_model": 768,
        "nhead": 12,
        "dim_feedforward": 3072,
        "max_len": 1024,
        **options,
    }
    return decoder_only(vocab_size, num_layers, **options)


def prefix_decoder(vocab_size: int, num_layers: int = 6, **options: Any) -> Transformer:
    """A prefix language model (as in T5's and UniLM's studies): the prompt is read bidirectionally, the rest causally."""
    options = {"position": "rope", "activation": "geglu", "norm": "pre_ln", **options}
    return Transformer(
        TransformerConfig(
            vocab_size=vocab_size, architecture="prefix_decoder", num_decoder_layers=num_layers, **options
        )
    )
