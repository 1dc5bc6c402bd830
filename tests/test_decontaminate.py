"""Decontamination end to end: small planted corpora checked by hand (n=4), and the real data."""

from __future__ import annotations

import gzip
import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from click.testing import CliRunner

from contam.cli import cli
from contam.config import ScanConfig
from contam.cuts import cut_regions, kept_pieces
from contam.decontaminate import MODES, REMOVED_SCHEMA, DecontaminateResult, decontaminate
from contam.errors import ShardError
from contam.scan import resolve_benches, scan
from contam.shards import ShardReader
from tests.conftest import write_jsonl

# `contam.decontaminate` is the function; the module is reached by name.
module = importlib.import_module("contam.decontaminate")

CLEAN_A = "Nothing to see here, just words."
FOX = "Intro here. The quick brown fox jumps over the lazy dog! Then more words."
CLEAN_C = "A last document: café, 天地."
# The scan's span of the fox item in FOX is [12, 55), "The" to "dog". With a margin of 0 it
# is snapped outward over "!" (no word is cut in half) and the whitespace on both sides:
# [11, 57), 46 characters; what is left is "Intro here." and "Then more words.".
FOX_CUT = "Intro here.\nThen more words."
RECORDS: list[dict[str, object]] = [
    {"id": "a", "text": CLEAN_A, "n": 1},
    {"id": "b", "text": FOX, "n": 2},
    {"id": "c", "text": CLEAN_C, "n": 3},
]
FORMATS = [".jsonl", ".jsonl.gz", ".jsonl.zst", ".json", ".parquet", ".txt"]


