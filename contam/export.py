"""Clean and dirty subsets: a bench's items, as a scan judged them, written back in the
bench's own record format so an evaluation harness runs on them unchanged (the Llama 2
clean / dirty comparison).

Two forms of output:

- a file (``.jsonl``, ``.csv`` or ``.parquet``): one original record per selected item;
- a folder: the bench's files in their original layout and formats (MMLU's
  ``mmlu/test/<subject>_test.csv``, headerless as released), holding only the selected rows,
  for a harness that reads the release's layout.

The bench files are read again and must be the ones scanned (same checksum).
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from contam.atomic import atomic_file, atomic_folder
from contam.benches import BenchSource, file_format, iter_item_records, resolve_bench
from contam.errors import ReportError
from contam.results import ScanReport, clean_sql, verdict_sql

SUBSETS = ("clean", "dirty")
FILE_SUFFIXES = (".jsonl", ".csv", ".parquet")


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What was written: ``selected`` of the bench's ``items`` went to ``out``."""

    out: Path
    bench: str
    split: str
    subset: str
    preset: str
    selected: int
    items: int


def export_subset(
    report: ScanReport,
    bench: str,
    subset: str,
    out: str | Path,
    preset: str | None = None,
    bench_dir: Path | None = None,
    id_column: str | None = None,
) -> ExportResult:
    """Write the ``clean`` or ``dirty`` items of ``bench`` (as named in the scan: ``mmlu``,
    ``mmlu:val``, a custom file's stem) under ``preset`` (default: the scan's) to ``out``.

    Clean is what the report's ``clean`` column counts: not contaminated, and for ``llama2``
    below 20% of tokens matched (Llama 2's items in between are neither). ``id_column`` adds
    the item id to every record under that name.

    Example:
        >>> export_subset(ScanReport.open("reports/run1"), "mmlu", "clean", "mmlu-clean.jsonl")
        ... # doctest: +SKIP
    """
    if subset not in SUBSETS:
        raise ReportError(f"unknown subset {subset!r}; choose clean or dirty")
    p = preset or report.preset
    source = _scanned_source(report, bench, bench_dir)
    where = clean_sql(p) if subset == "clean" else verdict_sql(p)
    rows = report.query(
        f"SELECT item_id, {where} AS selected FROM items WHERE bench = ? AND split = ?",
        [source.name, source.split],
    )
    wanted = {r["item_id"] for r in rows if r["selected"]}
    out = Path(out)
    records = _selected_records(source, wanted, id_column)
    if out.suffix in FILE_SUFFIXES:
        selected = _write_file(records, out)
    elif out.suffix:
        raise ReportError(
            f"{out}: unknown output format; end it in {', '.join(FILE_SUFFIXES)}, or give a "
            "folder for the bench's original layout"
        )
    else:
        selected = _write_layout(records, source, out, id_column)
    return ExportResult(out, source.name, source.split, subset, p, selected, len(rows))


def _scanned_source(report: ScanReport, bench: str, bench_dir: Path | None) -> BenchSource:
    """The bench as the scan read it, found again; its files must not have changed."""
    name, _, split = bench.partition(":")
    planned = [
        b for b in report.run["plan"]["benches"]
        if b["bench"] == name and (not split or b["split"] == split)
    ]  # fmt: skip
    if len(planned) != 1:
        scanned = ", ".join(f"{b['bench']}:{b['split']}" for b in report.run["plan"]["benches"])
        what = "is ambiguous" if planned else "was not scanned"
        raise ReportError(f"bench {bench} {what} in {report.folder} (benches: {scanned})")
    plan = planned[0]
    manifest = next(
        ix for ix in report.run["indexes"]
        if (ix["bench"], ix["split"]) == (plan["bench"], plan["split"])
    )  # fmt: skip
    src = manifest["source"]
    if plan["split"] == "custom":
        source = resolve_bench(
            src["files"][0],
            id_field=src["id_field"],
            text_fields=tuple(src["text_fields"]),
            label_fields=tuple(src["label_fields"]),
        )
    else:
        source = resolve_bench(f"{plan['bench']}:{plan['split']}", bench_dir)
    if source.checksum != plan["checksum"]:
        raise ReportError(
            f"{plan['bench']}:{plan['split']} files ({source.files[0][0]}) differ from the ones "
            "scanned (sha256 mismatch); point --bench-dir at the scanned copy"
        )
    return source


