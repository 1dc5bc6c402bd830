"""``contam report``: the roll-ups of `contam.results` and their text, Markdown and JSON forms.

The tiny scan of tests/test_scan.py (n=4) is checked by hand: contam flags fox (input, one
edit), sum (6 of its 8 distinctive tokens) and peru (question and answer, in d2); GPT-3's and
PaLM's rules only peru (the others have no exact 4-gram run long enough); Llama 2 and GPT-4
nothing. The real scan is the README's (five benches over ../shared/data/corpus).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from contam.cli import cli
from contam.config import ScanConfig
from contam.errors import ReportError
from contam.results import ScanReport
from contam.summary import render, summary_data
from tests.test_scan import run, tiny_corpus


@pytest.fixture
def tiny_report(tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig) -> Path:
    tiny_corpus(tmp_path / "corpus")
    run(tmp_path, tiny_bench, tiny_config)
    return tmp_path / "out"


def test_rates_split_input_only_from_input_and_label(tiny_report: Path) -> None:
    rates = {r["preset"]: r for r in ScanReport.open(tiny_report).rates()}
    assert [r for r in rates] == ["contam", "gpt3", "palm", "llama2", "gpt4"]
    contam = rates["contam"]
    assert (contam["items"], contam["contaminated"], contam["input_only"]) == (7, 3, 2)
    assert (contam["input_and_label"], contam["clean"]) == (1, 4)
    assert contam["contaminated_fraction"] == pytest.approx(3 / 7)
    assert [rates[p]["contaminated"] for p in ("gpt3", "palm", "llama2", "gpt4")] == [1, 1, 0, 0]


def test_top_documents_by_items_then_matched_tokens(tiny_report: Path) -> None:
    docs = ScanReport.open(tiny_report).top_documents()
    rows = [(d["doc_id"], d["doc_line"], d["items"], d["spans"], d["matched_tokens"]) for d in docs]
    assert rows == [("d1", 1, 1, 1, 8), ("d3", 1, 1, 1, 6), ("d2", 2, 1, 1, 4)]
    assert ScanReport.open(tiny_report).top_documents("gpt3")[0]["doc_id"] == "d2"
    assert ScanReport.open(tiny_report).top_documents(limit=1)[0]["doc_id"] == "d1"


def test_text_summary(tiny_report: Path) -> None:
    text = render(summary_data(ScanReport.open(tiny_report)), "text")
    lines = text.splitlines()
    assert lines[0].startswith(f"scan {tiny_report}: 2 shards, 5 docs, 30 tokens")
    assert lines[1].startswith("definition: contam (threshold 0.5), fingerprint nfkc.cf.cjk_4g")
    assert "tiny   custom      7  3 (42.86%)  1 (14.29%)  1 (14.29%)  0 (0.00%)  0 (0.00%)" in lines
    assert "tiny   custom      7             3           2            1      4" in lines
    assert "Per subject" not in text  # a custom bench has no groups


def test_markdown_summary(tiny_report: Path) -> None:
    text = render(summary_data(ScanReport.open(tiny_report)), "markdown")
    assert "| bench | split | items | contam* | gpt3 | palm | llama2 | gpt4 |" in text
    assert "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |" in text
    assert (
        "| tiny | custom | 7 | 3 (42.86%) | 1 (14.29%) | 1 (14.29%) | 0 (0.00%) | 0 (0.00%) |"
        in text
    )


def test_json_summary_round_trips(tiny_report: Path) -> None:
    data = json.loads(render(summary_data(ScanReport.open(tiny_report), "gpt3", 5), "json"))
    assert data["preset"] == "gpt3"
    assert data["corpus"]["docs"] == 5
    assert [d["doc_id"] for d in data["top_documents"]] == ["d2"]
    assert len(data["rates"]) == 5


def test_report_command(tiny_report: Path) -> None:
    result = CliRunner().invoke(cli, ["report", str(tiny_report), "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert "### What leaked (contam)" in result.output


def test_report_of_a_folder_without_a_scan(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["report", str(tmp_path)])
    assert result.exit_code == 1
    assert (
        result.output
        == f"Error: {tmp_path}: no scan report here (no run.json); run contam scan first\n"
    )


def test_report_of_an_unfinished_scan(tiny_report: Path) -> None:
    run_json = tiny_report / "run.json"
    run_json.write_text(json.dumps({**json.loads(run_json.read_text()), "status": "running"}))
    with pytest.raises(ReportError, match=r"did not finish; continue it with .* --resume"):
        ScanReport.open(tiny_report)


def test_unknown_preset_is_refused(tiny_report: Path) -> None:
    with pytest.raises(ReportError, match="unknown preset 'gpt5'"):
        ScanReport.open(tiny_report).groups("gpt5")


def test_real_scan_rates_subjects_and_documents(shared_report: Path) -> None:
    report = ScanReport.open(shared_report)
    flagged = {(r["bench"], r["preset"]): r for r in report.rates() if r["contaminated"]}
    assert {k: v["contaminated"] for k, v in flagged.items()} == {
        ("cmmlu", "contam"): 6, ("cmmlu", "gpt3"): 22, ("ceval", "contam"): 1, ("ceval", "gpt3"): 8,
    }  # fmt: skip
    # C-Eval's test split has no labels: its item is "input+label" with an empty label.
    assert (flagged["cmmlu", "contam"]["input_only"], flagged["ceval", "contam"]["input_only"]) == (
        6,
        0,
    )
    groups = report.groups()
    assert {b: sum(g["bench"] == b for g in groups) for b in ("mmlu", "cmmlu", "ceval")} == {
        "mmlu": 57, "cmmlu": 67, "ceval": 52,
    }  # fmt: skip
    assert sum(g["items"] for g in groups if g["bench"] == "mmlu") == 14042
    assert [(g["bench"], g["group"], g["items"], g["contaminated"]) for g in groups
            if g["contaminated"]] == [
        ("cmmlu", "chinese_history", 323, 1),
        ("cmmlu", "chinese_teacher_qualification", 179, 2),
        ("cmmlu", "college_education", 107, 1),
        ("cmmlu", "elementary_chinese", 252, 2),
        ("ceval", "teacher_qualification", 399, 1),
    ]  # fmt: skip
    top = report.top_documents()
    assert [(d["doc_id"], d["items"], d["spans"], d["matched_tokens"]) for d in top[:2]] == [
        ("chuci/01", 2, 4, 58),
        ("mengzi/13", 1, 2, 52),
    ]
    assert len(top) == 7 and {d["benches"] for d in top} == {"cmmlu", "ceval"}
