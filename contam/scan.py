"""The scan: benches -> indexes -> lookup; shards -> matches -> per-shard commits -> reports.

Each shard is scanned whole by one process and committed atomically under
``OUT/shards/<key>/``; the reports are rebuilt from the commits at the end. So ``--resume``
skips committed shards and re-scans only the ones a killed run had not finished, and nothing
is lost or counted twice.
"""

from __future__ import annotations

import json
import platform
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from contam._version import __version__
from contam.align import (
    C_B0,
    C_B1,
    C_DOC,
    C_EDITS,
    C_I0,
    C_I1,
    C_ITEM,
    C_LONGEST,
    C_MATCHED,
    H_KEY,
    H_KIND,
    KIND_GRAM,
    AlignParams,
)
from contam.atomic import atomic_file
from contam.benches import BenchSource, expand_names, resolve_bench
from contam.config import PRESET_NAMES, ScanConfig, index_fingerprint
from contam.errors import ReportError, ShardError, first_line
from contam.index import BenchIndex, ensure_index, load_index_folder
from contam.lookup import Lookup
from contam.match import Matcher
from contam.minhash import MinHashConfig
from contam.prefetch import in_background
from contam.report import (
    SHARD_MATCHES_SCHEMA,
    ShardCommit,
    benches_table,
    items_table,
    matches_table,
    merge_runs,
)
from contam.shards import ShardReader, corpus_files, file_size, ignored_note, largest_first
from contam.workers import Report, reuse_freed_buffers, run_forked


@dataclass(slots=True)
class ScanResult:
    """What `scan` returns: the report folder and the per-bench table it wrote."""

    out: Path
    benches: pa.Table
    run: dict[str, Any]


def resolve_benches(
    benches: Sequence[str | BenchSource],
    config: ScanConfig,
    bench_text_fields: tuple[str, ...] | None = None,
    bench_id_field: str | None = None,
    label_fields: tuple[str, ...] = (),
) -> list[BenchSource]:
    """``--bench`` values -> sources; custom benches read ``bench_*`` fields or the corpus ones."""
    names = [b for b in benches if isinstance(b, str)]
    expanded = expand_names(names)
    if expanded != names:  # "all": every registry bench, then the sources given
        benches = [*expanded, *[b for b in benches if isinstance(b, BenchSource)]]
    sources = [
        b
        if isinstance(b, BenchSource)
        else resolve_bench(
            b,
            config.bench_dir,
            id_field=bench_id_field or config.id_field,
            text_fields=bench_text_fields or config.text_fields,
            label_fields=label_fields,
        )
        for b in benches
    ]
    keys = [s.key for s in sources]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ReportError(f"bench {dupes[0]} given twice (two custom files with one stem?)")
    return sources


def load_indexes(
    sources: list[BenchSource],
    config: ScanConfig,
    rebuild: bool = False,
    log: Callable[[str], None] | None = None,
) -> list[BenchIndex]:
    """Build or reuse each bench's index under ``config.index_dir``."""
    indexes = []
    for source in sources:
        started = time.perf_counter()
        index = ensure_index(config.index_dir, source, config.norm, config.ngram, rebuild)
        if log is not None:
            took = time.perf_counter() - started
            log(
                f"index {source.key}: {index.manifest['items']:,} items, "
                f"{index.manifest['ngrams']:,} n-grams ({took:.1f}s)"
            )
        indexes.append(index)
    return indexes


def commit_name(path: Path) -> str:
    """A shard's commit name, ``<name>-<hash>``: readable, and unique per absolute path."""
    digest = xxhash.xxh64_hexdigest(str(path.resolve()).encode())[:12]
    return f"{path.name}-{digest}"


def commit_folder(out: Path, path: Path) -> Path:
    """Where a shard's commit goes: ``out/shards/<commit name>``."""
    return out / "shards" / commit_name(path)


