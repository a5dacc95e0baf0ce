"""Generating sequences one token at a time: greedy search, sampling and beam search.

These functions drive any model with the three methods of an incremental decoder:

* ``model.init_state(prompt, **source)``: what decoding needs before the first
  step (an encoder-decoder runs its encoder on ``src`` here);
* ``model.decode_step(tokens, state)``: logits (N, L, V) for ``tokens`` (N, L)
  that follow those already seen, and the updated state;
* ``model.reorder_state(state, index)``: the state of batch rows ``index``.

The Transformers of :mod:`models.transformer` (state: the key-value cache)
and the character RNNs of :mod:`models.rnn` (state: the hidden state) both
provide them. With ``use_cache=False`` every step instead runs the model on
the whole sequence so far: slower, the same tokens, and the reference the
cached path is tested against.

Run ``model.eval()`` first so that dropout is off. Decoding builds no graph.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import minitorch
from minitorch import Tensor


class _Decoder:
    """Feeds a growing sequence to the model and returns the logits for the next token."""

    def __init__(self, model: Any, prompt: Tensor, use_cache: bool, source: dict) -> None:
        self.model, self.prompt, self.use_cache, self.source = model, prompt, use_cache, source
        self.state = model.init_state(prompt, **source)
        self.seen = 0  # how many tokens of the sequence the cached state holds

    def next_logits(self, sequence: Tensor) -> Tensor:
        """Logits (N, V) for the token after ``sequence`` (N, T)."""
        if not self.use_cache:
            logits, _ = self.model.decode_step(sequence, self.model.init_state(self.prompt, **self.source))
            return logits[:, -1]
        logits, self.state = self.model.decode_step(sequence[:, self.seen :], self.state)
        self.seen = sequence.shape[1]
        return logits[:, -1]

    def reorder(self, index: Tensor) -> None:
        """Keep the rows ``index`` (beam search); the uncached path rebuilds everything from the sequence."""
        self.prompt = self.prompt.index_select(0, index)
        self.source = {k: (v.index_select(0, index) if v is not None else None) for k, v in self.source.items()}
        if self.use_cache:
            self.state = self.model.reorder_state(self.state, index)


def _check(prompt: Tensor, max_new_tokens: int) -> None:
    if prompt.dim() != 2 or prompt.dtype.is_floating_point:
        raise ValueError(
            f"prompt must hold token ids of shape (N, T), got {prompt.dtype} of shape {tuple(prompt.shape)}"
        )
    if prompt.shape[1] == 0:
        raise ValueError("prompt must hold at least one token (e.g. a start token)")
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be non-negative, got {max_new_tokens}")


def _source(src: Optional[Tensor], src_key_padding_mask: Optional[Tensor]) -> dict:
    """The encoder's inputs, passed on to ``init_state`` only when there is a source."""
    return {} if src is None else {"src": src, "src_key_padding_mask": src_key_padding_mask}


def _extend(
    model: Any,
    prompt: Tensor,
    max_new_tokens: int,
    choose: Callable[[Tensor], Tensor],
    src: Optional[Tensor],
    src_key_padding_mask: Optional[Tensor],
    eos_id: Optional[int],
    use_cache: bool,
) -> Tensor:
    """Append ``choose(logits)`` (N,) tokens one at a time; a row that produced ``eos_id`` then repeats it."""
    _check(prompt, max_new_tokens)
    with minitorch.no_grad():
        decoder = _Decoder(model, prompt, use_cache, _source(src, src_key_padding_mask))
        sequence = prompt
        done = minitorch.zeros(prompt.shape[0], dtype=minitorch.bool, device=prompt.device)
        for _ in range(max_new_tokens):
            token = choose(decoder.next_logits(sequence))
            if eos_id is not None:
                token = token.masked_fill(done, eos_id)
                done = done | (token == eos_id)
            sequence = minitorch.cat([sequence, token.unsqueeze(1)], 1)
            if eos_id is not None and bool(done.all()):
                break
    return sequence


def greedy_search(
    model: Any,
    prompt: Tensor,
    max_new_tokens: int,
    *,
    src: Optional[Tensor] = None,
    src_key_padding_mask: Optional[Tensor] = None,
    eos_id: Optional[int] = None,
    use_cache: bool = True,
) -> Tensor:
    """Extend ``prompt`` (N, T0) by the most likely next token, ``max_new_tokens`` times: (N, T0 + new).

    Stops early once every row has produced ``eos_id``; finished rows are padded with it.
    """
    return _extend(
        model, prompt, max_new_tokens, lambda logits: logits.argmax(-1), src, src_key_padding_mask, eos_id, use_cache
    )


