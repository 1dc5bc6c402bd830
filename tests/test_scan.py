"""The scan end to end on a corpus small enough to check every number by hand (n=4)."""

from __future__ import annotations

import importlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from contam.config import ScanConfig
from contam.errors import ReportError
from contam.report import ShardCommit
from contam.scan import scan
from tests.conftest import TINY_ITEMS, write_jsonl

# `contam.scan` is the function; the module is reached by name.
scan_module = importlib.import_module("contam.scan")

D1 = "Yesterday THE QUICK, brown fox jumps! over a lazy dog."
D2 = "capital of\nPERU -- lima"
D3 = "She asked: what is the sum of seven?"
D4 = "Which of the following is true?"
D5 = "why because"


def tiny_corpus(root: Path) -> Path:
    write_jsonl(root / "a.jsonl", [{"id": "d1", "text": D1}, {"id": "d2", "text": D2}])
    write_jsonl(
        root / "sub" / "b.jsonl",
        [{"id": "d3", "text": D3}, {"id": "d4", "text": D4}, {"id": "d5", "text": D5}],
    )
    return root


def run(tmp_path: Path, tiny_bench: Path, config: ScanConfig, out: str = "out") -> dict[str, Any]:
    from contam.scan import resolve_benches

    sources = resolve_benches([str(tiny_bench)], config, label_fields=("answer",))
    scan(str(tmp_path / "corpus"), sources, tmp_path / out, config)
    return {
        name: pq.read_table(tmp_path / out / f"{name}.parquet").to_pylist()
        for name in ("items", "matches", "benches")
    }


@pytest.fixture
def report(tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig) -> dict[str, Any]:
    tiny_corpus(tmp_path / "corpus")
    return run(tmp_path, tiny_bench, tiny_config)


def by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["item_id"]: row for row in report["items"]}


def test_partial_recased_repunctuated_copy(report: dict[str, Any]) -> None:
    fox = by_id(report)["fox"]
    # D1 holds "the quick brown fox jumps over" (6 tokens, 3 of the item's 4-grams), then
    # "a lazy dog" where the item says "the lazy dog": the aligned span extends over the
    # changed word to "dog" (2 matches for 1 edit), covering all 9 input tokens.
    assert (fox["input_tokens"], fox["full_tokens"]) == (9, 11)
    assert (fox["input_ngrams"], fox["input_ngrams_matched"]) == (6, 3)
    assert fox["input_coverage"] == 1.0
    assert (fox["input_longest_run"], fox["input_edits"], fox["input_docs"]) == (9, 1, 1)
    assert (fox["full_ngrams"], fox["full_ngrams_matched"]) == (8, 3)
    assert fox["full_coverage"] == pytest.approx(9 / 11)
    # the published presets count exact 8- and 13-grams (whatever the seed n): a 6-token
    # run holds neither, and Llama 2 needs 10 matched tokens before any mismatch

    assert not (fox["gpt3_input"] or fox["palm_input"] or fox["llama2_input"])
    # the label "a dog" is not covered: the question leaked, the answer did not
    assert fox["label_coverage"] == 0.0
    assert fox["input_contaminated"] and not fox["full_contaminated"] and fox["contaminated"]


def test_line_wrapped_short_item_matched_whole(report: dict[str, Any]) -> None:
    peru = by_id(report)["peru"]
    # input "capital of peru" (3 tokens < n) is found whole; input+label "... lima" is one 4-gram
    assert (peru["input_ngrams"], peru["input_ngrams_matched"], peru["input_coverage"]) == (1, 1, 1)
    assert (peru["full_ngrams"], peru["full_ngrams_matched"], peru["full_coverage"]) == (1, 1, 1)
    assert (peru["input_longest_run"], peru["full_longest_run"]) == (3, 4)
    assert peru["label_coverage"] == 1.0 and peru["full_contaminated"]


def test_question_without_answer(report: dict[str, Any]) -> None:
    item = by_id(report)["sum"]
    assert (item["input_ngrams_matched"], item["input_longest_run"]) == (3, 6)
    assert item["input_coverage"] == pytest.approx(6 / 8)
    assert item["full_coverage"] == pytest.approx(6 / 9)
    assert item["contaminated"] and not item["full_contaminated"]


def test_boilerplate_and_too_short_items_stay_clean(report: dict[str, Any]) -> None:
    items = by_id(report)
    for q in ("q1", "q2", "q3"):
        assert items[q]["boilerplate_ngrams"] == 2
        assert items[q]["input_ngrams_matched"] == 0 and not items[q]["contaminated"]
    assert items["tiny"]["input_ngrams"] == items["tiny"]["full_ngrams"] == 0
    assert not items["tiny"]["contaminated"]


