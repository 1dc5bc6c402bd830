"""An OpenAI-compatible completions server as a backend (vLLM, llama.cpp's server, ...).

Each text is sent as ``POST {endpoint}/completions`` with ``echo: true, logprobs: 1,
max_tokens: 1, temperature: 0``: the server answers with the log-probability of every prompt
token (the first one has none: nothing precedes it), then one generated token, which is
dropped (``usage.prompt_tokens`` says where the prompt ends). The server sees only the top
log-probabilities, not the whole distribution, so Min-K%++ has no value here.

The start token: with ``start_token`` set (``<|endoftext|>`` for SmolLM2), the prompt is that
token's text followed by the text, and the prompt tokens of the start text alone (asked once)
are dropped; the server must parse special tokens in the prompt, as llama.cpp's and vLLM's do.
Without it, the server is expected to put its own BOS first (vLLM and llama.cpp do for models
whose tokenizer adds one); if the first prompt token turns out to be the text's own first
token, the call fails and says to pass ``--start-token``, rather than silently leaving that
token unscored.
"""

from __future__ import annotations

import json
import os
import platform
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

import numpy as np

from contam.errors import ModelError
from contam.probe.backends import Backend, TokenScores
from contam.probe.config import ModelConfig

#: Environment variable holding the endpoint's API key (sent as a Bearer token; never logged).
API_KEY_ENV = "CONTAM_API_KEY"


class EndpointBackend(Backend):
    """Scores texts through an OpenAI-compatible ``/completions`` endpoint.

    Example:
        >>> config = ModelConfig("smollm2", endpoint="http://127.0.0.1:8000/v1",
        ...                      start_token="<|endoftext|>")
        >>> EndpointBackend(config).score(["Lorem ipsum"])[0].logprobs  # doctest: +SKIP
    """

    vocab_stats = False

    def __init__(self, config: ModelConfig) -> None:
        assert config.endpoint is not None
        self.config = config
        self.url = config.endpoint.rstrip("/") + "/completions"
        self.prefix = config.start_token or ""
        self.prefix_tokens = 0
        if self.prefix:
            self.prefix_tokens = int(self._complete(self.prefix)["usage"]["prompt_tokens"])

    def _complete(self, prompt: str) -> dict[str, Any]:
        body = {
            "model": self.config.model,
            "prompt": prompt,
            "max_tokens": 1,
            "temperature": 0.0,
            "echo": True,
            "logprobs": 1,
        }
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(API_KEY_ENV)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(self.url, json.dumps(body).encode(), headers)
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout) as answer:
                data: dict[str, Any] = json.loads(answer.read())
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace").strip().splitlines()
            raise ModelError(
                f"endpoint {self.url} answered {e.code}: {detail[0][:300] if detail else ''}"
            ) from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise ModelError(f"endpoint {self.url} cannot be reached: {reason}") from None
        except json.JSONDecodeError as e:
            raise ModelError(f"endpoint {self.url} answered no JSON: {e}") from None
        if "usage" not in data or not data.get("choices"):
            raise ModelError(f"endpoint {self.url} answered without choices or usage")
        return data

    def score(self, texts: Sequence[str]) -> list[TokenScores]:
        return [self._score_one(text) for text in texts]

    def _score_one(self, text: str) -> TokenScores:
        if not text:
            return TokenScores(np.zeros(0), None, None)
        data = self._complete(self.prefix + text)
        logprobs = data["choices"][0].get("logprobs") or {}
        values = logprobs.get("token_logprobs")
        tokens = logprobs.get("tokens")
        if values is None or tokens is None:
            raise ModelError(f"endpoint {self.url} returned no prompt log-probs (echo + logprobs)")
        prompt = int(data["usage"]["prompt_tokens"])
        if len(values) < prompt:
            raise ModelError(
                f"endpoint {self.url} echoed {len(values)} log-probs for {prompt} prompt tokens"
            )
        if self.prefix:
            kept = values[self.prefix_tokens : prompt]
        else:
            first = str(tokens[0]) if tokens else ""
            if first and text.startswith(first):
                raise ModelError(
                    f"endpoint {self.url} put no start token before the text, so its first "
                    "token has no log-prob; pass --start-token with the model's document "
                    "start token (e.g. '<|endoftext|>' for SmolLM2 and Qwen, '<s>' for Llama 2)"
                )
            kept = values[1:prompt]
        if any(v is None for v in kept):
            raise ModelError(f"endpoint {self.url} gave a text token no log-prob")
        return TokenScores(np.asarray(kept, dtype=np.float64), None, None)

    def describe(self) -> dict[str, Any]:
        return {
            "backend": "endpoint",
            "endpoint": self.url,
            "model": self.config.model,
            "start_token": {"text": self.prefix or None, "prompt_tokens": self.prefix_tokens},
            "vocab_stats": self.vocab_stats,
            "versions": {"python": platform.python_version()},
        }
