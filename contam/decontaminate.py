"""Decontaminate a corpus: scan it, then write it again without the text of the leaked items.

    corpus shards --scan--> DIR/_contam/scan/ --spans of the items the preset calls
    contaminated--> every shard written again under DIR, in its own format (`rewrite`)

``DIR`` mirrors the shards' paths below their common folder. ``DIR/_contam/`` holds the scan,
one commit per finished shard (``done/<name>-<hash>/``: its rows of ``removed.parquet`` and its
counts), and at the end ``removed.parquet`` (`REMOVED_SCHEMA`) and ``decontaminate.json``.
A shard is written under a temporary name starting with ``.``, renamed into place, then
committed, so ``resume`` redoes only the shards a killed run had not committed, and no
half-written shard ever has its final name. ``contam scan DIR`` skips ``_contam/``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from contam._version import __version__
from contam.atomic import atomic_file, atomic_folder
from contam.benches import BenchSource
from contam.config import ScanConfig
from contam.cuts import CutPolicy, Editor, Span
from contam.errors import ConfigError, ReportError
from contam.fields import single_top_field
from contam.rewrite import rewrite_shard
from contam.scan import ScanResult, commit_name, resolve_benches
from contam.scan import scan as scan_corpus
from contam.shards import corpus_files, ignored_note, largest_first
from contam.workers import Report, run_forked

MODES = ("drop-doc", "cut-span")
META = "_contam"

#: ``DIR/_contam/removed.parquet``: one row per removed region of a document.
REMOVED_SCHEMA = pa.schema(
    [
        ("shard", pa.string()),  # the input shard, as given
        ("out_shard", pa.string()),  # its copy under DIR; null when nothing was left to write
        ("doc_id", pa.string()),
        ("doc_line", pa.int64()),  # record number in the input shard
        # drop-doc, cut-span, drop-doc-too-many-pieces, drop-doc-all-cut
        ("action", pa.string()),
        ("char_start", pa.int64()),  # the region in the input document's text
        ("char_end", pa.int64()),
        ("chars_removed", pa.int64()),
        ("items", pa.list_(pa.string())),  # "bench:item_id" of the spans that caused it
    ]
)


@dataclass(slots=True)
class DecontaminateResult:
    """What `decontaminate` returns: the scan it ran and the counts of what it removed."""

    out: Path
    scan: ScanResult = field(repr=False)
    items: int  # items the preset calls contaminated
    items_without_spans: list[str]  # of those, the ones with no span to remove
    shards: int
    shards_written: int
    docs_in: int
    docs_out: int
    docs_dropped: int
    docs_cut: int
    chars_in: int
    chars_removed: int


@dataclass(frozen=True, slots=True)
class _Policy:
    """What every shard's rewrite needs: how to cut, and where a record keeps its text and id."""

    cut: CutPolicy
    text_fields: tuple[str, ...]
    id_field: str


@dataclass(slots=True)
class _Task:
    shard: Path
    out_shard: Path
    done: Path
    records: int
    text_chars: int
    skipped: bool
    spans: dict[int, list[Span]]  # by record number


