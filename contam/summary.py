"""Summaries of a scan for people: the table a scan prints, and ``contam report``'s summary
as text, Markdown or JSON.

The numbers come from `contam.results.ScanReport`; this module only lays them out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from contam.config import PRESET_NAMES
from contam.results import ScanReport, rates_by_bench

FORMATS = ("text", "markdown", "json")


@dataclass(frozen=True, slots=True)
class Table:
    """A titled table; columns from ``numeric_from`` on are right-aligned."""

    title: str
    head: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    numeric_from: int = 2

    def text(self) -> str:
        lines = [self.head, *self.rows]
        widths = [max(len(row[i]) for row in lines) for i in range(len(self.head))]
        out = [self.title] if self.title else []
        for row in lines:
            cells = [
                c.rjust(w) if i >= self.numeric_from else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ]
            out.append("  ".join(cells).rstrip())
        return "\n".join(out)

    def markdown(self) -> str:
        rule = ["---:" if i >= self.numeric_from else "---" for i in range(len(self.head))]
        out = [f"### {self.title}", ""] if self.title else []
        for row in (self.head, tuple(rule), *self.rows):
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
        return "\n".join(out)


def percent(fraction: float) -> str:
    return f"{100 * fraction:.2f}"


def scan_summary(rows: list[dict[str, Any]], run: dict[str, Any], seconds: float) -> str:
    """The per-bench table printed at the end of a scan: the chosen preset's counts, then how
    many items each other preset calls contaminated."""
    chosen = [r for r in rows if r["chosen"]]
    preset = chosen[0]["preset"] if chosen else ""
    others = [p for p in PRESET_NAMES if p != preset]
    by_bench = rates_by_bench(rows)
    table = Table(
        "",
        ("bench", "split", "items", preset, "%", "input", "input+label", *others),
        [
            (
                r["bench"],
                r["split"],
                f"{r['items']:,}",
                f"{r['contaminated']:,}",
                percent(r["contaminated_fraction"]),
                f"{r['input_contaminated']:,}",
                f"{r['full_contaminated']:,}",
                *[f"{by_bench[r['bench'], r['split']][p]['contaminated']:,}" for p in others],
            )
            for r in chosen
        ],
    )
    totals = run["totals"]
    text = [
        table.text(),
        f"scanned {len(run['shards'])} shards, {totals['docs']:,} docs, "
        f"{totals['tokens']:,} tokens, {totals['text_chars'] / 1e6:,.1f}M characters "
        f"in {seconds:.1f}s",
    ]
    text += _skipped(run["skipped_records"], run["skipped_shards"])
    return "\n".join(text)


def _skipped(records: int, shards: list[Any]) -> list[str]:
    """The line saying what the scan could not read, if anything."""
    if not records and not shards:
        return []
    return [f"skipped {records:,} bad records and {len(shards)} bad shards (see run.json)"]


def summary_data(report: ScanReport, preset: str | None = None, top: int = 10) -> dict[str, Any]:
    """Everything ``contam report`` shows, as plain data (the JSON format)."""
    p = preset or report.preset
    run = report.run
    config = run["plan"]["config"]
    return {
        "folder": str(report.folder),
        "preset": p,
        "threshold": config["threshold"],
        "fingerprint": run["plan"]["fingerprint"],
        "finished": run.get("finished"),
        "corpus": {
            "shards": len(run["shards"]),
            **run["totals"],
            "skipped_records": run["skipped_records"],
            "skipped_shards": run["skipped_shards"],
        },
        "rates": report.rates(),
        "groups": report.groups(p),
        "top_documents": report.top_documents(p, top),
    }


def render(data: dict[str, Any], fmt: str) -> str:
    """``data`` from `summary_data` as ``text``, ``markdown`` or ``json``."""
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False)
    p = data["preset"]
    corpus = data["corpus"]
    head = (
        f"scan {data['folder']}: {corpus['shards']:,} shards, {corpus['docs']:,} docs, "
        f"{corpus['tokens']:,} tokens, {corpus['text_chars'] / 1e6:,.1f}M characters"
        + (f", finished {data['finished']}" if data["finished"] else "")
    )
    notes = [
        f"definition: {p} (threshold {data['threshold']}), fingerprint {data['fingerprint']}",
        *_skipped(corpus["skipped_records"], corpus["skipped_shards"]),
    ]
    tables = _tables(data)
    if fmt == "markdown":
        parts = [f"## contam report: {data['folder']}", "", head + ".", "", *notes, ""]
        parts += [t.markdown() + "\n" for t in tables]
        return "\n".join(parts).rstrip() + "\n"
    return "\n\n".join(["\n".join([head, *notes]), *[t.text() for t in tables]])


def _tables(data: dict[str, Any]) -> list[Table]:
    p = data["preset"]
    by_bench = rates_by_bench(data["rates"])
    presets = [f"{q}*" if q == p else q for q in PRESET_NAMES]
    rates = Table(
        "Contaminated items per bench and definition: count (% of items); * the chosen one",
        ("bench", "split", "items", *presets),
        [
            (
                bench,
                split,
                f"{rows[p]['items']:,}",
                *[
                    f"{rows[q]['contaminated']:,} ({percent(rows[q]['contaminated_fraction'])}%)"
                    for q in PRESET_NAMES
                ],
            )
            for (bench, split), rows in by_bench.items()
        ],
    )
    split_table = Table(
        f"What leaked ({p}): the input only, or the input with its label (answer)",
        ("bench", "split", "items", "contaminated", "input only", "input+label", "clean"),
        [
            (
                bench,
                split,
                f"{rows[p]['items']:,}",
                f"{rows[p]['contaminated']:,}",
                f"{rows[p]['input_only']:,}",
                f"{rows[p]['input_and_label']:,}",
                f"{rows[p]['clean']:,}",
            )
            for (bench, split), rows in by_bench.items()
        ],
    )
    tables = [rates, split_table]
    if data["groups"]:
        tables.append(
            Table(
                f"Per subject ({p})",
                ("bench", "subject", "items", "contaminated", "%", "input only", "input+label"),
                [
                    (
                        g["bench"],
                        g["group"],
                        f"{g['items']:,}",
                        f"{g['contaminated']:,}",
                        percent(g["contaminated_fraction"]),
                        f"{g['input_only']:,}",
                        f"{g['input_and_label']:,}",
                    )
                    for g in data["groups"]
                ],
            )
        )
    docs = data["top_documents"]
    tables.append(
        Table(
            f"Top matched documents ({p}): documents holding the most contaminated items",
            ("shard", "doc", "line", "items", "spans", "matched tokens", "benches"),
            [
                (
                    d["shard"],
                    d["doc_id"],
                    f"{d['doc_line']:,}",
                    f"{d['items']:,}",
                    f"{d['spans']:,}",
                    f"{d['matched_tokens']:,}",
                    d["benches"],
                )
                for d in docs
            ]
            or [("(none)", "", "", "", "", "", "")],
        )
    )
    return tables
