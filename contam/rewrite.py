"""Rewriting a shard: in its own format, with some documents dropped or their text replaced
by what is left after cutting stretches out (where to cut is `contam.cuts`).

The documents to touch are named by their record number (``doc_line``, counted as
`contam.shards.ShardReader` counts it: every line of a JSONL stream, blank ones included;
rows of a Parquet file across row groups; a ``.txt`` file is record 1). Everything else is
copied unchanged:

* JSONL (``.jsonl``/``.json``, plain, ``.gz`` or ``.zst``): untouched lines byte for byte, in
  whole decompressed chunks; a changed record is re-serialized by orjson (keys in their order,
  compact separators). The output is compressed like the input (gzip level 3, zstd level 3):
  its records are identical, its compressed bytes are not.
* Parquet: row group by row group, with the input's schema (and its metadata) and codec.
* ``.txt``: the new text, UTF-8.

A shard with no document to touch is copied whole, byte for byte. Memory is bounded by one
decompressed chunk (JSONL), one row group (Parquet) or the one document (``.txt``).
"""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import orjson
import zstandard

from contam.errors import ShardError
from contam.fields import field_root, join_fields
from contam.shards import READ_CHUNK, decompressed, shard_format

#: One document's fate: ``(doc_line, doc_id, text) -> None`` drops it, a string is its new
#: text (the text unchanged keeps the record as it was).
Edit = Callable[[int, str, str], str | None]

# Compressing is most of a rewrite's time. On the shared corpus's JSONL, gzip level 3 runs at
# 63 MB/s for files 5% larger than level 6 (gzip's default, 28 MB/s) and 6% larger than
# Python's default 9 (17 MB/s); zstd level 3 (its default) at about 110 MB/s.
GZIP_LEVEL = 3
ZSTD_LEVEL = 3  # zstd's default


def rewrite_shard(
    src: Path,
    dst: Path,
    lines: Sequence[int],
    edit: Edit,
    text_fields: tuple[str, ...] = ("text",),
    id_field: str = "id",
    on_progress: Callable[[int], None] | None = None,
) -> None:
    """Write ``src`` to ``dst`` in the same format, passing the documents at ``lines`` through
    ``edit``.

    A replaced text goes into ``text_fields[0]``, which must then be the only, top-level text
    field. A ``.txt`` shard whose document is dropped writes nothing at all.

    Args:
        src: the input shard (never written).
        dst: the output file (created or overwritten).
        lines: sorted record numbers of the documents to pass through ``edit``.
        edit: decides each such document's fate.
        text_fields: record fields joined into the document text, as in the scan.
        id_field: the record field of the document id, as in the scan.
        on_progress: called with input (compressed) bytes consumed since the last call.

    Example:
        >>> rewrite_shard(Path("a.jsonl.zst"), Path("out/a.jsonl.zst"), [3],
        ...               lambda line, doc_id, text: None)  # doctest: +SKIP
    """
    progress = _Progress(on_progress)
    if not lines:
        shutil.copyfile(src, dst)
        progress(src.stat().st_size)
        return
    fmt = shard_format(src) or ""
    if fmt == ".parquet":
        _rewrite_parquet(src, dst, lines, edit, text_fields, id_field, progress)
    elif fmt == ".txt":
        data = src.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ShardError(f"{src}: not valid UTF-8; it changed since the scan") from e
        new = edit(1, src.name, text)
        if new is not None:
            dst.write_bytes(data if new == text else new.encode("utf-8"))
        progress(len(data))
    else:
        _rewrite_jsonl(src, dst, fmt, lines, edit, text_fields, id_field, progress)


class _Progress:
    """Turns absolute positions into the increments ``on_progress`` expects."""

    def __init__(self, on_progress: Callable[[int], None] | None) -> None:
        self.on_progress = on_progress
        self.reported = 0

    def __call__(self, position: int) -> None:
        if self.on_progress is not None and position > self.reported:
            self.on_progress(position - self.reported)
            self.reported = position


def _rewrite_jsonl(
    src: Path,
    dst: Path,
    fmt: str,
    lines: Sequence[int],
    edit: Edit,
    text_fields: tuple[str, ...],
    id_field: str,
    progress: _Progress,
) -> None:
    todo = iter(lines)
    target = next(todo, None)
    line = 0  # lines written or dropped so far
    with open(src, "rb") as raw, open(dst, "wb") as out:
        stream = decompressed(raw, fmt)
        sink = _compressed(out, fmt)
        rest = b""
        for chunk in _chunks(stream, raw, progress):
            data = rest + chunk if rest else chunk
            end = data.rfind(b"\n") + 1
            rest = data[end:]
            count = data.count(b"\n", 0, end)
            if target is None or target > line + count:
                sink.write(data[:end] if rest else data)  # the common case: no target here
                line += count
                continue
            # copy the runs of records between targets whole, not record by record
            records = data[:end].split(b"\n")
            at = 0  # records[:at] of this chunk are done
            while target is not None and target <= line + count:
                k = target - line - 1
                if k > at:
                    sink.write(b"\n".join(records[at:k]) + b"\n")
                new = _edit_record(src, target, records[k], edit, text_fields, id_field)
                if new is not None:
                    sink.write(new + b"\n")
                at = k + 1
                target = next(todo, None)
            if at < count:
                sink.write(b"\n".join(records[at:count]) + b"\n")
            line += count
        if rest:  # a last line without a newline stays without one
            line += 1
            new = rest
            if line == target:
                new = _edit_record(src, line, rest, edit, text_fields, id_field)
                target = next(todo, None)
            if new is not None:
                sink.write(new)
        if target is not None:
            raise ShardError(f"{src}: has no record {target}; it changed since the scan")
        if sink is not out:
            sink.close()