def decontaminate(
    paths: str | Sequence[str],
    benches: Sequence[str | BenchSource],
    out: str | Path,
    config: ScanConfig | None = None,
    mode: str = "drop-doc",
    margin: int = 100,
    max_pieces: int = 4,
    progress: Callable[[str, int, int], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> DecontaminateResult:
    """Scan a corpus and write it to ``out`` without the spans of its contaminated items.

    Args:
        paths: shard files, folders or glob patterns (never written).
        benches: registry names, custom bench files, or sources, as for `contam.scan`.
        out: the new corpus folder (new or empty; or the one to resume with ``config.resume``).
        config: the scan's settings; ``config.preset`` says which items are contaminated.
        mode: ``drop-doc`` leaves out every document holding a span; ``cut-span`` cuts the
            spans out, each widened by ``margin`` characters and snapped outward to whitespace.
        margin: characters added to each side of a span before it is cut.
        max_pieces: a document that cuts would leave in more pieces is dropped instead.
        progress: called with (stage, raw bytes, documents); stage ``scan``, then ``rewrite``.
        log: called with one-line status messages.

    Example:
        >>> decontaminate("corpus/", ["cmmlu"], "clean/", mode="cut-span")  # doctest: +SKIP
    """
    started = time.perf_counter()
    config = config or ScanConfig()
    policy = _policy(config, mode, margin, max_pieces)
    out = Path(out)
    path_list = [paths] if isinstance(paths, str) else list(paths)
    shards, others = corpus_files(path_list)
    if others and log is not None:
        log(ignored_note(others))  # nor written to ``out``
    outputs = output_paths(shards, out)
    _check_out(out, path_list, shards, outputs)
    sources = resolve_benches(benches, config)
    meta = out / META
    plan = {
        "mode": mode,
        "margin": margin,
        "max_pieces": max_pieces,
        "scan": config.to_json(),
        "benches": [s.key for s in sources],
        "shards": [str(p) for p in shards],
    }
    _prepare(out, json.loads(json.dumps(plan)), config.resume)

    def scan_progress(raw: int, docs: int) -> None:
        if progress is not None:
            progress("scan", raw, docs)

    scanned = scan_corpus(
        path_list, sources, meta / "scan", config, progress=scan_progress, log=log
    )
    spans, dirty, without = contaminated_spans(meta / "scan")
    if log is not None:
        docs = sum(len(s) for s in spans.values())
        log(f"{len(dirty):,} items {config.preset} calls contaminated: {docs:,} documents to clean")
        if without:
            log(
                f"{len(without):,} of them have no aligned span, so nothing of them can be "
                f"removed: {', '.join(without[:5])}{' ...' if len(without) > 5 else ''}"
            )
    info = {i["shard"]: i for i in scanned.run["shards"]}
    tasks = []
    target_of = dict(zip(shards, outputs, strict=True))
    for shard in largest_first(shards):
        target = target_of[shard]
        i = info[str(shard)]
        done = _done_folder(meta, shard)
        if not done.is_dir():
            skipped = i["status"] == "skipped"
            task = _Task(shard, target, done, i["records"], i["text_chars"], skipped,
                         spans.get(str(shard), {}))  # fmt: skip
            tasks.append(task)
    _run(tasks, policy, config.workers, progress)
    return _finish(out, plan, scanned, shards, dirty, without, time.perf_counter() - started)


def _policy(config: ScanConfig, mode: str, margin: int, max_pieces: int) -> _Policy:
    if mode not in MODES:
        raise ConfigError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    if margin < 0:
        raise ConfigError(f"margin must be >= 0 characters, got {margin}")
    if max_pieces < 1:
        raise ConfigError(f"max_pieces must be >= 1, got {max_pieces}")
    fields = config.text_fields
    if mode == "cut-span" and single_top_field(fields) is None:
        raise ConfigError(
            f"--mode cut-span rewrites one top-level text field, not {', '.join(fields)}: "
            "name one --text-field, or use --mode drop-doc"
        )
    return _Policy(CutPolicy(mode, margin, max_pieces), fields, config.id_field)


def output_paths(shards: list[Path], out: Path) -> list[Path]:
    """Where each shard is written: its path below the shards' common folder, under ``out``.

    Example:
        >>> output_paths([Path("c/a.jsonl"), Path("c/x/b.txt")], Path("clean"))
        [PosixPath('clean/a.jsonl'), PosixPath('clean/x/b.txt')]
    """
    base = os.path.commonpath([os.path.abspath(p.parent) for p in shards])
    return [out / os.path.relpath(os.path.abspath(p), base) for p in shards]


def _done_folder(meta: Path, shard: Path) -> Path:
    """Where a shard's rewrite is committed: ``done/`` named as the scan names its commit."""
    return meta / "done" / commit_name(shard)


def _check_out(out: Path, paths: list[str], shards: list[Path], outputs: list[Path]) -> None:
    """Refuse an ``out`` that could overwrite an input or be read back as one."""
    resolved = out.resolve()
    for spec in paths:
        folder = Path(spec)
        if folder.is_dir() and (
            resolved == folder.resolve() or folder.resolve() in resolved.parents
        ):
            raise ReportError(
                f"--out {out} is the input folder {spec} or inside it; choose a folder outside "
                "the corpus (the input files are never modified)"
            )
    inputs = {p.resolve(): p for p in shards}
    for target in outputs:
        if target.resolve() in inputs:
            raise ReportError(
                f"--out {out} would overwrite the input shard {inputs[target.resolve()]}; "
                "choose another --out (the input files are never modified)"
            )


def _prepare(out: Path, plan: dict[str, Any], resume: bool) -> None:
    state = out / META / "decontaminate.json"
    if state.is_file():
        if not resume:
            raise ReportError(
                f"{out} already holds a decontaminated corpus; pass --resume to continue it, "
                "or choose another --out"
            )
        if json.loads(state.read_text()).get("plan") != plan:
            raise ReportError(
                f"{out} holds a decontamination with other settings, benches or shards; it "
                "cannot be resumed with these (choose another --out)"
            )
        for tmp in (out / META / "done").glob("*.tmp"):  # commits a killed run left half made
            shutil.rmtree(tmp)
        return
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ReportError(f"{out} exists and is not an empty folder; choose another --out")
    (out / META / "done").mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({"status": "running", "plan": plan}, indent=2) + "\n")


def contaminated_spans(
    scan_out: Path,
) -> tuple[dict[str, dict[int, list[Span]]], list[str], list[str]]:
    """From a scan's reports: the spans of the items its preset calls contaminated, by shard
    and record number; those items ("bench:item_id"); the ones among them with no span."""
    keys = ["bench", "split", "item_id"]
    items = pq.read_table(scan_out / "items.parquet", columns=[*keys, "contaminated"])
    dirty = items.filter(items.column("contaminated")).select(keys)
    columns = [*keys, "shard", "doc_id", "doc_line", "char_start", "char_end"]
    matches = pq.read_table(scan_out / "matches.parquet", columns=columns)
    matches = matches.join(dirty, keys, join_type="inner")
    spans: dict[str, dict[int, list[Span]]] = {}
    found = set()
    for m in matches.to_pylist():
        item = f"{m['bench']}:{m['item_id']}"
        found.add(item)
        span = Span(m["doc_id"], m["char_start"], m["char_end"], item)
        spans.setdefault(m["shard"], {}).setdefault(m["doc_line"], []).append(span)
    names = sorted(f"{r['bench']}:{r['item_id']}" for r in dirty.to_pylist())
    return spans, names, [n for n in names if n not in found]


def _decontaminate_shard(task: _Task, policy: _Policy, report: Report) -> None:
    """Write one shard again under its output name, then commit its removed rows and counts."""
    editor = Editor(task.shard, task.spans, policy.cut)
    target = task.out_shard
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}.*.tmp"):  # left by a killed run
        stale.unlink()
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")

    def read(raw: int) -> None:
        report(raw, 0)

    try:
        if not task.skipped:
            fields, id_field = policy.text_fields, policy.id_field
            rewrite_shard(task.shard, tmp, sorted(task.spans), editor, fields, id_field, read)
        docs_out = task.records - editor.docs_dropped
        if docs_out > 0:
            os.replace(tmp, target)
        else:  # an empty shard would stop a scan of the output: write none
            target.unlink(missing_ok=True)
    finally:
        tmp.unlink(missing_ok=True)
    report(0, task.records)
    written = str(target) if docs_out > 0 else None
    info = {
        "shard": str(task.shard),
        "out_shard": written,
        "status": "skipped" if task.skipped else "done",
        "docs_in": task.records,
        "docs_out": docs_out,
        "docs_dropped": editor.docs_dropped,
        "docs_cut": editor.docs_cut,
        "chars_in": task.text_chars,
        "chars_removed": editor.chars_removed,
        "bytes_in": task.shard.stat().st_size,
        "bytes_out": target.stat().st_size if written else 0,
    }
    rows = [{**r, "out_shard": written} for r in editor.removed_rows]
    with atomic_folder(task.done) as staging:
        pq.write_table(
            pa.Table.from_pylist(rows, schema=REMOVED_SCHEMA), staging / "removed.parquet"
        )
        (staging / "info.json").write_text(json.dumps(info, indent=2) + "\n")


