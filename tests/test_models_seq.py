"""The sequence models: RNN classifiers and language models, and every variant of the configurable Transformer.

Parity: each model of ``twins_seq.CASES`` gets its PyTorch twin's weights
through ``state_dict`` and must give the same outputs and the same gradient
for every parameter, with padding masks, in float64 and float32, in train
mode (dropout 0) and eval mode. Decoding: the key-value cache changes
nothing, beam width 1 is greedy search, sampling repeats under a seed,
and beam search finds what greedy search misses on a toy bigram model.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

import minitorch
from minitorch import nn
from models import decoding
from models.rnn import (
    CharRNN,
    RNNClassifier,
    char_gru,
    char_lstm,
    char_rnn,
    gru_classifier,
    lstm_classifier,
    rnn_classifier,
)
from models.transformer import (
    Transformer,
    TransformerConfig,
    alibi_slopes,
    decoder_only,
    encoder_only,
    gpt,
    prefix_decoder,
    rotary_embedding,
    sinusoidal_encoding,
    transformer,
)

from helpers import requires_torch
from nn_helpers import check_module
from twins_seq import CASES, CHAR_RNNS, TRANSFORMER_CONFIGS, transformer_inputs

# float64 as the guide asks for every op (1e-10); float32 relative 1e-4 and absolute 1e-5, for whole models.
TOL = {"float64": dict(atol=1e-10, rtol=1e-10), "float32": dict(atol=1e-5, rtol=1e-4)}


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def tensors(arrays):
    return [minitorch.tensor(a) for a in arrays]


# ---- parity with the PyTorch twins ------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_the_torch_twin(name, dtype, mode):
    case = CASES[name]
    inputs = case.inputs(np.random.default_rng(0))
    tol = TOL[dtype]
    check_module(
        case.build(),
        case.build_torch(),
        *inputs,
        dtype=dtype,
        train=mode == "train",
        atol=tol["atol"],
        rtol=tol["rtol"],
        grad_atol=tol["atol"],
        grad_rtol=tol["rtol"],
    )


@minitorch.no_grad()
def test_padding_masks_hide_padded_tokens():
    """Changing a padded token changes nothing but its own outputs; the masks are really applied."""
    config = TRANSFORMER_CONFIGS["transformer"]
    model = Transformer(config).eval()
    src, src_mask, tgt, tgt_mask = transformer_inputs(config, np.random.default_rng(0))
    changed = src.copy()
    changed[1, -1] = (changed[1, -1] + 1) % config.vocab_size  # row 1 pads its last 2 source tokens
    out = model(*tensors([src, src_mask, tgt, tgt_mask]))
    out_changed = model(*tensors([changed, src_mask, tgt, tgt_mask]))
    np.testing.assert_allclose(out.numpy(), out_changed.numpy(), atol=1e-6)
    unmasked = model(minitorch.tensor(changed), tgt=minitorch.tensor(tgt)).numpy()
    assert not np.allclose(model(minitorch.tensor(src), tgt=minitorch.tensor(tgt)).numpy()[1], unmasked[1], atol=1e-6)


# ---- structure: names, factories, parameter counts --------------------------------------------------
def test_state_dict_names_are_readable_and_stable():
    keys = set(Transformer(TRANSFORMER_CONFIGS["transformer"]).state_dict())
    for key in (
        "encoder.embed.weight",
        "encoder.layers.0.self_attn.q_proj.weight",
        "encoder.layers.1.self_attn.out_proj.bias",
        "encoder.layers.0.attn_norm.weight",
        "encoder.layers.0.feed_forward.linear1.weight",
        "encoder.layers.0.feed_forward.linear2.bias",
        "encoder.layers.0.ff_norm.bias",
        "decoder.embed.weight",
        "decoder.layers.0.cross_attn.k_proj.weight",
        "decoder.layers.0.cross_norm.weight",
        "head.weight",
        "head.bias",
    ):
        assert key in keys, key
    assert not any("pos_embed" in k or "gate" in k or k.endswith("norm.weight") and k.count(".") == 2 for k in keys)
    llama = set(Transformer(TRANSFORMER_CONFIGS["decoder_only"]).state_dict())
    assert "decoder.layers.0.feed_forward.gate.weight" in llama and "decoder.norm.weight" in llama
    assert not any(k.endswith("proj.bias") for k in llama)  # bias=False, RMSNorm has no bias
    assert "decoder.pos_embed.weight" in Transformer(TRANSFORMER_CONFIGS["gpt"]).state_dict()


def test_the_base_model_has_the_size_of_pytorchs_nn_transformer():
    """6 + 6 layers of d_model 512: torch.nn.Transformer()'s 44,140,544 parameters, less its two final
    LayerNorms (Post-LN as in the paper has none), plus our embeddings and output layer."""
    vocab = 100
    model = transformer(vocab)
    assert model.config == TransformerConfig(vocab_size=vocab)
    assert n_params(model) == 44_140_544 - 2 * 1024 + 2 * vocab * 512 + 512 * vocab + vocab


def test_factories_pick_the_documented_variants():
    assert transformer(5, 6).config.output_vocab_size == 6
    c = encoder_only(5, num_layers=1).config
    assert (c.architecture, c.position, c.activation, c.norm, c.num_encoder_layers) == (
        "encoder",
        "learned",
        "gelu",
        "post_ln",
        1,
    )
    c = decoder_only(5, num_layers=1, d_model=8, nhead=2).config
    assert (c.architecture, c.position, c.activation, c.norm) == ("decoder", "rope", "swiglu", "pre_rms")
    c = gpt(5, num_layers=1).config
    assert (c.position, c.norm, c.d_model, c.nhead, c.max_len) == ("learned", "pre_ln", 768, 12, 1024)
    c = prefix_decoder(5, num_layers=1, norm="pre_rms").config
    assert (c.architecture, c.norm) == ("prefix_decoder", "pre_rms")
    assert gru_classifier(3, input_size=4).rnn.mode == "GRU"
    assert lstm_classifier(3, vocab_size=4).rnn.mode == "LSTM"
    assert rnn_classifier(3, vocab_size=4).rnn.mode == "RNN_TANH"
    assert [m(9).rnn.mode for m in (char_rnn, char_lstm, char_gru)] == ["RNN_TANH", "LSTM", "GRU"]


def test_rnn_models_shapes():
    tokens = minitorch.randint(0, 7, (2, 5))
    assert lstm_classifier(3, vocab_size=7, bidirectional=True, num_layers=2)(tokens).shape == (2, 3)
    assert gru_classifier(4, input_size=6)(minitorch.randn(2, 5, 6)).shape == (2, 4)
    model = char_lstm(7, hidden_size=8, embedding_dim=4)
    assert model(tokens).shape == (2, 5, 7)
    assert model.generate(tokens[:, :2], 4).shape == (2, 6)


# ---- positions --------------------------------------------------------------------------------------
def test_sinusoidal_encoding_is_the_papers_formula():
    pe = sinusoidal_encoding(minitorch.arange(6), 8, minitorch.float64).numpy()
    pos, i = np.arange(6)[:, None], np.arange(4)[None, :]
    np.testing.assert_allclose(pe[:, 0::2], np.sin(pos / 10000 ** (2 * i / 8)), atol=1e-12)
    np.testing.assert_allclose(pe[:, 1::2], np.cos(pos / 10000 ** (2 * i / 8)), atol=1e-12)


def test_rotary_scores_depend_only_on_the_distance():
    rng = np.random.default_rng(0)
    q, k = (minitorch.tensor(rng.standard_normal((1, 8))) for _ in range(2))

    def score(i, j):
        rq = rotary_embedding(q, minitorch.tensor([i]))
        rk = rotary_embedding(k, minitorch.tensor([j]))
        return (rq * rk).sum().item()

    assert score(3, 1) == pytest.approx(score(7, 5), rel=1e-12)
    assert score(3, 1) != pytest.approx(score(3, 2), rel=1e-3)
    assert rotary_embedding(q, minitorch.tensor([5])).norm().item() == pytest.approx(q.norm().item(), rel=1e-12)


def test_alibi_slopes_follow_the_paper():
    assert alibi_slopes(8) == [2.0**-k for k in range(1, 9)]
    assert alibi_slopes(2) == [2.0**-4, 2.0**-8]
    assert alibi_slopes(3) == [2.0**-4, 2.0**-8, 2.0**-2]  # 2 heads' slopes, then every other of 4 heads'


# ---- decoding: cache, beams, sampling ---------------------------------------------------------------
DECODERS = ["transformer", "transformer_rope_swiglu_rms", "transformer_alibi_geglu_preln", "gpt", "decoder_only"]
DECODERS += ["decoder_alibi", "prefix_decoder", "prefix_decoder_sinusoidal_rms", "char_lstm", "char_gru"]


def decoding_setup(name):
    """A float64 model in eval mode, a prompt, and the source for an encoder-decoder."""
    minitorch.manual_seed(0)
    model = CASES[name].build().to(minitorch.float64).eval()
    rng = np.random.default_rng(1)
    if name in CHAR_RNNS:
        return model, minitorch.tensor(rng.integers(0, 7, size=(3, 3))), {}
    config = model.config
    if config.architecture == "encoder_decoder":
        src, src_mask, _, _ = transformer_inputs(config, rng)
        start = minitorch.zeros(3, 1, dtype=minitorch.int64)
        return model, start, {"src": minitorch.tensor(src), "src_key_padding_mask": minitorch.tensor(src_mask)}
    return model, minitorch.tensor(rng.integers(0, config.vocab_size, size=(3, 3))), {}


@pytest.mark.parametrize("name", DECODERS)
@minitorch.no_grad()
def test_cached_steps_give_the_full_forwards_logits(name):
    """Feeding the prompt, then one token at a time through the cache, gives the logits of one full forward."""
    model, prompt, source = decoding_setup(name)
    sequence = minitorch.cat([prompt, minitorch.randint(0, 7, (3, 4))], 1)
    state = model.init_state(prompt, **source)
    logits, state = model.decode_step(prompt, state)
    steps = [logits]
    for t in range(prompt.shape[1], sequence.shape[1]):
        logits, state = model.decode_step(sequence[:, t : t + 1], state)
        steps.append(logits)
    cached = minitorch.cat(steps, 1).numpy()
    if name in CHAR_RNNS:
        full = model(sequence)
    elif model.config.architecture == "encoder_decoder":
        full = model(source["src"], source["src_key_padding_mask"], sequence)
    elif model.config.architecture == "prefix_decoder":
        full = model(prompt, tgt=sequence[:, prompt.shape[1] :])
    else:
        full = model(sequence)
    np.testing.assert_allclose(cached, full.numpy(), atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("name", DECODERS)
def test_cached_decoding_equals_uncached_and_beam_width_1_is_greedy(name):
    model, prompt, source = decoding_setup(name)
    greedy = decoding.greedy_search(model, prompt, 6, **source)
    assert greedy.shape == (3, prompt.shape[1] + 6)
    assert minitorch.equal(greedy, decoding.greedy_search(model, prompt, 6, use_cache=False, **source))
    assert minitorch.equal(greedy, decoding.beam_search(model, prompt, 6, beam_width=1, **source))
    for eos in (None, 2):
        beams = decoding.beam_search(model, prompt, 6, beam_width=3, eos_id=eos, **source)
        uncached = decoding.beam_search(model, prompt, 6, beam_width=3, eos_id=eos, use_cache=False, **source)
        assert minitorch.equal(beams, uncached)
    with_eos = decoding.greedy_search(model, prompt, 6, eos_id=2, **source)
    assert minitorch.equal(with_eos, decoding.beam_search(model, prompt, 6, beam_width=1, eos_id=2, **source))


def test_sampling_repeats_under_a_seed():
    model, prompt, source = decoding_setup("decoder_only")
    options = dict(do_sample=True, temperature=2.0, top_k=5)
    minitorch.manual_seed(3)
    first = model.generate(prompt, 8, **options)
    minitorch.manual_seed(3)
    assert minitorch.equal(first, model.generate(prompt, 8, **options))
    mine = minitorch.Generator().manual_seed(3)
    again = minitorch.Generator().manual_seed(3)
    a = model.generate(prompt, 8, generator=mine, **options)
    assert minitorch.equal(a, model.generate(prompt, 8, generator=again, **options))
    assert not minitorch.equal(a, model.generate(prompt, 8, generator=mine, **options))  # the stream moved on
    # With one candidate left, sampling is greedy search; the cache changes nothing.
    assert minitorch.equal(model.generate(prompt, 8), model.generate(prompt, 8, do_sample=True, top_k=1))
    minitorch.manual_seed(4)
    cached = model.generate(prompt, 8, **options)
    minitorch.manual_seed(4)
    assert minitorch.equal(cached, model.generate(prompt, 8, use_cache=False, **options))


def test_sampling_keeps_to_the_top_k():
    model, prompt, _ = decoding_setup("gpt")
    minitorch.manual_seed(0)
    out = decoding.sample(model, prompt.repeat(20, 1), 1, top_k=2, temperature=5.0)[:, -1].tolist()
    top2 = set(model(prompt)[:, -1].topk(2, -1).indices.repeat(20, 1).tolist()[0])
    assert set(out[0::3]) <= top2 and len(set(out[0::3])) == 2


class Bigram:
    """A toy decoder whose next-token log-probabilities depend on the last token only (for checking searches)."""

    def __init__(self, table):
        with np.errstate(divide="ignore"):  # log 0 = -inf: that token never follows
            self.logits = minitorch.tensor(np.log(np.asarray(table, dtype=np.float64)))

    def init_state(self, prompt):
        return None

    def decode_step(self, tokens, state):
        return self.logits[tokens], state

    def reorder_state(self, state, index):
        return state


# From 0, token 1 is likelier than 2, but 1 leads anywhere while 2 almost surely ends (3 is the end token).
TABLE = [[1e-9, 0.5, 0.4, 0.1], [0.25, 0.25, 0.25, 0.25], [0.05, 0.03, 0.02, 0.9], [0.0, 0.0, 0.0, 1.0]]


def test_beam_search_finds_the_likelier_sequence_greedy_misses():
    model, start = Bigram(TABLE), minitorch.tensor([[0]])
    assert decoding.greedy_search(model, start, 2).tolist() == [[0, 1, 0]]  # p = 0.5 * 0.25
    assert decoding.beam_search(model, start, 2, beam_width=2).tolist() == [[0, 2, 3]]  # p = 0.4 * 0.9
    # A finished beam is padded with the end token; the search goes on while another beam is unfinished.
    assert decoding.beam_search(model, start, 4, beam_width=2, eos_id=3).tolist() == [[0, 2, 3, 3, 3]]
    # It stops when all are finished (after 3, only 3 may follow: the second beam is impossible).
    assert decoding.beam_search(model, minitorch.tensor([[3]]), 4, beam_width=2, eos_id=3).tolist() == [[3, 3]]
    assert decoding.greedy_search(model, minitorch.tensor([[0], [2]]), 3, eos_id=3).tolist() == [
        [0, 1, 0, 1],
        [2, 3, 3, 3],
    ]
    assert decoding.greedy_search(model, minitorch.tensor([[2], [3]]), 3, eos_id=3).tolist() == [[2, 3], [3, 3]]


def test_length_penalty_trades_score_for_length():
    # From 0: end now (0.3), or go on to 1 (0.7) and then end (0.4) or not (0.2 for each other token).
    table = [[1e-9, 0.7, 1e-9, 0.3], [0.2, 0.2, 0.2, 0.4], [0.25] * 4, [0.0, 0.0, 0.0, 1.0]]
    model, start = Bigram(table), minitorch.tensor([[0]])
    # Totals: [3] log 0.3 = -1.20, [1, 3] log 0.28 = -1.27, [1, x] log 0.14 = -1.97 (unfinished).
    # Per token: -1.20, -0.64 and -0.98.
    assert decoding.beam_search(model, start, 2, beam_width=3, eos_id=3, length_penalty=0.0).tolist() == [[0, 3, 3]]
    assert decoding.beam_search(model, start, 2, beam_width=3, eos_id=3, length_penalty=1.0).tolist() == [[0, 1, 3]]


# ---- training: the loss falls ---------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CASES))
def test_a_few_steps_of_training_lower_the_loss(name):
    minitorch.manual_seed(0)
    case = CASES[name]
    model = case.build()
    inputs = [
        minitorch.tensor(a.astype(np.float32) if a.dtype.kind == "f" else a)
        for a in case.inputs(np.random.default_rng(0))
    ]
    logits = model(*inputs)
    target = minitorch.randint(0, logits.shape[-1], logits.shape[:-1])
    optimizer = minitorch.optim.Adam(model.parameters(), lr=3e-2)
    losses = []
    for _ in range(25):
        loss = nn.functional.cross_entropy(model(*inputs).reshape(-1, logits.shape[-1]), target.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_dropout_is_random_in_training_and_off_in_eval():
    config = replace(TRANSFORMER_CONFIGS["transformer"], dropout=0.5)
    model = Transformer(config)
    inputs = tensors(transformer_inputs(config, np.random.default_rng(0)))
    assert not minitorch.equal(model(*inputs), model(*inputs))
    model.eval()
    assert minitorch.equal(model(*inputs), model(*inputs))


# ---- bad input ----------------------------------------------------------------------------------------
def test_bad_configurations_are_refused():
    with pytest.raises(ValueError, match="position must be one of"):
        TransformerConfig(vocab_size=5, position="relative")
    with pytest.raises(ValueError, match="divisible by nhead"):
        TransformerConfig(vocab_size=5, d_model=10, nhead=4)
    with pytest.raises(ValueError, match="head size must be even"):
        TransformerConfig(vocab_size=5, d_model=12, nhead=4, position="rope")
    with pytest.raises(ValueError, match="tgt_vocab_size"):
        TransformerConfig(vocab_size=5, tgt_vocab_size=6, architecture="decoder")
    with pytest.raises(ValueError, match="exactly one"):
        RNNClassifier(3, vocab_size=5, input_size=4)
    with pytest.raises(ValueError, match="cell must be one of"):
        CharRNN(5, cell="transformer")


def test_a_sequence_longer_than_the_learned_positions_is_refused():
    model = Transformer(TRANSFORMER_CONFIGS["gpt"])  # max_len 12
    model(minitorch.randint(0, 7, (1, 12)))
    with pytest.raises(IndexError, match="max_len"):
        model(minitorch.randint(0, 7, (1, 13)))
    with pytest.raises(IndexError, match="max_len"):  # the cache counts too
        decoding.greedy_search(model, minitorch.randint(0, 7, (1, 10)), 5)


def test_bad_masks_are_refused():
    model = Transformer(TRANSFORMER_CONFIGS["transformer"])
    src, tgt = minitorch.randint(0, 7, (2, 5)), minitorch.randint(0, 9, (2, 4))
    with pytest.raises(ValueError, match=r"src_key_padding_mask must have the shape of src, \(2, 5\)"):
        model(src, minitorch.zeros(2, 4, dtype=minitorch.bool), tgt)
    with pytest.raises(ValueError, match="tgt_key_padding_mask must have the shape"):
        model(src, None, tgt, minitorch.zeros(5, 2, dtype=minitorch.bool))
    with pytest.raises(TypeError, match="must be a bool tensor"):
        model(src, minitorch.zeros(2, 5), tgt)
    with pytest.raises(TypeError, match="by name"):  # nn.Transformer's order, (src, tgt), is not ours
        model(src, tgt)


def test_tokens_outside_the_vocabulary_and_mismatched_vocabularies_are_refused():
    model = Transformer(TRANSFORMER_CONFIGS["transformer"])  # 7 source tokens, 9 target tokens
    with pytest.raises(IndexError, match="index out of range"):
        model(minitorch.tensor([[1, 7]]), tgt=minitorch.tensor([[0]]))
    with pytest.raises(IndexError, match="index out of range"):
        char_lstm(5, hidden_size=4)(minitorch.tensor([[5]]))
    other = Transformer(replace(TRANSFORMER_CONFIGS["transformer"], vocab_size=8))
    with pytest.raises(RuntimeError, match="size mismatch for encoder.embed.weight"):
        model.load_state_dict(other.state_dict())
    with pytest.raises(ValueError, match="token ids"):
        model(minitorch.randn(2, 5), tgt=minitorch.tensor([[0]]))


def test_wrong_call_shapes_are_refused():
    encdec, gpt_model = Transformer(TRANSFORMER_CONFIGS["transformer"]), Transformer(TRANSFORMER_CONFIGS["gpt"])
    tokens = minitorch.randint(0, 7, (2, 3))
    with pytest.raises(TypeError, match="needs tgt"):
        encdec(tokens)
    with pytest.raises(TypeError, match="pass src only"):
        gpt_model(tokens, tgt=tokens)
    with pytest.raises(ValueError, match="same number of sequences"):
        encdec(tokens, tgt=tokens[:1])
    with pytest.raises(RuntimeError, match="no decoder"):
        Transformer(TRANSFORMER_CONFIGS["encoder_only"]).generate(tokens, 2)
    with pytest.raises(TypeError, match="pass src"):
        encdec.generate(tokens[:, :1], 2)
    with pytest.raises(ValueError, match="temperature must be positive"):
        gpt_model.generate(tokens, 2, do_sample=True, temperature=0.0)
    with pytest.raises(ValueError, match="not both"):
        gpt_model.generate(tokens, 2, do_sample=True, num_beams=2)
    with pytest.raises(ValueError, match="token ids"):
        lstm_classifier(3, vocab_size=4)(minitorch.randn(2, 3))
    with pytest.raises(ValueError, match=r"\(N, L, 4\)"):
        gru_classifier(3, input_size=4)(minitorch.randn(2, 4))


# ---- GPU ------------------------------------------------------------------------------------------
@pytest.mark.cuda
@pytest.mark.parametrize("name", ["transformer_rope_swiglu_rms", "prefix_decoder", "char_lstm"])
def test_cuda_matches_cpu(name):
    model, prompt, source = decoding_setup(name)
    model = model.to(minitorch.float32)
    cuda = CASES[name].build().to(minitorch.float32)
    cuda.load_state_dict(model.state_dict())
    cuda = cuda.to("cuda").eval()
    cuda_source = {k: v.to("cuda") for k, v in source.items()}
    out = decoding.beam_search(model, prompt, 5, beam_width=2, **source)
    out_cuda = decoding.beam_search(cuda, prompt.to("cuda"), 5, beam_width=2, **cuda_source)
    assert out_cuda.device.type == "cuda"
    assert minitorch.equal(out, out_cuda.cpu())
    loss = model.decode_step(prompt, model.init_state(prompt, **source))[0].square().mean()
    cuda_loss = cuda.decode_step(prompt.to("cuda"), cuda.init_state(prompt.to("cuda"), **cuda_source))[0]
    cuda_loss = cuda_loss.square().mean()
    loss.backward()
    cuda_loss.backward()
    assert math.isclose(loss.item(), cuda_loss.item(), rel_tol=1e-4)
    for (n, p), (_, q) in zip(model.named_parameters(), cuda.named_parameters()):
        np.testing.assert_allclose(q.grad.cpu().numpy(), p.grad.numpy(), atol=1e-5, rtol=1e-3, err_msg=n)
