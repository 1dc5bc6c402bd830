"""Frozen settings of a probe: which model and how to run it (`ModelConfig`), and what to
score (`ProbeConfig`). Their ``__str__`` is a short fingerprint written into ``run.json``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from contam.errors import ConfigError

#: How a model is run: ``auto`` picks llama.cpp for a .gguf file (transformers if
#: llama-cpp-python is missing), transformers for a folder, the endpoint for a URL.
BACKENDS = ("auto", "transformers", "llama.cpp", "endpoint")
#: Which text of an item is scored: ``full`` is input and label (what a leaked copy holds),
#: ``input`` the question alone.
PARTS = ("full", "input")
DTYPES = ("float32", "bfloat16", "float16")


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """One model to score texts with.

    Args:
        model: a local model folder (transformers) or ``.gguf`` file; with ``endpoint``, the
            model name sent to the server.
        backend: one of `BACKENDS`.
        endpoint: base URL of an OpenAI-compatible server (``http://127.0.0.1:8000/v1``).
        start_token: the token put before every text so its first token is scored; None
            picks the model's own (see `contam.probe.backends.start_token_id`).
        context: tokens the model sees at once; a longer text is scored in windows that
            overlap by half. None: the model's context length, at most 2,048.
        batch_tokens: transformers: padded tokens per forward pass (bounds the logits'
            memory: tokens x vocabulary x 4 bytes).
        threads: CPU threads (torch and llama.cpp); None leaves the library's default.
        device: transformers device (``cpu``, ``cuda``, ``cuda:1``, ``mps``).
        dtype: transformers weights' dtype.
        trust_remote_code: let transformers run the model folder's own Python code.
        timeout: seconds to wait for one endpoint answer.

    Example:
        >>> str(ModelConfig("m.gguf", context=1024))
        'auto:m.gguf:ctx1024'
    """

    model: str
    backend: str = "auto"
    endpoint: str | None = None
    start_token: str | None = None
    context: int | None = None
    batch_tokens: int = 2048
    threads: int | None = None
    device: str = "cpu"
    dtype: str = "float32"
    trust_remote_code: bool = False
    timeout: float = 600.0

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(f"unknown backend {self.backend!r}; choose one of {BACKENDS}")
        if self.backend == "endpoint" and self.endpoint is None:
            raise ConfigError("the endpoint backend needs --endpoint URL")
        if self.endpoint is not None and self.backend not in ("auto", "endpoint"):
            raise ConfigError(f"--endpoint and --backend {self.backend} exclude each other")
        if not self.model:
            raise ConfigError("name a model: --model PATH (or --model-name with --endpoint)")
        if self.context is not None and self.context < 16:
            raise ConfigError(f"context must be >= 16 tokens, got {self.context}")
        if self.batch_tokens < 16:
            raise ConfigError(f"batch_tokens must be >= 16, got {self.batch_tokens}")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"threads must be >= 1, got {self.threads}")
        if self.dtype not in DTYPES:
            raise ConfigError(f"unknown dtype {self.dtype!r}; choose one of {DTYPES}")

    @property
    def kind(self) -> str:
        """The backend that will run: ``auto`` resolved from the model and endpoint."""
        if self.backend != "auto":
            return self.backend
        if self.endpoint is not None:
            return "endpoint"
        return "llama.cpp" if self.model.endswith(".gguf") else "transformers"

    def __str__(self) -> str:
        where = self.endpoint + "#" + self.model if self.endpoint else Path(self.model).name
        ctx = f":ctx{self.context}" if self.context else ""
        return f"{self.backend}:{where}{ctx}"


@dataclass(frozen=True, slots=True)
class ProbeConfig:
    """What a probe scores, besides the model.

    Args:
        k: fraction of a text's tokens that Min-K% and Min-K%++ average (the lowest ones).
        part: ``full`` (input and label) or ``input``; see `PARTS`.
        lowercase: also score each text lower-cased, for the lowercase ratio (twice the work).
        ref_model: a second, reference model for the reference ratio; None skips it.
        sharded: run the sharded-likelihood test on each bench too.
        shards: shards of the sharded test (at least 2; each needs 2 items).
        permutations: random orders scored per shard.
        seed: seed of the permutations.
        quiet: no progress bar.

    Example:
        >>> str(ProbeConfig(k=0.1, sharded=True))
        'full_k0.1_lc_sharded10x25s0'
    """

    k: float = 0.2
    part: str = "full"
    lowercase: bool = True
    ref_model: ModelConfig | None = None
    sharded: bool = False
    shards: int = 10
    permutations: int = 25
    seed: int = 0
    quiet: bool = False

    def __post_init__(self) -> None:
        if not 0.0 < self.k <= 1.0:
            raise ConfigError(f"k must be in (0, 1], got {self.k}")
        if self.part not in PARTS:
            raise ConfigError(f"unknown part {self.part!r}; choose one of {PARTS}")
        if self.shards < 2:
            raise ConfigError(f"the sharded test needs at least 2 shards, got {self.shards}")
        if self.permutations < 1:
            raise ConfigError(f"permutations must be >= 1, got {self.permutations}")

    def __str__(self) -> str:
        out = f"{self.part}_k{self.k:g}"
        out += "_lc" if self.lowercase else ""
        out += "_ref" if self.ref_model is not None else ""
        if self.sharded:
            out += f"_sharded{self.shards}x{self.permutations}s{self.seed}"
        return out

    def to_json(self) -> dict[str, Any]:
        """The settings behind the numbers, for ``run.json``."""
        out = asdict(self)
        out.pop("quiet")
        out["fingerprint"] = str(self)
        return out