def _chunks(stream: IO[bytes], raw: IO[bytes], progress: _Progress) -> Iterator[bytes]:
    while True:
        chunk = stream.read(READ_CHUNK)
        progress(raw.tell())
        if not chunk:
            return
        yield chunk


def _edit_record(
    src: Path, line: int, data: bytes, edit: Edit, text_fields: tuple[str, ...], id_field: str
) -> bytes | None:
    """One JSONL record through ``edit``: None (dropped), or its bytes, re-serialized only
    when its text changed."""
    try:
        record = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise ShardError(f"{src}:{line}: invalid JSON; the shard changed since the scan") from e
    new = _edit_fields(src, line, record, edit, text_fields, id_field)
    if new is None:
        return None
    if new is _KEEP:
        return data
    record[text_fields[0]] = new
    return orjson.dumps(record) + (b"\r" if data.endswith(b"\r") else b"")  # CRLF stays CRLF


#: What `_edit_fields` returns for a document kept as it is.
_KEEP = object()


def _edit_fields(
    src: Path,
    line: int,
    record: Any,
    edit: Edit,
    text_fields: tuple[str, ...],
    id_field: str,
) -> str | object | None:
    """``edit`` on one record: None (dropped), `_KEEP`, or the new text of ``text_fields[0]``."""
    text, missing = join_fields(record, text_fields) if isinstance(record, dict) else ("", "")
    if missing is not None:
        raise ShardError(f"{src}:{line}: not a document any more; the shard changed since the scan")
    value = record.get(id_field)
    new = edit(line, str(line) if value is None else str(value), text)
    if new is None or new == text:
        return None if new is None else _KEEP
    field = text_fields[0]
    if len(text_fields) != 1 or not isinstance(record.get(field), str):
        raise ShardError(
            f"{src}:{line}: field {field!r} is not one string, so its text cannot be cut "
            "(use --mode drop-doc)"
        )
    return new


def _rewrite_parquet(
    src: Path,
    dst: Path,
    lines: Sequence[int],
    edit: Edit,
    text_fields: tuple[str, ...],
    id_field: str,
    progress: _Progress,
) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(src)
    schema = pf.schema_arrow
    roots = sorted({field_root(f) for f in text_fields} | {id_field})
    roots = [r for r in roots if r in schema.names]
    codec = "none"
    if pf.num_row_groups and pf.metadata.row_group(0).num_columns:
        codec = str(pf.metadata.row_group(0).column(0).compression).lower()
    codec = {"uncompressed": "none", "lz4_raw": "lz4"}.get(codec, codec)
    size = src.stat().st_size
    todo = list(lines)
    first = 0  # rows before this row group
    with pq.ParquetWriter(dst, schema, compression=codec) as writer:
        for group in range(pf.num_row_groups):
            table = pf.read_row_group(group)
            rows = table.num_rows
            mine = [t for t in todo if first < t <= first + rows]
            if mine:
                keep = np.ones(rows, dtype=np.bool_)
                texts: list[Any] | None = None
                index = [t - first - 1 for t in mine]
                records = table.select(roots).take(index).to_pylist()
                for row, line, record in zip(index, mine, records, strict=True):
                    new = _edit_fields(src, line, record, edit, text_fields, id_field)
                    if new is None:
                        keep[row] = False
                    elif new is not _KEEP:
                        if texts is None:
                            texts = table.column(text_fields[0]).to_pylist()
                        texts[row] = new
                if texts is not None:
                    at = schema.get_field_index(text_fields[0])
                    column = pa.array(texts, type=schema.field(at).type)
                    table = table.set_column(at, schema.field(at), column)
                table = table.filter(pa.array(keep))
            if table.num_rows:
                writer.write_table(table, row_group_size=table.num_rows)
            first += rows
            progress(size * (group + 1) // max(1, pf.num_row_groups))
    missing = [t for t in todo if t > first]
    if missing:
        raise ShardError(f"{src}: has no row {missing[0]}; it changed since the scan")


def _compressed(out: IO[bytes], fmt: str) -> IO[bytes]:
    """A writer compressing into ``out`` as ``fmt`` says; closing it leaves ``out`` open."""
    if fmt.endswith(".gz"):
        # no file name and no time stamp in the header: the same records give the same bytes
        gz = gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=GZIP_LEVEL, mtime=0)
        return gz  # type: ignore[return-value]
    if fmt.endswith(".zst"):
        return zstandard.ZstdCompressor(level=ZSTD_LEVEL).stream_writer(out, closefd=False)
    return out
