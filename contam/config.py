"""Frozen settings and their fingerprints.

A fingerprint is a short readable string of every setting that changes what an index holds
(`nfkc.cf.cjk_13g_s5_b5_lane64p`). It names the index folder and is written into every report,
so a changed setting builds a new index instead of silently reusing a stale one.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from contam.errors import ConfigError

#: Version of the token and n-gram hash scheme (8-byte lanes per token, polynomial roll, fmix64).
#: Bump it whenever `shingles.py` would hash the same text differently.
HASH_SCHEME = "lane64p"
#: Longest seed n-gram: every 8-gram (PaLM) and 13-gram (GPT-3) must contain a seed.
MAX_SEED_N = 8
#: Where shards are scanned: worker processes on this machine, or Ray tasks (`ray_engine`).
ENGINES = ("local", "ray")


@dataclass(frozen=True, slots=True)
class Preset:
    """A definition: its name, its source and a one-line rule."""

    name: str
    source: str
    rule: str


PRESETS = {
    p.name: p
    for p in (
        Preset(
            "contam",
            "this tool",
            "edit-tolerant aligned spans cover >= threshold of the distinctive tokens",
        ),
        Preset(
            "gpt3",
            "Brown et al. 2020, Language Models are Few-Shot Learners, appendix C",
            "any 13-gram found (13-grams found >= 10 times ignored)",
        ),
        Preset(
            "palm",
            "Chowdhery et al. 2022, PaLM, section 8",
            ">= 70% of the 8-grams found",
        ),
        Preset(
            "llama2",
            "Touvron et al. 2023, Llama 2, appendix A.6",
            ">= 80% of tokens in matched spans of >= 10 tokens with <= 4 mismatches",
        ),
        Preset(
            "gpt4",
            "OpenAI 2023, GPT-4 Technical Report, appendix C",
            "one of 3 random 50-character substrings (no spaces or symbols) found",
        ),
    )
}
#: The published definitions every scan computes, in report order (`presets` computes them).
PRESET_NAMES = tuple(PRESETS)


@dataclass(frozen=True, slots=True)
class NormConfig:
    """How text becomes tokens; the same for benchmark items and corpus documents.

    Punctuation and whitespace always separate tokens; a token is a run of letters, digits and
    combining marks, or a single CJK ideograph or kana when ``cjk_chars`` is on.
    """

    nfkc: bool = True
    casefold: bool = True
    cjk_chars: bool = True

    def __str__(self) -> str:
        parts = [name for name, on in (("nfkc", self.nfkc), ("cf", self.casefold)) if on]
        parts.append("cjk" if self.cjk_chars else "nocjk")
        return ".".join(parts)


@dataclass(frozen=True, slots=True)
class NGramConfig:
    """Which token sequences of an item are indexed.

    Args:
        n: seed n-gram length in tokens. Exact n-grams found in a document seed the alignment
            of an item with it; 8 (PaLM's n-gram) still leaves exact seeds in a copy with one
            word in ten changed. At most 8: the published definitions are computed from the
            aligned runs, and PaLM's 8-grams and GPT-3's 13-grams each hold a seed.
        short_min: an item (or its input part) shorter than ``n`` tokens is matched whole when
            it has at least this many tokens; shorter ones cannot be matched at all (a three-word
            item matches ordinary prose everywhere).
        boilerplate_items: an n-gram found in at least this many items of one benchmark is
            boilerplate ("which of the following is ...") and never counts as a match.
    """

    n: int = 8
    short_min: int = 5
    boilerplate_items: int = 5

    def __post_init__(self) -> None:
        if not 1 <= self.n <= MAX_SEED_N:
            raise ConfigError(
                f"n-gram length must be between 1 and {MAX_SEED_N} (the presets derive PaLM's "
                f"8-grams and GPT-3's 13-grams from runs seeded by it), got {self.n}"
            )
        if not 1 <= self.short_min <= self.n:
            raise ConfigError(f"short_min must be between 1 and n={self.n}, got {self.short_min}")
        if self.boilerplate_items < 2:
            raise ConfigError(
                f"boilerplate_items must be >= 2 (an n-gram is always in one item), "
                f"got {self.boilerplate_items}"
            )

    def __str__(self) -> str:
        return f"{self.n}g_s{self.short_min}_b{self.boilerplate_items}"


def index_fingerprint(norm: NormConfig, ngram: NGramConfig) -> str:
    """The settings part of an index folder name."""
    return f"{norm}_{ngram}_{HASH_SCHEME}"


def cache_root() -> Path:
    """``$CONTAM_CACHE_DIR``, else ``~/.cache/contam``: fetched benches, Unicode tables."""
    return Path(os.environ.get("CONTAM_CACHE_DIR") or Path.home() / ".cache" / "contam")


def default_index_dir() -> Path:
    """``$CONTAM_INDEX_DIR``, else ``./indexes``."""
    return Path(os.environ.get("CONTAM_INDEX_DIR", "indexes"))


@dataclass(frozen=True, slots=True)
class ScanConfig:
    """Everything a scan needs besides the corpus paths and the benches.

    Args:
        threshold: an item part is contaminated when at least this fraction of its tokens is
            covered by n-grams found in the corpus (a short item: when it is found whole).
        text_fields: corpus record fields joined (with a newline) into the document text.
        id_field: corpus record field used as document id; absent -> ``<shard>:<line>``.
        batch_chars: characters of text handed to the matching kernel at once (for JSONL with
            one text field: bytes of JSON, at least as many); bounds memory.
        workers: processes scanning shards in parallel.
        threads: threads each worker (or Ray task) scans with. A worker's threads each scan
            a shard of their own while there are enough shards, and split the batches of
            the shards there are when there are fewer (`scan.shard_threads`); a Ray task
            scans one shard, so its threads split its batches. None (the default): 2 for
            one worker, 1 for more (`worker_threads`), as workers then keep the cores busy
            themselves.
        resume: continue the scan already in ``out``; finished shards are skipped.
        skip_bad: count bad records and shards in the report instead of stopping.
        quiet: no progress bars or summary.
        preset: the definition that sets the ``contaminated`` column (all are computed):
            contam, gpt3, palm, llama2 or gpt4.
        max_gap: most tokens an aligned span may skip between exact runs, in the item or the
            document (0: exact matching only; no near-duplicate search either).
        engine: where shards are scanned: ``local`` (``workers`` processes) or ``ray`` (one
            Ray task per shard; needs the ``ray`` extra).
        address: the Ray cluster to join (``auto``, ``ray://host:port``); None starts Ray on
            this machine with ``workers * worker_threads`` CPUs (``workers`` tasks at once,
            each reserving ``worker_threads``). Only with ``engine="ray"``.
    """

    norm: NormConfig = field(default_factory=NormConfig)
    ngram: NGramConfig = field(default_factory=NGramConfig)
    threshold: float = 0.5
    text_fields: tuple[str, ...] = ("text",)
    id_field: str = "id"
    batch_chars: int = 8 << 20
    workers: int = 1
    threads: int | None = None
    resume: bool = False
    skip_bad: bool = False
    quiet: bool = False
    preset: str = "contam"
    max_gap: int = 8
    index_dir: Path = field(default_factory=default_index_dir)
    bench_dir: Path | None = None
    engine: str = "local"
    address: str | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ConfigError(f"threshold must be in (0, 1], got {self.threshold}")
        if self.workers < 1:
            raise ConfigError(f"workers must be >= 1, got {self.workers}")
        if self.threads is not None and not 1 <= self.threads <= 64:
            raise ConfigError(f"threads must be between 1 and 64, got {self.threads}")
        if self.batch_chars < 1024:
            raise ConfigError(
                "a batch must hold at least 1024 characters (--batch-mb 1 or more), "
                f"got {self.batch_chars}"
            )
        if self.preset not in PRESET_NAMES:
            raise ConfigError(
                f"unknown preset {self.preset!r}; choose one of {', '.join(PRESET_NAMES)}"
            )
        if not 0 <= self.max_gap <= 64:
            raise ConfigError(f"max_gap must be between 0 and 64 tokens, got {self.max_gap}")
        if not self.text_fields:
            raise ConfigError("at least one text field is needed (--text-field)")
        if self.engine not in ENGINES:
            raise ConfigError(f"unknown engine {self.engine!r}; choose one of {', '.join(ENGINES)}")
        if self.address is not None and self.engine != "ray":
            raise ConfigError("--address names a Ray cluster: add --engine ray")

    @property
    def worker_threads(self) -> int:
        """The threads each worker or Ray task scans with: ``threads``, or by default 2 for
        one worker and 1 for more."""
        if self.threads is not None:
            return self.threads
        return 2 if self.workers == 1 else 1

    def to_json(self) -> dict[str, Any]:
        """The settings that decide the report's numbers, for ``run.json``."""
        out = asdict(self)
        # where and how fast shards are scanned changes no number: a scan may be resumed
        # with other workers or on another engine
        runtime = ("quiet", "resume", "workers", "threads", "batch_chars", "engine", "address")
        for key in ("index_dir", "bench_dir", *runtime):
            out.pop(key)
        out["text_fields"] = list(self.text_fields)
        out["fingerprint"] = index_fingerprint(self.norm, self.ngram)
        return out
