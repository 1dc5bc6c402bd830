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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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
from contam.config import ScanConfig
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


class _Meter:
    """tqdm bars on stderr over texts scored, one per `stage` (none with ``quiet``); counts
    the tokens the model read over all stages (for the summary's rate)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tokens = 0
        self.bar: Any = None

    @contextmanager
    def stage(self, total: int, desc: str) -> Iterator[_Meter]:
        if not self.quiet:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="text", desc=desc, file=sys.stderr,
                            dynamic_ncols=True)  # fmt: skip
        try:
            yield self
        finally:
            if self.bar is not None:
                self.bar.close()
            self.bar = None

    def update(self, texts: int, tokens: int = 0) -> None:
        self.tokens += tokens
        if self.bar is not None:
            self.bar.update(texts)


def _score_all(backend: Backend, texts: list[str], meter: _Meter) -> list[TokenScores]:
    out: list[TokenScores] = []
    for a in range(0, len(texts), CHUNK):
        scored = backend.score(texts[a : a + CHUNK])
        meter.update(len(scored), sum(s.tokens for s in scored))
        out += scored
    return out


def _lowered(
    backend: Backend, texts: list[str], same: list[TokenScores], meter: _Meter
) -> list[TokenScores]:
    """Scores of the lower-cased texts; a text already in lower case reuses its own."""
    lowered = [t.lower() for t in texts]
    todo = [i for i, (t, low) in enumerate(zip(texts, lowered, strict=True)) if low != t]
    scored = _score_all(backend, [lowered[i] for i in todo], meter)
    out = list(same)
    for i, s in zip(todo, scored, strict=True):
        out[i] = s
    meter.update(len(texts) - len(todo))
    return out


def _score_items(
    texts: list[str],
    model: ModelConfig,
    config: ProbeConfig,
    meter: _Meter,
    with_backend: Callable[[Backend], None] | None = None,
) -> tuple[list[ItemScores], dict[str, Any]]:
    """Every text's `ItemScores`, and the models' descriptions; ``with_backend`` runs on the
    target model before it is closed (the sharded test)."""
    models: dict[str, Any] = {}
    lower = ref = None
    with open_backend(model) as backend:
        models["model"] = backend.describe()
        with meter.stage(len(texts) * (1 + int(config.lowercase)), "probe"):
            main = _score_all(backend, texts, meter)
            if config.lowercase:
                lower = _lowered(backend, texts, main, meter)
        if with_backend is not None:
            with_backend(backend)
    if config.ref_model is not None:
        with open_backend(config.ref_model) as ref_backend:
            models["ref_model"] = ref_backend.describe()
            with meter.stage(len(texts), "reference model"):
                ref = _score_all(ref_backend, texts, meter)
    scores = [
        score_item(t, main[i], config.k, None if lower is None else lower[i],
                   None if ref is None else ref[i])
        for i, t in enumerate(texts)
    ]  # fmt: skip
    return scores, models


def check_models(model: ModelConfig, config: ProbeConfig) -> None:
    """Fail, before any bench is read, if the target or reference model or its backend's
    extra is missing (`contam.probe.backends.preflight`)."""
    preflight(model)
    if config.ref_model is not None:
        preflight(config.ref_model)


def _fresh_out(out: Path) -> None:
    if out.exists():
        if not out.is_dir() or any(out.iterdir()):
            raise ReportError(f"{out} exists and is not empty; choose a new --out")
        out.rmdir()
    out.parent.mkdir(parents=True, exist_ok=True)


def _run_record(
    model: ModelConfig,
    config: ProbeConfig,
    models: dict[str, Any],
    scores: Sequence[ItemScores],
    meter: _Meter,
    seconds: float,
    **fields: Any,
) -> dict[str, Any]:
    """``run.json`` of a probe or a probe-eval: settings, models, ``fields``, the work done."""
    return {
        "status": "complete",
        "contam_version": __version__,
        "config": config.to_json(),
        "model_config": str(model),
        **models,
        **fields,
        "tokens": int(sum(s.tokens for s in scores)),
        "tokens_read": meter.tokens,
        "seconds": round(seconds, 3),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


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
        benches: registry names (``gsm8k``, ``mmlu:val``, ``all``), custom bench files, or
            resolved sources, all resolved as a scan resolves them
            (`contam.scan.resolve_benches`, which also makes sources with custom fields).
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
    check_models(model, config)
    if scan is not None:
        scan_items_path(Path(scan))
    _fresh_out(out)
    from contam.scan import resolve_benches

    where = None if bench_dir is None else Path(bench_dir)
    sources = resolve_benches(benches, ScanConfig(bench_dir=where))
    per_bench = [list(iter_items(source)) for source in sources]
    if config.sharded:
        for source, group in zip(sources, per_bench, strict=True):
            check_shards(len(group), config.shards, source.key)
    items = [it for group in per_bench for it in group]
    texts = [item_text(it, config.part) for it in items]
    sharded_rows: list[pa.Table] = []
    shard_rows: list[pa.Table] = []
    started = time.perf_counter()
    meter = _Meter(config.quiet)

    def logprob(joined: list[str], backend: Backend) -> list[float]:
        scored = backend.score(joined)
        meter.update(0, sum(s.tokens for s in scored))
        return [float(s.logprobs.sum()) for s in scored]

    def run_sharded(backend: Backend) -> None:
        first = 0
        for source, group in zip(sources, per_bench, strict=True):
            bench_texts, first = texts[first : first + len(group)], first + len(group)
            total = config.shards * (1 + config.permutations)
            with meter.stage(total, f"sharded {source.key}"):
                result = sharded_test(bench_texts, lambda ts: logprob(ts, backend),
                                      config.shards, config.permutations, config.seed,
                                      meter.update)  # fmt: skip
            head, rows = sharded_tables(source.name, source.split, group, result, config.seed)
            sharded_rows.append(head)
            shard_rows.append(rows)

    scores, models = _score_items(texts, model, config, meter,
                                  run_sharded if config.sharded else None)  # fmt: skip
    seconds = time.perf_counter() - started
    table = scores_table(items, scores, config.part)
    sharded = pa.concat_tables(sharded_rows) if sharded_rows else SHARDED_SCHEMA.empty_table()
    joined = join_scan(table, Path(scan)) if scan is not None else None
    run = _run_record(
        model, config, models, scores, meter, seconds,
        benches=[s.describe() | {"items": len(g)} for s, g in zip(sources, per_bench, strict=True)],
        scan=None if scan is None else str(Path(scan).resolve()),
        scan_unmatched_items=None if joined is None else joined[1],
    )  # fmt: skip
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
    check_models(model, config)
    _fresh_out(out)
    sets = [
        list(iter_items(resolve_bench(str(path), None, id_field, text_fields, label_fields)))
        for path in (members, nonmembers)
    ]
    items = [*sets[0], *sets[1]]
    labels = np.array([True] * len(sets[0]) + [False] * len(sets[1]))
    texts = [item_text(it, config.part) for it in items]
    started = time.perf_counter()
    meter = _Meter(config.quiet)
    scores, models = _score_items(texts, model, config, meter)
    table = scores_table(items, scores, config.part)
    table = table.append_column(EVAL_SCORES_SCHEMA.field("member"), pa.array(labels))
    # None (no value) becomes NaN in a float array
    values = {m: np.array([getattr(s, m) for s in scores], dtype=np.float64) for m in METRICS}
    metrics = evaluate(values, labels)
    result = eval_table(metrics)
    run = _run_record(
        model, config, models, scores, meter, time.perf_counter() - started,
        members=str(Path(members).resolve()), nonmembers=str(Path(nonmembers).resolve()),
        counts={"members": len(sets[0]), "nonmembers": len(sets[1])},
    )  # fmt: skip
    with atomic_folder(out) as staging:
        pq.write_table(result, staging / "eval.parquet")
        pq.write_table(table, staging / "scores.parquet")
        _write_run(staging, run)
    return EvalResult(out, result, metrics, run)
