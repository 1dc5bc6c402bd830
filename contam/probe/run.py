"""The probe: benches -> item texts -> model scores -> Parquet reports and ``run.json``.

`probe` scores every item of some benches (and, with ``config.sharded``, tests each bench's
order); `probe_eval` scores a labelled member / non-member set and says how well each metric
separates them. Both load one model at a time: the target model for the item scores, the
lower-cased texts and the sharded test, then the reference model, if any.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from contam._version import __version__
from contam.atomic import atomic_folder
from contam.benches import BenchSource, iter_items, resolve_bench
from contam.errors import ConfigError, ReportError
from contam.probe.backends import Backend, TokenScores, open_backend, preflight
from contam.probe.calibrate import MetricEval, evaluate
from contam.probe.config import ModelConfig, ProbeConfig
from contam.probe.scores import METRICS, ItemScores, score_item
from contam.probe.sharded import check_shards, sharded_test
from contam.probe.tables import (
    EVAL_SCORES_SCHEMA,
    SHARDED_SCHEMA,
    SHARDS_SCHEMA,
    eval_table,
    join_scan,
    scan_items_path,
    scores_table,
    sharded_tables,
)
from contam.records import BenchItem

#: Texts handed to a backend at once (the progress bar moves per chunk).
CHUNK = 32


@dataclass(slots=True)
class ProbeResult:
    """What `probe` returns: the report folder, the item scores, the per-bench tests."""

    out: Path
    scores: pa.Table
    sharded: pa.Table
    run: dict[str, Any]


@dataclass(slots=True)
class EvalResult:
    """What `probe_eval` returns: the report folder, the per-metric table and rows."""

    out: Path
    table: pa.Table
    metrics: list[MetricEval]
    run: dict[str, Any]


def item_text(item: BenchItem, part: str) -> str:
    """The text of ``item`` that is scored: input and label (``full``), or the input alone;
    an item without a label is its input either way.

    Example:
        >>> item_text(BenchItem("b", "custom", "1", "2+2?", "4"), "full")
        '2+2?\\n4'
    """
    return item.full_text if part == "full" and item.label_text else item.input_text


class _Progress:
    """A tqdm bar on stderr over texts scored (none with ``quiet``), adding the tokens the
    model read to a shared tally (for the summary's rate)."""

    def __init__(self, total: int, quiet: bool, desc: str, tally: list[int]) -> None:
        self.bar: Any = None
        self.tally = tally
        if not quiet:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="text", desc=desc, file=sys.stderr,
                            dynamic_ncols=True)  # fmt: skip

    def update(self, texts: int, tokens: int = 0) -> None:
        self.tally[0] += tokens
        if self.bar is not None:
            self.bar.update(texts)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _score_all(backend: Backend, texts: list[str], progress: _Progress) -> list[TokenScores]:
    out: list[TokenScores] = []
    for a in range(0, len(texts), CHUNK):
        scored = backend.score(texts[a : a + CHUNK])
        progress.update(len(scored), sum(s.tokens for s in scored))
        out += scored
    return out


def _lowered(
    backend: Backend, texts: list[str], same: list[TokenScores], progress: _Progress
) -> list[TokenScores]:
    """Scores of the lower-cased texts; a text already in lower case reuses its own."""
    todo = [i for i, t in enumerate(texts) if t.lower() != t]
    scored = _score_all(backend, [texts[i].lower() for i in todo], progress)
    out = list(same)
    for i, s in zip(todo, scored, strict=True):
        out[i] = s
    progress.update(len(texts) - len(todo))
    return out


