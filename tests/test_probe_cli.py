"""``contam probe`` and ``contam probe-eval`` through click's CliRunner: exit codes, one-line
errors, early failure on a missing extra, the summary tables and the files written."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result
from conftest import TINY_ITEMS, write_jsonl
from test_probe_helpers import tiny_model_dir

from contam.cli import cli
from contam.probe.tables import fmt


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def assert_one_line_error(result: Result, start: str, *parts: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.output.startswith(f"Error: {start}"), result.output
    assert result.output.count("\n") == 1, result.output
    for part in parts:
        assert part in result.output


def test_both_commands_are_in_the_main_group() -> None:
    result = run("--help")
    assert "probe " in result.output and "probe-eval" in result.output
    assert "Example:" in run("probe", "--help").output
    assert "Example:" in run("probe-eval", "--help").output


def test_missing_model_is_a_one_line_error(tmp_path: Path, tiny_bench: Path) -> None:
    result = run("probe", "--model", str(tmp_path / "nope.gguf"), "--bench", str(tiny_bench),
                 "--out", str(tmp_path / "out"))  # fmt: skip
    assert_one_line_error(result, "model ", "nope.gguf not found",
                          "give a model folder or a .gguf file")  # fmt: skip
    assert not (tmp_path / "out").exists()


def test_missing_extra_fails_before_the_bench_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = str(tiny_model_dir())  # made first: transformers remembers a missing torch
    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch were not installed
    result = run("probe", "--model", model, "--bench", "no-such-bench.jsonl",
                 "--out", str(tmp_path / "out"))  # fmt: skip
    assert_one_line_error(result, "the transformers backend needs torch",
                          "pip install 'contam[probe]'")  # fmt: skip
    result = run("probe-eval", "--members", "a.jsonl", "--nonmembers", "b.jsonl",
                 "--model", model, "--out", str(tmp_path / "e"))  # fmt: skip
    assert_one_line_error(result, "the transformers backend needs torch",
                          "pip install 'contam[probe]'")  # fmt: skip


def test_usage_errors(tmp_path: Path, tiny_bench: Path) -> None:
    out = ["--bench", str(tiny_bench), "--out", str(tmp_path / "out")]
    result = run("probe", *out)
    assert result.exit_code == 2 and "name the model" in result.output
    result = run("probe", "--model-name", "x", *out)
    assert result.exit_code == 2 and "add --endpoint" in result.output
    result = run("probe", "--model", str(tiny_model_dir()), "--k", "0", *out)
    assert_one_line_error(result, "k must be in (0, 1], got 0.0")


def test_sharded_with_too_few_items_is_a_one_line_error(tmp_path: Path, tiny_bench: Path) -> None:
    result = run("probe", "--model", str(tiny_model_dir()), "--bench", str(tiny_bench),
                 "--sharded", "--shards", "5", "--out", str(tmp_path / "out"), "-q")  # fmt: skip
    assert_one_line_error(result, "the sharded test needs at least 2 items per shard",
                          "7 items of tiny, 5 shards (use --shards 3 or fewer)")  # fmt: skip
    assert not (tmp_path / "out").exists()


def test_probe_prints_a_table_and_writes_reports(tmp_path: Path, tiny_bench: Path) -> None:
    out = tmp_path / "out"
    result = run("probe", "--model", str(tiny_model_dir()), "--bench", str(tiny_bench),
                 "--label-field", "answer", "--sharded", "--shards", "3", "--permutations",
                 "4", "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    scores = pq.read_table(out / "scores.parquet")
    sharded = pq.read_table(out / "sharded.parquet").to_pylist()[0]
    loss = scores.column("loss").to_pylist()
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["bench", "split", "items", "tokens", "mean", "loss", "sharded",
                                "p"]  # fmt: skip
    tokens = sum(scores.column("tokens").to_pylist())
    assert lines[1].split() == ["tiny", "custom", "7", f"{tokens:,}",
                                fmt(sum(loss) / len(loss)), fmt(sharded["p_value"])]  # fmt: skip
    read = json.loads((out / "run.json").read_text())["tokens_read"]
    # items, items lower-cased (the tiny bench is mixed case), 3 shards x 5 orders
    assert read > 2 * tokens
    assert lines[2].startswith(f"the model read {read:,} tokens in ")
    assert lines[3] == (f"reports in {out}/ (scores.parquet, sharded.parquet, "
                        "sharded_shards.parquet)")  # fmt: skip
    assert "probe" in result.stderr and "sharded tiny" in result.stderr  # the tqdm bars
    assert len(TINY_ITEMS) == scores.num_rows


def test_quiet_prints_nothing(tmp_path: Path, tiny_bench: Path) -> None:
    result = run("probe", "--model", str(tiny_model_dir()), "--bench", str(tiny_bench),
                 "--no-lowercase", "--out", str(tmp_path / "out"), "-q")  # fmt: skip
    assert result.exit_code == 0 and result.output == ""
    assert (tmp_path / "out" / "scores.parquet").is_file()


def test_probe_eval_prints_every_metric(tmp_path: Path) -> None:
    members = write_jsonl(tmp_path / "m.jsonl", [{"id": i, "text": r["text"]} for i, r in
                                                 enumerate(TINY_ITEMS[:4])])  # fmt: skip
    nonmembers = write_jsonl(tmp_path / "n.jsonl", [{"id": i, "text": r["answer"]} for i, r in
                                                    enumerate(TINY_ITEMS)])  # fmt: skip
    out = tmp_path / "eval"
    result = run("probe-eval", "--members", str(members), "--nonmembers", str(nonmembers),
                 "--model", str(tiny_model_dir()), "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = pq.read_table(out / "eval.parquet").to_pylist()
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["metric", "members", "nonmembers", "auroc", "tpr@5%fpr",
                                "member", "if"]  # fmt: skip
    for line, row in zip(lines[1:8], rows, strict=True):
        assert line.split() == [row["metric"], str(row["members"]), str(row["nonmembers"]),
                                fmt(row["auroc"]), fmt(row["tpr_at_5_fpr"]),
                                "low" if row["member_if_low"] else "high"]  # fmt: skip
    assert lines[8] == f"reports in {out}/ (eval.parquet, scores.parquet)"