def test_matches_name_document_and_original_offsets(report: dict[str, Any], tmp_path: Path) -> None:
    rows = [
        (
            m["item_id"],
            Path(m["shard"]).name,
            m["doc_id"],
            m["doc_line"],
            m["char_start"],
            m["char_end"],
            m["matched_tokens"],
            m["input_part"],
        )
        for m in report["matches"]
    ]
    end_of_dog = D1.index("dog") + 3
    assert rows == [
        ("fox", "a.jsonl", "d1", 1, 10, end_of_dog, 8, True),
        ("peru", "a.jsonl", "d2", 2, 0, len(D2), 4, True),
        ("sum", "b.jsonl", "d3", 1, D3.index("what"), len(D3) - 1, 6, True),
    ]
    assert D1[10:end_of_dog] == "THE QUICK, brown fox jumps! over a lazy dog"


def test_bench_summary(report: dict[str, Any]) -> None:
    rows = report["benches"]
    assert [r["preset"] for r in rows] == ["contam", "gpt3", "palm", "llama2", "gpt4"]
    assert [r["chosen"] for r in rows] == [True, False, False, False, False]
    assert rows[0] == {
        "bench": "tiny",
        "split": "custom",
        "preset": "contam",
        "chosen": True,
        "items": 7,
        "contaminated": 3,
        "contaminated_fraction": 3 / 7,
        "input_contaminated": 3,
        "full_contaminated": 1,
        "clean": 4,
        "docs_scanned": 5,
        "tokens_scanned": 10 + 4 + 8 + 6 + 2,
        "chars_scanned": sum(len(d) for d in (D1, D2, D3, D4, D5)),
    }


def test_item_ids_are_the_custom_files_values(report: dict[str, Any]) -> None:
    assert [r["item_id"] for r in report["items"]] == [r["id"] for r in TINY_ITEMS]
    assert {r["bench"] for r in report["items"]} == {"tiny"}


def test_documents_repeating_items_match_them_fully(
    tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig
) -> None:
    """Items and documents share normalize and tokenize: an item copied is found entirely."""
    docs = [{"id": r["id"], "text": f"{r['text']}\n{r['answer']}"} for r in TINY_ITEMS]
    write_jsonl(tmp_path / "corpus" / "copies.jsonl", docs)
    items = by_id(run(tmp_path, tiny_bench, tiny_config))
    for item_id in ("fox", "sum", "peru"):
        assert items[item_id]["input_coverage"] == items[item_id]["full_coverage"] == 1.0
    # q2's first two tokens are reached only by its boilerplate 4-grams: coverage is measured
    # on the other 5, all found.
    assert items["q2"]["input_coverage"] == 1.0


def test_non_ascii_document_offsets(
    tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig
) -> None:
    doc = "«Ｔｈｅ ｑｕｉｃｋ brown fox jumps over» the lazy dog!"
    write_jsonl(tmp_path / "corpus" / "w.jsonl", [{"id": "w", "text": doc}])
    report = run(tmp_path, tiny_bench, tiny_config)
    (m,) = report["matches"]
    assert (
        doc[m["char_start"] : m["char_end"]]
        == "Ｔｈｅ ｑｕｉｃｋ brown fox jumps over» the lazy dog"
    )
    assert by_id(report)["fox"]["input_coverage"] == 1.0


def test_two_workers_give_the_same_report(
    tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig, report: dict[str, Any]
) -> None:
    config = ScanConfig(ngram=tiny_config.ngram, index_dir=tiny_config.index_dir, workers=2)
    assert run(tmp_path, tiny_bench, config, out="out2") == report


def test_files_of_no_shard_format_are_named_in_the_log(
    tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig, report: dict[str, Any]
) -> None:
    from contam.scan import resolve_benches

    corpus = tmp_path / "corpus"
    (corpus / "sub" / "c.jsonl.bz2").write_bytes(b"")
    (corpus / "README.md").write_text("about this corpus")
    sources = resolve_benches([str(tiny_bench)], tiny_config, label_fields=("answer",))
    said: list[str] = []
    scan(str(corpus), sources, tmp_path / "out3", tiny_config, log=said.append)
    note = f"not read, of no shard format: {corpus / 'README.md'}, {corpus / 'sub' / 'c.jsonl.bz2'}"
    assert f"{note} (2 files)" in said
    assert pq.read_table(tmp_path / "out3" / "items.parquet").to_pylist() == report["items"]


@pytest.mark.parametrize("threads", [1, 3])
def test_threads_give_the_same_report(
    tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig, report: dict[str, Any], threads: int
) -> None:
    config = ScanConfig(ngram=tiny_config.ngram, index_dir=tiny_config.index_dir, threads=threads)
    assert run(tmp_path, tiny_bench, config, out=f"out-t{threads}") == report


def test_one_shard_on_two_threads_gives_the_same_report(
    tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig
) -> None:
    """Fewer shards than threads: the one shard's batches are split over both threads."""
    tiny_corpus(tmp_path / "corpus")
    (tmp_path / "corpus" / "sub" / "b.jsonl").unlink()
    assert scan_module.shard_threads(tiny_config, 1) == (1, 2)
    one = replace(tiny_config, threads=1)
    assert run(tmp_path, tiny_bench, tiny_config, "t2") == run(tmp_path, tiny_bench, one, "t1")


