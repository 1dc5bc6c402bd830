"""Each published definition on hand-built items at its thresholds' edges, end to end.

Items are made of words that occur nowhere else, so every number below is counted by hand:
an item's n-grams are found exactly where the corpus copies them.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from contam.config import ScanConfig
from contam.scan import scan
from tests.conftest import write_jsonl

_rng = random.Random(7)
_used: set[str] = set()


def words(count: int) -> list[str]:
    """``count`` fresh random words (letters only: numbers have their own alignment rule)."""
    out = []
    while len(out) < count:
        w = "".join(_rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(7))
        if w not in _used:
            _used.add(w)
            out.append(w)
    return out


def filler() -> str:
    return " ".join(words(30))


ITEMS = {
    "gpt3_9": words(13),  # one 13-gram, copied into 9 documents
    "gpt3_10": words(13),  # ... into 10: "frequent", ignored by GPT-3
    "palm_70": words(17),  # ten 8-grams; the first 14 tokens copied: 7 of 10 found
    "palm_60": words(17),  # the first 13 tokens: 6 of 10
    "llama_80": words(50),  # the first 40 tokens copied: 80% in a >= 10-token span
    "llama_78": words(50),  # the first 39: 78%
    "llama_20": words(50),  # 10 tokens: 20% (not clean)
    "llama_19": words(51),  # 10 of 51: 19.6% (clean)
    "skip_4": words(30),  # copied with 4 words changed after the first 10
    "skip_5": words(30),  # ... with 5
}


def changed(tokens: list[str], positions: list[int]) -> list[str]:
    out = list(tokens)
    for p in positions:
        out[p] = words(1)[0]
    return out


def corpus() -> list[dict[str, str]]:
    copies: list[list[str]] = []
    copies += [ITEMS["gpt3_9"]] * 9
    copies += [ITEMS["gpt3_10"]] * 10
    copies += [ITEMS["palm_70"][:14], ITEMS["palm_60"][:13]]
    copies += [ITEMS["llama_80"][:40], ITEMS["llama_78"][:39]]
    copies += [ITEMS["llama_20"][20:30], ITEMS["llama_19"][20:30]]
    copies += [changed(ITEMS["skip_4"], [12, 15, 18, 21])]
    copies += [changed(ITEMS["skip_5"], [12, 15, 18, 21, 24])]
    return [
        {"id": f"d{k}", "text": f"{filler()} {' '.join(c)} {filler()}"}
        for k, c in enumerate(copies)
    ]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("presets")
    bench = write_jsonl(
        root / "edges.jsonl", [{"id": k, "text": " ".join(v)} for k, v in ITEMS.items()]
    )
    write_jsonl(root / "corpus" / "docs.jsonl", corpus())
    config = ScanConfig(index_dir=root / "indexes", quiet=True)
    scan(str(root / "corpus"), [str(bench)], root / "out", config)
    return root / "out"


@pytest.fixture(scope="module")
def items(root: Path) -> dict[str, dict[str, Any]]:
    return {r["item_id"]: r for r in pq.read_table(root / "items.parquet").to_pylist()}


@pytest.fixture(scope="module")
def benches(root: Path) -> dict[str, dict[str, Any]]:
    return {r["preset"]: r for r in pq.read_table(root / "benches.parquet").to_pylist()}


def test_gpt3_13gram_seen_9_times_counts_10_times_is_ignored(
    items: dict[str, dict[str, Any]],
) -> None:
    assert (items["gpt3_9"]["gpt3_input_found"], items["gpt3_9"]["gpt3_frequent"]) == (1, 0)
    assert items["gpt3_9"]["gpt3_input"]
    assert (items["gpt3_10"]["gpt3_input_found"], items["gpt3_10"]["gpt3_frequent"]) == (0, 1)
    assert not items["gpt3_10"]["gpt3_input"]
    # contam has no frequency cut: an item copied ten times is contaminated ten times over
    assert items["gpt3_10"]["contam_input"]


def test_palm_exactly_70_percent_of_8grams(items: dict[str, dict[str, Any]]) -> None:
    assert items["palm_70"]["palm_input_fraction"] == pytest.approx(0.7)
    assert items["palm_70"]["palm_input"]
    assert items["palm_60"]["palm_input_fraction"] == pytest.approx(0.6)
    assert not items["palm_60"]["palm_input"]
    # 14 and 13 copied tokens both hold a 13-gram: GPT-3 flags both
    assert items["palm_70"]["gpt3_input"] and items["palm_60"]["gpt3_input"]


def test_llama2_80_and_20_percent_of_tokens(items: dict[str, dict[str, Any]]) -> None:
    assert items["llama_80"]["llama2_input_fraction"] == 0.8
    assert items["llama_80"]["llama2_input"]
    assert items["llama_78"]["llama2_input_fraction"] == 0.78
    assert not items["llama_78"]["llama2_input"]
    assert items["llama_20"]["llama2_input_fraction"] == 0.2  # "not clean" (>= 20%)
    assert items["llama_19"]["llama2_input_fraction"] == pytest.approx(10 / 51)  # clean


def test_llama2_skip_budget_of_four(items: dict[str, dict[str, Any]]) -> None:
    # 4 changed words after an exact 10-token start: the span runs to the end
    assert items["skip_4"]["llama2_input_fraction"] == 1.0
    # the 5th mismatch (token 24) ends the span at its last match, token 23
    assert items["skip_5"]["llama2_input_fraction"] == pytest.approx(24 / 30)
    # contam chains the exact runs of >= 8 tokens across the changed words (skip_4: 0-12 and
    # 22-30); skip_5 has one such run (0-12), and its end is extended over at most
    # max_gap + 8 = 16 tokens: to token 28 of 30, with the 5 changed words as edits
    assert (items["skip_4"]["input_coverage"], items["skip_4"]["input_edits"]) == (1.0, 4)
    assert (items["skip_5"]["input_coverage"], items["skip_5"]["input_edits"]) == (28 / 30, 5)


def test_bench_rows_count_llama2_buckets(benches: dict[str, dict[str, Any]]) -> None:
    llama = benches["llama2"]
    # dirty: llama_80, skip_4, skip_5, gpt3_9 and gpt3_10 (whole), palm_70 (14 of 17 tokens);
    # not palm_60 (13 of 17: 76%)
    assert llama["contaminated"] == 6
    # clean (< 20%): llama_19 only ... every other item has a copied span of >= 10 tokens
    assert llama["clean"] == 1 and llama["items"] == 10


def test_no_copy_no_verdict(items: dict[str, dict[str, Any]]) -> None:
    for name in ("gpt3", "palm", "llama2", "contam"):
        assert not items["llama_19"][f"{name}_input"], name
