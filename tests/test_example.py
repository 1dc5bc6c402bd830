"""The README's first command, on the bundled example: exactly the planted items are found."""

from pathlib import Path

import pyarrow.parquet as pq
from click.testing import CliRunner

from contam.cli import cli
from tests.conftest import EXAMPLES

PLANTED = {"quiz-003", "quiz-007", "quiz-011", "quiz-015", "quiz-022", "quiz-030", "quiz-038"}


def test_bundled_example(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, [
        "scan", str(EXAMPLES / "corpus"), "--bench", str(EXAMPLES / "quiz.jsonl"),
        "--label-field", "answer", "--out", str(tmp_path / "out"),
        "--index-dir", str(tmp_path / "indexes"),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "bench  split   items  contam      %  input  input+label  gpt3  palm  llama2  gpt4" in (
        result.output
    )
    # palm misses the half copy (42% of 8-grams < 70%), llama2 it and the 8-word item (< 10),
    # gpt4 (case-sensitive) the upper-cased copy
    assert "quiz   custom     40       7  17.50      7            1     7     6       5     6" in (
        result.output
    )
    assert "scanned 6 shards, 63 docs, 34,880 tokens" in result.output
    items = {r["item_id"]: r for r in pq.read_table(tmp_path / "out" / "items.parquet").to_pylist()}
    assert {k for k, r in items.items() if r["contaminated"]} == PLANTED
    assert {k for k, r in items.items() if r["full_contaminated"]} == {"quiz-011"}
    assert items["quiz-022"]["input_coverage"] == 0.5  # half its words, planted
    assert items["quiz-030"]["input_docs"] == 2
    assert items["quiz-038"]["input_ngrams"] == 1  # 8 words: one 8-gram
    assert {k for k, r in items.items() if r["gpt4_input"]} == PLANTED - {"quiz-007"}
    # MinHash windows are item + label sized: the copies without a long answer, the half copy
    # and the short item stay below Jaccard 0.7; no unplanted item is a near-duplicate
    near = {k: r for k, r in items.items() if r["near_dup_jaccard"] is not None}
    assert set(near) == {"quiz-007", "quiz-011", "quiz-015", "quiz-030"}
    assert all(
        r["near_dup_jaccard"] >= 0.7 and r["near_dup_containment"] > 0.9 for r in near.values()
    )
    matches = pq.read_table(tmp_path / "out" / "matches.parquet").to_pylist()
    assert sorted(m["item_id"] for m in matches) == sorted([*PLANTED, "quiz-030"])
