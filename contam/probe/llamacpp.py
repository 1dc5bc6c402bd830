"""The llama.cpp backend: a GGUF file run by llama-cpp-python."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from contam.errors import ModelError, first_line
from contam.probe.backends import (
    MAX_DEFAULT_CONTEXT,
    Backend,
    TokenScores,
    import_extra,
    model_path,
    start_token_id,
    stitch,
    windows_of,
)
from contam.probe.config import ModelConfig
from contam.probe.logits import token_stats


class LlamaCppBackend(Backend):
    """A GGUF model run by llama.cpp (``Llama(..., logits_all=True)``).

    Each window is ``eval``-ed once and its logits read from ``scores``: one forward pass
    per token. (``create_completion(echo=True)`` is about 20x slower and gives the first
    token no log-probability.)

    Example:
        >>> with LlamaCppBackend(ModelConfig("smollm2.gguf")) as b:  # doctest: +SKIP
        ...     b.score(["Lorem ipsum dolor sit amet"])[0].logprobs
    """

    def __init__(self, config: ModelConfig) -> None:
        llama_cpp = import_extra("llama_cpp", "llama.cpp")
        path = model_path(config)  # its kind checked by `contam.probe.backends.preflight`
        self.config = config
        self.context = config.context or MAX_DEFAULT_CONTEXT
        # llama.cpp reads a prompt with n_threads_batch threads (default: every core)
        t = config.threads
        kw: dict[str, Any] = {"n_threads": t, "n_threads_batch": t} if t else {}
        try:
            self.llm = llama_cpp.Llama(
                model_path=str(path), n_ctx=self.context, n_batch=min(512, self.context),
                logits_all=True, verbose=False, **kw,
            )  # fmt: skip
        except (ValueError, RuntimeError, OSError) as e:
            raise ModelError(f"cannot load model {path} with llama.cpp: {first_line(e)}") from e
        trained = int(self.llm.n_ctx_train()) if hasattr(self.llm, "n_ctx_train") else 0
        if config.context is None and trained:
            self.context = min(self.context, trained)
        bos, eos = int(self.llm.token_bos()), int(self.llm.token_eos())
        adds_bos = str(self.llm.metadata.get("tokenizer.ggml.add_bos_token", "")) == "true"
        self.start = start_token_id(
            config.start_token, self._single_token, bos if bos >= 0 else None,
            eos if eos >= 0 else None, adds_bos,
        )  # fmt: skip

    def _single_token(self, text: str) -> int | None:
        ids = self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        return int(ids[0]) if len(ids) == 1 else None

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, the start token first."""
        return [
            [self.start[0], *self.llm.tokenize(t.encode("utf-8"), add_bos=False, special=False)]
            for t in texts
        ]

    def score(self, texts: Sequence[str]) -> list[TokenScores]:
        out = []
        for seq in self.tokenize(texts):
            parts = []
            for a, b, keep in windows_of(seq, self.context):
                self.llm.reset()
                self.llm.eval(seq[a:b])
                logits = self.llm.scores[keep - a - 1 : b - a - 1]  # a view: no copy
                parts.append(token_stats(logits, np.asarray(seq[keep:b], dtype=np.int64)))
            out.append(stitch(parts))
        return out

    def describe(self) -> dict[str, Any]:
        import llama_cpp

        return {
            "backend": "llama.cpp",
            "model": str(Path(self.config.model).expanduser().resolve()),
            "start_token": {"id": self.start[0], "chosen_as": self.start[1]},
            "context": self.context,
            "threads": self.config.threads,
            "vocab_stats": self.vocab_stats,
            "versions": {
                "llama_cpp_python": llama_cpp.__version__,
                "python": platform.python_version(),
            },
        }

    def close(self) -> None:
        llm, self.llm = getattr(self, "llm", None), None
        if llm is not None:
            llm.close()