def jsonl_bytes(records: list[dict[str, object]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def write_shard(path: Path, records: list[dict[str, object]]) -> Path:
    """``records`` in the format ``path`` names; a .txt shard holds the first one's text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    name = path.name
    if name.endswith(".txt"):
        path.write_text(str(records[0]["text"]))
    elif name.endswith(".parquet"):
        pq.write_table(pa.Table.from_pylist(records), path, compression="zstd")
    elif name.endswith(".gz"):
        path.write_bytes(gzip.compress(jsonl_bytes(records)))
    elif name.endswith(".zst"):
        path.write_bytes(zstandard.ZstdCompressor().compress(jsonl_bytes(records)))
    else:
        path.write_bytes(jsonl_bytes(records))
    return path


def docs_of(path: Path) -> list[tuple[str, int, str]]:
    """(doc id, record number, text) of every document, as the scan reads them."""
    return [
        (doc_id, line, text)
        for batch in ShardReader(path).batches()
        for doc_id, line, text in zip(batch.doc_ids, batch.lines, batch.texts, strict=True)
    ]


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def clean(
    tmp_path: Path,
    bench: Path,
    config: ScanConfig,
    mode: str = "drop-doc",
    out: str = "out",
    **kw: Any,
) -> DecontaminateResult:
    sources = resolve_benches([str(bench)], config, label_fields=("answer",))
    return decontaminate(str(tmp_path / "corpus"), sources, tmp_path / out, config, mode, **kw)


def rescan(tmp_path: Path, bench: Path, config: ScanConfig, folder: Path) -> dict[str, int]:
    """Items each preset calls contaminated in a scan of ``folder``."""
    sources = resolve_benches([str(bench)], config, label_fields=("answer",))
    result = scan(str(folder), sources, tmp_path / f"rescan-{folder.name}", config)
    return {r["preset"]: r["contaminated"] for r in result.benches.to_pylist()}


def removed(out: Path) -> list[dict[str, Any]]:
    table = pq.read_table(out / "_contam" / "removed.parquet")
    assert table.schema.equals(REMOVED_SCHEMA)
    return list(table.to_pylist())


def row(shard: Path, out_shard: Path | None, doc_id: str, line: int, action: str,
        start: int, end: int, items: list[str]) -> dict[str, Any]:  # fmt: skip
    return {
        "shard": str(shard), "out_shard": None if out_shard is None else str(out_shard),
        "doc_id": doc_id, "doc_line": line, "action": action, "char_start": start,
        "char_end": end, "chars_removed": end - start, "items": items,
    }  # fmt: skip


NO_PRESET_FLAGS = {"contam": 0, "gpt3": 0, "palm": 0, "llama2": 0, "gpt4": 0}


# cuts


@pytest.mark.parametrize(
    ("text", "spans", "margin", "regions", "pieces"),
    [
        # inside "two": out to the word's ends, then over the spaces around it
        ("one two three four", [(5, 6)], 0, [(3, 8, [0])], ["one", "three four"]),
        # the margin reaches into "one" (2 - 2 = 0) and "three" (6 + 2 = 8): whole words go
        ("one two three four", [(4, 7)], 2, [(0, 14, [0])], ["four"]),
        # punctuation stays with its word
        ("Hello, world", [(0, 5)], 0, [(0, 7, [0])], ["world"]),
        # two regions that touch once widened are one
        ("aa bb cc dd", [(3, 5), (6, 8)], 0, [(2, 9, [0, 1])], ["aa", "dd"]),
        # a CJK character is a word of its own: no whitespace needed
        ("子曰：學而時習之，不亦說乎？", [(3, 5)], 1, [(2, 6, [0])], ["子曰", "習之，不亦說乎？"]),
        # a word of no spaces is cut whole
        ("xxxxSPANxxxx more", [(4, 8)], 0, [(0, 13, [0])], ["more"]),
        ("abc def", [(4, 7)], 0, [(3, 7, [0])], ["abc"]),
    ],
)
def test_cut_regions_snap_to_whole_words_and_merge(
    text: str,
    spans: list[tuple[int, int]],
    margin: int,
    regions: list[tuple[int, int, list[int]]],
    pieces: list[str],
) -> None:
    assert cut_regions(text, spans, margin) == regions
    assert kept_pieces(text, regions) == pieces


# every format


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("mode", MODES)
def test_every_format_is_written_back_without_the_leak(
    tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig, fmt: str, mode: str
) -> None:
    txt = fmt == ".txt"
    src = write_shard(tmp_path / "corpus" / "sub" / f"shard{fmt}", RECORDS[1:2] if txt else RECORDS)
    other = write_jsonl(tmp_path / "corpus" / "other.jsonl", [{"id": "z", "text": CLEAN_A}])
    before = files_of(tmp_path / "corpus")

    result = clean(tmp_path, tiny_bench, tiny_config, mode, margin=0)

    out = tmp_path / "out"
    dst = out / "sub" / f"shard{fmt}"
    fox_id, fox_line = ("shard.txt", 1) if txt else ("b", 2)
    written = not (txt and mode == "drop-doc")  # a .txt shard of no document is not written
    assert dst.is_file() == written
    if mode == "drop-doc":
        expected = [] if txt else [("a", 1, CLEAN_A), ("c", 2, CLEAN_C)]
        rows = [row(src, dst if written else None, fox_id, fox_line, "drop-doc", 0, 73,
                    ["tiny:fox"])]  # fmt: skip
    else:
        expected = [(fox_id, 1, FOX_CUT)] if txt else [("a", 1, CLEAN_A), ("b", 2, FOX_CUT),
                                                       ("c", 3, CLEAN_C)]  # fmt: skip
        rows = [row(src, dst, fox_id, fox_line, "cut-span", 11, 57, ["tiny:fox"])]
    if written:
        assert docs_of(dst) == expected
    assert removed(out) == rows
    docs_in = 2 if txt else 4
    dropped, cut = (1, 0) if mode == "drop-doc" else (0, 1)
    assert (result.items, result.items_without_spans) == (1, [])
    assert (result.shards, result.shards_written) == (2, 1 + written)
    assert (result.docs_in, result.docs_out) == (docs_in, docs_in - dropped)
    assert (result.docs_dropped, result.docs_cut) == (dropped, cut)
    assert result.chars_removed == (73 if mode == "drop-doc" else 46)
    # the other fields of a record are kept, and the shard is in its own format
    if fmt == ".parquet":
        assert pq.read_schema(dst).equals(pq.read_schema(src))
        assert pq.read_table(dst).column("n").to_pylist() == ([1, 3] if cut == 0 else [1, 2, 3])
        assert pq.ParquetFile(dst).metadata.row_group(0).column(0).compression == "ZSTD"
    elif fmt == ".jsonl.gz":
        assert dst.read_bytes()[:2] == b"\x1f\x8b"
    elif fmt == ".jsonl.zst":
        assert dst.read_bytes()[:4] == b"\x28\xb5\x2f\xfd"
    # a shard without a leak is copied byte for byte; the inputs are untouched
    assert (out / "other.jsonl").read_bytes() == other.read_bytes()
    assert files_of(tmp_path / "corpus") == before
    # the key property: a scan of the cleaned corpus (which skips _contam/) finds nothing
    assert rescan(tmp_path, tiny_bench, tiny_config, out) == NO_PRESET_FLAGS


def test_untouched_lines_are_copied_byte_for_byte(
    tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig
) -> None:
    odd = b'{"id": "a",  "text": "caf\\u00e9, nothing here", "x": [1, 2.50]}'
    fox = json.dumps({"id": "b", "text": FOX, "meta": {"x": 1.0}}).encode()
    last = b'{"text":"the last line, without a newline"}'
    data = odd + b"\n\n" + fox + b"\n" + last  # a blank line: the fox is record 3
    src = tmp_path / "corpus" / "odd.jsonl.zst"
    src.parent.mkdir()
    src.write_bytes(zstandard.ZstdCompressor().compress(data))

    clean(tmp_path, tiny_bench, tiny_config, "cut-span", margin=0)
    cut = (
        zstandard.ZstdDecompressor()
        .decompressobj()
        .decompress((tmp_path / "out" / "odd.jsonl.zst").read_bytes())
    )
    # only the changed record is serialized anew (orjson: compact, keys in their order)
    assert (
        cut
        == odd + b'\n\n{"id":"b","text":"Intro here.\\nThen more words.","meta":{"x":1.0}}\n' + last
    )
    assert [r["doc_line"] for r in removed(tmp_path / "out")] == [3]

    clean(tmp_path, tiny_bench, tiny_config, "drop-doc", out="dropped")
    dropped = (
        zstandard.ZstdDecompressor()
        .decompressobj()
        .decompress((tmp_path / "dropped" / "odd.jsonl.zst").read_bytes())
    )
    assert dropped == odd + b"\n\n" + last


def test_skip_bad_leaves_out_unreadable_shards_and_copies_bad_lines(
    tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig
) -> None:
    lines = jsonl_bytes(RECORDS).splitlines(keepends=True)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.jsonl").write_bytes(b"".join(lines) + b"not json\r\n")
    broken = tmp_path / "corpus" / "broken.jsonl.gz"
    broken.write_bytes(b"not gzip at all")
    config = ScanConfig(ngram=tiny_config.ngram, index_dir=tiny_config.index_dir, skip_bad=True)
    result = clean(tmp_path, tiny_bench, config)
    # the scan skipped the bad line: it is not a document, so it is copied as it is
    assert (tmp_path / "out" / "a.jsonl").read_bytes() == lines[0] + lines[2] + b"not json\r\n"
    assert not (tmp_path / "out" / "broken.jsonl.gz").exists()
    assert (result.shards, result.shards_written, result.docs_in, result.docs_out) == (2, 1, 3, 2)
    state = json.loads((tmp_path / "out" / "_contam" / "decontaminate.json").read_text())
    assert state["skipped_shards"] == [str(broken)]


def test_a_changed_crlf_record_keeps_its_line_ending(
    tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig
) -> None:
    (tmp_path / "corpus").mkdir()
    src = tmp_path / "corpus" / "a.jsonl"
    src.write_bytes(jsonl_bytes(RECORDS).replace(b"\n", b"\r\n"))
    clean(tmp_path, tiny_bench, tiny_config, "cut-span", margin=0)
    assert (tmp_path / "out" / "a.jsonl").read_bytes().split(b"\n")[1] == (
        b'{"id":"b","text":"Intro here.\\nThen more words.","n":2}\r'
    )


# cut-span: margins, pieces


@pytest.mark.parametrize(
    ("margin", "text", "action", "start", "end"),
    [
        (0, FOX_CUT, "cut-span", 11, 57),
        # 12 - 5 = 7 is inside "here.", 55 + 5 = 60 inside "Then": both words go, and the
        # spaces beside them
        (5, "Intro\nmore words.", "cut-span", 5, 62),
        # the whole text is within 100 characters: nothing is left, the document is dropped
        (100, None, "drop-doc-all-cut", 0, 73),
    ],
)
def test_margin_is_snapped_to_whole_words(
    tmp_path: Path,
    tiny_bench: Path,
    tiny_config: ScanConfig,
    margin: int,
    text: str | None,
    action: str,
    start: int,
    end: int,
) -> None:
    src = write_jsonl(tmp_path / "corpus" / "a.jsonl", RECORDS)
    result = clean(tmp_path, tiny_bench, tiny_config, "cut-span", margin=margin)
    dst = tmp_path / "out" / "a.jsonl"
    fox = [("b", 2, text)] if text is not None else []
    assert docs_of(dst) == [("a", 1, CLEAN_A), *fox, ("c", 2 + len(fox), CLEAN_C)]
    assert removed(tmp_path / "out") == [row(src, dst, "b", 2, action, start, end, ["tiny:fox"])]
    assert result.chars_removed == end - start


MANY = (
    "A1 The quick brown fox jumps over the lazy dog. B2 What is the sum of seven and five? "
    "C3 The quick brown fox jumps over the lazy dog. D4"
)


@pytest.mark.parametrize("max_pieces", [3, 4])
def test_a_document_cut_into_too_many_pieces_is_dropped(
    tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig, max_pieces: int
) -> None:
    src = write_jsonl(tmp_path / "corpus" / "a.jsonl", [{"id": "m", "text": MANY}, RECORDS[0]])
    result = clean(tmp_path, tiny_bench, tiny_config, "cut-span", margin=0, max_pieces=max_pieces)
    dst = tmp_path / "out" / "a.jsonl"
    # spans: fox [3, 46), sum [51, 84), fox [89, 132); snapped over "." or "?" and the spaces
    # they become [2, 48), [50, 86), [88, 134) and leave four pieces: A1, B2, C3, D4
    if max_pieces == 3:
        assert docs_of(dst) == [("a", 1, CLEAN_A)]
        assert removed(tmp_path / "out") == [
            row(src, dst, "m", 1, "drop-doc-too-many-pieces", 0, 136, ["tiny:fox", "tiny:sum"])
        ]
        assert (result.docs_dropped, result.docs_cut) == (1, 0)
    else:
        assert docs_of(dst) == [("m", 1, "A1\nB2\nC3\nD4"), ("a", 2, CLEAN_A)]
        assert removed(tmp_path / "out") == [
            row(src, dst, "m", 1, "cut-span", 2, 48, ["tiny:fox"]),
            row(src, dst, "m", 1, "cut-span", 50, 86, ["tiny:sum"]),
            row(src, dst, "m", 1, "cut-span", 88, 134, ["tiny:fox"]),
        ]
        assert (result.docs_dropped, result.docs_cut, result.chars_removed) == (0, 1, 128)
    assert rescan(tmp_path, tiny_bench, tiny_config, tmp_path / "out")["contam"] == 0


def test_items_with_no_aligned_span_are_reported_not_removed(
    tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig
) -> None:
    # GPT-4's rule strips spaces and symbols: this holds the fox item's 35 letters in order,
    # but no 4-gram of its words, so no span; nothing can be cut, and the shard is copied
    src = write_jsonl(
        tmp_path / "corpus" / "a.jsonl",
        [{"id": "g", "text": "xx Thequickbrown-fox jumps_over thelazy dog yy"}],
    )
    config = ScanConfig(ngram=tiny_config.ngram, index_dir=tiny_config.index_dir, preset="gpt4")
    messages: list[str] = []
    result = clean(tmp_path, tiny_bench, config, log=messages.append)
    assert (result.items, result.items_without_spans, result.docs_dropped) == (1, ["tiny:fox"], 0)
    assert (
        messages[-1]
        == "1 of them have no aligned span, so nothing of them can be removed: tiny:fox"
    )
    assert (tmp_path / "out" / "a.jsonl").read_bytes() == src.read_bytes()
    state = json.loads((tmp_path / "out" / "_contam" / "decontaminate.json").read_text())
    assert state["items_without_spans"] == ["tiny:fox"]


# resume, workers


def three_shards(root: Path) -> None:
    write_shard(root / "a.jsonl", RECORDS)
    write_shard(root / "b" / "b.jsonl.zst", [{"id": "m", "text": MANY}, *RECORDS[:1]])
    write_shard(root / "c.parquet", RECORDS[::-1])


def outputs(out: Path) -> dict[str, Any]:
    """Everything a run wrote that does not name its own folder or time."""
    shards = {k: v for k, v in files_of(out).items() if not k.startswith("_contam")}
    rows = [{**r, "out_shard": Path(r["out_shard"]).name} for r in removed(out)]
    state = json.loads((out / "_contam" / "decontaminate.json").read_text())
    return {"shards": shards, "removed": rows, "totals": state["totals"]}


def test_resume_after_a_kill_equals_an_uninterrupted_run(
    tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    three_shards(tmp_path / "corpus")
    real = module.rewrite_shard

    def killed_in_a(src: Path, dst: Path, *args: Any, **kw: Any) -> None:
        real(src, dst, *args, **kw)  # the whole shard written to its temporary name
        if src.name.startswith("a"):
            raise KeyboardInterrupt

    monkeypatch.setattr(module, "rewrite_shard", killed_in_a)
    with pytest.raises(KeyboardInterrupt):
        clean(tmp_path, tiny_bench, tiny_config, "cut-span", margin=0)
    out = tmp_path / "out"
    # largest first: c.parquet (1,225 bytes) was finished and committed; a.jsonl (232) never
    # got its final name; b.jsonl.zst (154) was not begun
    assert (out / "c.parquet").is_file() and not (out / "a.jsonl").exists()
    assert sorted(files_of(out / "b")) == []
    assert [p.name.split("-")[0] for p in (out / "_contam" / "done").iterdir()] == ["c.parquet"]
    (out / ".a.jsonl.99999.tmp").write_bytes(b"half a shard")  # as a SIGKILL leaves it

    monkeypatch.setattr(module, "rewrite_shard", real)
    with pytest.raises(Exception, match="already holds a decontaminated corpus; pass --resume"):
        clean(tmp_path, tiny_bench, tiny_config, "cut-span", margin=0)
    resumed = ScanConfig(ngram=tiny_config.ngram, index_dir=tiny_config.index_dir, resume=True)
    clean(tmp_path, tiny_bench, resumed, "cut-span", margin=0)
    clean(tmp_path, tiny_bench, tiny_config, "cut-span", out="whole", margin=0)
    assert outputs(out) == outputs(tmp_path / "whole")  # the half shard is gone too
    assert sorted(files_of(out / "b")) == ["b.jsonl.zst"]


def test_two_workers_write_what_one_writes(
    tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig
) -> None:
    three_shards(tmp_path / "corpus")
    one = clean(tmp_path, tiny_bench, tiny_config, "cut-span", out="one", margin=0)
    two_workers = ScanConfig(ngram=tiny_config.ngram, index_dir=tiny_config.index_dir, workers=2)
    two = clean(tmp_path, tiny_bench, two_workers, "cut-span", out="two", margin=0)
    assert outputs(tmp_path / "one") == outputs(tmp_path / "two")
    assert (one.docs_in, one.docs_out, one.docs_dropped, one.docs_cut) == (8, 8, 0, 3)
    assert (two.docs_in, two.docs_out, two.docs_dropped, two.docs_cut) == (8, 8, 0, 3)


def test_a_shard_changed_since_the_scan_stops_the_run(
    tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = write_jsonl(tmp_path / "corpus" / "a.jsonl", RECORDS)
    real: Callable[..., Any] = module.scan_corpus

    def scan_then_edit(*args: Any, **kw: Any) -> Any:
        result = real(*args, **kw)
        write_jsonl(src, [RECORDS[0], RECORDS[2], RECORDS[1]])  # someone reorders the shard
        return result

    monkeypatch.setattr(module, "scan_corpus", scan_then_edit)
    with pytest.raises(ShardError) as err:
        clean(tmp_path, tiny_bench, tiny_config)
    assert str(err.value) == (
        f"{src}:2: document 'c' is not the one scanned ('b'); the shard changed since the scan "
        "(start again with another --out)"
    )
    assert not (tmp_path / "out" / "a.jsonl").exists()


# the command line


def run_cli(tmp_path: Path, bench: Path, *args: str) -> Any:
    tiny = ["--ngram", "4", "--short-min", "3", "--boilerplate-items", "3", "--label-field",
            "answer", "--index-dir", str(tmp_path / "indexes"), "--bench", str(bench)]  # fmt: skip
    return CliRunner().invoke(cli, ["decontaminate", *args, *tiny])


def test_cli_writes_the_clean_corpus_and_says_what_it_removed(
    tmp_path: Path, tiny_bench: Path
) -> None:
    write_jsonl(tmp_path / "corpus" / "a.jsonl", RECORDS)
    out = tmp_path / "out"
    result = run_cli(tmp_path, tiny_bench, str(tmp_path / "corpus"), "--out", str(out),
                     "--mode", "cut-span", "--margin", "0")  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()  # the summary, after the progress bars on stderr
    # 46 of 32 + 73 + 26 characters
    done = "removed the spans of 1 items (contam): 0 docs dropped, 1 cut, 46 characters (35.11%)"
    assert lines[lines.index(done) + 1] == (
        f"wrote 1 of 1 shards, 3 of 3 docs, to {out}/ (what was removed and why: "
        f"{out}/_contam/removed.parquet)"
    )
    assert docs_of(out / "a.jsonl")[1] == ("b", 2, FOX_CUT)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{c}", "--out", "{c}/clean"], "--out {c}/clean is the input folder {c} or inside it; "
         "choose a folder outside the corpus (the input files are never modified)"),
        (["{c}/a.jsonl", "--out", "{c}"], "--out {c} would overwrite the input shard "
         "{c}/a.jsonl; choose another --out (the input files are never modified)"),
        (["{c}", "--out", "{t}/full"], "{t}/full exists and is not an empty folder; choose "
         "another --out"),
        (["{c}", "--out", "{t}/o", "--mode", "cut-span", "--text-field", "id", "--text-field",
          "text"], "--mode cut-span rewrites one top-level text field, not id, text: name one "
         "--text-field, or use --mode drop-doc"),
        (["{c}", "--out", "{t}/o", "--mode", "cut-span", "--text-field", "meta.text"],
         "--mode cut-span rewrites one top-level text field, not meta.text: name one "
         "--text-field, or use --mode drop-doc"),
        (["{c}", "--out", "{t}/o", "--max-pieces", "0"], "max_pieces must be >= 1, got 0"),
        (["{c}", "--out", "{t}/o", "--margin", "-1"], "margin must be >= 0 characters, got -1"),
    ],
)  # fmt: skip
def test_cli_errors_are_one_line(
    tmp_path: Path, tiny_bench: Path, args: list[str], message: str
) -> None:
    corpus = tmp_path / "corpus"
    write_jsonl(corpus / "a.jsonl", RECORDS)
    write_jsonl(tmp_path / "full" / "x.jsonl", RECORDS)
    fill = {"c": str(corpus), "t": str(tmp_path)}
    result = run_cli(tmp_path, tiny_bench, *[a.format(**fill) for a in args])
    assert result.exit_code == 1
    assert result.output == f"Error: {message.format(**fill)}\n"
    assert not (corpus / "clean").exists()


def test_cli_resume_with_other_settings_is_refused(tmp_path: Path, tiny_bench: Path) -> None:
    write_jsonl(tmp_path / "corpus" / "a.jsonl", RECORDS)
    out = tmp_path / "out"
    first = run_cli(tmp_path, tiny_bench, str(tmp_path / "corpus"), "--out", str(out), "-q")
    assert first.exit_code == 0 and first.output == ""
    again = run_cli(tmp_path, tiny_bench, str(tmp_path / "corpus"), "--out", str(out), "-q",
                    "--resume", "--mode", "cut-span")  # fmt: skip
    assert again.exit_code == 1
    assert again.output == (
        f"Error: {out} holds a decontamination with other settings, benches or shards; it "
        "cannot be resumed with these (choose another --out)\n"
    )


# the real data


def test_real_corpus_rescanned_after_decontamination_is_clean(
    bench_dir: Path, corpus_dir: Path, shared_index_dir: Path, tmp_path: Path
) -> None:
    config = ScanConfig(bench_dir=bench_dir, index_dir=shared_index_dir, workers=2)
    before = files_of(corpus_dir / "chinese")

    def counts(result_rows: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
        return {(r["bench"], r["preset"]): r["contaminated"] for r in result_rows}

    result = decontaminate(str(corpus_dir), ["cmmlu", "ceval"], tmp_path / "clean", config)
    # the README's numbers: contam flags 6 CMMLU items and 1 C-Eval item, each copied in one
    # document of the Chinese classics; GPT-3's 13-gram rule 22 and 8
    flagged = counts(result.scan.benches.to_pylist())
    assert (flagged["cmmlu", "contam"], flagged["ceval", "contam"]) == (6, 1)
    assert (flagged["cmmlu", "gpt3"], flagged["ceval", "gpt3"]) == (22, 8)
    assert (result.items, result.docs_dropped, result.docs_in, result.docs_out) == (
        7, 7, 26_571, 26_564,
    )  # fmt: skip
    assert (result.shards, result.shards_written) == (14, 14)
    dropped = {r["doc_id"] for r in removed(tmp_path / "clean")}
    assert dropped == {"lunyu/13", "lunyu/16", "mengzi/03", "mengzi/04", "mengzi/13",
                       "mengxue-zengguangxianwen/01", "chuci/01"}  # fmt: skip

    rescanned = scan(str(tmp_path / "clean"), ["cmmlu", "ceval"], tmp_path / "rescan", config)
    after = counts(rescanned.benches.to_pylist())
    assert (after["cmmlu", "contam"], after["ceval", "contam"]) == (0, 0)
    # GPT-3's rule still flags 18 and 5: items sharing one 13-gram with a classic that is
    # quoted elsewhere in the corpus, below contam's threshold, so never removed
    assert (after["cmmlu", "gpt3"], after["ceval", "gpt3"]) == (18, 5)
    assert all(after[b, p] == 0 for b in ("cmmlu", "ceval") for p in ("palm", "llama2", "gpt4"))

    # cut-span on the Chinese folder alone: 7 documents cut (one of them in three places)
    cut = decontaminate(
        str(corpus_dir / "chinese"), ["cmmlu", "ceval"], tmp_path / "cut", config, "cut-span"
    )
    assert (cut.items, cut.docs_dropped, cut.docs_cut, cut.chars_removed) == (7, 0, 7, 2005)
    recut = scan(str(tmp_path / "cut"), ["cmmlu", "ceval"], tmp_path / "rescan-cut", config)
    assert all(r["contaminated"] == 0 for r in recut.benches.to_pylist() if r["chosen"])
    assert files_of(corpus_dir / "chinese") == before
