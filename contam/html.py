"""The HTML report: one self-contained page that people deciding a release can read.

Everything is inline: the CSS (`contam.stylesheet`) and the charts as SVG
(`contam.charts`). There is no script, no web font and no external reference, so the page
opens offline and can be attached to a ticket. The same report folder gives the same bytes:
the charts are deterministic, and the only date shown is the scan's ``finished`` time from
``run.json``.

The corpus text beside each contaminated item is read back from the shards the scan named
(`contam.excerpts`) and highlighted (`contam.highlight`); where a shard is not present, the
page says so instead of failing.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from contam._version import __version__
from contam.charts import groups_chart, matplotlib_version, overlap_chart, rates_chart
from contam.config import PRESET_NAMES, PRESETS
from contam.errors import ReportError
from contam.excerpts import DocRequest, document_texts
from contam.highlight import excerpt_html
from contam.markup import (
    MISSING,
    breakable,
    byte_size,
    count,
    decimal,
    escape,
    figure,
    flatten,
    key_values,
    percent,
    section,
)
from contam.results import ScanReport, check_preset, rates_by_bench
from contam.stylesheet import STYLESHEET

#: Documents shown per item; the rest are counted.
DOCS_PER_ITEM = 3
#: Groups drawn in a bench's chart (those with the most contaminated items); all are tabled.
GROUP_BARS = 30


def write_html(report: ScanReport, path: Path, preset: str | None = None, top: int = 20) -> Path:
    """Write the report of a finished scan as one self-contained HTML file.

    Args:
        report: the scan's report folder.
        path: the HTML file to write.
        preset: the definition the items, groups and documents are chosen by (default: the
            scan's own); the rate chart shows all five.
        top: how many contaminated items and documents to show.

    Example:
        >>> write_html(ScanReport.open("reports/run1"), Path("report.html"))  # doctest: +SKIP
        PosixPath('report.html')
    """
    focus = preset or report.preset
    check_preset(focus)
    if top < 1:
        raise ReportError(f"top must be at least 1, got {top}")
    try:
        import matplotlib  # noqa: F401
    except ImportError as e:
        raise ReportError("the HTML report needs matplotlib: pip install 'contam[html]'") from e
    page = _Page(report, focus, top).render()
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page, encoding="utf-8")
    except OSError as e:
        raise ReportError(f"{path}: cannot write the HTML report ({e})") from e
    return path


class _Page:
    """Gathers the report's roll-ups once and renders each section."""

    def __init__(self, report: ScanReport, focus: str, top: int) -> None:
        self.report = report
        self.run = report.run
        self.focus = focus
        self.top = top
        self.rates = report.rates()
        self.by_bench = rates_by_bench(self.rates)
        self.benches = [(b["bench"], b["split"]) for b in self.run["plan"]["benches"]]
        # the focus definition's rates row of each bench, by (bench, split)
        self.focus_rates = {k: rows[focus] for k, rows in self.by_bench.items() if focus in rows}
        self.contaminated_total = sum(int(r["contaminated"]) for r in self.focus_rates.values())
        self.threshold = self.run["plan"]["config"].get("threshold")

    def render(self) -> str:
        """The whole page: the sections in reading order, the stylesheet inline."""
        sections = [
            self._header(),
            self._rates(),
            self._overlap(),
            self._groups(),
            self._items(),
            self._documents(),
            self._run(),
        ]
        body = "\n".join(sections)
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>contam report: {escape(self.report.folder.name)}</title>\n"
            f"<style>{STYLESHEET}</style>\n</head>\n"
            f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
        )

    # -- sections ------------------------------------------------------------------------

    def _header(self) -> str:
        """Title, scan facts and navigation, the verdict, and a card per bench: the answer
        a reader who stops here needs."""
        totals = self.run.get("totals", {})
        shards = self.run.get("shards", [])
        facts = [
            count(len(self.benches), "bench", "benches"),
            f"{count(len(shards), 'corpus shard')}, {count(totals.get('docs', 0), 'document')}, "
            f"{count(totals.get('tokens', 0), 'token')}",
            f"scan finished {escape(self.run.get('finished') or 'at an unrecorded time')}",
        ]
        cards = []
        for key in self.benches:
            r = self.focus_rates.get(key)
            if r is None:
                continue
            hit = " hit" if r["contaminated"] else ""
            cards.append(
                f'<div class="card{hit}"><div class="label">{escape(key[0])} '
                f'<span class="muted">{escape(key[1])}</span></div>'
                f'<div class="n">{int(r["contaminated"]):,}'
                f'<span class="of"> of {int(r["items"]):,}</span></div>'
                f'<div class="muted">{percent(r["contaminated_fraction"])} · '
                f"{int(r['input_and_label']):,} with answer</div></div>"
            )
        if self.contaminated_total:
            verdict = (
                f'<p class="verdict">{self.contaminated_total:,} contaminated '
                f"item{'s' if self.contaminated_total != 1 else ''} under the "
                f"<b>{escape(self.focus)}</b> definition{self._rule()}.</p>"
            )
        else:
            items = sum(int(r["items"]) for r in self.focus_rates.values())
            verdict = (
                f'<p class="verdict clean">No contaminated items: under the '
                f"<b>{escape(self.focus)}</b> definition{self._rule()}, none of the {items:,} "
                f"benchmark items occurs in the corpus.</p>"
            )
        nav = " · ".join(
            f'<a href="#{a}">{t}</a>'
            for a, t in (
                ("rates", "rates"),
                ("overlap", "overlap"),
                ("groups", "subjects"),
                ("items", "items"),
                ("documents", "documents"),
                ("run", "run"),
            )
        )
        return (
            '<header><p class="eyebrow">contam · benchmark contamination audit</p>'
            "<h1>Contamination report</h1>"
            f'<p class="subtitle">{" · ".join(facts)}</p>'
            f'<nav>{nav}</nav></header>\n{verdict}\n<div class="cards">{"".join(cards)}</div>'
        )

    def _rule(self) -> str:
        """The focus definition's test in words, so the verdict says what was counted."""
        if self.focus == "contam" and self.threshold is not None:
            return (
                f" (one document's aligned spans cover at least {escape(self.threshold)} of the "
                "item's distinctive tokens)"
            )
        return f" ({escape(PRESETS[self.focus].rule)})"

    def _rates(self) -> str:
        """Per bench, the focus definition's counts and every definition's, as a table and a
        chart, because each published definition counts a different set of items."""
        head = "".join(f'<th class="num">{escape(p)}</th>' for p in PRESET_NAMES)
        rows = []
        for key in self.benches:
            r = self.focus_rates.get(key)
            if r is None:
                continue
            contaminated = {p: int(row["contaminated"]) for p, row in self.by_bench[key].items()}
            counts = "".join(
                f'<td class="num{" focus" if p == self.focus else ""}">'
                f"{contaminated.get(p, 0):,}</td>"
                for p in PRESET_NAMES
            )
            rows.append(
                f"<tr><td>{escape(key[0])}</td><td>{escape(key[1])}</td>"
                f'<td class="num">{int(r["items"]):,}</td>'
                f'<td class="num">{int(r["contaminated"]):,}</td>'
                f'<td class="num">{percent(r["contaminated_fraction"])}</td>'
                f'<td class="num">{int(r["input_only"]):,}</td>'
                f'<td class="num">{int(r["input_and_label"]):,}</td>{counts}</tr>'
            )
        table = (
            '<table class="rates"><thead><tr><th colspan="3"></th>'
            f'<th colspan="4" class="group">{escape(self.focus)}</th>'
            '<th colspan="5" class="group">contaminated items, by definition</th></tr>'
            '<tr><th>bench</th><th>split</th><th class="num">items</th>'
            '<th class="num">contaminated</th><th class="num">rate</th>'
            '<th class="num">question only</th><th class="num">with answer</th>'
            f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
        chart = figure(
            rates_chart([k for k in self.benches if k in self.focus_rates], self.rates, self.focus),
            "Share of each bench's items contaminated under each definition; the outlined "
            f"bars are {escape(self.focus)}, the definition this report uses.",
        )
        return section("rates", "Contamination rate per bench and definition", table + chart)

    def _overlap(self) -> str:
        """The distribution of items' input coverage against the threshold: it shows whether
        the verdict rests on items far above the line or on borderline ones."""
        coverages: dict[tuple[str, str], list[float]] = defaultdict(list)
        for r in self.report.coverages():
            coverages[(r["bench"], r["split"])].append(float(r["input_coverage"]))
        rows = [k for k in self.benches if coverages.get(k)]
        if not rows:
            body = '<p class="note">No item shares an aligned span with the corpus.</p>'
            return section("overlap", "Overlap fractions", body)
        threshold = float(self.threshold or 0.5)
        chart = overlap_chart({k: coverages[k] for k in rows}, threshold)
        caption = (
            "Items of each bench with any aligned span in the corpus, by contam's coverage; "
            f"the dashed line is the threshold ({threshold:g}). Items without a span are left out."
        )
        return section("overlap", "Overlap fractions", figure(chart, caption))

    def _groups(self) -> str:
        """Per subject of each bench: a chart of the contaminated ones and a folded table of
        all, because a leak tends to concentrate in a few subjects."""
        rows = self.report.groups(self.focus)
        if not rows:
            body = '<p class="note">No bench of this scan has subjects or groups.</p>'
            return section("groups", "Per subject", body)
        by_bench: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            by_bench[(r["bench"], r["split"])].append(r)
        parts = []
        for key in [k for k in self.benches if k in by_bench]:
            groups = by_bench[key]
            hit = [g for g in groups if g["contaminated"]]
            title = f"<h3>{escape(key[0])} · {escape(key[1])}</h3>"
            if hit:
                shown = sorted(hit, key=lambda g: (-g["contaminated_fraction"], g["group"]))
                note = (
                    f"{len(hit)} of {len(groups)} subjects hold contaminated items"
                    + (f"; the {GROUP_BARS} highest are drawn" if len(hit) > GROUP_BARS else "")
                    + "."
                )
                chart = figure(groups_chart(key, shown[:GROUP_BARS]), escape(note))
            else:
                chart = (
                    f'<p class="note">None of the {len(groups)} subjects holds a contaminated '
                    "item.</p>"
                )
            table_rows = "".join(
                f"<tr{' class=hit' if g['contaminated'] else ''}><td>{escape(g['group'])}</td>"
                f'<td class="num">{int(g["items"]):,}</td>'
                f'<td class="num">{int(g["contaminated"]):,}</td>'
                f'<td class="num">{percent(g["contaminated_fraction"])}</td>'
                f'<td class="num">{int(g["input_only"]):,}</td>'
                f'<td class="num">{int(g["input_and_label"]):,}</td></tr>'
                for g in groups
            )
            table = (
                f"<details><summary>All {len(groups)} subjects of {escape(key[0])}</summary>"
                '<table class="compact"><thead><tr><th>subject</th><th class="num">items</th>'
                '<th class="num">contaminated</th><th class="num">rate</th>'
                '<th class="num">question only</th><th class="num">with answer</th></tr>'
                f"</thead><tbody>{table_rows}</tbody></table></details>"
            )
            parts.append(title + chart + table)
        return section("groups", f"Per subject ({escape(self.focus)})", "".join(parts))

    def _items(self) -> str:
        """The top contaminated items, each beside the corpus text it matched, as evidence a
        reader can check by eye."""
        items = self.report.top_items(self.focus, self.top)
        if not items:
            body = (
                '<p class="verdict clean">No contaminated items under the '
                f"<b>{escape(self.focus)}</b> definition.</p>"
            )
            return section("items", "Contaminated items", body)
        spans = self.report.spans_of([(i["bench"], i["split"], i["item_id"]) for i in items])
        docs: dict[tuple[str, str, str], dict[tuple[str, int], list[dict[str, Any]]]] = {}
        for s in spans:
            item_docs = docs.setdefault((s["bench"], s["split"], s["item_id"]), {})
            item_docs.setdefault((s["shard"], int(s["doc_line"])), []).append(s)
        shown: dict[tuple[str, str, str], list[list[dict[str, Any]]]] = {}
        for key, by_doc in docs.items():
            ranked = sorted(
                by_doc.values(),
                key=lambda doc_spans: (
                    -sum(int(s["matched_tokens"]) for s in doc_spans),
                    doc_spans[0]["shard"],
                    int(doc_spans[0]["doc_line"]),
                ),
            )
            shown[key] = ranked[:DOCS_PER_ITEM]
        texts = document_texts(
            self.run,
            [
                DocRequest(
                    doc_spans[0]["shard"], int(doc_spans[0]["doc_line"]), doc_spans[0]["doc_id"]
                )
                for doc_list in shown.values()
                for doc_spans in doc_list
            ],
        )
        cards = []
        for item in items:
            key = (item["bench"], item["split"], item["item_id"])
            doc_list = shown.get(key, [])
            more = len(docs.get(key, {})) - len(doc_list)
            cards.append(self._item_card(item, doc_list, more, texts))
        total = self.contaminated_total
        lead = (
            f"<p>The {len(items)} contaminated item{'s' if len(items) != 1 else ''} with the "
            f"highest input coverage{f' (of {total:,})' if total > len(items) else ''}, each "
            "beside the corpus text it matched. <mark>Highlighted</mark>: aligned spans over the "
            'question; <mark class="label">orange</mark>: spans that start in the answer.</p>'
        )
        return section("items", "Contaminated items", lead + "".join(cards))

    def _item_card(
        self,
        item: dict[str, Any],
        doc_list: list[list[dict[str, Any]]],
        more: int,
        texts: dict[tuple[str, int], str | None],
    ) -> str:
        """One item's facts beside up to `DOCS_PER_ITEM` documents' highlighted excerpts;
        ``more`` counts the documents left out, ``texts`` holds the read-back corpus text."""
        part = "question and answer" if item["full_contaminated"] else "question"
        facts = [
            ("bench", f"{escape(item['bench'])} · {escape(item['split'])}"),
            ("subject", escape(item["group"]) if item["group"] is not None else MISSING),
            ("leaked", part),
            ("input coverage", decimal(item["input_coverage"])),
            ("answer coverage", decimal(item["label_coverage"])),
            (
                "longest span",
                f"{count(item['input_longest_run'] or 0, 'token')}, "
                f"{count(item['input_edits'] or 0, 'edit')}",
            ),
            ("documents", f"{int(item['input_docs'] or 0):,}"),
        ]
        dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
        blocks = []
        for doc_spans in doc_list:
            first = doc_spans[0]
            text = texts.get((first["shard"], int(first["doc_line"])))
            n_tokens = sum(int(s["matched_tokens"]) for s in doc_spans)
            head = (
                f'<div class="doc-head">document <code>{escape(first["doc_id"])}</code> · '
                f"<code>{escape(first['shard'])}</code> line {int(first['doc_line']):,} · "
                f"{count(len(doc_spans), 'span')}, {count(n_tokens, 'token')} matched</div>"
            )
            marks = [
                (int(s["char_start"]), int(s["char_end"]), bool(s["input_part"])) for s in doc_spans
            ]
            if text is None or any(end > len(text) for _, end, _ in marks):
                body = (
                    '<p class="note">corpus text not available here (the shard is not present '
                    "or has changed since the scan); character offsets "
                    + ", ".join(f"{a:,}–{b:,}" for a, b, _ in marks)
                    + "</p>"
                )
            else:
                body = f'<div class="excerpt" lang="und">{excerpt_html(text, marks)}</div>'
            blocks.append(f'<div class="doc">{head}{body}</div>')
        if more > 0:
            blocks.append(
                f'<p class="muted">and {more:,} more document{"s" if more != 1 else ""} '
                "(see matches.parquet)</p>"
            )
        if not doc_list:
            blocks.append(
                '<p class="note">No aligned span of this item is recorded: the '
                f"{escape(self.focus)} definition found it by its own test, which keeps no "
                "offsets.</p>"
            )
        return (
            f'<article class="item"><div class="facts"><h3>{breakable(item["item_id"])}</h3>'
            f"<dl>{dl}</dl></div><div>{''.join(blocks)}</div></article>"
        )

    def _documents(self) -> str:
        """The corpus documents holding the most contaminated items: where the leak is."""
        rows = self.report.top_documents(self.focus, self.top)
        if not rows:
            body = '<p class="note">No corpus document holds a contaminated item.</p>'
            return section("documents", "Corpus documents", body)
        trs = "".join(
            f"<tr><td><code>{escape(r['doc_id'])}</code></td>"
            f"<td><code>{escape(r['shard'])}</code></td>"
            f'<td class="num">{int(r["doc_line"]):,}</td><td class="num">{int(r["items"]):,}</td>'
            f'<td class="num">{int(r["spans"]):,}</td>'
            f'<td class="num">{int(r["matched_tokens"]):,}</td><td>{escape(r["benches"])}</td></tr>'
            for r in rows
        )
        table = (
            '<table><thead><tr><th>document</th><th>shard</th><th class="num">line</th>'
            '<th class="num">items</th><th class="num">spans</th>'
            '<th class="num">tokens matched</th><th>benches</th></tr></thead>'
            f"<tbody>{trs}</tbody></table>"
        )
        lead = (
            f"<p>The documents holding spans of the most items contaminated under "
            f"{escape(self.focus)}.</p>"
        )
        return section("documents", "Corpus documents", lead + table)

    def _run(self) -> str:
        """What was scanned, with which settings and versions, so the audit can be repeated."""
        run = self.run
        plan = run.get("plan", {})
        config = plan.get("config", {})
        fingerprint = plan.get("fingerprint") or config.get("fingerprint")
        scan_facts = [
            ("finished", run.get("finished") or "not recorded"),
            ("report folder", self.report.folder.name),
            ("fingerprint", fingerprint),
            ("scan's definition", config.get("preset")),
            ("this report's definition", self.focus),
            ("contam version", run.get("contam_version")),
            ("skipped records", run.get("skipped_records", 0)),
            ("skipped shards", len(run.get("skipped_shards", []))),
        ]
        settings = key_values(
            [(k, v) for k, v in flatten(config) if k not in ("fingerprint", "preset")]
        )
        versions = key_values(
            [
                *run.get("versions", {}).items(),
                ("report: contam", __version__),
                ("report: matplotlib", matplotlib_version()),
            ]
        )
        benches = "".join(
            f"<tr><td>{escape(b['bench'])}</td><td>{escape(b['split'])}</td>"
            f'<td class="num">{int(b.get("items", 0)):,}</td>'
            f'<td><code class="hash">{escape(b.get("checksum") or "—")}</code></td></tr>'
            for b in plan.get("benches", [])
        )
        shards = "".join(
            f"<tr><td><code>{escape(s['shard'])}</code><br>"
            f'<code class="hash">sha256 {escape(s.get("sha256") or "not recorded")}</code></td>'
            f"<td>{escape(s.get('status'))}</td>"
            f'<td class="num">{int(s.get("docs", 0)):,}</td>'
            f'<td class="num">{int(s.get("tokens", 0)):,}</td>'
            f'<td class="num nowrap">{byte_size(s.get("raw_bytes"))}</td></tr>'
            for s in run.get("shards", [])
        )
        totals = run.get("totals", {})
        definitions = "".join(
            f"<tr{' class=hit' if p.name == self.focus else ''}><td>{escape(p.name)}</td>"
            f"<td>{escape(p.rule)}</td><td>{escape(p.source)}</td></tr>"
            for p in PRESETS.values()
        )
        body = (
            '<div class="meta">'
            f"<div><h3>Scan</h3>{key_values(scan_facts)}</div>"
            f"<div><h3>Settings</h3>{settings}</div>"
            f"<div><h3>Versions</h3>{versions}</div></div>"
            "<h3>Benchmarks</h3><table><thead><tr><th>bench</th><th>split</th>"
            '<th class="num">items</th><th>checksum (sha256)</th></tr></thead>'
            f"<tbody>{benches}</tbody></table>"
            f"<h3>Corpus: {len(run.get('shards', [])):,} shards, "
            f"{int(totals.get('docs', 0)):,} documents, {int(totals.get('tokens', 0)):,} "
            f"tokens, {int(totals.get('text_chars', 0)):,} characters</h3>"
            '<table><thead><tr><th>shard</th><th>status</th><th class="num">documents</th>'
            '<th class="num">tokens</th><th class="num">size</th></tr></thead>'
            f"<tbody>{shards}</tbody></table>"
            "<h3>Definitions</h3><table><thead><tr><th>definition</th><th>rule</th>"
            f"<th>source</th></tr></thead><tbody>{definitions}</tbody></table>"
        )
        return section("run", "Run", body)
