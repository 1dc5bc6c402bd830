"""Models behind one small interface: text in, each token's log-probability out.

`Backend.score` returns, for every text, a `TokenScores`: the log-probability of each of the
text's tokens given the tokens before it, and, where the backend sees the whole next-token
distribution, its moments ``mu`` and ``var`` (for Min-K%++, see `contam.probe.logits`).

    TransformersBackend   AutoModelForCausalLM from a local folder or .gguf file; batched
                          (contam.probe.hf)
    LlamaCppBackend       llama-cpp-python: Llama(logits_all=True), eval, then scores
                          (contam.probe.llamacpp)
    EndpointBackend       an OpenAI-compatible /v1/completions server (contam.probe.endpoint)

Every text is scored after a start token (`start_token_id`), so its first token is scored
too: a model that adds no BOS of its own (SmolLM2's GGUF) gets ``<|endoftext|>``, the token
its pretraining put between documents. Nothing is downloaded: transformers loads with
``local_files_only`` and ``trust_remote_code`` stays off unless asked for.
"""

from __future__ import annotations

import importlib
import importlib.util
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from contam.errors import ModelError
from contam.probe.config import ModelConfig
from contam.probe.logits import windows

#: The context a model is run with when it declares a longer one (memory: the logits of a
#: window are context x vocabulary x 4 bytes, 400 MB for 2,048 x 49,152).
MAX_DEFAULT_CONTEXT = 2048
#: The document separator of GPT-2-style pretraining, the start token when a model adds none.
ENDOFTEXT = "<|endoftext|>"
#: The install line of each backend's optional extra.
EXTRAS = {"transformers": "probe", "llama.cpp": "llama"}


@dataclass(frozen=True, slots=True)
class TokenScores:
    """One text, scored: one entry per token of the text (the start token is not scored).

    Attributes:
        logprobs: natural log of p(token | start token and the tokens before it).
        mu: sum over the vocabulary of p log p at each position; None if the backend does
            not see the full distribution (an endpoint).
        var: sum of p (log p - mu)^2 at each position; None with ``mu``.
    """

    logprobs: npt.NDArray[np.float64]
    mu: npt.NDArray[np.float64] | None = None
    var: npt.NDArray[np.float64] | None = None

    @property
    def tokens(self) -> int:
        """Tokens of the text."""
        return len(self.logprobs)


class Backend(ABC):
    """A model that scores texts. Use it as a context manager, or call `close`."""

    #: whether `score` fills ``mu`` and ``var``
    vocab_stats: bool = True
    #: the start token's id and text, set by the subclass
    start: tuple[int, str] = (-1, "")

    @abstractmethod
    def score(self, texts: Sequence[str]) -> list[TokenScores]:
        """Score each text on its own (its tokens are conditioned on the start token)."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Model, backend, start token and library versions, for ``run.json``."""

    def close(self) -> None:  # noqa: B027 (a backend without resources keeps it)
        """Free the model."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def import_extra(module: str, kind: str) -> Any:
    """Import an optional dependency, or fail with the line that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        extra = EXTRAS[kind]
        raise ModelError(
            f"the {kind} backend needs {module} ({e}); install it with: "
            f"pip install 'contam[{extra}]'"
        ) from None


def start_token_id(
    explicit: str | None,
    lookup: Callable[[str], int | None],
    bos: int | None,
    eos: int | None,
    adds_bos: bool,
) -> tuple[int, str]:
    """The token put before every text, as ``(id, how it was chosen)``.

    In order: the token the user named; the model's BOS if its tokenizer adds one by itself
    (Llama, Mistral); ``<|endoftext|>`` if the vocabulary has it (GPT-2, SmolLM2, Qwen:
    their pretraining put it between documents); the BOS; the EOS.

    Example:
        >>> start_token_id(None, {"<|endoftext|>": 0}.get, 1, 2, adds_bos=False)
        (0, '<|endoftext|>')
    """
    if explicit is not None:
        found = lookup(explicit)
        if found is None:
            raise ModelError(f"start token {explicit!r} is not one token of the model's vocabulary")
        return found, explicit
    if adds_bos and bos is not None:
        return bos, "bos"
    found = lookup(ENDOFTEXT)
    if found is not None:
        return found, ENDOFTEXT
    if bos is not None:
        return bos, "bos"
    if eos is not None:
        return eos, "eos"
    raise ModelError(
        "the model has no BOS, EOS or <|endoftext|> token: name one with --start-token"
    )


def model_path(config: ModelConfig) -> Path:
    """The model's path, or an error naming it."""
    path = Path(config.model).expanduser()
    if not path.exists():
        raise ModelError(f"model {path} not found (give a model folder or a .gguf file)")
    return path


def windows_of(seq: list[int], context: int) -> list[tuple[int, int, int]]:
    """The windows (`contam.probe.logits.windows`, half-overlapping) that score ``seq``."""
    return [w for w in windows(len(seq), context, context // 2) if w[1] - w[0] > 1]


def stitch(parts: list[tuple[Any, Any, Any]]) -> TokenScores:
    """One text's `TokenScores` from its windows' (logprobs, mu, var), in order."""
    if not parts:
        empty = np.zeros(0, dtype=np.float64)
        return TokenScores(empty, empty.copy(), empty.copy())
    return TokenScores(*(np.concatenate([p[k] for p in parts]) for k in range(3)))


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def preflight(config: ModelConfig) -> str:
    """Check, before any work, that the model is there and its backend's extra installed;
    return the backend that will run it (``auto`` resolved).

    Example:
        >>> preflight(ModelConfig("missing.gguf"))
        Traceback (most recent call last):
        contam.errors.ModelError: model missing.gguf not found (give a model folder or a .gguf file)
    """
    kind = config.kind
    if kind == "endpoint":
        return kind
    path = model_path(config)
    if path.is_file() and path.suffix != ".gguf":
        raise ModelError(f"model {path}: give a model folder or a .gguf file")
    if kind == "llama.cpp" and not path.is_file():
        raise ModelError(f"model {path}: the llama.cpp backend needs a .gguf file")
    if config.backend == "auto" and kind == "llama.cpp" and not _has("llama_cpp"):
        if not (_has("torch") and _has("transformers")):
            raise ModelError(
                "a .gguf model needs llama-cpp-python: pip install 'contam[llama]' "
                "(or transformers: pip install 'contam[probe]')"
            )
        kind = "transformers"
    need = ["llama_cpp"] if kind == "llama.cpp" else ["torch", "transformers"]
    if kind == "transformers" and path.is_file():
        need += ["gguf", "accelerate"]  # transformers reads .gguf files through them
    missing = [m for m in need if not _has(m)]
    if missing:
        raise ModelError(
            f"the {kind} backend needs {', '.join(missing)}: pip install 'contam[{EXTRAS[kind]}]'"
        )
    return kind


def open_backend(config: ModelConfig) -> Backend:
    """The backend ``config`` asks for, loaded (after `preflight`).

    ``auto`` runs a .gguf file with llama.cpp when llama-cpp-python is installed, else with
    transformers; a folder with transformers; ``endpoint`` (or a URL) with the server.

    Example:
        >>> backend = open_backend(ModelConfig("SmolLM2-135M-Instruct.Q4_1.gguf"))  # doctest: +SKIP
    """
    kind = preflight(config)
    if kind == "endpoint":
        from contam.probe.endpoint import EndpointBackend

        return EndpointBackend(config)
    if kind == "llama.cpp":
        from contam.probe.llamacpp import LlamaCppBackend

        return LlamaCppBackend(config)
    from contam.probe.hf import TransformersBackend

    return TransformersBackend(config)
