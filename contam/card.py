"""The disclosure card: what a model release publishes about its contamination audit.

A card says which corpus was scanned (every shard with its size and SHA-256), against which
benchmarks (release checksums and item counts), by which definitions and thresholds, with what
result, and with which tool version. It is a pure function of the report folder (and the
registry's descriptions of known benches): no dates, durations or machine names, so the same
audit always gives the same card, byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contam.align import AlignParams
from contam.benches import registry
from contam.config import PRESETS
from contam.errors import BenchError, ReportError
from contam.presets import GPT3_FREQUENT, GPT3_N, LLAMA2_CLEAN, LLAMA2_DIRTY, PALM_FRACTION, PALM_N
from contam.results import ScanReport, rates_by_bench
from contam.substrings import COUNT, LENGTH, MIN_CHARS
from contam.summary import Table, percent

#: Bumped when a field changes meaning.
CARD_FORMAT = 1


def card_data(report: ScanReport) -> dict[str, Any]:
    """The card as plain data (``card.json``)."""
    run = report.run
    config = run["plan"]["config"]
    try:
        known = registry()
    except BenchError:
        known = {}
    sources = {(ix["bench"], ix["split"]): ix["source"] for ix in run["indexes"]}
    benches = []
    for planned in run["plan"]["benches"]:
        spec = known.get(planned["bench"]) if planned["split"] != "custom" else None
        source = sources[planned["bench"], planned["split"]]
        entry: dict[str, Any] = {
            "bench": planned["bench"],
            "split": planned["split"],
            "items": planned["items"],
            "sha256": planned["checksum"],
        }
        if spec is not None:
            entry.update(title=spec.title, license=spec.license, homepage=spec.homepage)
        else:
            entry.update(file=Path(source["files"][0]).name)
        benches.append(entry)
    shards = [
        {
            "path": s["shard"],
            "bytes": s["raw_bytes"],
            "sha256": s.get("sha256"),
            "status": s["status"],
            "documents": s["docs"],
            "skipped_records": s["skipped_records"],
        }
        for s in run["shards"]
    ]
    chosen = report.preset
    threshold = config["threshold"]
    return {
        "card_format": CARD_FORMAT,
        "tool": {"name": "contam", "version": run["contam_version"]},
        "corpus": {
            "shards": shards,
            "total_bytes": sum(s["bytes"] for s in shards),
            "documents": run["totals"]["docs"],
            "tokens": run["totals"]["tokens"],
            "characters": run["totals"]["text_chars"],
            "skipped_records": run["skipped_records"],
            "skipped_shards": run["skipped_shards"],
        },
        "benchmarks": benches,
        "matching": {
            "fingerprint": run["plan"]["fingerprint"],
            "normalization": config["norm"],
            "seed_ngram": config["ngram"]["n"],
            "short_item_min_tokens": config["ngram"]["short_min"],
            "boilerplate_items": config["ngram"]["boilerplate_items"],
            "max_gap": config["max_gap"],
            "text_fields": config["text_fields"],
        },
        "definitions": {
            "chosen": chosen,
            "presets": [
                {
                    "name": p.name,
                    "source": p.source,
                    "rule": p.rule.replace("threshold", str(threshold)),
                    "parameters": _parameters(p.name, threshold),
                }
                for p in PRESETS.values()
            ],
        },
        "results": [
            {
                "bench": r["bench"],
                "split": r["split"],
                "preset": r["preset"],
                "items": r["items"],
                "contaminated": r["contaminated"],
                "rate": round(r["contaminated_fraction"], 6),
                "input_only": r["input_only"],
                "input_and_label": r["input_and_label"],
                "clean": r["clean"],
            }
            for r in report.rates()
        ],
    }


def _parameters(preset: str, threshold: float) -> dict[str, Any]:
    align = AlignParams()  # the scan's Llama 2 span settings are the defaults
    parameters: dict[str, dict[str, Any]] = {
        "contam": {"coverage_threshold": threshold, "best_single_document": True},
        "gpt3": {"ngram": GPT3_N, "ignore_found_at_least": GPT3_FREQUENT},
        "palm": {"ngram": PALM_N, "fraction": PALM_FRACTION},
        "llama2": {"dirty_at_least": LLAMA2_DIRTY, "clean_below": LLAMA2_CLEAN,
                   "min_span_tokens": align.skip_min, "mismatches": align.skip_budget},
        "gpt4": {"substrings": COUNT, "substring_chars": LENGTH, "min_part_chars": MIN_CHARS,
                 "case_sensitive": True},
    }  # fmt: skip
    return parameters[preset]


def card_markdown(card: dict[str, Any]) -> str:
    """The card for people: a page a model release can publish as is."""
    corpus = card["corpus"]
    chosen = card["definitions"]["chosen"]
    m = card["matching"]
    lines = [
        "# Benchmark contamination card",
        "",
        f"Audited with {card['tool']['name']} {card['tool']['version']}. The corpus "
        f"({len(corpus['shards']):,} shards, {corpus['total_bytes']:,} bytes, "
        f"{corpus['documents']:,} documents, {corpus['tokens']:,} tokens) was scanned "
        f"against {len(card['benchmarks'])} benchmarks. An item counts as contaminated "
        f"under the `{chosen}` definition below; the other definitions are reported beside it.",
        "",
    ]
    if corpus["skipped_records"] or corpus["skipped_shards"]:
        lines += [
            f"**Not scanned:** {corpus['skipped_records']:,} unreadable records and "
            f"{len(corpus['skipped_shards'])} unreadable shards.",
            "",
        ]
    by_bench = rates_by_bench(card["results"])
    names = [p["name"] for p in card["definitions"]["presets"]]
    results = Table(
        "Results: contaminated items (% of the benchmark)",
        ("benchmark", "split", "items", *[f"{n}*" if n == chosen else n for n in names],
         f"{chosen}: input only", f"{chosen}: input+label"),
        [
            (bench, split, f"{rows[chosen]['items']:,}",
             *[f"{rows[n]['contaminated']:,} ({percent(rows[n]['rate'])}%)" for n in names],
             f"{rows[chosen]['input_only']:,}", f"{rows[chosen]['input_and_label']:,}")
            for (bench, split), rows in by_bench.items()
        ],
    )  # fmt: skip
    lines += [results.markdown(), "", f"\\* the chosen definition, `{chosen}`.", ""]
    benches = Table(
        "Benchmarks",
        ("benchmark", "split", "items", "sha256 of the files", "source"),
        [
            (b["bench"], b["split"], f"{b['items']:,}", f"`{b['sha256']}`",
             b.get("title", b.get("file", "")) + (f" ({b['license']})" if "license" in b else ""))
            for b in card["benchmarks"]
        ],
    )  # fmt: skip
    definitions = Table(
        "Definitions",
        ("name", "rule", "source"),
        [(p["name"], p["rule"], p["source"]) for p in card["definitions"]["presets"]],
        numeric_from=3,
    )
    lines += [benches.markdown(), "", definitions.markdown(), ""]
    norm = ", ".join(k for k, on in m["normalization"].items() if on) or "none"
    lines += [
        "### Matching",
        "",
        f"- normalization: {norm}; seed n-gram: {m['seed_ngram']} tokens; items shorter than "
        f"that but at least {m['short_item_min_tokens']} tokens are matched whole",
        f"- an n-gram found in {m['boilerplate_items']} or more items of a benchmark is "
        "boilerplate and never counts",
        f"- aligned spans bridge at most {m['max_gap']} changed tokens; corpus text fields: "
        + ", ".join(f"`{f}`" for f in m["text_fields"]),
        f"- settings fingerprint: `{m['fingerprint']}`",
        "",
    ]
    shards = Table(
        "Corpus shards",
        ("shard", "status", "bytes", "documents", "sha256"),
        [
            (s["path"], s["status"], f"{s['bytes']:,}", f"{s['documents']:,}",
             f"`{s['sha256']}`" if s["sha256"] else "(not recorded)")
            for s in corpus["shards"]
        ],
    )  # fmt: skip
    lines += [shards.markdown(), ""]
    return "\n".join(lines)


def write_card(report: ScanReport, dest: Path | None = None) -> tuple[Path, Path]:
    """Write ``card.md`` and ``card.json`` into ``dest`` (default: the report folder).

    Example:
        >>> write_card(ScanReport.open("reports/run1"))  # doctest: +SKIP
        (PosixPath('reports/run1/card.md'), PosixPath('reports/run1/card.json'))
    """
    dest = Path(dest) if dest is not None else report.folder
    card = card_data(report)
    try:
        dest.mkdir(parents=True, exist_ok=True)
        md, js = dest / "card.md", dest / "card.json"
        md.write_text(card_markdown(card), encoding="utf-8")
        js.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as e:
        raise ReportError(f"{dest}: cannot write the card ({e})") from e
    return md, js
