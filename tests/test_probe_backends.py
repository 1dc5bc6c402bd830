"""contam.probe.backends: transformers on a tiny GPT-2 built here, llama.cpp on SmolLM2.

Every backend is checked against the model run by hand: the text's tokens after the start
token, log_softmax of the logits in float64, row i scoring token i + 1.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_probe_helpers import CORPUS, require, smollm2_gguf, tiny_model_dir

from contam.errors import ModelError
from contam.probe.backends import open_backend, preflight, start_token_id
from contam.probe.config import ModelConfig
from contam.probe.hf import TransformersBackend
from contam.probe.llamacpp import LlamaCppBackend
from contam.probe.logits import windows

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Q",
    "",
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many "
    "clips in May. How many clips did Natalia sell altogether in April and May?",
    "Capital of Peru? Lima.",
]


def by_hand_transformers(model: Any, seq: list[int], context: int) -> np.ndarray:
    """Each target's log-prob, the model run on each window of ``seq`` separately."""
    torch = require("torch")
    out = []
    for a, b, keep in windows(len(seq), context, context // 2):
        if b - a < 2:
            continue
        with torch.no_grad():
            logits = model(torch.tensor([seq[a:b]])).logits[0].double()
        logp = torch.log_softmax(logits, dim=-1)
        out += [float(logp[t - a - 1, seq[t]]) for t in range(keep, b)]
    return np.array(out)


@pytest.fixture(scope="module")
def tiny() -> TransformersBackend:
    backend = open_backend(ModelConfig(str(tiny_model_dir())))
    assert isinstance(backend, TransformersBackend)
    return backend


def test_transformers_start_token_is_endoftext_and_every_token_scored(
    tiny: TransformersBackend,
) -> None:
    assert tiny.start == (0, "<|endoftext|>")
    assert tiny.context == 128  # the tiny GPT-2's n_positions
    ids = tiny.tokenizer(TEXTS[0], add_special_tokens=False).input_ids
    scored = tiny.score([TEXTS[0]])[0]
    assert scored.tokens == len(ids) > 5
    expected = by_hand_transformers(tiny.model, [0, *ids], 128)
    assert np.abs(scored.logprobs - expected).max() < 1e-5


def test_transformers_batched_equals_one_at_a_time() -> None:
    folder = str(tiny_model_dir())
    batched = open_backend(ModelConfig(folder, batch_tokens=4096)).score(TEXTS)
    alone = open_backend(ModelConfig(folder, batch_tokens=16))  # one text per forward pass
    singles = [alone.score([t])[0] for t in TEXTS]
    assert [s.tokens for s in batched] == [s.tokens for s in singles]
    assert batched[2].tokens == 0  # the empty text: nothing to score
    for got, want in zip(batched, singles, strict=True):
        assert got.mu is not None and want.mu is not None
        assert got.var is not None and want.var is not None
        assert np.abs(got.logprobs - want.logprobs).max(initial=0) < 1e-5
        assert np.abs(got.mu - want.mu).max(initial=0) < 1e-5
        assert np.abs(got.var - want.var).max(initial=0) < 1e-5


def test_transformers_long_text_is_scored_in_windows() -> None:
    backend = open_backend(ModelConfig(str(tiny_model_dir()), context=32))
    assert isinstance(backend, TransformersBackend)
    text = " ".join(CORPUS)
    ids = backend.tokenizer(text, add_special_tokens=False).input_ids
    assert len(ids) > 100  # 4+ windows of 32
    scored = backend.score([text, TEXTS[0]])
    assert scored[0].tokens == len(ids)
    expected = by_hand_transformers(backend.model, [0, *ids], 32)
    assert np.abs(scored[0].logprobs - expected).max() < 1e-5


def test_transformers_mu_var_are_the_full_distribution_moments(
    tiny: TransformersBackend,
) -> None:
    torch = require("torch")
    ids = [0, *tiny.tokenizer("Lima.", add_special_tokens=False).input_ids]
    with torch.no_grad():
        logp = torch.log_softmax(tiny.model(torch.tensor([ids])).logits[0].double(), -1)
    p = logp.exp()
    mu = (p * logp).sum(-1)[:-1].numpy()
    var = (p * (logp - (p * logp).sum(-1, keepdim=True)) ** 2).sum(-1)[:-1].numpy()
    scored = tiny.score(["Lima."])[0]
    assert scored.mu is not None and scored.var is not None
    assert np.abs(scored.mu - mu).max() < 1e-5
    assert np.abs(scored.var - var).max() < 1e-5


def test_transformers_loads_locally_without_remote_code(monkeypatch: pytest.MonkeyPatch) -> None:
    transformers = require("transformers")
    seen: list[dict[str, Any]] = []
    real = transformers.AutoModelForCausalLM.from_pretrained

    def spy(*args: Any, **kw: Any) -> Any:
        seen.append(kw)
        return real(*args, **kw)

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", spy)
    open_backend(ModelConfig(str(tiny_model_dir())))
    open_backend(ModelConfig(str(tiny_model_dir()), trust_remote_code=True))
    assert [(kw["trust_remote_code"], kw["local_files_only"]) for kw in seen] == [
        (False, True),
        (True, True),
    ]


def test_explicit_and_unknown_start_tokens() -> None:
    folder = str(tiny_model_dir())
    backend = open_backend(ModelConfig(folder, start_token="Q"))
    assert backend.start[1] == "Q" and backend.start[0] != 0
    with pytest.raises(ModelError, match="start token '<s>' is not one token"):
        open_backend(ModelConfig(folder, start_token="<s>"))


def test_start_token_choice_order() -> None:
    vocab = {"<|endoftext|>": 0, "<s>": 1}
    assert start_token_id("<s>", vocab.get, 1, 2, False) == (1, "<s>")
    assert start_token_id(None, vocab.get, 1, 2, True) == (1, "bos")  # Llama adds <s>
    assert start_token_id(None, vocab.get, 1, 2, False) == (0, "<|endoftext|>")  # SmolLM2
    assert start_token_id(None, {}.get, 5, 2, False) == (5, "bos")
    assert start_token_id(None, {}.get, None, 2, False) == (2, "eos")
    with pytest.raises(ModelError, match="--start-token"):
        start_token_id(None, {}.get, None, None, False)


def test_missing_model_and_wrong_file_fail_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"^model .*nope not found") as e:
        preflight(ModelConfig(str(tmp_path / "nope")))
    assert "\n" not in str(e.value)
    (tmp_path / "weights.bin").write_bytes(b"0")
    with pytest.raises(ModelError, match=r"give a model folder or a \.gguf file"):
        preflight(ModelConfig(str(tmp_path / "weights.bin")))
    empty = tmp_path / "empty"
    empty.mkdir()
    require("transformers")
    with pytest.raises(ModelError, match=r"^cannot load model .*empty with transformers"):
        open_backend(ModelConfig(str(empty)))


