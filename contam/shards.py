"""Corpus shards: find the files, stream their documents in bounded batches.

Formats by file name: ``.jsonl`` / ``.json`` / ``.ndjson`` (one JSON object a line), the same
with ``.gz`` or ``.zst``, ``.parquet``, and ``.txt`` (the whole file is one document). Memory
is bounded by the batch size, but for one record larger than a batch, and a ``.txt`` shard,
which is read whole.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import os
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson
import zstandard

from contam.errors import RecordError, ShardError, first_line
from contam.fields import field_root, join_fields, single_top_field
from contam.jsonl import LINE_DOC, LINE_PYTHON, extract_lines, joined_ids
from contam.records import DocBatch

SUFFIXES = (
    ".jsonl",
    ".jsonl.gz",
    ".jsonl.zst",
    ".json",
    ".json.gz",
    ".json.zst",
    ".ndjson",
    ".ndjson.gz",
    ".ndjson.zst",
    ".parquet",
    ".txt",
)
READ_CHUNK = 1 << 22
#: Name starts of the files and folders a folder walk skips.
HIDDEN = ("_", ".")


def shard_format(path: Path) -> str | None:
    """The suffix of ``SUFFIXES`` that ``path`` ends with, or None."""
    name = path.name.lower()
    return next((s for s in sorted(SUFFIXES, key=len, reverse=True) if name.endswith(s)), None)


def find_shards(paths: list[str]) -> list[Path]:
    """Files, folders (recursive) and glob patterns -> sorted, distinct shard files
    (`corpus_files`, without the files it leaves out)."""
    return corpus_files(paths)[0]


def corpus_files(paths: list[str]) -> tuple[list[Path], list[Path]]:
    """Files, folders (recursive) and glob patterns -> (sorted, distinct shard files; the
    files found in folders or by patterns that are not shards, sorted, to tell the user).

    Files named explicitly must have a known format; folders contribute only the files that
    do. Within a folder, files and folders whose name starts with ``_`` or ``.`` are skipped
    (Hadoop's and Spark's ``_SUCCESS`` and ``_temporary``, and ``_contam/``, where
    `decontaminate` keeps its reports); named explicitly, they count. Links to folders are
    followed, each folder walked once (a link back up is no loop). Nothing found is an
    error, so a typo never yields an empty, "clean" report.

    Example:
        >>> shards, others = corpus_files(["corpus/"])  # doctest: +SKIP
        >>> shards, others  # doctest: +SKIP
        ([PosixPath('corpus/a.jsonl.zst'), PosixPath('corpus/sub/b.parquet')],
         [PosixPath('corpus/notes.md')])
    """
    found: dict[Path, Path] = {}  # resolved path -> path as first given
    ignored: dict[Path, Path] = {}
    walked: set[tuple[int, int]] = set()  # (device, inode) of every folder walked

    def add(f: Path) -> None:
        if f.is_dir():
            walk(f)
        elif f.is_file() and shard_format(f):
            found.setdefault(f.resolve(), f)
        else:  # another format, or a link to nothing
            ignored.setdefault(f.absolute(), f)

    def walk(folder: Path) -> None:
        for root, dirs, files in os.walk(folder, followlinks=True):
            info = os.stat(root)
            if (info.st_dev, info.st_ino) in walked:
                dirs.clear()
                continue
            walked.add((info.st_dev, info.st_ino))
            dirs[:] = sorted(d for d in dirs if not d.startswith(HIDDEN))
            for name in sorted(files):
                if not name.startswith(HIDDEN):
                    add(Path(root) / name)

    for spec in paths:
        p = Path(spec)
        if p.is_file() and not shard_format(p):
            raise ShardError(f"{p}: unknown shard format (known: {', '.join(SUFFIXES)})")
        if p.exists():
            add(p)
        elif glob.has_magic(spec):
            for match in sorted(glob.glob(spec, recursive=True)):
                add(Path(match))
        else:
            raise ShardError(f"{spec}: no such file or folder")
    if not found:
        raise ShardError(
            f"no corpus shards found in {' '.join(paths)} (known: {', '.join(SUFFIXES)})"
        )
    return sorted(found.values()), sorted(ignored.values())


def ignored_note(ignored: list[Path]) -> str:
    """One line naming the files `corpus_files` left out, for the log.

    Example:
        >>> ignored_note([Path("c/notes.md"), Path("c/x.jsonl.bz2")])
        'not read, of no shard format: c/notes.md, c/x.jsonl.bz2 (2 files)'
    """
    names = ", ".join(str(p) for p in ignored[:5]) + (", ..." if len(ignored) > 5 else "")
    count = f"{len(ignored)} file{'s' if len(ignored) != 1 else ''}"
    return f"not read, of no shard format: {names} ({count})"


def largest_first(paths: list[Path]) -> list[Path]:
    """The shards in the order workers should take them: biggest file first, name order
    among equals. The last shards to start are then small ones, so no worker idles long
    while another finishes a big one (the longest-processing-time-first rule). File size
    stands for work, which holds among shards of one format (a .jsonl.zst holds about four
    times the text of a .jsonl of its size).

    Example:
        >>> largest_first([Path("a.jsonl"), Path("b.jsonl")])  # doctest: +SKIP
        [PosixPath('b.jsonl'), PosixPath('a.jsonl')]
    """
    return sorted(paths, key=lambda path: -file_size(path))  # stable: names kept


def file_size(path: Path) -> int:
    """The file's size; 0 when it cannot be read (gone since it was found: reading it will
    say so)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