def sample(
    model: Any,
    prompt: Tensor,
    max_new_tokens: int,
    *,
    temperature: float = 1.0,
    top_k: Optional[int] = None,
    generator: Optional[minitorch.Generator] = None,
    src: Optional[Tensor] = None,
    src_key_padding_mask: Optional[Tensor] = None,
    eos_id: Optional[int] = None,
    use_cache: bool = True,
) -> Tensor:
    """Extend ``prompt`` by tokens drawn from softmax(logits / temperature), restricted to the ``top_k`` likeliest.

    Lower temperatures sharpen the distribution towards greedy search, higher
    ones flatten it. Draws come from ``generator`` (default: the global one,
    so ``minitorch.manual_seed`` makes the output repeatable).
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive (use greedy_search for temperature 0), got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")

    def draw(logits: Tensor) -> Tensor:
        logits = logits / temperature
        if top_k is not None and top_k < logits.shape[-1]:
            kth = logits.topk(top_k, -1).values[:, -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))  # only the top k keep a chance
        return minitorch.multinomial(logits.softmax(-1), 1, generator=generator).squeeze(1)

    return _extend(model, prompt, max_new_tokens, draw, src, src_key_padding_mask, eos_id, use_cache)


def beam_search(
    model: Any,
    prompt: Tensor,
    max_new_tokens: int,
    *,
    beam_width: int = 4,
    length_penalty: float = 1.0,
    src: Optional[Tensor] = None,
    src_key_padding_mask: Optional[Tensor] = None,
    eos_id: Optional[int] = None,
    use_cache: bool = True,
) -> Tensor:
    """The likeliest continuation of each prompt found by keeping the ``beam_width`` best partial sequences.

    At every step each kept sequence (a beam) is extended by every token, and
    the ``beam_width`` extensions with the highest total log-probability stay.
    A beam that produced ``eos_id`` is finished: it is extended only by
    ``eos_id`` at no cost, so its score and length stay fixed. At the end each
    beam's score is divided by ``length ** length_penalty`` (its generated
    tokens up to and including ``eos_id``), so that longer sequences, which
    sum more negative log-probabilities, are not unfairly beaten (0: no
    normalisation), and the best beam is returned: (N, T0 + new), finished
    rows padded with ``eos_id``. ``beam_width=1`` is greedy search.
    """
    _check(prompt, max_new_tokens)
    if beam_width < 1:
        raise ValueError(f"beam_width must be at least 1, got {beam_width}")
    batch, k = prompt.shape[0], beam_width
    device = prompt.device
    # Row b * k + j holds beam j of prompt b.
    rows = minitorch.arange(batch, device=device).repeat_interleave(k)
    with minitorch.no_grad():
        decoder = _Decoder(model, prompt, use_cache, _source(src, src_key_padding_mask))
        decoder.reorder(rows)
        sequence = prompt.index_select(0, rows)
        # All beams start as the same prompt: only the first may be extended at the first step.
        scores = minitorch.tensor([0.0] + [float("-inf")] * (k - 1), dtype=minitorch.float64, device=device)
        scores = scores.repeat(batch)
        lengths = minitorch.zeros(batch * k, dtype=minitorch.float64, device=device)
        done = minitorch.zeros(batch * k, dtype=minitorch.bool, device=device)
        for _ in range(max_new_tokens):
            log_probs = decoder.next_logits(sequence).to(minitorch.float64).log_softmax(-1)
            vocab = log_probs.shape[-1]
            if eos_id is not None:  # a finished beam may only repeat eos_id, at no cost
                not_eos = minitorch.arange(vocab, device=device) != eos_id
                finished = minitorch.zeros(vocab, dtype=minitorch.float64, device=device).masked_fill(
                    not_eos, float("-inf")
                )
                log_probs = minitorch.where(done.unsqueeze(1), finished, log_probs)
            # Every (beam, token) extension of a prompt competes for its k places.
            candidates = (scores.unsqueeze(1) + log_probs).reshape(batch, k * vocab)
            top = candidates.topk(k, -1)
            beam, token = top.indices // vocab, top.indices % vocab
            source_rows = (beam + minitorch.arange(batch, device=device).unsqueeze(1) * k).reshape(-1)
            token = token.reshape(-1)
            scores = top.values.reshape(-1)
            done, lengths = done.index_select(0, source_rows), lengths.index_select(0, source_rows)
            lengths = lengths + (~done).to(minitorch.float64)
            if eos_id is not None:  # an impossible beam (score -inf, when fewer than k tokens may follow) is dead too
                done = done | (token == eos_id) | (scores == float("-inf"))
            sequence = minitorch.cat([sequence.index_select(0, source_rows), token.unsqueeze(1)], 1)
            decoder.reorder(source_rows)
            if eos_id is not None and bool(done.all()):
                break
    normalised = scores / lengths.clamp(min=1.0) ** length_penalty
    best = normalised.reshape(batch, k).argmax(-1) + minitorch.arange(batch, device=device) * k
    return sequence.index_select(0, best)


def generate(
    model: Any,
    prompt: Tensor,
    max_new_tokens: int,
    *,
    do_sample: bool = False,
    num_beams: int = 1,
    **options: Any,
) -> Tensor:
    """Greedy search by default, :func:`sample` with ``do_sample``, :func:`beam_search` with ``num_beams > 1``.

    ``options`` go to the chosen function (``src``, ``src_key_padding_mask``,
    ``eos_id``, ``use_cache``, ``temperature``, ``top_k``, ``generator``,
    ``length_penalty``), as in Hugging Face's ``generate``.
    """
    if do_sample and num_beams > 1:
        raise ValueError("choose sampling (do_sample=True) or beam search (num_beams > 1), not both")
    if num_beams > 1:
        return beam_search(model, prompt, max_new_tokens, beam_width=num_beams, **options)
    if do_sample:
        return sample(model, prompt, max_new_tokens, **options)
    return greedy_search(model, prompt, max_new_tokens, **options)
