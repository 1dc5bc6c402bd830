"""The disclosure card: every number traced to the scan, and the same audit gives the same card."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from click.testing import CliRunner

from contam.card import card_data, card_markdown, write_card
from contam.cli import cli
from contam.config import ScanConfig
from contam.results import ScanReport
from tests.test_scan import run, tiny_corpus


def test_card_of_the_tiny_scan(tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig) -> None:
    corpus = tiny_corpus(tmp_path / "corpus")
    run(tmp_path, tiny_bench, tiny_config)
    card = card_data(ScanReport.open(tmp_path / "out"))
    shards = card["corpus"]["shards"]
    files = [corpus / "a.jsonl", corpus / "sub" / "b.jsonl"]
    assert [s["path"] for s in shards] == [str(f) for f in files]
    assert [s["bytes"] for s in shards] == [f.stat().st_size for f in files]
    assert [s["sha256"] for s in shards] == [
        hashlib.sha256(f.read_bytes()).hexdigest() for f in files
    ]
    assert [s["documents"] for s in shards] == [2, 3]
    assert card["corpus"]["total_bytes"] == sum(f.stat().st_size for f in files)
    assert card["benchmarks"] == [
        {
            "bench": "tiny",
            "split": "custom",
            "items": 7,
            "sha256": hashlib.sha256(tiny_bench.read_bytes()).hexdigest(),
            "file": "tiny.jsonl",
        }
    ]
    assert card["matching"]["seed_ngram"] == 4
    assert card["matching"]["boilerplate_items"] == 3
    presets = {p["name"]: p for p in card["definitions"]["presets"]}
    assert presets["contam"]["rule"].endswith("cover >= 0.5 of the distinctive tokens")
    assert presets["palm"]["parameters"] == {"ngram": 8, "fraction": 0.7}
    results = {r["preset"]: r for r in card["results"]}
    assert (results["contam"]["contaminated"], results["contam"]["rate"]) == (3, 0.428571)
    assert (results["contam"]["input_only"], results["contam"]["input_and_label"]) == (2, 1)
    assert results["gpt3"]["contaminated"] == 1
    md = card_markdown(card)
    row = "| tiny | custom | 7 | 3 (42.86%) | 1 (14.29%) | 1 (14.29%) | 0 (0.00%) | 0 (0.00%) |"
    assert row + " 2 | 1 |" in md
    assert f"`{shards[0]['sha256']}`" in md


def test_same_audit_same_card(tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig) -> None:
    """Two scans of the same inputs, at different times, give byte-identical cards."""
    tiny_corpus(tmp_path / "corpus")
    run(tmp_path, tiny_bench, tiny_config, out="one")
    run(tmp_path, tiny_bench, tiny_config, out="two")
    one = write_card(ScanReport.open(tmp_path / "one"))
    two = write_card(ScanReport.open(tmp_path / "two"), tmp_path / "cards")
    assert [p.read_bytes() for p in one] == [p.read_bytes() for p in two]
    assert two[0] == tmp_path / "cards" / "card.md"


def test_card_command(tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig) -> None:
    tiny_corpus(tmp_path / "corpus")
    run(tmp_path, tiny_bench, tiny_config)
    result = CliRunner().invoke(cli, ["card", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        str(tmp_path / "out" / "card.md"),
        str(tmp_path / "out" / "card.json"),
    ]
    assert json.loads((tmp_path / "out" / "card.json").read_text())["card_format"] == 1


def test_card_of_the_real_scan(shared_report: Path) -> None:
    card = card_data(ScanReport.open(shared_report))
    assert len(card["corpus"]["shards"]) == 14
    assert card["corpus"]["documents"] == 26571
    assert all(len(s["sha256"]) == 64 for s in card["corpus"]["shards"])
    benches = {b["bench"]: b for b in card["benchmarks"]}
    assert benches["mmlu"]["items"] == 14042
    assert benches["mmlu"]["license"] == "MIT"
    assert benches["cmmlu"]["sha256"].startswith("59ee950163dd")
    flagged = {
        (r["bench"], r["preset"]): r["contaminated"] for r in card["results"] if r["contaminated"]
    }
    assert flagged == {
        ("cmmlu", "contam"): 6,
        ("cmmlu", "gpt3"): 22,
        ("ceval", "contam"): 1,
        ("ceval", "gpt3"): 8,
    }