def _selected_records(
    source: BenchSource, wanted: set[str], id_column: str | None
) -> Iterator[tuple[dict[str, Any] | None, Path, dict[str, Any]]]:
    """(the record to write, or None if not selected; its file; the record as read)."""
    for item, record, path in iter_item_records(source):
        if item.item_id not in wanted:
            yield None, path, record
            continue
        chosen = record
        if id_column is not None:
            if id_column in record:
                raise ReportError(
                    f"{path}: records already have a field {id_column!r}; choose another "
                    "--id-column"
                )
            chosen = {id_column: item.item_id, **record}
        yield chosen, path, record


def _write_file(
    records: Iterator[tuple[dict[str, Any] | None, Path, dict[str, Any]]], out: Path
) -> int:
    rows = [r for r, _, _ in records if r is not None]
    with _output_file(out) as f:
        if out.suffix == ".jsonl":
            _write_jsonl(f, rows)
        elif out.suffix == ".csv":
            _write_csv(f, rows, _columns(rows), header=True, encoding="utf-8")
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(rows), f)
    return len(rows)


def _write_layout(
    records: Iterator[tuple[dict[str, Any] | None, Path, dict[str, Any]]],
    source: BenchSource,
    out: Path,
    id_column: str | None,
) -> int:
    """Every file of the bench, at its layout path under ``out``, with the selected rows."""
    layout = _layout_paths(source)
    by_file: dict[Path, tuple[list[dict[str, Any]], list[str]]] = {p: ([], []) for p in layout}
    selected = 0
    for record, path, as_read in records:
        rows, columns = by_file[path]
        if not columns:  # a file's columns, whether or not its first row is selected
            columns.extend([id_column, *as_read] if id_column is not None else as_read)
        if record is not None:
            rows.append(record)
            selected += 1
    if out.exists() and any(out.iterdir()):
        raise ReportError(f"{out} exists and is not empty; choose another --out")
    try:
        with atomic_folder(out, replace=True) as tmp:
            for path, (rows, columns) in by_file.items():
                target = tmp / layout[path]
                target.parent.mkdir(parents=True, exist_ok=True)
                _write_like(path, source, rows, columns, target)
    except OSError as e:
        raise ReportError(f"{out}: cannot write ({e})") from e
    return selected


def _layout_paths(source: BenchSource) -> dict[Path, Path]:
    """Each bench file -> its path relative to the release's root."""
    if source.spec is None:
        return {source.files[0][0]: Path(source.files[0][0].name)}
    rels = [rel for rel, _ in source.spec.splits[source.split].files]
    return {path: Path(rel) for (path, _), rel in zip(source.files, rels, strict=True)}


def _write_like(
    original: Path,
    source: BenchSource,
    rows: list[dict[str, Any]],
    columns: list[str],
    target: Path,
) -> None:
    """``rows`` in the format of ``original``."""
    fmt = file_format(source, original)
    kind = fmt["kind"]
    if kind == "csv":
        with open(target, "wb") as f:
            header = bool(fmt.get("header", True))
            _write_csv(f, rows, columns, header, fmt.get("encoding", "utf-8"))
    elif kind == "jsonl":
        with open(target, "wb") as f:
            _write_jsonl(f, rows)
    elif kind == "jsonl.gz":
        # no time stamp in the gzip header: the same subset gives the same bytes
        with gzip.GzipFile(target, "wb", mtime=0) as gz:
            _write_jsonl(gz, rows)
    elif kind == "json":
        target.write_bytes(orjson.dumps(rows, option=orjson.OPT_INDENT_2))
    else:  # parquet: the original schema, so an empty subset still has its columns
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pq.read_schema(original)
        added = [pa.field(c, pa.string()) for c in columns if c not in schema.names]  # the id
        schema = pa.schema([*added, *schema])
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), target)


def _write_jsonl(f: IO[bytes] | gzip.GzipFile, rows: list[dict[str, Any]]) -> None:
    for r in rows:
        f.write(orjson.dumps(r) + b"\n")


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for r in rows:
        seen.update(dict.fromkeys(r))
    return list(seen)


def _write_csv(
    f: IO[bytes], rows: list[dict[str, Any]], columns: list[str], header: bool, encoding: str
) -> None:
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    if header:
        writer.writerow(columns)
    for r in rows:
        writer.writerow(["" if r.get(c) is None else r[c] for c in columns])
    f.write(text.getvalue().encode(encoding))


@contextmanager
def _output_file(path: Path) -> Iterator[IO[bytes]]:
    """``path`` opened for writing, in place only when complete; an OS error names it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as tmp, open(tmp, "wb") as f:
            yield f
    except OSError as e:
        raise ReportError(f"{path}: cannot write ({e})") from e
