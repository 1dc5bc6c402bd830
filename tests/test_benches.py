import csv
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from contam.benches import iter_items, registry, resolve_bench, split_digest
from contam.errors import BenchError

REAL_COUNTS = {
    "mmlu": 14042,
    "mmlu:val": 1531,
    "gsm8k": 1319,
    "gsm8k:train": 7473,
    "humaneval": 164,
    "arc_challenge": 1172,
    "arc_easy": 2376,
    "truthfulqa": 817,
    "mbpp": 500,
    "piqa": 1838,
    "openbookqa": 500,
    "cmmlu": 11582,
    "ceval": 12342,
}


def test_registry_names_the_issue_benches() -> None:
    names = set(registry())
    assert {
        "mmlu",
        "gsm8k",
        "humaneval",
        "arc_challenge",
        "arc_easy",
        "truthfulqa",
        "mbpp",
        "piqa",
        "openbookqa",
    } <= names


@pytest.mark.parametrize("name", sorted(REAL_COUNTS))
def test_real_item_counts(name: str, bench_dir: Path) -> None:
    items = list(iter_items(resolve_bench(name, bench_dir)))
    assert len(items) == REAL_COUNTS[name]
    assert len({it.item_id for it in items}) == len(items)


def test_real_records_become_items(bench_dir: Path) -> None:
    mmlu = next(iter_items(resolve_bench("mmlu", bench_dir)))
    assert (mmlu.item_id, mmlu.group, mmlu.label_text) == (
        "test/abstract_algebra/0",
        "abstract_algebra",
        "B",
    )
    assert mmlu.input_text.splitlines()[1:] == ["0", "4", "2", "6"]
    he = next(iter_items(resolve_bench("humaneval", bench_dir)))
    assert he.item_id == "HumanEval/0" and he.input_text.startswith("from typing import List")
    arc = next(iter_items(resolve_bench("arc_challenge", bench_dir)))
    assert arc.item_id == "Mercury_7175875" and arc.label_text == "C"
    assert arc.input_text.count("\n") == 4  # stem + four choices
    mbpp = [it.item_id for it in iter_items(resolve_bench("mbpp", bench_dir))]
    assert (mbpp[0], mbpp[-1]) == ("11", "510")


def test_missing_data_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTAM_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(BenchError, match="contam benches fetch gsm8k"):
        resolve_bench("gsm8k", tmp_path / "empty")


def test_unknown_bench_and_split() -> None:
    with pytest.raises(BenchError, match="unknown bench 'mmlux'; known: arc_challenge"):
        resolve_bench("mmlux")
    with pytest.raises(BenchError, match="gsm8k has no split 'dev'; splits: test, train"):
        resolve_bench("gsm8k:dev")


def test_changed_file_fails_the_checksum(bench_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "gsm8k").mkdir()
    data = (bench_dir / "gsm8k" / "test.jsonl").read_bytes()
    (tmp_path / "gsm8k" / "test.jsonl").write_bytes(data.replace(b"Janet", b"Jenny", 1))
    with pytest.raises(BenchError, match="differ from the registered release"):
        resolve_bench("gsm8k", tmp_path)


def test_split_digest_definition(tmp_path: Path) -> None:
    import hashlib

    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x.txt").write_bytes(b"x")
    (tmp_path / "a.txt").write_bytes(b"a")
    lines = "".join(
        f"{p}\t{hashlib.sha256(d).hexdigest()}\n" for p, d in (("a.txt", b"a"), ("b/x.txt", b"x"))
    )
    assert (
        split_digest(tmp_path, ["b/x.txt", "a.txt"]) == hashlib.sha256(lines.encode()).hexdigest()
    )


ROWS = [{"id": "k1", "q": "First question?", "a": "yes"}, {"id": 7, "q": "Second one", "a": "no"}]


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_custom_bench_formats(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"mine{suffix}"
    if suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    elif suffix == ".csv":
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, ["id", "q", "a"])
            writer.writeheader()
            writer.writerows(ROWS)
    else:
        pq.write_table(pa.table({k: [str(r[k]) for r in ROWS] for k in ("id", "q", "a")}), path)
    source = resolve_bench(str(path), text_fields=("q", "a"))
    items = list(iter_items(source))
    assert source.name == "mine" and source.split == "custom"
    assert [(i.item_id, i.input_text) for i in items] == [
        ("k1", "First question?\nyes"),
        ("7", "Second one\nno"),
    ]


def test_custom_bench_errors(tmp_path: Path) -> None:
    bad = tmp_path / "dup.jsonl"
    bad.write_text('{"id": 1, "text": "a"}\n{"id": 1, "text": "b"}\n')
    with pytest.raises(BenchError, match=r"dup.jsonl:2: duplicate item id '1'"):
        list(iter_items(resolve_bench(str(bad))))
    missing = tmp_path / "nofield.jsonl"
    missing.write_text('{"id": 1, "question": "a"}\n')
    with pytest.raises(BenchError, match=r"nofield.jsonl:1: record has no field 'text'"):
        list(iter_items(resolve_bench(str(missing))))
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": 1, "text": "a"}\n{"id": 2, "text": \n')
    with pytest.raises(BenchError, match=r"broken.jsonl:2: invalid JSON"):
        list(iter_items(resolve_bench(str(broken))))
    with pytest.raises(BenchError, match="not found"):
        resolve_bench(str(tmp_path / "absent.jsonl"))


def test_bench_dir_from_environment(
    bench_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "humaneval").mkdir()
    shutil.copy(bench_dir / "humaneval" / "HumanEval.jsonl.gz", tmp_path / "humaneval")
    monkeypatch.setenv("CONTAM_BENCH_DIR", str(tmp_path))
    assert resolve_bench("humaneval").files[0][0] == tmp_path / "humaneval" / "HumanEval.jsonl.gz"
