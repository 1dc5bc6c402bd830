"""The transformers backend: a causal LM from a local folder, or a local .gguf file read
through transformers' GGUF loader (de-quantized to ``--dtype``)."""

from __future__ import annotations

import platform
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

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
from contam.probe.logits import torch_token_stats


class TransformersBackend(Backend):
    """A transformers causal LM, batched with right padding.

    Right padding keeps every real token at the position it has alone, so a text scores the
    same in any batch (a test checks this); texts are sorted by length to pad little.

    Example:
        >>> with TransformersBackend(ModelConfig("models/tiny")) as b:  # doctest: +SKIP
        ...     b.score(["The quick brown fox"])[0].tokens
    """

    def __init__(self, config: ModelConfig) -> None:
        self.torch = import_extra("torch", "transformers")
        transformers = import_extra("transformers", "transformers")
        path = model_path(config)  # its kind checked by `contam.probe.backends.preflight`
        folder = path.parent if path.is_file() else path
        kw: dict[str, Any] = {"gguf_file": path.name} if path.is_file() else {}
        kw |= {"local_files_only": True, "trust_remote_code": config.trust_remote_code}
        if config.threads is not None:
            self.torch.set_num_threads(config.threads)
        transformers.utils.logging.disable_progress_bar()  # the probe draws its own
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder), **kw)
            model = transformers.AutoModelForCausalLM.from_pretrained(
                str(folder), dtype=getattr(self.torch, config.dtype), **kw
            )
        except (OSError, ValueError, ImportError, KeyError) as e:
            raise ModelError(f"cannot load model {path} with transformers: {first_line(e)}") from e
        self.model = model.to(config.device).eval()
        self.config = config
        vocab = self.tokenizer.get_vocab()
        bos, eos = self.tokenizer.bos_token_id, self.tokenizer.eos_token_id
        probe = self.tokenizer("a")["input_ids"]
        adds_bos = bos is not None and len(probe) > 0 and probe[0] == bos
        self.start = start_token_id(config.start_token, vocab.get, bos, eos, adds_bos)
        declared = int(getattr(self.model.config, "max_position_embeddings", 0) or 0)
        self.context = config.context or min(declared or MAX_DEFAULT_CONTEXT, MAX_DEFAULT_CONTEXT)

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, the start token first."""
        if not texts:
            return []
        ids = self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [[self.start[0], *row] for row in ids]

    def batches(self, rows: Sequence[Sequence[int]]) -> Iterator[tuple[list[int], Any, Any]]:
        """The forward passes that run ``rows``: ``(row numbers, ids, attention mask)``, longest
        rows first (little padding), at most ``batch_tokens`` padded tokens each, on the
        device."""
        torch = self.torch
        order = sorted(range(len(rows)), key=lambda r: len(rows[r]), reverse=True)
        done = 0
        while done < len(order):
            width = len(rows[order[done]])
            batch = order[done : done + max(1, self.config.batch_tokens // width)]
            done += len(batch)
            ids = torch.full((len(batch), width), self.start[0], dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for r, row in enumerate(batch):
                ids[r, : len(rows[row])] = torch.tensor(rows[row])
                mask[r, : len(rows[row])] = 1
            yield batch, ids.to(self.config.device), mask.to(self.config.device)

    def score(self, texts: Sequence[str]) -> list[TokenScores]:
        seqs = self.tokenize(texts)
        jobs = [(i, *w) for i, seq in enumerate(seqs) for w in windows_of(seq, self.context)]
        parts: dict[tuple[int, int], tuple[Any, Any, Any]] = {}
        for batch, ids, mask in self.batches([seqs[i][a:b] for i, a, b, _ in jobs]):
            with self.torch.no_grad():
                logits = self.model(input_ids=ids, attention_mask=mask, use_cache=False).logits
                for r, job in enumerate(batch):
                    i, a, b, keep = jobs[job]
                    # row t of the window predicts its token t + 1: targets keep..b-1
                    targets = ids[r, keep - a : b - a]
                    parts[i, a] = torch_token_stats(logits[r, keep - a - 1 : b - a - 1], targets)
            del logits
        return [
            stitch([parts[i, a] for a, _, _ in windows_of(seq, self.context)])
            for i, seq in enumerate(seqs)
        ]

    def describe(self) -> dict[str, Any]:
        import transformers

        return {
            "backend": "transformers",
            "model": str(Path(self.config.model).expanduser().resolve()),
            "model_type": str(getattr(self.model.config, "model_type", "")),
            "start_token": {"id": self.start[0], "chosen_as": self.start[1]},
            "context": self.context,
            "dtype": self.config.dtype,
            "device": self.config.device,
            "vocab_stats": self.vocab_stats,
            "versions": {
                "torch": self.torch.__version__,
                "transformers": transformers.__version__,
                "python": platform.python_version(),
            },
        }

    def close(self) -> None:
        self.model = None