def _run(
    tasks: list[_Task],
    policy: _Policy,
    workers: int,
    progress: Callable[[str, int, int], None] | None,
) -> None:
    def report(raw: int, docs: int) -> None:
        if progress is not None:
            progress("rewrite", raw, docs)

    def rewrite(task: _Task, report: Report) -> None:
        _decontaminate_shard(task, policy, report)

    run_forked(rewrite, tasks, workers, report)


def _finish(
    out: Path,
    plan: dict[str, Any],
    scanned: ScanResult,
    shards: list[Path],
    dirty: list[str],
    without: list[str],
    seconds: float,
) -> DecontaminateResult:
    """Roll the shard commits up into ``removed.parquet`` and ``decontaminate.json``."""
    meta = out / META
    folders = [_done_folder(meta, p) for p in shards]
    infos = [json.loads((f / "info.json").read_text()) for f in folders]
    removed = pa.concat_tables([pq.read_table(f / "removed.parquet") for f in folders])
    with atomic_file(meta / "removed.parquet") as tmp:
        pq.write_table(removed, tmp)
    keys = ("docs_in", "docs_out", "docs_dropped", "docs_cut", "chars_in", "chars_removed")
    totals = {k: sum(int(i[k]) for i in infos) for k in keys}
    totals["shards"] = len(infos)
    totals["shards_written"] = sum(i["out_shard"] is not None for i in infos)
    state = {
        "status": "complete",
        "contam_version": __version__,
        "plan": plan,
        "preset": scanned.run["plan"]["config"]["preset"],
        "items_contaminated": len(dirty),
        "items_without_spans": without,
        "totals": totals,
        "skipped_shards": [i["shard"] for i in infos if i["status"] == "skipped"],
        "shards": infos,
        "last_session_seconds": round(seconds, 3),
    }
    (meta / "decontaminate.json").write_text(json.dumps(state, indent=2) + "\n")
    return DecontaminateResult(
        out, scanned, len(dirty), without, totals["shards"], totals["shards_written"],
        totals["docs_in"], totals["docs_out"], totals["docs_dropped"], totals["docs_cut"],
        totals["chars_in"], totals["chars_removed"],
    )  # fmt: skip
