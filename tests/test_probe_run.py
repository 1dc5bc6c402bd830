"""contam.probe.run: a probe end to end on the tiny GPT-2, its tables, the join with a scan,
the sharded test on a model trained on one order, and probe-eval on a model trained on the
members."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import TINY_ITEMS, write_jsonl
from test_probe_helpers import tiny_model_dir, trained_model_dir

from contam.benches import resolve_bench
from contam.config import ScanConfig
from contam.errors import ReportError
from contam.probe.backends import open_backend
from contam.probe.config import ModelConfig, ProbeConfig
from contam.probe.run import item_text, probe, probe_eval
from contam.probe.scores import score_item
from contam.probe.tables import (
    EVAL_SCHEMA,
    EVAL_SCORES_SCHEMA,
    JOINED_SCHEMA,
    SCORES_SCHEMA,
    SHARDED_SCHEMA,
    SHARDS_SCHEMA,
)
from contam.records import BenchItem
from contam.report import ITEMS_SCHEMA

COLORS = ["red", "blue", "green", "amber", "violet", "black", "white", "grey", "pink", "gold",
          "teal", "olive"]  # fmt: skip
ANIMALS = ["fox", "owl", "cat", "yak", "emu", "elk", "ant", "bee", "cod", "eel", "hen", "ram"]
PLACES = ["Kiev", "Doha", "Baku", "Riga", "Sofia", "Dakar", "Hanoi", "Quito", "Cairo", "Rome",
          "Oslo", "Lima"]  # fmt: skip
#: 24 facts in a fixed order, for the sharded test.
FACTS = [
    f"Fact {i}: the {COLORS[i % 12]} {ANIMALS[i % 12]} lives in {PLACES[i % 12]}."
    for i in range(24)
]


def tiny_model() -> ModelConfig:
    return ModelConfig(str(tiny_model_dir()))


def quiet(**kw: object) -> ProbeConfig:
    return ProbeConfig(quiet=True, **kw)  # type: ignore[arg-type]


def test_item_text_full_input_and_no_label() -> None:
    item = BenchItem("b", "custom", "1", "2+2?", "4")
    assert item_text(item, "full") == "2+2?\n4"
    assert item_text(item, "input") == "2+2?"
    assert item_text(BenchItem("b", "custom", "2", "text only", ""), "full") == "text only"


def test_probe_writes_scores_equal_to_the_backend_and_run_json(
    tmp_path: Path, tiny_bench: Path
) -> None:
    source = resolve_bench(str(tiny_bench), label_fields=("answer",))
    result = probe([source], tmp_path / "out", tiny_model(), quiet())
    table = pq.read_table(tmp_path / "out" / "scores.parquet")
    assert table.schema == SCORES_SCHEMA
    assert table.column("item_id").to_pylist() == [r["id"] for r in TINY_ITEMS]
    assert set(table.column("part").to_pylist()) == {"full"}
    # the same numbers as the backend and score_item give, text by text
    texts = [f"{r['text']}\n{r['answer']}" for r in TINY_ITEMS]
    backend = open_backend(tiny_model())
    main, lower = backend.score(texts), backend.score([t.lower() for t in texts])
    for row, text, s, lo in zip(table.to_pylist(), texts, main, lower, strict=True):
        want = score_item(text, s, 0.2, lower=lo)
        assert row["tokens"] == want.tokens and row["bytes"] == len(text.encode())
        for metric in ("loss", "zlib", "lowercase", "min_k", "min_k_pp"):
            assert row[metric] == pytest.approx(getattr(want, metric), rel=1e-9), metric
        assert row["ref_ratio"] is None and row["ref_nll_per_byte"] is None
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["status"] == "complete" and run["model"]["backend"] == "transformers"
    assert run["model"]["start_token"] == {"id": 0, "chosen_as": "<|endoftext|>"}
    assert run["config"]["fingerprint"] == "full_k0.2_lc"
    assert run["benches"][0]["items"] == len(TINY_ITEMS)
    assert run["tokens"] == sum(table.column("tokens").to_pylist())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["run.json", "scores.parquet"]
    assert result.sharded.num_rows == 0


def test_reference_model_ratio_and_input_part(tmp_path: Path, tiny_bench: Path) -> None:
    source = resolve_bench(str(tiny_bench), label_fields=("answer",))
    config = quiet(part="input", lowercase=False, ref_model=tiny_model(), k=0.5)
    table = probe([source], tmp_path / "out", tiny_model(), config).scores
    rows = table.to_pylist()
    # the reference model is the target itself: the ratio is exactly 1
    assert [r["ref_ratio"] for r in rows] == pytest.approx([1.0] * len(rows))
    assert [r["bytes"] for r in rows] == [len(r["text"].encode()) for r in TINY_ITEMS]
    assert all(r["lowercase"] is None for r in rows)


def test_join_with_a_scan_of_the_same_bench(
    tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig
) -> None:
    from contam.scan import scan

    corpus = write_jsonl(tmp_path / "corpus" / "docs.jsonl", [
        {"id": "leak", "text": "Yesterday the quick brown fox jumps over the lazy dog again."},
    ])  # fmt: skip
    source = resolve_bench(str(tiny_bench), label_fields=("answer",))
    scan(str(corpus), [source], tmp_path / "scan", tiny_config)
    probe([source], tmp_path / "probe", tiny_model(), quiet(lowercase=False),
          scan=tmp_path / "scan")  # fmt: skip
    joined = pq.read_table(tmp_path / "probe" / "joined.parquet")
    scan_items = pq.read_table(tmp_path / "scan" / "items.parquet")
    assert joined.schema == JOINED_SCHEMA
    assert len(set(JOINED_SCHEMA.names)) == len(JOINED_SCHEMA.names)
    assert joined.column("item_id").to_pylist() == [r["id"] for r in TINY_ITEMS]
    by_id = {r["item_id"]: r for r in scan_items.to_pylist()}
    for row in joined.to_pylist():
        for name in ("input_coverage", "contaminated", "gpt3_input_found"):
            assert row[name] == by_id[row["item_id"]][name]
    assert joined.filter(joined.column("contaminated")).column("item_id").to_pylist() == ["fox"]
    run = json.loads((tmp_path / "probe" / "run.json").read_text())
    assert run["scan_unmatched_items"] == 0
    assert {f.name for f in ITEMS_SCHEMA} - set(JOINED_SCHEMA.names) == set()


def test_join_counts_items_the_scan_lacks(tmp_path: Path, tiny_config: ScanConfig) -> None:
    from contam.scan import scan

    scanned = write_jsonl(tmp_path / "a.jsonl", [{"id": "x", "text": "alpha beta gamma delta"}])
    other = write_jsonl(tmp_path / "b.jsonl", [{"id": "y", "text": "one two three four"}])
    corpus = write_jsonl(tmp_path / "corpus.jsonl", [{"id": "d", "text": "nothing here"}])
    scan(str(corpus), [str(scanned)], tmp_path / "scan", tiny_config)
    result = probe([resolve_bench(str(scanned)), resolve_bench(str(other))], tmp_path / "p",
                   tiny_model(), quiet(lowercase=False), scan=tmp_path / "scan")  # fmt: skip
    assert result.run["scan_unmatched_items"] == 1
    joined = pq.read_table(tmp_path / "p" / "joined.parquet").to_pylist()
    assert [(r["item_id"], r["input_tokens"]) for r in joined] == [("x", 4), ("y", None)]


def test_missing_scan_and_used_out_folder_are_errors(tmp_path: Path, tiny_bench: Path) -> None:
    source = resolve_bench(str(tiny_bench))
    with pytest.raises(ReportError, match="no scan report at"):
        probe([source], tmp_path / "a", tiny_model(), quiet(), scan=tmp_path / "nowhere")
    assert not (tmp_path / "a").exists()  # nothing half-written
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "keep.txt").write_text("x")
    with pytest.raises(ReportError, match="exists and is not empty"):
        probe([source], tmp_path / "b", tiny_model(), quiet())


def test_sharded_test_finds_the_order_a_model_was_trained_on(tmp_path: Path) -> None:
    bench = write_jsonl(tmp_path / "facts.jsonl", [{"id": i, "text": t} for i, t in
                                                   enumerate(FACTS)])  # fmt: skip
    source = resolve_bench(str(bench))
    config = quiet(lowercase=False, sharded=True, shards=4, permutations=6, seed=3)
    canonical = ModelConfig(str(trained_model_dir(FACTS)))
    result = probe([source], tmp_path / "canon", canonical, config)
    head = result.sharded.to_pylist()[0]
    assert (head["items"], head["shards"], head["permutations"]) == (24, 4, 6)
    assert head["statistic"] > 5.0 and head["p_value"] < 0.01
    shards = pq.read_table(tmp_path / "canon" / "sharded_shards.parquet")
    assert shards.schema == SHARDS_SCHEMA
    assert pq.read_table(tmp_path / "canon" / "sharded.parquet").schema == SHARDED_SCHEMA
    assert shards.column("first_item_id").to_pylist() == ["0", "6", "12", "18"]
    assert all(d > 0 for d in shards.column("diff").to_pylist())
    # the same facts learnt in reverse order: the file's order is the unlikely one
    reverse = ModelConfig(str(trained_model_dir(FACTS[::-1])))
    head = probe([source], tmp_path / "rev", reverse, config).sharded.to_pylist()[0]
    assert head["statistic"] < 0 and head["p_value"] > 0.5


def test_probe_eval_separates_texts_a_model_was_trained_on(tmp_path: Path) -> None:
    members = write_jsonl(
        tmp_path / "members.jsonl", [{"id": f"m{i}", "text": t} for i, t in enumerate(FACTS[:8])]
    )
    adjectives = ["two", "old", "iron", "wide", "stone", "rope", "long", "narrow"]
    fresh = [f"Note {i}: {w} bridges cross the river at dawn." for i, w in enumerate(adjectives)]
    nonmembers = write_jsonl(
        tmp_path / "fresh.jsonl", [{"id": f"n{i}", "text": t} for i, t in enumerate(fresh)]
    )
    model = ModelConfig(str(trained_model_dir(FACTS[:8])))
    result = probe_eval(members, nonmembers, tmp_path / "eval", model, quiet())
    table = pq.read_table(tmp_path / "eval" / "eval.parquet")
    assert table.schema == EVAL_SCHEMA
    assert pq.read_table(tmp_path / "eval" / "scores.parquet").schema == EVAL_SCORES_SCHEMA
    got = {r["metric"]: r for r in table.to_pylist()}
    assert list(got) == ["loss", "perplexity", "zlib", "lowercase", "ref_ratio", "min_k",
                         "min_k_pp"]  # fmt: skip
    for metric in ("loss", "perplexity", "zlib", "min_k"):
        assert got[metric]["auroc"] == 1.0 and got[metric]["tpr_at_5_fpr"] == 1.0, metric
    assert (got["loss"]["members"], got["loss"]["nonmembers"]) == (8, 8)
    assert got["ref_ratio"]["auroc"] is None and got["ref_ratio"]["members"] == 0
    scores = pq.read_table(tmp_path / "eval" / "scores.parquet")
    loss = np.array(scores.column("loss"))
    member = np.array(scores.column("member"))
    assert loss[member].mean() < loss[~member].mean() - 1.0  # nats per token
    assert result.run["counts"] == {"members": 8, "nonmembers": 8}


def test_public_api_and_a_light_import() -> None:
    import subprocess
    import sys

    import contam.probe

    assert all(hasattr(contam.probe, name) for name in contam.probe.__all__)
    # the main CLI imports contam.probe.cli: neither may load torch or llama.cpp
    code = "import sys, contam.cli, contam.probe; print(sorted({'torch', 'transformers', " \
        "'llama_cpp'} & set(sys.modules)))"  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    assert out.strip() == "[]"


def test_docstring_examples_run() -> None:
    import doctest
    import importlib

    names = ("backends", "calibrate", "config", "endpoint", "hf", "llamacpp", "logits", "run",
             "scores", "sharded", "tables")  # fmt: skip
    for name in names:
        module = importlib.import_module(f"contam.probe.{name}")
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, name