def test_missing_extra_names_the_install_line(monkeypatch: pytest.MonkeyPatch) -> None:
    folder, gguf = str(tiny_model_dir()), str(smollm2_gguf())  # before torch "goes missing"
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ModelError, match=r"needs torch: pip install 'contam\[probe\]'"):
        preflight(ModelConfig(folder))
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(ModelError, match=r"pip install 'contam\[llama\]'"):
        preflight(ModelConfig(gguf))
    with pytest.raises(ModelError, match=r"needs torch: pip install 'contam\[probe\]'"):
        preflight(ModelConfig(gguf, backend="transformers"))


# llama.cpp on the real SmolLM2 ------------------------------------------------------------


@pytest.fixture(scope="module")
def smollm2() -> LlamaCppBackend:
    require("llama_cpp")
    backend = open_backend(ModelConfig(str(smollm2_gguf()), threads=1))
    assert isinstance(backend, LlamaCppBackend)
    return backend


def by_hand_llama(backend: LlamaCppBackend, seq: list[int]) -> np.ndarray:
    llm = backend.llm
    llm.reset()
    llm.eval(seq)
    logits = np.array(llm.scores[: len(seq) - 1], dtype=np.float64)
    logp = logits - np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1, keepdims=True))
    logp -= logits.max(1, keepdims=True)
    return np.array([logp[i, seq[i + 1]] for i in range(len(seq) - 1)])


def test_llama_cpp_start_token_and_logprobs_by_hand(smollm2: LlamaCppBackend) -> None:
    # SmolLM2's GGUF says add_bos_token = false: <|endoftext|> (id 0) goes first
    assert smollm2.start == (0, "<|endoftext|>")
    text = TEXTS[3]
    ids = smollm2.llm.tokenize(text.encode(), add_bos=False, special=False)
    scored = smollm2.score([text])[0]
    assert scored.tokens == len(ids)
    assert np.abs(scored.logprobs - by_hand_llama(smollm2, [0, *ids])).max() < 1e-4
    assert scored.mu is not None and scored.var is not None
    assert bool(np.all(scored.mu <= 0)) and bool(np.all(scored.var >= 0))


def test_llama_cpp_windows_match_separate_evals() -> None:
    require("llama_cpp")
    backend = open_backend(ModelConfig(str(smollm2_gguf()), context=32, threads=1))
    assert isinstance(backend, LlamaCppBackend)
    text = " ".join(CORPUS[4:7])
    seq = backend.tokenize([text])[0]
    assert len(seq) > 48  # 3 windows or more
    expected = []
    for a, b, keep in windows(len(seq), 32, 16):
        expected += by_hand_llama(backend, seq[a:b])[keep - a - 1 :].tolist()
    got = backend.score([text])[0].logprobs
    assert len(got) == len(seq) - 1
    assert np.abs(got - np.array(expected)).max() < 1e-4


@pytest.mark.slow
def test_transformers_reads_the_same_gguf_close_to_llama_cpp(smollm2: LlamaCppBackend) -> None:
    # transformers de-quantizes the Q4_1 weights to float32; llama.cpp multiplies in Q4_1
    # with 8-bit activations, so the two differ a little per token, not on average
    require("gguf")
    require("accelerate")
    hf = open_backend(ModelConfig(str(smollm2_gguf()), backend="transformers", threads=1))
    assert isinstance(hf, TransformersBackend) and hf.start[0] == 0
    texts = [TEXTS[0], TEXTS[3]]
    a, b = hf.score(texts), smollm2.score(texts)
    for x, y in zip(a, b, strict=True):
        assert x.tokens == y.tokens
        assert abs(x.logprobs.mean() - y.logprobs.mean()) < 0.1  # measured: 0.043, 0.017
        assert np.abs(x.logprobs - y.logprobs).mean() < 0.2  # measured: 0.113, 0.061
        assert np.abs(x.logprobs - y.logprobs).max() < 1.0  # measured: 0.56, 0.29
