"""``contam export``: clean and dirty subsets in the bench's own record format."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from contam.cli import cli
from contam.config import ScanConfig
from contam.errors import ReportError
from contam.export import export_subset
from contam.results import ScanReport
from tests.conftest import SHARED, TINY_ITEMS
from tests.test_scan import run, tiny_corpus

BY_ID = {r["id"]: r for r in TINY_ITEMS}


@pytest.fixture
def tiny_report(tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig) -> ScanReport:
    """contam: fox, sum and peru dirty; gpt3: only peru (see tests/test_summary.py)."""
    tiny_corpus(tmp_path / "corpus")
    run(tmp_path, tiny_bench, tiny_config)
    return ScanReport.open(tmp_path / "out")


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_dirty_and_clean_records_are_the_originals(tiny_report: ScanReport, tmp_path: Path) -> None:
    done = export_subset(tiny_report, "tiny", "dirty", tmp_path / "dirty.jsonl")
    assert (done.selected, done.items, done.preset) == (3, 7, "contam")
    assert read_jsonl(tmp_path / "dirty.jsonl") == [BY_ID["fox"], BY_ID["sum"], BY_ID["peru"]]
    export_subset(tiny_report, "tiny", "clean", tmp_path / "clean.jsonl")
    clean = [r["id"] for r in read_jsonl(tmp_path / "clean.jsonl")]
    assert clean == ["tiny", "q1", "q2", "q3"]


def test_another_preset_decides(tiny_report: ScanReport, tmp_path: Path) -> None:
    export_subset(tiny_report, "tiny", "dirty", tmp_path / "d.jsonl", preset="gpt3")
    assert read_jsonl(tmp_path / "d.jsonl") == [BY_ID["peru"]]
    # Llama 2 flags nothing and every item is below its 20%: all seven are clean.
    done = export_subset(tiny_report, "tiny", "clean", tmp_path / "c.jsonl", preset="llama2")
    assert done.selected == 7


def test_csv_parquet_and_id_column(tiny_report: ScanReport, tmp_path: Path) -> None:
    export_subset(tiny_report, "tiny", "dirty", tmp_path / "d.csv", id_column="item")
    with open(tmp_path / "d.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["item", "id", "text", "answer"]
    assert rows[1] == ["fox", "fox", BY_ID["fox"]["text"], "a dog"]
    export_subset(tiny_report, "tiny", "dirty", tmp_path / "d.parquet")
    assert pq.read_table(tmp_path / "d.parquet").to_pylist() == [
        BY_ID["fox"], BY_ID["sum"], BY_ID["peru"],
    ]  # fmt: skip
    with pytest.raises(ReportError, match="already have a field 'id'"):
        export_subset(tiny_report, "tiny", "dirty", tmp_path / "x.jsonl", id_column="id")


def test_folder_keeps_the_bench_layout(tiny_report: ScanReport, tmp_path: Path) -> None:
    export_subset(tiny_report, "tiny", "clean", tmp_path / "subset")
    assert [p.name for p in (tmp_path / "subset").iterdir()] == ["tiny.jsonl"]
    assert len(read_jsonl(tmp_path / "subset" / "tiny.jsonl")) == 4
    with pytest.raises(ReportError, match="exists and is not empty"):
        export_subset(tiny_report, "tiny", "clean", tmp_path / "subset")


def test_errors(tiny_report: ScanReport, tiny_bench: Path, tmp_path: Path) -> None:
    with pytest.raises(
        ReportError, match=r"bench mmlu was not scanned .* \(benches: tiny:custom\)"
    ):
        export_subset(tiny_report, "mmlu", "clean", tmp_path / "x.jsonl")
    with pytest.raises(ReportError, match="unknown output format"):
        export_subset(tiny_report, "tiny", "clean", tmp_path / "x.txt")
    tiny_bench.write_text(tiny_bench.read_text().replace("Lima", "Cusco"))
    with pytest.raises(ReportError, match="differ from the ones scanned"):
        export_subset(tiny_report, "tiny", "clean", tmp_path / "x.jsonl")


def test_export_command(tiny_report: ScanReport, tmp_path: Path) -> None:
    out = tmp_path / "d.jsonl"
    args = ["export", str(tiny_report.folder), "--bench", "tiny", "--subset", "dirty", "--out"]
    result = CliRunner().invoke(cli, [*args, str(out)])
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote 3 dirty items of tiny:custom (of 7, by contam) to {out}\n"


def test_real_subsets(shared_report: Path, tmp_path: Path) -> None:
    report = ScanReport.open(shared_report)
    bench_dir = SHARED / "benchmarks"
    done = export_subset(report, "cmmlu", "dirty", tmp_path / "d.jsonl", bench_dir=bench_dir,
                         id_column="item_id")  # fmt: skip
    ids = [r["item_id"] for r in read_jsonl(tmp_path / "d.jsonl")]
    assert done.selected == 6
    assert ids == [
        "test/chinese_history/196",
        "test/chinese_teacher_qualification/49",
        "test/chinese_teacher_qualification/81",
        "test/college_education/90",
        "test/elementary_chinese/30",  # file order
        "test/elementary_chinese/111",
    ]
    # MMLU is clean, so its clean subset in the original layout parses to the release's rows.
    done = export_subset(report, "mmlu", "clean", tmp_path / "mmlu", bench_dir=bench_dir)
    assert done.selected == 14042
    files = sorted((tmp_path / "mmlu" / "mmlu" / "test").iterdir())
    assert len(files) == 57
    for f in files[:3]:
        original = bench_dir / "mmlu" / "test" / f.name
        with open(f, newline="") as a, open(original, newline="", encoding="utf-8-sig") as b:
            assert list(csv.reader(a)) == list(csv.reader(b))
    done = export_subset(report, "cmmlu", "clean", tmp_path / "cmmlu", bench_dir=bench_dir)
    assert done.selected == 11576


def test_parquet_bench_folder_gets_the_id_column(tmp_path: Path, tiny_config: ScanConfig) -> None:
    bench = tmp_path / "tiny.parquet"
    pq.write_table(pa.Table.from_pylist(TINY_ITEMS), bench)
    tiny_corpus(tmp_path / "corpus")
    run(tmp_path, bench, tiny_config)
    report = ScanReport.open(tmp_path / "out")
    export_subset(report, "tiny", "dirty", tmp_path / "subset", id_column="item")
    rows = pq.read_table(tmp_path / "subset" / "tiny.parquet").to_pylist()
    assert rows == [{"item": r["id"], **r} for r in (BY_ID["fox"], BY_ID["sum"], BY_ID["peru"])]