def scan(
    paths: str | Sequence[str],
    benches: Sequence[str | BenchSource],
    out: str | Path,
    config: ScanConfig | None = None,
    index_folders: Sequence[Path] = (),
    progress: Callable[[int, int], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> ScanResult:
    """Scan corpus shards against benches and write the reports to ``out``.

    Args:
        paths: shard files, folders or glob patterns.
        benches: registry names (``mmlu``, ``mmlu:val``), custom bench files, or sources.
        out: the report folder (created; must be new unless ``config.resume``).
        config: settings; `ScanConfig` defaults when None.
        index_folders: prebuilt index folders to use as they are (checked against ``config``).
        progress: called with (raw bytes, documents) as shards are read.
        log: called with one-line status messages (from another thread while Ray starts).

    Example:
        >>> contam.scan("corpus/", benches=["mmlu", "gsm8k"], out="reports/run1")  # doctest: +SKIP
    """
    config = config or ScanConfig()
    if config.engine == "ray":
        from contam.ray_engine import import_ray

        import_ray()  # a missing extra fails before any index is built
    out = Path(out)
    shard_paths, others = corpus_files([paths] if isinstance(paths, str) else list(paths))
    if others and log is not None:
        log(ignored_note(others))
    sources = resolve_benches(benches, config)
    changed = _changed_since_commit(out, shard_paths)
    todo = [p for p in shard_paths if p in changed or not commit_folder(out, p).is_dir()]
    runtime: AbstractContextManager[None] = nullcontext()
    if config.engine == "ray" and todo:
        from contam.ray_engine import runtime as ray_runtime

        # the indexes load in the background while Ray starts (seconds) in this thread
        runtime = ray_runtime(config)
        loading = in_background(_load_matcher, sources, config, index_folders, log)
    else:
        loading = partial(_load_matcher, sources, config, index_folders, log)
    with runtime:
        indexes, matcher = loading()
        plan = _plan(config, indexes, shard_paths)
        _prepare_out(out, plan, config.resume)
        for path in changed:  # only now: a refused resume leaves the folder as it was
            shutil.rmtree(commit_folder(out, path))
        if log is not None and config.resume:
            done = len(shard_paths) - len(todo)
            again = f"; {len(changed)} changed since, scanned again" if changed else ""
            log(f"resume: {done} of {len(shard_paths)} shards already done{again}")
        started = time.perf_counter()
        _run_shards(todo, matcher, config, out, progress)
    return finish_reports(
        out, matcher.lookup, plan, shard_paths, config, time.perf_counter() - started
    )


def _changed_since_commit(out: Path, paths: list[Path]) -> set[Path]:
    """The shards whose commit in ``out`` names another file size than theirs now: a file
    replaced under the same name since it was scanned (a change that keeps the size is not
    seen; the report's sha256 of each shard tells)."""
    changed = set()
    for path in paths:
        info = commit_folder(out, path) / "shard.json"
        if info.is_file() and json.loads(info.read_text()).get("raw_bytes") != file_size(path):
            changed.add(path)
    return changed


def _load_matcher(
    sources: list[BenchSource],
    config: ScanConfig,
    index_folders: Sequence[Path],
    log: Callable[[str], None] | None,
) -> tuple[list[BenchIndex], Matcher]:
    """The benches' indexes (built if need be) and prebuilt ``index_folders``, and a
    `Matcher` over their merged lookup."""
    indexes = load_indexes(sources, config, log=log)
    indexes += [load_index_folder(Path(f), config.norm, config.ngram) for f in index_folders]
    if not indexes:
        raise ReportError("no bench to scan against (--bench)")
    lookup = Lookup.cached(indexes, config.index_dir)
    near = MinHashConfig() if config.max_gap > 0 else None
    return indexes, Matcher(lookup, config.norm, AlignParams(max_gap=config.max_gap), near)


def _plan(config: ScanConfig, indexes: list[BenchIndex], shards: list[Path]) -> dict[str, Any]:
    """What must not change between a killed scan and its ``--resume``."""
    return {
        "config": config.to_json(),
        "fingerprint": index_fingerprint(config.norm, config.ngram),
        "benches": [
            {
                "bench": ix.bench,
                "split": ix.manifest["split"],
                "items": ix.manifest["items"],
                "checksum": ix.manifest["source"]["checksum"],
            }
            for ix in indexes
        ],
        "shards": [str(p) for p in shards],
    }


def _changes(was: Any, plan: dict[str, Any]) -> list[str]:
    """What differs between a scan's plan and the one it was begun with: the settings by
    name, then the index settings, benches and shards."""
    was = was if isinstance(was, dict) else {}
    old, new = was.get("config") or {}, plan["config"]
    names = sorted(k for k in {*old, *new} if old.get(k) != new.get(k))
    parts = {"fingerprint": "index settings", "benches": "benches", "shards": "shards"}
    names += [name for key, name in parts.items() if was.get(key) != plan[key]]
    return names or ["settings"]


def _write_run(path: Path, run: dict[str, Any]) -> None:
    """Write ``run.json`` whole or not at all: a scan killed meanwhile can still resume."""
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(run, indent=2) + "\n")


def _prepare_out(out: Path, plan: dict[str, Any], resume: bool) -> None:
    run_json = out / "run.json"
    if run_json.is_file():
        if not resume:
            raise ReportError(
                f"{out} already holds a scan; pass --resume to continue it, or choose another --out"
            )
        try:
            previous = json.loads(run_json.read_text())
        except ValueError as e:
            raise ReportError(f"{run_json}: not a scan's run.json ({first_line(e)})") from None
        if previous.get("plan") != plan:
            raise ReportError(
                f"{out} holds a scan with other {', '.join(_changes(previous.get('plan'), plan))}; "
                "it cannot be resumed with these (choose another --out)"
            )
        for tmp in (out / "shards").glob("*.tmp"):
            shutil.rmtree(tmp)
        return
    if out.exists() and any(out.iterdir()):
        raise ReportError(f"{out} exists and is not empty; choose another --out")
    (out / "shards").mkdir(parents=True, exist_ok=True)
    _write_run(run_json, {"status": "running", "plan": plan})


def _run_shards(
    todo: list[Path],
    matcher: Matcher,
    config: ScanConfig,
    out: Path,
    progress: Callable[[int, int], None] | None,
) -> None:
    todo = largest_first(todo)
    if config.engine == "ray":
        from contam.ray_engine import run_shards_ray

        run_shards_ray(todo, matcher, config, out, progress)
        return

    at_once, threads = shard_threads(config, len(todo))

    def scan_and_commit(path: Path, report: Report) -> None:
        scan_shard(path, matcher, config, report, threads).write(commit_folder(out, path))

    reuse_freed_buffers()  # the forked workers inherit it
    run_forked(scan_and_commit, todo, config.workers, progress, at_once)


def shard_threads(config: ScanConfig, shards: int) -> tuple[int, int]:
    """How each worker spends its `worker_threads` on ``shards`` shards: (shards it scans at
    once, threads per shard). A thread per shard while there are enough shards, as threads
    that share nothing but the index never wait for each other; with fewer shards than
    threads, each shard's batches are split over the threads left (`Matcher.matches`)."""
    per_worker = -(-shards // config.workers)
    at_once = max(1, min(config.worker_threads, per_worker))
    return at_once, config.worker_threads // at_once


def scan_shard(
    path: Path,
    matcher: Matcher,
    config: ScanConfig,
    report: Callable[[int, int], None],
    threads: int = 1,
) -> ShardCommit:
    """Scan one shard on ``threads`` threads into what its commit holds (`ShardCommit.write`
    puts it in place).

    With ``skip_bad`` a broken shard yields a commit marked skipped (so a resume does not
    retry it) instead of stopping the scan. ``report`` gets (raw bytes, documents) after each
    batch, from the calling thread.
    """
    lookup = matcher.lookup
    reader = ShardReader(
        path,
        config.text_fields,
        config.id_field,
        config.batch_chars,
        config.skip_bad,
    )
    seen_gram: list[np.ndarray] = []
    runs: list[np.ndarray] = []
    skips: list[np.ndarray] = []
    gpt4: list[np.ndarray] = []
    near: list[np.ndarray] = []
    docs_full = np.zeros(lookup.items, dtype=np.int64)
    docs_input = np.zeros(lookup.items, dtype=np.int64)
    match_parts: list[pa.Table] = []
    totals = {"docs": 0, "tokens": 0, "text_chars": 0}
    status, reason = "done", None
    sent = 0  # raw bytes reported
    try:
        for found in matcher.matches(reader.batches(), threads):
            # progress from this thread only (the reader may run in its own, a batch ahead)
            sent += _report_read(reader, sent, found.docs, report)
            totals["docs"] += found.docs
            totals["tokens"] += found.tokens
            totals["text_chars"] += found.text_chars
            hits = found.hits
            seen_gram.append(np.unique(hits[hits[:, H_KIND] == KIND_GRAM, H_KEY]))
            aligned = found.aligned
            # a run is a place in a doc: distinct places with their counts, as `merge_runs` sums
            places, counts = np.unique(aligned.runs, axis=0, return_counts=True)
            runs.append(np.column_stack([places, counts]))
            skips.append(np.unique(aligned.skips, axis=0))
            gpt4.append(found.gpt4)
            near.append(found.near)
            chains = aligned.chains
            if len(chains) == 0:
                continue
            is_input = chains[:, C_I0] < lookup.input_len[chains[:, C_ITEM]]
            docs_full += _docs_per_item(chains, lookup.items)
            docs_input += _docs_per_item(chains[is_input], lookup.items)
            rows = chains[:, C_DOC].tolist()  # only these documents' ids become Arrow
            match_parts.append(
                pa.table(
                    [
                        chains[:, C_ITEM].astype(np.int32),
                        pa.array([found.doc_ids[d] for d in rows], pa.string()),
                        pa.array([found.lines[d] for d in rows], pa.int64()),
                        chains[:, C_B0],
                        chains[:, C_B1],
                        chains[:, C_I0].astype(np.int32),
                        chains[:, C_I1].astype(np.int32),
                        chains[:, C_MATCHED].astype(np.int32),
                        chains[:, C_LONGEST].astype(np.int32),
                        chains[:, C_EDITS].astype(np.int32),
                        is_input,
                    ],
                    schema=SHARD_MATCHES_SCHEMA,
                )
            )
    except ShardError as e:
        if not config.skip_bad:
            raise
        status, reason = "skipped", str(e)
        seen_gram, runs, skips, gpt4, near, match_parts = [], [], [], [], [], []
        docs_full[:] = 0
        docs_input[:] = 0
        totals = dict.fromkeys(totals, 0)
    _report_read(reader, sent, 0, report)
    matched_items = np.flatnonzero(docs_full)
    info = {
        "shard": str(path),
        "status": status,
        "reason": reason,
        **totals,
        "raw_bytes": file_size(path),
        "sha256": reader.stats.sha256 if status == "done" else None,
        "records": reader.stats.records,
        "skipped_records": reader.stats.skipped,
        "bad": reader.stats.bad,
    }
    return ShardCommit(
        info,
        np.unique(np.concatenate(seen_gram)) if seen_gram else np.zeros(0, np.int64),
        merge_runs(runs),
        np.unique(np.concatenate(skips), axis=0) if skips else np.zeros((0, 3), np.int64),
        np.unique(np.concatenate(gpt4), axis=0) if gpt4 else np.zeros((0, 2), np.int64),
        np.concatenate(near) if near else np.zeros((0, 3)),
        matched_items,
        docs_full[matched_items],
        docs_input[matched_items],
        pa.concat_tables(match_parts) if match_parts else SHARD_MATCHES_SCHEMA.empty_table(),
    )


def _report_read(
    reader: ShardReader, sent: int, docs: int, report: Callable[[int, int], None]
) -> int:
    """Report the raw bytes ``reader`` has read beyond ``sent``, and ``docs``; return the
    bytes reported."""
    raw = reader.stats.raw_bytes - sent
    if raw or docs:
        report(raw, docs)
    return raw


def _docs_per_item(chains: np.ndarray, items: int) -> np.ndarray:
    """How many distinct documents of a batch hold chains of each item."""
    pairs = np.unique(chains[:, C_DOC] * items + chains[:, C_ITEM])
    return np.bincount(pairs % items, minlength=items)


def finish_reports(
    out: Path,
    lookup: Lookup,
    plan: dict[str, Any],
    shard_paths: list[Path],
    config: ScanConfig,
    seconds: float,
) -> ScanResult:
    """Roll every committed shard up into the report files and ``run.json``."""
    commits = [ShardCommit.read(commit_folder(out, p)) for p in shard_paths]
    items = items_table(lookup, commits, config.threshold, config.preset)
    totals = {k: sum(int(c.info[k]) for c in commits) for k in ("docs", "tokens", "text_chars")}
    order = [(ix.bench, str(ix.manifest["split"])) for ix in lookup.benches]
    benches = benches_table(items, order, totals, config.preset)
    pq.write_table(items, out / "items.parquet")
    flagged = np.zeros(lookup.items, dtype=np.bool_)
    for name in PRESET_NAMES:
        flagged |= (
            items.column(f"{name}_input").to_numpy() | items.column(f"{name}_full").to_numpy()
        )
    pq.write_table(matches_table(lookup, commits, flagged), out / "matches.parquet")
    pq.write_table(benches, out / "benches.parquet")
    run = {
        "status": "complete",
        "contam_version": __version__,
        "plan": plan,
        "indexes": [ix.manifest for ix in lookup.benches],
        "versions": _versions(),
        "shards": [c.info for c in commits],
        "totals": totals,
        "skipped_records": sum(int(c.info["skipped_records"]) for c in commits),
        "skipped_shards": [c.info["shard"] for c in commits if c.info["status"] == "skipped"],
        "last_session_seconds": round(seconds, 3),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    _write_run(out / "run.json", run)
    return ScanResult(out, benches, run)


def _versions() -> dict[str, str]:
    import duckdb
    import numba

    return {
        "contam": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "pyarrow": pa.__version__,
        "duckdb": duckdb.__version__,
        "platform": sys.platform,
    }
