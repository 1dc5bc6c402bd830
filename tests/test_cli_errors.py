"""Every bad input ends the scan with one ``Error: ...`` line and exit code 1, no traceback."""

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result
from conftest import TINY_ITEMS, write_jsonl

from contam.cli import cli

TINY_OPTS = ["--ngram", "4", "--short-min", "3", "--boilerplate-items", "3"]
GOOD_DOCS = [
    {"id": "leak", "text": "Yesterday the quick brown fox jumps over the lazy dog again."},
    {"id": "clean", "text": "Nothing to see in this document."},
]


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def scan(tmp_path: Path, bench: str | Path, *args: str) -> Result:
    """``contam scan`` with the tiny settings, quiet; into ``tmp_path/out`` if no --out."""
    out = [] if "--out" in args else ["--out", str(tmp_path / "out")]
    return run(
        "scan",
        *args,
        *out,
        "--bench",
        str(bench),
        *TINY_OPTS,
        "--index-dir",
        str(tmp_path / "indexes"),
        "-q",
    )


def assert_one_line_error(result: Result, start: str, *parts: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # handled, not a crash
    assert result.output.startswith(f"Error: {start}"), result.output
    assert result.output.count("\n") == 1 and result.output.endswith("\n"), result.output
    assert "Traceback" not in result.output
    for part in parts:
        assert part in result.output


BAD_SHARDS = [
    ("cut.jsonl.gz", gzip.compress(b'{"text": "a"}\n' * 50)[:-12], "", "cannot read shard ("),
    ("bad.jsonl", b'{"text": "ok"}\n{"text": \n', ":2", "invalid JSON ("),
    ("nofield.jsonl", b'{"id": 1, "body": "x"}\n', ":1", "record has no text at 'text'"),
    ("latin1.jsonl", b'{"text": "ok"}\n{"text": "caf\xe9"}\n', ":2", "not valid UTF-8"),
    ("empty.jsonl", b"", "", "empty shard (no documents)"),
    ("junk.parquet", b"not parquet at all", "", "cannot read Parquet shard ("),
    ("junk.jsonl.zst", b"\x28\xb5\x2f\xfd" + b"not a zstd frame" * 4, "", "cannot read shard ("),
]


@pytest.mark.parametrize(("name", "data", "line", "reason"), BAD_SHARDS)
def test_bad_shard_is_one_error_line_naming_file_and_line(
    tmp_path: Path, tiny_bench: Path, name: str, data: bytes, line: str, reason: str
) -> None:
    shard = tmp_path / "corpus" / name
    shard.parent.mkdir()
    shard.write_bytes(data)
    assert_one_line_error(scan(tmp_path, tiny_bench, str(shard)), f"{shard}{line}: {reason}")


def test_missing_text_field_names_the_option(tmp_path: Path, tiny_bench: Path) -> None:
    shard = write_jsonl(tmp_path / "corpus" / "docs.jsonl", [{"id": 1, "body": "x"}])
    result = scan(tmp_path, tiny_bench, str(shard))
    assert_one_line_error(result, f"{shard}:1: ", "(fields: id, body; use --text-field)")


def test_unknown_bench(tmp_path: Path) -> None:
    shard = write_jsonl(tmp_path / "corpus" / "docs.jsonl", GOOD_DOCS)
    result = scan(tmp_path, "nosuchbench", str(shard))
    assert_one_line_error(result, "unknown bench 'nosuchbench'; known: ", "mmlu", "gsm8k")


def test_threads_out_of_range(tmp_path: Path, tiny_bench: Path) -> None:
    shard = write_jsonl(tmp_path / "corpus" / "docs.jsonl", GOOD_DOCS)
    result = scan(tmp_path, tiny_bench, str(shard), "--threads", "0")
    assert_one_line_error(result, "threads must be between 1 and 64, got 0")


def test_out_folder_holding_a_scan_needs_resume(tmp_path: Path, tiny_bench: Path) -> None:
    shard = write_jsonl(tmp_path / "corpus" / "docs.jsonl", GOOD_DOCS)
    assert scan(tmp_path, tiny_bench, str(shard)).exit_code == 0
    result = scan(tmp_path, tiny_bench, str(shard))
    assert_one_line_error(result, f"{tmp_path / 'out'} already holds a scan; pass --resume")


def test_prebuilt_index_with_other_settings(tmp_path: Path, tiny_bench: Path) -> None:
    built = run(
        "build-index",
        "--bench",
        str(tiny_bench),
        "--ngram",
        "5",
        "--short-min",
        "3",
        "--boilerplate-items",
        "3",
        "--index-dir",
        str(tmp_path / "prebuilt"),
    )
    assert built.exit_code == 0, built.output
    (folder,) = (tmp_path / "prebuilt" / "tiny").glob("*_5g_s3_b3_*")
    shard = write_jsonl(tmp_path / "corpus" / "docs.jsonl", GOOD_DOCS)
    result = scan(tmp_path, tiny_bench, str(shard), "--index", str(folder))
    assert_one_line_error(
        result,
        f"{folder}: index built with ngram=",
        "rebuild with: contam build-index --bench tiny",
    )


def test_skip_bad_reports_bad_records_and_shards(tmp_path: Path, tiny_bench: Path) -> None:
    corpus = tmp_path / "corpus"
    write_jsonl(corpus / "a_good.jsonl", GOOD_DOCS)
    (corpus / "b_bad.jsonl").write_bytes(b'{"id": "ok", "text": "fine"}\n{"text": \n')
    corrupt = corpus / "c_cut.jsonl.gz"
    corrupt.write_bytes(gzip.compress(b'{"text": "a"}\n' * 50)[:-12])
    out = tmp_path / "out"
    result = run(
        "scan",
        str(corpus),
        "--out",
        str(out),
        "--bench",
        str(tiny_bench),
        *TINY_OPTS,
        "--index-dir",
        str(tmp_path / "indexes"),
        "--skip-bad",
    )
    assert result.exit_code == 0, result.output
    assert "skipped 1 bad records and 1 bad shards (see run.json)" in result.output
    report = json.loads((out / "run.json").read_text())
    assert report["skipped_records"] == 1
    assert report["skipped_shards"] == [str(corrupt)]
    assert report["totals"]["docs"] == 3
    bad = [s["bad"] for s in report["shards"] if s["shard"].endswith("b_bad.jsonl")]
    assert bad[0][0].startswith(f"{corpus / 'b_bad.jsonl'}:2: invalid JSON")
    items = pq.read_table(out / "items.parquet").to_pylist()
    assert {r["item_id"]: r["contaminated"] for r in items} == {
        item["id"]: item["id"] == "fox" for item in TINY_ITEMS
    }


def test_python_dash_m_contam_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "contam", "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "Usage: " in done.stdout
    for command in ("scan", "build-index", "benches"):
        assert command in done.stdout