def _score_items(
    texts: list[str],
    model: ModelConfig,
    config: ProbeConfig,
    tally: list[int],
    with_backend: Callable[[Backend], None] | None = None,
) -> tuple[list[ItemScores], dict[str, Any]]:
    """Every text's `ItemScores`, and the models' descriptions; ``with_backend`` runs on the
    target model before it is closed (the sharded test). Tokens read are added to
    ``tally[0]``."""
    models: dict[str, Any] = {}
    with open_backend(model) as backend:
        models["model"] = backend.describe()
        passes = 1 + int(config.lowercase)
        progress = _Progress(len(texts) * passes, config.quiet, "probe", tally)
        try:
            main = _score_all(backend, texts, progress)
            lower = _lowered(backend, texts, main, progress) if config.lowercase else None
        finally:
            progress.close()
        if with_backend is not None:
            with_backend(backend)
    ref = None
    if config.ref_model is not None:
        with open_backend(config.ref_model) as ref_backend:
            models["ref_model"] = ref_backend.describe()
            progress = _Progress(len(texts), config.quiet, "reference model", tally)
            try:
                ref = _score_all(ref_backend, texts, progress)
            finally:
                progress.close()
    scores = [
        score_item(t, main[i], config.k, None if lower is None else lower[i],
                   None if ref is None else ref[i])
        for i, t in enumerate(texts)
    ]  # fmt: skip
    return scores, models


def _preflight(model: ModelConfig, config: ProbeConfig) -> None:
    """A missing model or extra fails before any bench is read."""
    preflight(model)
    if config.ref_model is not None:
        preflight(config.ref_model)


def _fresh_out(out: Path) -> None:
    if out.exists():
        if not out.is_dir() or any(out.iterdir()):
            raise ReportError(f"{out} exists and is not empty; choose a new --out")
        out.rmdir()
    out.parent.mkdir(parents=True, exist_ok=True)


def _write_run(folder: Path, run: dict[str, Any]) -> None:
    (folder / "run.json").write_text(json.dumps(run, indent=2, default=str) + "\n")