@pytest.mark.parametrize(
    ("workers", "threads", "shards", "expected"),
    [
        (1, None, 1, (1, 2)),  # one shard: its batches split over the two threads
        (1, None, 5, (2, 1)),  # a thread per shard
        (2, None, 1, (1, 1)),
        (2, 4, 3, (2, 2)),  # two shards a worker at most: two threads each
        (1, 3, 2, (2, 1)),
    ],
)
def test_shard_threads(
    workers: int, threads: int | None, shards: int, expected: tuple[int, int]
) -> None:
    config = ScanConfig(workers=workers, threads=threads)
    assert scan_module.shard_threads(config, shards) == expected


def test_killed_scan_resumes_without_loss_or_double_count(
    tmp_path: Path,
    tiny_bench: Path,
    tiny_config: ScanConfig,
    report: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = scan_module.scan_shard
    scanned: list[str] = []

    def killed_on_a(path: Path, *args: Any) -> ShardCommit:
        if path.name == "a.jsonl":
            raise KeyboardInterrupt
        scanned.append(path.name)
        return real(path, *args)

    monkeypatch.setattr(scan_module, "scan_shard", killed_on_a)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, tiny_bench, tiny_config, out="killed")
    assert json.loads((tmp_path / "killed" / "run.json").read_text())["status"] == "running"
    (tmp_path / "killed" / "shards" / "half-written.tmp").mkdir()  # a commit cut short

    def counting(path: Path, *args: Any) -> ShardCommit:
        scanned.append(path.name)
        return real(path, *args)

    monkeypatch.setattr(scan_module, "scan_shard", counting)
    with pytest.raises(Exception, match="--resume"):
        run(tmp_path, tiny_bench, tiny_config, out="killed")
    resumed = ScanConfig(ngram=tiny_config.ngram, index_dir=tiny_config.index_dir, resume=True)
    assert run(tmp_path, tiny_bench, resumed, out="killed") == report
    assert scanned == ["b.jsonl", "a.jsonl"]  # b (the larger) once before the kill, a after
    assert not (tmp_path / "killed" / "shards" / "half-written.tmp").exists()


def test_shards_are_scanned_largest_first(
    tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tiny_corpus(tmp_path / "corpus")
    write_jsonl(corpus / "c.jsonl", [{"id": "d6", "text": D1 + " " + D3}] * 9)  # the largest
    real = scan_module.scan_shard
    scanned: list[str] = []

    def recording(path: Path, *args: Any) -> ShardCommit:
        scanned.append(path.name)
        return real(path, *args)

    monkeypatch.setattr(scan_module, "scan_shard", recording)
    run(tmp_path, tiny_bench, replace(tiny_config, threads=1))
    assert scanned == ["c.jsonl", "b.jsonl", "a.jsonl"]  # 1,044, 153 and 128 bytes


def test_resume_refuses_other_settings(
    tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig, report: dict[str, Any]
) -> None:
    other = ScanConfig(
        ngram=tiny_config.ngram, index_dir=tiny_config.index_dir, resume=True, threshold=0.9
    )
    out = tmp_path / "out"
    with pytest.raises(ReportError, match=f"^{out} holds a scan with other threshold; it cannot"):
        run(tmp_path, tiny_bench, other)
    write_jsonl(tmp_path / "corpus" / "c.jsonl", [{"id": "d6", "text": D1}])
    with pytest.raises(ReportError, match="holds a scan with other threshold, shards; it cannot"):
        run(tmp_path, tiny_bench, other)


def test_resume_scans_again_a_shard_replaced_since_its_commit(
    tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig, report: dict[str, Any]
) -> None:
    from contam.scan import resolve_benches

    # b.jsonl (D3 D4 D5) is replaced by a file of another size holding D1 only
    write_jsonl(tmp_path / "corpus" / "sub" / "b.jsonl", [{"id": "d9", "text": D1}])
    fresh = run(tmp_path, tiny_bench, tiny_config, out="fresh")
    sources = resolve_benches([str(tiny_bench)], tiny_config, label_fields=("answer",))
    said: list[str] = []
    again = replace(tiny_config, resume=True)
    scan(str(tmp_path / "corpus"), sources, tmp_path / "out", again, log=said.append)
    assert "resume: 1 of 2 shards already done; 1 changed since, scanned again" in said
    resumed = {
        name: pq.read_table(tmp_path / "out" / f"{name}.parquet").to_pylist()
        for name in ("items", "matches", "benches")
    }
    assert resumed == fresh != report


def test_resume_with_a_cut_run_json_is_one_error(
    tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig, report: dict[str, Any]
) -> None:
    run_json = tmp_path / "out" / "run.json"
    run_json.write_text(run_json.read_text()[:100])
    with pytest.raises(ReportError, match=f"^{run_json}: not a scan's run.json \\("):
        run(tmp_path, tiny_bench, replace(tiny_config, resume=True))
    assert not list(run_json.parent.glob("run.json.*"))  # written in place, whole


def test_threads_default_to_two_for_one_worker_and_one_for_more() -> None:
    assert ScanConfig().worker_threads == 2
    assert ScanConfig(workers=2).worker_threads == 1
    assert ScanConfig(workers=2, threads=3).worker_threads == 3
