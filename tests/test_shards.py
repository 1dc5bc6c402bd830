import gzip
import hashlib
import io
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from contam.errors import RecordError, ShardError
from contam.shards import (
    READ_CHUNK,
    ShardReader,
    corpus_files,
    decompressed,
    find_shards,
    ignored_note,
    largest_first,
)

DOCS = [
    {"id": "a", "text": "first doc"},
    {"id": "b", "text": "zweite Straße, 天"},
    {"id": "c", "text": "third\nwith a newline"},
]
EXPECTED = [("a", 1, "first doc"), ("b", 2, "zweite Straße, 天"), ("c", 3, "third\nwith a newline")]


def jsonl_bytes(records: list[dict[str, object]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def parquet_bytes(records: list[dict[str, object]]) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(records), sink)
    return bytes(sink.getvalue().to_pybytes())


WRITERS: dict[str, Callable[[Path, list[dict[str, object]]], None]] = {
    ".jsonl": lambda p, r: p.write_bytes(jsonl_bytes(r)),
    ".jsonl.gz": lambda p, r: p.write_bytes(gzip.compress(jsonl_bytes(r))),
    ".jsonl.zst": lambda p, r: p.write_bytes(zstandard.ZstdCompressor().compress(jsonl_bytes(r))),
    ".json.gz": lambda p, r: p.write_bytes(gzip.compress(jsonl_bytes(r))),
    ".ndjson.zst": lambda p, r: p.write_bytes(zstandard.ZstdCompressor().compress(jsonl_bytes(r))),
    ".parquet": lambda p, r: p.write_bytes(parquet_bytes(r)),
}


def read_all(reader: ShardReader) -> list[tuple[str, int, str]]:
    return [
        (doc_id, line, text)
        for batch in reader.batches()
        for doc_id, line, text in zip(batch.doc_ids, batch.lines, batch.texts, strict=True)
    ]


def touch(path: Path, data: bytes = b"{}\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# find_shards


def test_find_shards_files_folders_and_globs(tmp_path: Path) -> None:
    a = touch(tmp_path / "c" / "a.jsonl")
    b = touch(tmp_path / "c" / "sub" / "b.parquet")
    z = touch(tmp_path / "c" / "sub" / "deeper" / "z.jsonl.zst")
    touch(tmp_path / "c" / "notes.md")
    touch(tmp_path / "c" / "sub" / "data.csv")
    t = touch(tmp_path / "other" / "t.txt")
    assert find_shards([str(tmp_path / "c")]) == [a, b, z]
    assert find_shards([str(t)]) == [t]
    assert find_shards([str(tmp_path / "c" / "**" / "*.jsonl*")]) == [a, z]
    # named twice, in every way at once: still sorted and distinct
    twice = find_shards([str(t), str(tmp_path / "c"), str(a), str(tmp_path / "*" / "*.txt")])
    assert twice == [a, b, z, t]


def test_find_shards_skips_underscore_and_dot_names_inside_folders(tmp_path: Path) -> None:
    a = touch(tmp_path / "c" / "part-0.jsonl")
    b = touch(tmp_path / "c" / "sub" / "part-1.jsonl.zst")
    touch(tmp_path / "c" / "_SUCCESS.jsonl")
    touch(tmp_path / "c" / ".part-2.jsonl")
    touch(tmp_path / "c" / "sub" / "_part-3.jsonl")
    hidden = touch(tmp_path / "c" / "_temporary" / "0" / "part-4.jsonl")
    touch(tmp_path / "c" / ".cache" / "part-5.jsonl")
    touch(tmp_path / "c" / "_contam" / "scan" / "items.parquet")
    assert find_shards([str(tmp_path / "c")]) == [a, b]
    # named explicitly, such files and folders count
    assert find_shards([str(hidden)]) == [hidden]
    assert find_shards([str(tmp_path / "c" / "_temporary")]) == [hidden]


def test_corpus_files_tells_what_it_leaves_out(tmp_path: Path) -> None:
    a = touch(tmp_path / "c" / "a.jsonl")
    n = touch(tmp_path / "c" / "sub" / "b.ndjson.gz")
    notes = touch(tmp_path / "c" / "notes.md")
    bz2 = touch(tmp_path / "c" / "sub" / "x.jsonl.bz2")
    broken = tmp_path / "c" / "gone.jsonl"
    broken.symlink_to(tmp_path / "nowhere.jsonl")
    touch(tmp_path / "c" / "_SUCCESS")  # skipped, not worth a word
    assert corpus_files([str(tmp_path / "c")]) == ([a, n], [broken, notes, bz2])
    assert ignored_note([notes, bz2]) == f"not read, of no shard format: {notes}, {bz2} (2 files)"


def test_folders_are_walked_once_through_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / "c"
    for level in range(12):
        deep = deep / f"d{level}"
    f = touch(deep / "f.jsonl")
    (tmp_path / "c" / "d0" / "up").symlink_to(tmp_path / "c")  # a loop
    (tmp_path / "c" / "also").symlink_to(tmp_path / "c" / "d0" / "d1")  # a second way in
    listed: list[str] = []
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        listed.append(str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    # found once, by the first way in ("also" sorts before "d0")
    assert find_shards([str(tmp_path / "c")]) == [tmp_path / "c" / "also" / Path(*f.parts[-11:])]
    # each of the 13 folders listed once, and the two links once each before they are seen
    # to lead to folders walked already (a walk per folder and subfolder, without the loop:
    # 20,476 listings)
    assert len(listed) == 13 + 2


def test_find_shards_one_file_spelled_two_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = touch(tmp_path / "a.jsonl")
    monkeypatch.chdir(tmp_path)
    assert len(find_shards(["a.jsonl", str(a)])) == 1


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("data.csv", "{}: unknown shard format (known: .jsonl, .jsonl.gz, "),
        ("missing.jsonl", "{}: no such file or folder"),
        ("empty", "no corpus shards found in {} (known: .jsonl, "),
        ("*.nothing", "no corpus shards found in {} (known: .jsonl, "),
    ],
)
def test_find_shards_errors(tmp_path: Path, spec: str, message: str) -> None:
    touch(tmp_path / "data.csv")
    touch(tmp_path / "empty" / "readme.md")
    with pytest.raises(ShardError) as err:
        find_shards([str(tmp_path / spec)])
    assert str(err.value).startswith(message.format(tmp_path / spec))


def test_largest_first_keeps_name_order_among_equal_sizes(tmp_path: Path) -> None:
    for name, size in [("a", 5), ("b", 9), ("c", 5), ("d", 0), ("e", 9)]:
        (tmp_path / f"{name}.jsonl").write_bytes(b"x" * size)
    paths = find_shards([str(tmp_path)])
    assert [p.stem for p in largest_first(paths)] == ["b", "e", "a", "c", "d"]


# reading


@pytest.mark.parametrize("suffix", list(WRITERS))
def test_every_format_reads_the_same_documents(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"docs{suffix}"
    WRITERS[suffix](path, DOCS)
    reader = ShardReader(path)
    assert read_all(reader) == EXPECTED
    assert reader.stats.records == 3
    assert reader.stats.skipped == 0
    assert reader.stats.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_sha256_covers_bytes_after_the_gzip_stream(tmp_path: Path) -> None:
    path = tmp_path / "padded.jsonl.gz"
    path.write_bytes(gzip.compress(jsonl_bytes(DOCS)) + b"\0" * 9)  # zero padding is legal
    reader = ShardReader(path)
    assert read_all(reader) == EXPECTED
    assert reader.stats.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_txt_is_one_document_named_after_the_file(tmp_path: Path) -> None:
    path = touch(tmp_path / "book.txt", b"Chapter 1\n\nIt was a dark night.\n")
    assert read_all(ShardReader(path)) == [("book.txt", 1, "Chapter 1\n\nIt was a dark night.\n")]


def test_text_fields_are_joined_with_a_newline(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    WRITERS[".jsonl"](path, [{"id": 7, "title": "Title", "body": "Body text"}])
    assert read_all(ShardReader(path, text_fields=("title", "body"))) == [
        ("7", 1, "Title\nBody text")
    ]


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_missing_id_falls_back_to_the_line_number(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"docs{suffix}"
    WRITERS[suffix](path, [{"text": "x"}, {"text": "y"}])
    assert read_all(ShardReader(path)) == [("1", 1, "x"), ("2", 2, "y")]


def test_blank_lines_are_counted_but_not_documents(tmp_path: Path) -> None:
    path = touch(tmp_path / "docs.jsonl", b'{"text": "x"}\n\n{"text": "y"}\n')
    assert read_all(ShardReader(path)) == [("1", 1, "x"), ("3", 3, "y")]


@pytest.mark.parametrize(
    ("suffix", "batch_chars", "sizes"),
    [
        # Parquet: characters of text (8 + 8 reaches 16)
        (".parquet", 1, [1, 1, 1]),
        (".parquet", 16, [2, 1]),
        (".parquet", 1000, [3]),
        # JSONL with one text field: bytes of JSON (the lines are 30, 30 and 23 bytes)
        (".jsonl", 1, [1, 1, 1]),
        (".jsonl", 31, [2, 1]),
        (".jsonl.zst", 60, [2, 1]),
        (".jsonl", 61, [3]),
        (".jsonl.gz", 1000, [3]),
    ],
)
def test_batches_split_docs_without_losing_any(
    tmp_path: Path, suffix: str, batch_chars: int, sizes: list[int]
) -> None:
    path = tmp_path / f"docs{suffix}"
    WRITERS[suffix](
        path, [{"id": i, "text": t} for i, t in enumerate(["12345678", "abcdefgh", "z"])]
    )
    assert len(jsonl_bytes([{"id": 0, "text": "12345678"}])) == 30
    batches = list(ShardReader(path, batch_chars=batch_chars).batches())
    assert [len(b.texts) for b in batches] == sizes
    assert [t for b in batches for t in b.texts] == ["12345678", "abcdefgh", "z"]
    assert [line for b in batches for line in b.lines] == [1, 2, 3]
    assert {b.shard for b in batches} == {str(path)}


def test_long_lines_across_many_reads_stay_whole(tmp_path: Path) -> None:
    """A line longer than a read (`READ_CHUNK`) and than a batch: one document, and the line
    after it starts the next batch."""
    long = "x" * (3 * READ_CHUNK + 5)
    path = tmp_path / "docs.jsonl.zst"
    WRITERS[".jsonl.zst"](path, [{"text": "a"}, {"text": long}, {"text": "b"}, {"text": "c"}])
    batches = list(ShardReader(path, batch_chars=READ_CHUNK).batches())
    assert [b.lines for b in batches] == [[1, 2], [3, 4]]
    assert [len(t) for b in batches for t in b.texts] == [1, len(long), 1, 1]


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.zst"])
def test_a_byte_order_mark_at_the_start_is_dropped(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"docs{suffix}"
    WRITERS[suffix](path, DOCS)
    plain = gzip.decompress(path.read_bytes()) if suffix.endswith(".gz") else path.read_bytes()
    if suffix.endswith(".zst"):
        plain = zstandard.ZstdDecompressor().decompressobj().decompress(plain)
    marked = b"\xef\xbb\xbf" + plain
    compress = {".gz": gzip.compress, ".zst": zstandard.ZstdCompressor().compress}
    path.write_bytes(compress.get(path.suffix, bytes)(marked))
    assert read_all(ShardReader(path)) == EXPECTED
    # a first read of one byte at a time still finds the mark
    stream = decompressed(io.BytesIO(marked), ".jsonl")
    stream.stream = io.BufferedReader(io.BytesIO(marked), buffer_size=1)  # type: ignore[attr-defined]
    assert b"".join(iter(lambda: stream.read(1), b"")) == plain


# bad input

BAD_RECORDS = [
    (b'{"id": "a", "text": "ok"}\n{"id": "b", "text": \n', 2, "invalid JSON ("),
    (b'{"id": "a", "text": "ok"}\n{"id": "b", "text": "caf\xe9"}\n', 2, "not valid UTF-8"),
    (
        b'{"id": "a", "body": "no text"}\n',
        1,
        "record has no text at 'text' (fields: id, body; use --text-field)",
    ),
    (b'{"id": "a", "text": "ok"}\n[1, 2]\n', 2, "record is not a JSON object"),
]


@pytest.mark.parametrize(("data", "line", "reason"), BAD_RECORDS)
def test_bad_record_names_file_and_line(
    tmp_path: Path, data: bytes, line: int, reason: str
) -> None:
    path = touch(tmp_path / "bad.jsonl", data)
    with pytest.raises(RecordError) as err:
        read_all(ShardReader(path))
    assert str(err.value).startswith(f"{path}:{line}: {reason}")


def test_non_utf8_txt_names_its_line(tmp_path: Path) -> None:
    path = touch(tmp_path / "bad.txt", b"one\ntwo\nthr\xffee\n")
    with pytest.raises(RecordError, match=re.escape(f"{path}:3: not valid UTF-8")):
        read_all(ShardReader(path))


CORRUPT = {
    "empty.jsonl": (b"", "empty shard (no documents)"),
    "blank.jsonl": (b"\n\n", "empty shard (no documents)"),
    "empty.txt": (b"", "empty shard (no documents)"),
    "truncated.jsonl.gz": (gzip.compress(jsonl_bytes(DOCS))[:-12], "cannot read shard ("),
    "garbage.jsonl.gz": (b"not gzip at all", "cannot read shard (Not a gzipped file"),
    "truncated.parquet": (parquet_bytes(DOCS)[:-10], "cannot read Parquet shard ("),
    "garbage.parquet": (b"not parquet at all", "cannot read Parquet shard ("),
}


@pytest.mark.parametrize("name", list(CORRUPT))
def test_unreadable_shard_raises_shard_error(tmp_path: Path, name: str) -> None:
    data, message = CORRUPT[name]
    path = touch(tmp_path / name, data)
    with pytest.raises(ShardError) as err:
        read_all(ShardReader(path))
    assert not isinstance(err.value, RecordError)
    assert str(err.value).startswith(f"{path}: {message}")


def test_garbage_zst_raises_shard_error(tmp_path: Path) -> None:
    path = touch(tmp_path / "garbage.jsonl.zst", b"\x28\xb5\x2f\xfd" + b"not a zstd frame" * 4)
    with pytest.raises(ShardError, match=re.escape(f"{path}: cannot read shard (")):
        read_all(ShardReader(path))


def test_truncated_zst_frame_raises_shard_error(tmp_path: Path) -> None:
    zstd = zstandard.ZstdCompressor()
    # two frames, the second cut inside its header: documents a and b, then nothing readable
    data = zstd.compress(jsonl_bytes(DOCS[:2])) + zstd.compress(jsonl_bytes(DOCS[2:]))[:6]
    path = touch(tmp_path / "cut.jsonl.zst", data)
    with pytest.raises(ShardError, match=re.escape(f"{path}: cannot read shard (")):
        read_all(ShardReader(path))


def test_skip_bad_counts_and_lists_bad_records(tmp_path: Path) -> None:
    good = [b'{"id": "first", "text": "ok"}\n', b'{"id": "last", "text": "fine"}\n']
    bad = [data.splitlines(keepends=True)[line - 1] for data, line, _ in BAD_RECORDS]
    path = touch(tmp_path / "mixed.jsonl", b"".join([good[0], *bad, good[1]]))
    reader = ShardReader(path, skip_bad=True)
    assert read_all(reader) == [("first", 1, "ok"), ("last", 6, "fine")]
    assert reader.stats.records == 2
    assert reader.stats.skipped == 4
    reasons = [f"{path}:{i}: {reason}" for i, (_, _, reason) in enumerate(BAD_RECORDS, start=2)]
    assert all(m.startswith(r) for m, r in zip(reader.stats.bad, reasons, strict=True))


def test_skip_bad_keeps_the_first_twenty_reasons(tmp_path: Path) -> None:
    path = touch(tmp_path / "junk.jsonl", b'{"text": "ok"}\n' + b"nope\n" * 25)
    reader = ShardReader(path, skip_bad=True)
    assert read_all(reader) == [("1", 1, "ok")]
    assert reader.stats.skipped == 25
    assert len(reader.stats.bad) == 20
    assert reader.stats.bad[-1].startswith(f"{path}:21: invalid JSON")


def test_skip_bad_shard_of_only_bad_records_is_not_empty(tmp_path: Path) -> None:
    path = touch(tmp_path / "junk.jsonl", b"nope\n")
    reader = ShardReader(path, skip_bad=True)
    assert read_all(reader) == []
    assert reader.stats.skipped == 1


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        # straight from Arrow's buffers: integer ids, a null id (the row number), no text
        (
            {"id": [5, None, 7], "text": ["a", "büß", ""]},
            [("5", 1, "a"), ("2", 2, "büß"), ("7", 3, "")],
        ),
        # row by row: a null text reads as empty, float ids as Python prints them
        ({"id": ["x", "y"], "text": ["a", None]}, [("x", 1, "a"), ("y", 2, "")]),
        ({"id": [1.5, 2.0], "text": ["a", "b"]}, [("1.5", 1, "a"), ("2.0", 2, "b")]),
    ],
)
def test_parquet_row_groups_read_alike_either_way(
    tmp_path: Path, columns: dict[str, list[object]], expected: list[tuple[str, int, str]]
) -> None:
    path = tmp_path / "docs.parquet"
    pq.write_table(pa.table(columns), path, row_group_size=2)
    reader = ShardReader(path, batch_chars=2)
    assert read_all(reader) == expected
    assert reader.stats.records == len(expected)


@pytest.mark.parametrize("kind", [pa.string(), pa.binary(), pa.large_string()])
def test_parquet_text_that_is_not_utf8_is_a_bad_row(tmp_path: Path, kind: pa.DataType) -> None:
    wide = kind == pa.large_string()
    offsets = pa.py_buffer(np.array([0, 1, 3, 6], dtype=np.int64 if wide else np.int32).tobytes())
    data = pa.py_buffer(b"a\xff\xfe" + "ü!".encode())
    texts = pa.Array.from_buffers(kind, 3, [None, offsets, data])
    pq.write_table(pa.table({"id": ["x", "y", "z"], "text": texts}), tmp_path / "bad.parquet")
    with pytest.raises(RecordError, match=r"^.*bad.parquet:2: not valid UTF-8$"):
        list(ShardReader(tmp_path / "bad.parquet").batches())
    reader = ShardReader(tmp_path / "bad.parquet", skip_bad=True)
    assert read_all(reader) == [("x", 1, "a"), ("z", 3, "ü!")]
    assert reader.stats.skipped == 1


def test_parquet_binary_text_reads_as_utf8(tmp_path: Path) -> None:
    texts = pa.array(["a", "büß"], type=pa.binary())
    pq.write_table(pa.table({"text": texts}), tmp_path / "bin.parquet")
    assert read_all(ShardReader(tmp_path / "bin.parquet")) == [("1", 1, "a"), ("2", 2, "büß")]