def probe(
    benches: Sequence[str | BenchSource],
    out: str | Path,
    model: ModelConfig,
    config: ProbeConfig | None = None,
    scan: str | Path | None = None,
    bench_dir: str | Path | None = None,
) -> ProbeResult:
    """Score every item of ``benches`` with ``model``; write the reports to ``out``.

    Args:
        benches: registry names (``gsm8k``, ``mmlu:val``), custom bench files, or resolved
            sources (`contam.scan.resolve_benches` makes them with custom fields).
        out: a new report folder (written whole or not at all).
        model: the target model.
        config: what to score; `ProbeConfig` defaults when None.
        scan: a scan's report folder (or its items.parquet) to join the scores with.
        bench_dir: where registry benches' files are (as ``--bench-dir``).

    Example:
        >>> probe(["gsm8k"], "reports/probe1", ModelConfig("smollm2.gguf"),
        ...       bench_dir="../shared/data/benchmarks")  # doctest: +SKIP
    """
    config = config or ProbeConfig()
    out = Path(out)
    if not benches:
        raise ConfigError("no bench to probe (--bench)")
    _preflight(model, config)
    if scan is not None:
        scan_items_path(Path(scan))
    _fresh_out(out)
    where = None if bench_dir is None else Path(bench_dir)
    sources = [b if isinstance(b, BenchSource) else resolve_bench(b, where) for b in benches]
    per_bench = [list(iter_items(source)) for source in sources]
    if config.sharded:
        for source, group in zip(sources, per_bench, strict=True):
            check_shards(len(group), config.shards, source.key)
    items = [it for group in per_bench for it in group]
    texts = [item_text(it, config.part) for it in items]
    sharded_rows: list[pa.Table] = []
    shard_rows: list[pa.Table] = []
    started = time.perf_counter()
    tally = [0]

    def run_sharded(backend: Backend) -> None:
        for source, group in zip(sources, per_bench, strict=True):
            bar = _Progress(config.shards * (1 + config.permutations), config.quiet,
                            f"sharded {source.key}", tally)  # fmt: skip

            def logprob(joined: list[str], bar: _Progress = bar) -> list[float]:
                scored = backend.score(joined)
                bar.update(0, sum(s.tokens for s in scored))
                return [float(s.logprobs.sum()) for s in scored]

            try:
                result = sharded_test([item_text(it, config.part) for it in group], logprob,
                                      config.shards, config.permutations, config.seed,
                                      bar.update)  # fmt: skip
            finally:
                bar.close()
            head, rows = sharded_tables(source.name, source.split, group, result, config.seed)
            sharded_rows.append(head)
            shard_rows.append(rows)

    scores, models = _score_items(texts, model, config, tally,
                                  run_sharded if config.sharded else None)  # fmt: skip
    seconds = time.perf_counter() - started
    table = scores_table(items, scores, config.part)
    sharded = pa.concat_tables(sharded_rows) if sharded_rows else SHARDED_SCHEMA.empty_table()
    joined = join_scan(table, Path(scan)) if scan is not None else None
    run = {
        "status": "complete",
        "contam_version": __version__,
        "config": config.to_json(),
        "model_config": str(model),
        **models,
        "benches": [
            s.describe() | {"items": len(g)} for s, g in zip(sources, per_bench, strict=True)
        ],
        "scan": None if scan is None else str(Path(scan).resolve()),
        "scan_unmatched_items": None if joined is None else joined[1],
        "tokens": int(sum(s.tokens for s in scores)),
        "tokens_read": tally[0],
        "seconds": round(seconds, 3),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    with atomic_folder(out) as staging:
        pq.write_table(table, staging / "scores.parquet")
        if config.sharded:
            pq.write_table(sharded, staging / "sharded.parquet")
            shards = pa.concat_tables(shard_rows) if shard_rows else SHARDS_SCHEMA.empty_table()
            pq.write_table(shards, staging / "sharded_shards.parquet")
        if joined is not None:
            pq.write_table(joined[0], staging / "joined.parquet")
        _write_run(staging, run)
    return ProbeResult(out, table, sharded, run)


def probe_eval(
    members: str | Path,
    nonmembers: str | Path,
    out: str | Path,
    model: ModelConfig,
    config: ProbeConfig | None = None,
    id_field: str = "id",
    text_fields: tuple[str, ...] = ("text",),
    label_fields: tuple[str, ...] = (),
) -> EvalResult:
    """Score a labelled member / non-member set; AUROC and TPR at 5% FPR of every metric.

    Args:
        members: a .jsonl/.csv/.parquet file of texts the model was trained on.
        nonmembers: a file of texts it was not trained on.
        out: a new report folder.
        model: the target model.
        config: what to score (``sharded`` is ignored).
        id_field, text_fields, label_fields: the files' fields, as for a custom bench.

    Example:
        >>> probe_eval("seen.jsonl", "fresh.jsonl", "reports/eval1",
        ...            ModelConfig("SmolLM2-135M-Instruct.Q4_1.gguf"))  # doctest: +SKIP
    """
    config = config or ProbeConfig()
    out = Path(out)
    _preflight(model, config)
    _fresh_out(out)
    sets = [
        list(iter_items(resolve_bench(str(path), None, id_field, text_fields, label_fields)))
        for path in (members, nonmembers)
    ]
    items = [*sets[0], *sets[1]]
    labels = np.array([True] * len(sets[0]) + [False] * len(sets[1]))
    texts = [item_text(it, config.part) for it in items]
    started = time.perf_counter()
    tally = [0]
    scores, models = _score_items(texts, model, config, tally)
    table = scores_table(items, scores, config.part)
    table = table.append_column(EVAL_SCORES_SCHEMA.field("member"), pa.array(labels))
    values = {
        m: np.array([np.nan if v is None else v for v in table.column(m).to_pylist()], float)
        for m in METRICS
    }
    metrics = evaluate(values, labels)
    result = eval_table(metrics)
    run = {
        "status": "complete",
        "contam_version": __version__,
        "config": config.to_json(),
        "model_config": str(model),
        **models,
        "members": str(Path(members).resolve()),
        "nonmembers": str(Path(nonmembers).resolve()),
        "counts": {"members": len(sets[0]), "nonmembers": len(sets[1])},
        "tokens": int(sum(s.tokens for s in scores)),
        "tokens_read": tally[0],
        "seconds": round(time.perf_counter() - started, 3),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    with atomic_folder(out) as staging:
        pq.write_table(result, staging / "eval.parquet")
        pq.write_table(table, staging / "scores.parquet")
        _write_run(staging, run)
    return EvalResult(out, result, metrics, run)
