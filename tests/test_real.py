"""The scan on the real benchmarks and corpus in ../shared/data, with items planted by hand."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from contam.benches import iter_items, registry, resolve_bench
from contam.config import ScanConfig
from contam.records import BenchItem
from contam.scan import scan
from tests.conftest import write_jsonl

BENCHES = ["mmlu", "gsm8k", "humaneval", "arc_challenge", "truthfulqa"]


def item(bench_dir: Path, bench: str, item_id: str) -> BenchItem:
    return next(i for i in iter_items(resolve_bench(bench, bench_dir)) if i.item_id == item_id)


def wrap(text: str, words: int = 7) -> str:
    tokens = text.split()
    return "\n".join(" ".join(tokens[i : i + words]) for i in range(0, len(tokens), words))


def planted_corpus(bench_dir: Path, corpus_dir: Path, root: Path) -> dict[tuple[str, str], str]:
    """Real KJV chapters and CC web pages with five real items planted five ways."""
    mmlu = item(bench_dir, "mmlu", "test/college_biology/3")
    gsm = item(bench_dir, "gsm8k", "test/42")
    he = item(bench_dir, "humaneval", "HumanEval/12")
    arc = item(bench_dir, "arc_challenge", "Mercury_7175875")
    tqa = item(bench_dir, "truthfulqa", "0")  # "What happens to you if you eat watermelon seeds?"
    plants = {
        ("mmlu", mmlu.item_id): f"Quiz time! {mmlu.input_text}\nAnswer: {mmlu.label_text}",
        ("gsm8k", gsm.item_id): gsm.input_text.upper(),
        ("humaneval", he.item_id): wrap(he.input_text),
        ("arc_challenge", arc.item_id): re.sub(r"[.,?]", " ; ", arc.input_text),
        ("truthfulqa", tqa.item_id): f"People often ask: {tqa.input_text.lower()}",
    }
    chapters = [
        json.loads(line)
        for line in (corpus_dir / "books" / "kjv_bible_by_chapter.jsonl")
        .read_text()
        .splitlines()[:60]
    ]
    for k, text in enumerate(plants.values()):
        doc = chapters[10 * k + 3]
        cut = len(doc["text"]) // 2
        doc["text"] = f"{doc['text'][:cut]} {text} {doc['text'][cut:]}"
    write_jsonl(root / "kjv.jsonl", chapters)
    web = (
        corpus_dir
        / "web_commoncrawl_dolma"
        / "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
    )
    (root / "web.jsonl.gz").write_bytes(web.read_bytes())
    return plants


def test_planted_real_items_are_found_and_nothing_else(
    bench_dir: Path, corpus_dir: Path, shared_index_dir: Path, tmp_path: Path
) -> None:
    plants = planted_corpus(bench_dir, corpus_dir, tmp_path / "corpus")
    config = ScanConfig(bench_dir=bench_dir, index_dir=shared_index_dir, quiet=True)
    scan(str(tmp_path / "corpus"), BENCHES, tmp_path / "out", config)
    items = pq.read_table(tmp_path / "out" / "items.parquet")
    dirty = {(r["bench"], r["item_id"]): r for r in items.to_pylist() if r["contaminated"]}
    assert set(dirty) == set(plants)
    for key, row in dirty.items():
        assert row["input_coverage"] == 1.0, key
        assert row["input_docs"] == 1, key
    # the MMLU plant carries its answer letter after "Answer:": the aligned span extends over
    # the inserted word to the letter, so question and answer leaked, with one edit
    mmlu = dirty["mmlu", "test/college_biology/3"]
    assert mmlu["full_coverage"] == 1.0 and mmlu["full_edits"] == 1
    assert mmlu["label_coverage"] == 1.0 and mmlu["full_contaminated"]
    # the GSM8K question leaked without its solution: 61% of input + label, 0% of the label
    gsm = dirty["gsm8k", "test/42"]
    assert gsm["full_coverage"] > 0.5 and gsm["label_coverage"] == 0.0
    assert gsm["input_contaminated"] and not gsm["full_contaminated"]
    # the TruthfulQA question has 9 tokens: two 8-grams, too short for Llama 2's 10-token spans
    tqa = dirty["truthfulqa", "0"]
    assert tqa["input_ngrams"] == 2 and tqa["gpt3_input"] and tqa["palm_input"]
    assert not tqa["llama2_input"] and tqa["llama2_input_fraction"] == 0.0
    benches = [
        b for b in pq.read_table(tmp_path / "out" / "benches.parquet").to_pylist() if b["chosen"]
    ]
    assert [(b["bench"], b["items"], b["contaminated"]) for b in benches] == [
        ("mmlu", 14042, 1),
        ("gsm8k", 1319, 1),
        ("humaneval", 164, 1),
        ("arc_challenge", 1172, 1),
        ("truthfulqa", 817, 1),
    ]
    assert benches[0]["docs_scanned"] == 60 + 697


def test_match_offsets_point_at_the_planted_text(
    bench_dir: Path, corpus_dir: Path, shared_index_dir: Path, tmp_path: Path
) -> None:
    plants = planted_corpus(bench_dir, corpus_dir, tmp_path / "corpus")
    config = ScanConfig(bench_dir=bench_dir, index_dir=shared_index_dir, quiet=True)
    scan(str(tmp_path / "corpus"), ["gsm8k"], tmp_path / "out", config)
    (m,) = pq.read_table(tmp_path / "out" / "matches.parquet").to_pylist()
    docs = {
        json.loads(x)["id"]: json.loads(x)["text"]
        for x in (tmp_path / "corpus" / "kjv.jsonl").read_text().splitlines()
    }
    # a span runs from the first matched token to the last: the final "?" is not a token
    planted = plants[("gsm8k", "test/42")]
    assert docs[m["doc_id"]][m["char_start"] : m["char_end"]] == planted.rstrip("?")


def test_every_item_copied_is_found_whole(
    bench_dir: Path, shared_index_dir: Path, tmp_path: Path
) -> None:
    """Items and documents share normalization: each of 300 real items, as a document, is
    fully covered (boilerplate aside) — the symmetry the matcher rests on."""
    items = list(iter_items(resolve_bench("mmlu", bench_dir)))[::47]
    write_jsonl(
        tmp_path / "c" / "copies.jsonl",
        [{"id": i.item_id, "text": i.full_text} for i in items],
    )
    config = ScanConfig(bench_dir=bench_dir, index_dir=shared_index_dir, quiet=True)
    scan(str(tmp_path / "c"), ["mmlu"], tmp_path / "out", config)
    copied = {i.item_id for i in items}
    rows = [
        r
        for r in pq.read_table(tmp_path / "out" / "items.parquet").to_pylist()
        if r["item_id"] in copied
    ]
    assert len(rows) == len(items) == 299
    assert all(r["input_coverage"] == r["full_coverage"] == 1.0 for r in rows)
    # 19 moral_scenarios items end in the same four choice pairs and letter as hundreds of
    # others (and one abstract_algebra "True, True / False, False ..." item, one
    # professional_law item): their label has no distinctive 8-gram, so "input + label"
    # cannot be confirmed by contam. The published presets have no such filter.
    unconfirmed = [r for r in rows if not r["full_contaminated"]]
    assert all(r["label_coverage"] is None for r in unconfirmed)
    groups = [r["group"] for r in unconfirmed]
    assert sorted(set(groups)) == ["abstract_algebra", "moral_scenarios", "professional_law"]
    assert groups.count("moral_scenarios") == 19 and len(groups) == 21
    assert all(r["gpt3_full"] and r["palm_full"] and r["llama2_full"] for r in rows)
    assert all(r["label_coverage"] == 1.0 for r in rows if r not in unconfirmed)


def test_english_corpus_is_clean(
    bench_dir: Path, corpus_dir: Path, shared_index_dir: Path, tmp_path: Path
) -> None:
    """SOURCES.md: no corpus document shares a 13-gram with these test sets."""
    config = ScanConfig(bench_dir=bench_dir, index_dir=shared_index_dir, quiet=True, workers=2)
    paths = [str(p) for p in corpus_dir.iterdir() if p.is_dir() and p.name != "chinese"]
    result = scan(paths, [*BENCHES, "mbpp"], tmp_path / "out", config)
    flagged = {
        (b["bench"], b["preset"]): b["contaminated"]
        for b in result.benches.to_pylist()
        if b["contaminated"]
    }
    # GPT-3's raw rule flags four MBPP items whose tests count "1, 2, 3, ... 14": web pages
    # and CPython's sources count too ("Pages 1 2 3 ... 41"). contam, aligning one document
    # with one item at a time, does not.
    assert flagged == {("mbpp", "gpt3"): 4}
    # web 697 + 3 x 10; wikitext 2 .txt files; books 1 .txt + 1,189 chapters; 562 code files and
    # LICENSE-PSF.txt (a .txt is one document)
    assert result.run["totals"]["docs"] == 727 + 2 + 1190 + 563


#: SOURCES.md's 31 poetry documents that share a 13-gram with CMMLU/C-Eval (test and val).
NATURAL = (
    "lunyu/02 03 06 07 11 13 14 16; mengzi/01 02 03 06 11; guwenguanzhi/017 057 062 065 081 "
    "095 125 190; shijing/205; chuci/01; nalanxingde/002; songci300/143 205 215; "
    "quansongci-0/089; quansongci-1000/467; yuanqu/00233 00392"
)


def test_chinese_classics_quoted_by_exam_items(
    bench_dir: Path, corpus_dir: Path, shared_index_dir: Path, tmp_path: Path
) -> None:
    expected = {
        f"{g.split('/')[0]}/{n}" for g in NATURAL.split("; ") for n in g.split("/")[1].split()
    }
    config = ScanConfig(bench_dir=bench_dir, index_dir=shared_index_dir, quiet=True)
    scan(str(corpus_dir / "chinese"), ["cmmlu", "ceval", "ceval:val"], tmp_path / "out", config)
    matches = tmp_path / "out" / "matches.parquet"
    found = {
        r[0]
        for r in duckdb.sql(
            f"SELECT DISTINCT doc_id FROM '{matches}' WHERE longest_exact >= 13"
        ).fetchall()
    }
    assert len(expected) == 31
    # Two more hold Su Shi's "人有悲欢离合，月有阴晴圆缺，此事古难全" (17 characters), quoted by
    # CMMLU modern_chinese/87: real overlaps the SOURCES.md list does not name.
    assert found == expected | {"songci300/039", "quansongci-1000/459"}


def test_gzip_json_shard_is_read(corpus_dir: Path) -> None:
    with gzip.open(corpus_dir / "web_commoncrawl_dolma" / "provided_documents_000.json.gz") as f:
        assert sum(1 for _ in f) == 10


def test_all_registry_benches_in_one_pass_give_each_bench_its_own_results(
    bench_dir: Path, corpus_dir: Path, shared_index_dir: Path, tmp_path: Path
) -> None:
    planted_corpus(bench_dir, corpus_dir, tmp_path / "corpus")
    config = ScanConfig(bench_dir=bench_dir, index_dir=shared_index_dir, quiet=True)
    scan(str(tmp_path / "corpus"), ["all"], tmp_path / "all", config)
    scan(str(tmp_path / "corpus"), BENCHES, tmp_path / "five", config)
    chosen = [
        (b["bench"], b["items"])
        for b in pq.read_table(tmp_path / "all" / "benches.parquet").to_pylist()
        if b["chosen"]
    ]
    assert [b for b, _ in chosen] == sorted(registry())  # 11 benches, registry order
    assert sum(n for _, n in chosen) > 40_000
    # every item of the five benches has the same row whether 5 or 11 benches share the pass
    where = f"bench IN {tuple(BENCHES)} ORDER BY bench, item_id"
    rows = {
        name: duckdb.sql(
            f"SELECT * FROM '{tmp_path / name / 'items.parquet'}' WHERE {where}"
        ).fetchall()
        for name in ("all", "five")
    }
    assert len(rows["five"]) == 14042 + 1319 + 164 + 1172 + 817
    assert rows["all"] == rows["five"]
