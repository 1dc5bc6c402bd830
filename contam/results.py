"""A finished scan's report folder, read back: the roll-ups that summaries, the HTML report,
the disclosure card and exports are made of.

Everything is computed from the folder alone (``run.json`` and the three Parquet files)
through DuckDB, so an audit can be summarised on another machine than the one that scanned.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contam.config import PRESET_NAMES
from contam.errors import ReportError
from contam.presets import LLAMA2_CLEAN

REPORT_FILES = ("items.parquet", "matches.parquet", "benches.parquet")


def verdict_sql(preset: str, table: str = "") -> str:
    """SQL for "item contaminated under ``preset``" over the items table (aliased ``table``)."""
    check_preset(preset)
    t = f"{table}." if table else ""
    return f"({t}{preset}_input OR {t}{preset}_full)"


def clean_sql(preset: str) -> str:
    """SQL for "item clean under ``preset``": not contaminated, and for Llama 2 below 20% of
    its tokens in matched spans (its items between 20% and 80% are neither clean nor dirty)."""
    if preset == "llama2":
        return f"(coalesce(llama2_input_fraction, 0) < {LLAMA2_CLEAN})"
    return f"(NOT {verdict_sql(preset)})"


def check_preset(preset: str) -> None:
    """Raise `ReportError` naming the presets if ``preset`` is not one of them."""
    if preset not in PRESET_NAMES:
        raise ReportError(f"unknown preset {preset!r}; presets: {', '.join(PRESET_NAMES)}")


@dataclass(frozen=True, slots=True)
class ScanReport:
    """The report folder of a complete scan.

    Example:
        >>> report = ScanReport.open("reports/run1")  # doctest: +SKIP
        >>> report.rates()[0]["contaminated"]  # doctest: +SKIP
        6
    """

    folder: Path
    run: dict[str, Any]

    @classmethod
    def open(cls, folder: str | Path) -> ScanReport:
        """Check the folder holds a complete scan; the error says what to do if not."""
        folder = Path(folder)
        run_json = folder / "run.json"
        if not run_json.is_file():
            raise ReportError(f"{folder}: no scan report here (no run.json); run contam scan first")
        try:
            run = json.loads(run_json.read_text())
        except (OSError, ValueError) as e:
            raise ReportError(f"{run_json}: cannot read ({e})") from e
        if run.get("status") != "complete":
            raise ReportError(
                f"{folder}: the scan did not finish; continue it with contam scan ... "
                f"--out {folder} --resume"
            )
        missing = [name for name in REPORT_FILES if not (folder / name).is_file()]
        if missing:
            raise ReportError(f"{folder}: {missing[0]} is missing; re-run the scan")
        return cls(folder, run)

    @property
    def preset(self) -> str:
        """The definition the scan chose for its ``contaminated`` column."""
        return str(self.run["plan"]["config"]["preset"])

    def query(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        """Rows of ``sql`` over the views ``items``, ``matches`` and ``benches``."""
        import duckdb

        con = duckdb.connect()
        try:
            for name in REPORT_FILES:
                path = str(self.folder / name).replace("'", "''")
                con.execute(f"CREATE VIEW {name.split('.')[0]} AS SELECT * FROM '{path}'")
            cursor = con.execute(sql, params or [])
            columns = [d[0] for d in cursor.description]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        finally:
            con.close()

    def rates(self) -> list[dict[str, Any]]:
        """Per bench and preset (scan order, then preset order): items, contaminated, their
        fraction, input only (the question leaked, not its answer), input + label, clean."""
        rows = self.query(
            """SELECT bench, split, preset, chosen, items, contaminated, contaminated_fraction,
                      input_contaminated - full_contaminated AS input_only,
                      full_contaminated AS input_and_label, clean
               FROM benches"""
        )
        rows.sort(key=lambda r: PRESET_NAMES.index(r["preset"]))
        return self._in_scan_order(rows)

    def groups(self, preset: str | None = None) -> list[dict[str, Any]]:
        """Per bench and group (MMLU's subjects) of the benches that have groups: items and
        contaminated items under ``preset`` (default: the scan's), input only and input +
        label, in bench order then group name."""
        p = preset or self.preset
        check_preset(p)
        rows = self.query(
            f"""SELECT bench, split, "group", count(*) AS items,
                       count(*) FILTER (WHERE {verdict_sql(p)}) AS contaminated,
                       count(*) FILTER (WHERE {verdict_sql(p)}) / count(*) AS contaminated_fraction,
                       count(*) FILTER (WHERE {p}_input AND NOT {p}_full) AS input_only,
                       count(*) FILTER (WHERE {p}_full) AS input_and_label
                FROM items WHERE "group" IS NOT NULL
                GROUP BY bench, split, "group" ORDER BY bench, split, "group" """
        )
        return self._in_scan_order(rows)

    def _in_scan_order(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``rows`` sorted by their bench's place in the scan; the sort is stable, so rows of
        one bench keep their order."""
        order = {(b["bench"], b["split"]): k for k, b in enumerate(self.run["plan"]["benches"])}
        return sorted(rows, key=lambda r: order.get((r["bench"], r["split"]), 0))

    def top_documents(self, preset: str | None = None, limit: int = 10) -> list[dict[str, Any]]:
        """The corpus documents holding aligned spans of the most items contaminated under
        ``preset``: shard, doc id and line, distinct items, spans, item tokens matched, and the
        benches involved. Ties go to more matched tokens, then shard and line."""
        p = preset or self.preset
        check_preset(p)
        return self.query(
            f"""SELECT m.shard, m.doc_id, m.doc_line,
                       count(DISTINCT (m.bench, m.split, m.item_id)) AS items,
                       count(*) AS spans, sum(m.matched_tokens) AS matched_tokens,
                       string_agg(DISTINCT m.bench, ',' ORDER BY m.bench) AS benches
                FROM matches m JOIN items i USING (bench, split, item_id)
                WHERE {verdict_sql(p, "i")}
                GROUP BY m.shard, m.doc_id, m.doc_line
                ORDER BY items DESC, matched_tokens DESC, m.shard, m.doc_line
                LIMIT ?""",
            [limit],
        )

    def top_items(self, preset: str | None = None, limit: int = 10) -> list[dict[str, Any]]:
        """The items contaminated under ``preset`` with the highest input coverage (then more
        documents, then bench and id), with their group and verdict columns."""
        p = preset or self.preset
        check_preset(p)
        return self.query(
            f"""SELECT bench, split, item_id, "group", input_coverage, full_coverage,
                       label_coverage, input_longest_run, input_edits, input_docs,
                       {p}_input AS input_contaminated, {p}_full AS full_contaminated
                FROM items WHERE {verdict_sql(p)}
                ORDER BY input_coverage DESC NULLS LAST, input_docs DESC, bench, item_id
                LIMIT ?""",
            [limit],
        )

    def spans(self, bench: str, split: str, item_id: str) -> list[dict[str, Any]]:
        """Every reported aligned span of one item, by shard and position."""
        return self.spans_of([(bench, split, item_id)])

    def spans_of(self, items: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
        """Every reported aligned span of the ``(bench, split, item_id)`` items, by item, then
        shard and position."""
        return self.query(
            """SELECT * FROM matches
               WHERE list_contains(?, bench || chr(0) || split || chr(0) || item_id)
               ORDER BY bench, split, item_id, shard, doc_line, char_start""",
            [["\0".join(key) for key in items]],
        )

    def coverages(self) -> list[dict[str, Any]]:
        """Per bench, the input coverage of every item with any aligned span (for the
        distribution of overlap fractions)."""
        return self.query(
            """SELECT bench, split, input_coverage FROM items
               WHERE input_coverage > 0 ORDER BY bench, split, input_coverage"""
        )


def rates_by_bench(rates: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """`ScanReport.rates` rows (or ``benches.parquet``'s) as (bench, split) -> preset -> row,
    the benches in the order of ``rates``."""
    by_bench: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for r in rates:
        by_bench.setdefault((r["bench"], r["split"]), {})[r["preset"]] = r
    return by_bench