@dataclass(slots=True)
class ReadStats:
    """Counts the scan reports per shard; ``bad`` lists the first skipped records' reasons;
    ``sha256`` is the digest of the shard file's bytes once it has been read to the end."""

    records: int = 0
    skipped: int = 0
    raw_bytes: int = 0
    bad: list[str] = field(default_factory=list)
    sha256: str | None = None


class ShardReader:
    """Streams one shard as `DocBatch`es of about ``batch_chars`` of text.

    Args:
        path: the shard.
        text_fields: record fields joined into the document text.
        id_field: record field for the document id; absent -> ``<line>`` of the shard.
        batch_chars: characters of text per batch (UTF-8 bytes for Latin text).
        skip_bad: count bad records instead of raising `RecordError`.
    """

    def __init__(
        self,
        path: Path,
        text_fields: tuple[str, ...] = ("text",),
        id_field: str = "id",
        batch_chars: int = 8 << 20,
        skip_bad: bool = False,
    ) -> None:
        self.path = path
        self.text_fields = text_fields
        self.id_field = id_field
        self.batch_chars = batch_chars
        self.skip_bad = skip_bad
        self.stats = ReadStats()
        # one top-level text field: records read by `extract_lines`
        self._plain = single_top_field(text_fields)
        self._text_key = np.frombuffer((self._plain or "").encode(), dtype=np.uint8)
        self._id_key = np.frombuffer(id_field.encode(), dtype=np.uint8)

    def batches(self) -> Iterator[DocBatch]:
        """Yield batches; raise `ShardError` for an unreadable shard, `RecordError` for a record.

        A batch ends at the first document that brings it to ``batch_chars`` characters; in
        JSONL with one top-level text field, at the line that brings its JSON to
        ``batch_chars`` bytes (at least as many as its characters), so that it is decoded
        whole by `extract_lines` into a buffer of its own, never cut or joined.
        """
        fmt = shard_format(self.path) or ""
        if fmt == ".parquet":
            batches = self._cut(self._parquet_pieces())
        elif fmt == ".txt":
            batches = self._cut(self._txt_pieces())
        elif self._plain is not None:  # whole blocks of lines are batches already
            batches = self._jsonl_docs(fmt, self.batch_chars, self._extracted)
        else:
            batches = self._cut(self._jsonl_docs(fmt, READ_CHUNK, self._parsed))
        try:
            yield from batches
        except (OSError, EOFError, zlib.error, zstandard.ZstdError, ValueError) as e:
            if isinstance(e, (RecordError, ShardError)):
                raise
            raise ShardError(f"{self.path}: cannot read shard ({first_line(e)})") from e
        if self.stats.records == 0 and self.stats.skipped == 0:
            raise ShardError(f"{self.path}: empty shard (no documents)")

    def _cut(self, pieces: Iterator[DocBatch]) -> Iterator[DocBatch]:
        """``pieces`` cut and joined into batches, each ending at the first document that
        brings it to ``batch_chars`` characters."""
        held: list[DocBatch] = []  # pieces of the next batch
        held_chars = 0
        for piece in pieces:
            first = 0
            reach = np.cumsum(piece.chars)  # chars up to and with each document
            while first < len(piece):
                before = int(reach[first - 1]) if first else 0
                last = int(np.searchsorted(reach, before + self.batch_chars - held_chars))
                if last >= len(piece):  # the rest fits
                    held.append(piece.take(first, len(piece)))
                    held_chars += int(reach[-1]) - before
                    break
                held.append(piece.take(first, last + 1))
                yield DocBatch.join(held)
                held, held_chars, first = [], 0, last + 1
        if held:  # pieces are never empty
            yield DocBatch.join(held)

    def _bad(self, line: int, reason: str) -> None:
        message = f"{self.path}:{line}: {reason}"
        if not self.skip_bad:
            raise RecordError(message)
        self.stats.skipped += 1
        if len(self.stats.bad) < 20:
            self.stats.bad.append(message)

    def _progress(self, position: int) -> None:
        self.stats.raw_bytes = position  # read by the scan as it reports progress

    def _doc(self, record: Any, line: int) -> tuple[int, str, str] | None:
        if not isinstance(record, dict):
            self._bad(line, "record is not a JSON object")
            return None
        try:
            text, missing = join_fields(record, self.text_fields)
        except UnicodeDecodeError:  # bytes (Parquet binary) that are not UTF-8
            self._bad(line, "not valid UTF-8")
            return None
        if missing is not None:
            fields = ", ".join(list(record)[:8])
            self._bad(
                line, f"record has no text at {missing!r} (fields: {fields}; use --text-field)"
            )
            return None
        value = record.get(self.id_field)
        doc_id = str(value) if value is not None else str(line)
        self.stats.records += 1
        return line, doc_id, text

    def _jsonl_docs(
        self,
        fmt: str,
        size: int,
        read: Callable[[memoryview, int], tuple[DocBatch, int]],
    ) -> Iterator[DocBatch]:
        """The documents of each block of lines of about ``size`` bytes (`_blocks`), as
        ``read(block, lines before it)`` gives them: `_extracted` or `_parsed`."""
        line = 0
        for block in self._blocks(fmt, size):
            docs, lines = read(block, line)
            line += lines
            if len(docs):
                yield docs

    def _blocks(self, fmt: str, size: int) -> Iterator[memoryview]:
        """The decompressed shard in blocks of whole lines, each ending at the line that
        brings it to ``size`` bytes, or at the end of the shard."""
        with open(self.path, "rb") as file:
            raw = _Hashing(file)
            stream = decompressed(raw, fmt)  # type: ignore[arg-type]
            chunks: list[bytes] = []
            held = 0
            while True:
                chunk = stream.read(READ_CHUNK)
                self._progress(raw.tell())
                if chunk:
                    chunks.append(chunk)
                    held += len(chunk)
                    # a line still open past `size`: joining again only when it may end
                    if held < size or b"\n" not in chunk:
                        continue
                joined = b"".join(chunks)  # one chunk: itself, not a copy
                data, start = memoryview(joined), 0
                while len(data) - start >= size:
                    cut = joined.find(b"\n", start + size - 1) + 1
                    if not cut:
                        break
                    yield data[start:cut]
                    start = cut
                if not chunk:
                    if start < len(data):  # the last line, without its newline
                        yield data[start:]
                    break
                chunks, held = [joined[start:]], len(data) - start
            self.stats.sha256 = raw.hexdigest_to_end()  # gzip padding past the data counts

    def _extracted(self, data: memoryview, line: int) -> tuple[DocBatch, int]:
        """The documents of the lines in ``data`` (the first is line ``line + 1``) as
        `extract_lines` decodes them; orjson reads the lines it leaves. Returns the batch and
        the number of lines."""
        buf = np.frombuffer(data, dtype=np.uint8).copy()  # decoded in place
        rows = extract_lines(buf, len(buf), self._text_key, self._id_key)
        kinds = rows[:, 0]
        docs = np.flatnonzero(kinds == LINE_DOC)
        line_numbers = docs + line + 1
        numbers = line_numbers.tolist()
        doc_ids = _split_ids(joined_ids(buf, rows[docs, 6], rows[docs, 7], line_numbers))
        self.stats.records += len(docs)
        batch = DocBatch(
            str(self.path), doc_ids, numbers, buf, rows[docs, 3], rows[docs, 4], rows[docs, 5]
        )
        left = np.flatnonzero(kinds == LINE_PYTHON)
        if len(left):
            others = self._parsed_lines(
                [bytes(data[a:b]) for a, b in rows[left, 1:3].tolist()], (left + line + 1).tolist()
            )
            batch = _merged(batch, others)
        return batch, len(rows)

    def _parsed(self, data: memoryview, line: int) -> tuple[DocBatch, int]:
        """The documents of the lines in ``data``, each read by orjson."""
        text = bytes(data)
        lines = text.split(b"\n")
        if text.endswith(b"\n"):
            lines.pop()
        return self._parsed_lines(lines, list(range(line + 1, line + 1 + len(lines)))), len(lines)

    def _parsed_lines(self, lines: list[bytes], numbers: list[int]) -> DocBatch:
        # the few lines `extract_lines` leaves, or every line when the text is nested or
        # joined from several fields
        return self._records_batch(self._loaded(lines, numbers))

    def _loaded(self, lines: list[bytes], numbers: list[int]) -> Iterator[tuple[Any, int]]:
        """(record, line number) of each line that orjson reads; the others are bad, but for
        blank lines."""
        loads = orjson.loads
        for data, number in zip(lines, numbers, strict=True):
            try:
                yield loads(data), number
            except orjson.JSONDecodeError as e:
                if data.strip():
                    reason = "not valid UTF-8" if "UTF-8" in str(e) else f"invalid JSON ({e})"
                    self._bad(number, reason)

    def _records_batch(self, records: Iterable[tuple[Any, int]]) -> DocBatch:
        """The documents of decoded ``(record, line number)`` pairs (`_doc`)."""
        kept: list[int] = []
        doc_ids: list[str] = []
        texts: list[str] = []
        for record, number in records:
            doc = self._doc(record, number)
            if doc is not None:
                kept.append(doc[0])
                doc_ids.append(doc[1])
                texts.append(doc[2])
        return DocBatch.of_texts(str(self.path), doc_ids, kept, texts)

    def _parquet_pieces(self) -> Iterator[DocBatch]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            # pages read as they are decoded, not a row group's column chunks at once: the
            # reader held 770 MB for a 150 MB row group read whole, 350 MB in pieces
            pf = pq.ParquetFile(self.path, pre_buffer=False, buffer_size=1 << 20)
        except (pa.ArrowInvalid, OSError) as e:
            raise ShardError(f"{self.path}: cannot read Parquet shard ({e})") from e
        names = set(pf.schema_arrow.names)
        roots = [field_root(f) for f in self.text_fields]
        missing = [f for f in roots if f not in names]
        if missing:
            raise ShardError(
                f"{self.path}: no column {missing[0]!r} (columns: {', '.join(sorted(names))}; "
                "use --text-field)"
            )
        columns = sorted(set(roots) | ({self.id_field} & names))
        line = 0
        size = self.path.stat().st_size
        rows = max(1, pf.metadata.num_rows)
        row_bytes = sum(pf.metadata.row_group(g).total_byte_size for g in range(pf.num_row_groups))
        per_piece = max(1, self.batch_chars * rows // max(1, row_bytes))  # rows of a batch's text
        try:
            for part in pf.iter_batches(batch_size=per_piece, columns=columns):
                table = pa.Table.from_batches([part])
                piece = self._arrow_piece(table, line)
                if piece is None:  # row by row, as Python records
                    # text as bytes, each row's checked as it is read (`fields.field_values`)
                    table = _text_as_bytes(table, roots)
                    numbered = ((row, n) for n, row in enumerate(table.to_pylist(), line + 1))
                    piece = self._records_batch(numbered)
                line += table.num_rows
                if len(piece):
                    yield piece
                self._progress(size * line // rows)
        except pa.ArrowInvalid as e:
            raise ShardError(f"{self.path}: corrupt Parquet near row {line} ({e})") from e
        with open(self.path, "rb") as file:
            self.stats.sha256 = _Hashing(file).hexdigest_to_end()

    def _arrow_piece(self, table: Any, line: int) -> DocBatch | None:
        """The rows of a piece of a Parquet shard straight from Arrow's buffers, without a
        Python string per text, when the text is one string (or binary) column without nulls,
        valid UTF-8, and the id (if any) a string or integer column; else None (the rows go
        through `_doc`)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if self._plain is None:
            return None
        texts = table.column(self._plain).combine_chunks()
        if pa.types.is_binary(texts.type) or pa.types.is_large_binary(texts.type):
            wide = pa.types.is_large_binary(texts.type)
            texts = texts.view(pa.large_string() if wide else pa.string())  # checked next
        if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
            return None
        if texts.null_count or not _valid(texts):
            return None
        numbers = list(range(line + 1, line + 1 + len(texts)))
        ids = [None] * len(texts)
        if self.id_field in table.column_names:
            column = table.column(self.id_field)
            if not (pa.types.is_string(column.type) or pa.types.is_integer(column.type)):
                return None
            ids = column.to_pylist()
        doc_ids = [str(n if v is None else v) for n, v in zip(numbers, ids, strict=True)]
        wide = np.int64 if pa.types.is_large_string(texts.type) else np.int32
        _, offsets, values = texts.buffers()
        bounds = np.frombuffer(offsets, dtype=wide)[texts.offset : texts.offset + len(texts) + 1]
        data = (
            np.frombuffer(values, dtype=np.uint8)
            if values and values.size
            else np.zeros(1, np.uint8)
        )
        chars = pc.utf8_length(texts).to_numpy(zero_copy_only=False).astype(np.int64)
        self.stats.records += len(texts)
        return DocBatch(
            str(self.path),
            doc_ids,
            numbers,
            data,
            bounds[:-1].astype(np.int64),
            bounds[1:].astype(np.int64),
            chars,
        )

    def _txt_pieces(self) -> Iterator[DocBatch]:
        data = self.path.read_bytes()
        self._progress(len(data))
        self.stats.sha256 = hashlib.sha256(data).hexdigest()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            line = data[: e.start].count(b"\n") + 1
            self._bad(line, "not valid UTF-8")
            return
        if not text.strip():
            return
        self.stats.records += 1
        yield DocBatch.of_texts(str(self.path), [self.path.name], [1], [text])


class _Hashing:
    """A binary file that feeds every byte read through SHA-256, so the report can name the
    exact shard it scanned without a second read (hashlib runs at ~1.5 GB/s, outside the
    GIL)."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.name = file.name
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size)
        self.digest.update(data)
        return data

    def tell(self) -> int:
        return self.file.tell()

    def hexdigest_to_end(self) -> str:
        """The digest of the whole file: what was not read yet is hashed first."""
        for chunk in iter(lambda: self.file.read(READ_CHUNK), b""):
            self.digest.update(chunk)
        return self.digest.hexdigest()


def decompressed(raw: IO[bytes], fmt: str) -> IO[bytes]:
    """The decompressed stream of a JSONL shard file opened as ``raw``, by its format's
    suffix, less a byte order mark at its start."""
    stream: IO[bytes] = raw
    if fmt.endswith(".gz"):
        stream = gzip.GzipFile(fileobj=raw)  # type: ignore[assignment]
    elif fmt.endswith(".zst"):
        stream = _ZstdFrames(raw)  # type: ignore[assignment]
    return _NoBom(stream)  # type: ignore[return-value]


class _NoBom:
    """A stream less the UTF-8 byte order mark at its start, which some Windows tools write
    and JSON does not allow (orjson rejects the first line)."""

    MARK = b"\xef\xbb\xbf"

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.started = False

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        if not self.started:
            self.started = True
            while data and len(data) < len(self.MARK) and self.MARK.startswith(data):
                more = self.stream.read(size)  # a first read too short to tell
                if not more:
                    break
                data += more
            if data.startswith(self.MARK):
                data = data[len(self.MARK) :] or self.stream.read(size)
        return data


class _ZstdFrames:
    """Decompresses concatenated zstd frames and, unlike zstandard's stream reader, raises on
    a file cut inside a frame instead of returning a silent end of data."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.frame = zstandard.ZstdDecompressor().decompressobj()
        self.started = False

    #: Compressed bytes fed at a time: a quarter MB gives ~0.7 MB of text per call; feeding
    #: 4 MB made each call allocate ~10 MB at once and decompress at half the speed.
    FEED = 1 << 18

    def read(self, size: int) -> bytes:
        """Up to about ``size`` bytes of text (fewer: one feed's worth); empty at the end."""
        while True:
            chunk = self.raw.read(min(size, self.FEED))
            if not chunk:
                if self.started and not self.frame.eof:
                    raise ShardError(f"{self.raw.name}: cannot read shard (truncated zstd frame)")
                return b""
            out = self._feed(chunk)
            if out:
                return out

    def _feed(self, chunk: bytes) -> bytes:
        parts = []
        while chunk:
            if self.frame.eof:
                self.frame = zstandard.ZstdDecompressor().decompressobj()
            self.started = True
            parts.append(self.frame.decompress(chunk))
            chunk = self.frame.unused_data if self.frame.eof else b""
        return b"".join(parts)


def _text_as_bytes(table: Any, columns: list[str]) -> Any:
    """``table`` with its string ``columns`` as binary: Arrow's rows as Python objects then
    hold bytes for them, and a row that is not UTF-8 stops no other row."""
    import pyarrow as pa

    for name in columns:
        column = table.column(name)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            wide = pa.types.is_large_string(column.type)
            binary = column.cast(pa.large_binary() if wide else pa.binary())
            table = table.set_column(table.schema.get_field_index(name), name, binary)
    return table


def _valid(texts: Any) -> bool:
    """Whether an Arrow string array is valid (UTF-8 included), which Parquet does not ensure."""
    import pyarrow as pa

    try:
        texts.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _merged(a: DocBatch, b: DocBatch) -> DocBatch:
    """The documents of two batches of one shard, in line order."""
    both = DocBatch.join([a, b]) if len(b) else a
    order = np.argsort(np.array(both.lines, dtype=np.int64), kind="stable")
    if (order == np.arange(len(order))).all():
        return both
    pick = order.tolist()
    return DocBatch(
        both.shard,
        [both.doc_ids[k] for k in pick],
        [both.lines[k] for k in pick],
        both.data,
        both.starts[order],
        both.ends[order],
        both.chars[order],
    )


def _split_ids(joined: np.ndarray) -> list[str]:
    """`jsonl.joined_ids`'s zero-terminated ids as strings."""
    if len(joined) == 0:
        return []
    return joined[:-1].tobytes().decode().split("\0")
