"""The HTML report: one self-contained page that people deciding a release can read.

Everything is inline: the CSS, and the charts as SVG drawn by matplotlib with text left as
text (``svg.fonttype = "none"``, so CJK group names display in the browser's fonts). There is
no script, no web font and no external reference, so the page opens offline and can be
attached to a ticket. The same report folder gives the same bytes: the SVG ids come from a
fixed salt, matplotlib's date and creator metadata are dropped, and the only date shown is
the scan's ``finished`` time from ``run.json``.

The corpus text beside each contaminated item is read back from the shards the scan named
(`contam.excerpts`); where a shard is not present, the page says so instead of failing.
"""

from __future__ import annotations

import html
import io
import re
import warnings
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from contam._version import __version__
from contam.config import PRESET_NAMES, PRESETS
from contam.errors import ReportError
from contam.excerpts import DocRequest, document_texts
from contam.results import ScanReport

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Characters of document text shown on each side of a highlighted span.
CONTEXT_CHARS = 160
#: Whole lines of context kept on each side of a span's own line(s).
CONTEXT_LINES = 2
#: Documents shown per item; the rest are counted.
DOCS_PER_ITEM = 3
#: Groups drawn in a bench's chart (those with the most contaminated items); all are tabled.
GROUP_BARS = 30
PRESET_COLORS = {
    "contam": "#1f5fa8",
    "gpt3": "#e08a00",
    "palm": "#2a9d6f",
    "llama2": "#b5548c",
    "gpt4": "#6f7785",
}
_INK, _MUTED, _GRID, _LIGHT = "#1d2330", "#5b6475", "#e6e9ef", "#a9c3e3"
_RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "contam-report",
    "font.family": "sans-serif",
    "font.size": 10,
    "axes.edgecolor": "#9aa3b2",
    "axes.labelcolor": _INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.axisbelow": True,
    "xtick.color": _MUTED,
    "ytick.color": _INK,
    "legend.frameon": False,
}


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
    if focus not in PRESET_NAMES:
        raise ReportError(f"unknown preset {focus!r}; presets: {', '.join(PRESET_NAMES)}")
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
        self.benches = [(b["bench"], b["split"]) for b in self.run["plan"]["benches"]]
        self.chosen = {(r["bench"], r["split"]): r for r in self.rates if r["preset"] == focus}
        self.contaminated = sum(int(r["contaminated"]) for r in self.chosen.values())
        self.threshold = self.run["plan"]["config"].get("threshold")

    def render(self) -> str:
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
            f"<title>contam report: {_e(self.report.folder.name)}</title>\n"
            f"<style>{_CSS}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
        )

    # -- sections ------------------------------------------------------------------------

    def _header(self) -> str:
        totals = self.run.get("totals", {})
        shards = self.run.get("shards", [])
        facts = [
            _count(len(self.benches), "bench", "benches"),
            f"{_count(len(shards), 'corpus shard')}, {_count(totals.get('docs', 0), 'document')}, "
            f"{_count(totals.get('tokens', 0), 'token')}",
            f"scan finished {_e(self.run.get('finished') or 'at an unrecorded time')}",
        ]
        cards = []
        for key in self.benches:
            r = self.chosen.get(key)
            if r is None:
                continue
            hit = " hit" if r["contaminated"] else ""
            cards.append(
                f'<div class="card{hit}"><div class="label">{_e(key[0])} '
                f'<span class="muted">{_e(key[1])}</span></div>'
                f'<div class="n">{int(r["contaminated"]):,}'
                f'<span class="of"> of {int(r["items"]):,}</span></div>'
                f'<div class="muted">{_pct(r["contaminated_fraction"])} · '
                f"{int(r['input_and_label']):,} with answer</div></div>"
            )
        if self.contaminated:
            verdict = (
                f'<p class="verdict">{self.contaminated:,} contaminated '
                f"item{'s' if self.contaminated != 1 else ''} under the "
                f"<b>{_e(self.focus)}</b> definition{self._rule()}.</p>"
            )
        else:
            items = sum(int(r["items"]) for r in self.chosen.values())
            verdict = (
                f'<p class="verdict clean">No contaminated items: under the '
                f"<b>{_e(self.focus)}</b> definition{self._rule()}, none of the {items:,} "
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
        if self.focus == "contam" and self.threshold is not None:
            return (
                f" (one document's aligned spans cover at least {_e(self.threshold)} of the "
                "item's distinctive tokens)"
            )
        return f" ({_e(PRESETS[self.focus].rule)})"

    def _rates(self) -> str:
        head = "".join(f'<th class="num">{_e(p)}</th>' for p in PRESET_NAMES)
        by_key: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        for rate in self.rates:
            by_key[(rate["bench"], rate["split"])][rate["preset"]] = int(rate["contaminated"])
        rows = []
        for key in self.benches:
            r = self.chosen.get(key)
            if r is None:
                continue
            counts = "".join(
                f'<td class="num{" focus" if p == self.focus else ""}">'
                f"{by_key[key].get(p, 0):,}</td>"
                for p in PRESET_NAMES
            )
            rows.append(
                f"<tr><td>{_e(key[0])}</td><td>{_e(key[1])}</td>"
                f'<td class="num">{int(r["items"]):,}</td>'
                f'<td class="num">{int(r["contaminated"]):,}</td>'
                f'<td class="num">{_pct(r["contaminated_fraction"])}</td>'
                f'<td class="num">{int(r["input_only"]):,}</td>'
                f'<td class="num">{int(r["input_and_label"]):,}</td>{counts}</tr>'
            )
        table = (
            '<table class="rates"><thead><tr><th colspan="3"></th>'
            f'<th colspan="4" class="group">{_e(self.focus)}</th>'
            '<th colspan="5" class="group">contaminated items, by definition</th></tr>'
            '<tr><th>bench</th><th>split</th><th class="num">items</th>'
            '<th class="num">contaminated</th><th class="num">rate</th>'
            '<th class="num">question only</th><th class="num">with answer</th>'
            f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
        chart = _figure(
            self._rates_chart(),
            "Share of each bench's items contaminated under each definition; the outlined "
            f"bars are {_e(self.focus)}, the definition this report uses.",
        )
        return _section("rates", "Contamination rate per bench and definition", table + chart)

    def _rates_chart(self) -> str:
        import numpy as np

        rows = [k for k in self.benches if k in self.chosen]
        fraction = {(r["bench"], r["split"], r["preset"]): r for r in self.rates}
        height = 0.15
        with _figure_of(10, 0.9 + 0.85 * len(rows)) as fig:
            ax = fig.subplots()
            centers = np.arange(len(rows), dtype=float)
            peak = max((float(r["contaminated_fraction"]) for r in self.rates), default=0.0)
            span = peak * 100 or 1.0
            for k, p in enumerate(PRESET_NAMES):
                ys = centers + (k - 2) * height
                rs = [fraction.get((*key, p)) for key in rows]
                values = [100 * float(r["contaminated_fraction"]) if r else 0.0 for r in rs]
                mark = p == self.focus
                label = f"{p} (this report)" if mark else p
                ax.barh(
                    ys,
                    values,
                    height=height * 0.92,
                    color=PRESET_COLORS[p],
                    edgecolor=_INK if mark else "none",
                    linewidth=1.2 if mark else 0,
                    label=label,
                )
                for y, v, r in zip(ys, values, rs, strict=True):
                    n = int(r["contaminated"]) if r else 0
                    ax.text(
                        v + span * 0.01,
                        y,
                        f"{n:,}  ({_pct(v / 100)})" if n else "0",
                        va="center",
                        fontsize=8,
                        color=_INK if mark else _MUTED,
                        fontweight="bold" if mark else "normal",
                    )
            ax.set_yticks(centers, [f"{b} · {s}" for b, s in rows])
            ax.invert_yaxis()
            ax.set_xlim(0, span * 1.3)
            ax.set_xlabel("items contaminated (%)")
            ax.grid(axis="x", color=_GRID)
            fig.legend(loc="outside upper center", ncols=len(PRESET_NAMES), fontsize=9)
            return _svg(fig, "rates")

    def _overlap(self) -> str:
        coverages: dict[tuple[str, str], list[float]] = defaultdict(list)
        for r in self.report.coverages():
            coverages[(r["bench"], r["split"])].append(float(r["input_coverage"]))
        rows = [k for k in self.benches if coverages.get(k)]
        if not rows:
            body = '<p class="note">No item shares an aligned span with the corpus.</p>'
            return _section("overlap", "Overlap fractions", body)
        threshold = float(self.threshold or 0.5)
        with _figure_of(10, 0.6 + 1.5 * len(rows)) as fig:
            axes = fig.subplots(len(rows), 1, sharex=True, squeeze=False)[:, 0]
            bins = [k / 20 for k in range(21)]
            for ax, key in zip(axes, rows, strict=True):
                values = coverages[key]
                below = [v for v in values if v < threshold]
                above = [v for v in values if v >= threshold]
                ax.hist(
                    [below, above],
                    bins=bins,
                    stacked=True,
                    color=["#b8bfcc", PRESET_COLORS["contam"]],
                    label=["below threshold", "at or above threshold"],
                    edgecolor="white",
                    linewidth=0.6,
                )
                ax.axvline(threshold, color=_INK, linestyle="--", linewidth=1)
                ax.set_title(
                    f"{key[0]} · {key[1]}: {len(values):,} items with a span, "
                    f"{len(above):,} at or above {threshold:g}",
                    loc="left",
                    fontsize=9.5,
                )
                ax.yaxis.get_major_locator().set_params(integer=True)
                ax.grid(axis="y", color=_GRID)
                ax.set_ylabel("items")
            axes[0].legend(loc="upper right", fontsize=8.5)
            axes[-1].set_xlim(0, 1)
            axes[-1].set_xlabel(
                "input coverage: share of the item's distinctive tokens in one document's spans"
            )
            chart = _svg(fig, "overlap")
        caption = (
            "Items of each bench with any aligned span in the corpus, by contam's coverage; "
            f"the dashed line is the threshold ({threshold:g}). Items without a span are left out."
        )
        return _section("overlap", "Overlap fractions", _figure(chart, caption))

    def _groups(self) -> str:
        rows = self.report.groups(self.focus)
        if not rows:
            body = '<p class="note">No bench of this scan has subjects or groups.</p>'
            return _section("groups", "Per subject", body)
        by_bench: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            by_bench[(r["bench"], r["split"])].append(r)
        parts = []
        for key in [k for k in self.benches if k in by_bench]:
            groups = by_bench[key]
            hit = [g for g in groups if g["contaminated"]]
            title = f"<h3>{_e(key[0])} · {_e(key[1])}</h3>"
            if hit:
                shown = sorted(hit, key=lambda g: (-g["contaminated_fraction"], g["group"]))
                note = (
                    f"{len(hit)} of {len(groups)} subjects hold contaminated items"
                    + (f"; the {GROUP_BARS} highest are drawn" if len(hit) > GROUP_BARS else "")
                    + "."
                )
                chart = _figure(self._groups_chart(key, shown[:GROUP_BARS]), _e(note))
            else:
                chart = (
                    f'<p class="note">None of the {len(groups)} subjects holds a contaminated '
                    "item.</p>"
                )
            table_rows = "".join(
                f"<tr{' class=hit' if g['contaminated'] else ''}><td>{_e(g['group'])}</td>"
                f'<td class="num">{int(g["items"]):,}</td>'
                f'<td class="num">{int(g["contaminated"]):,}</td>'
                f'<td class="num">{_pct(g["contaminated_fraction"])}</td>'
                f'<td class="num">{int(g["input_only"]):,}</td>'
                f'<td class="num">{int(g["input_and_label"]):,}</td></tr>'
                for g in groups
            )
            table = (
                f"<details><summary>All {len(groups)} subjects of {_e(key[0])}</summary>"
                '<table class="compact"><thead><tr><th>subject</th><th class="num">items</th>'
                '<th class="num">contaminated</th><th class="num">rate</th>'
                '<th class="num">question only</th><th class="num">with answer</th></tr>'
                f"</thead><tbody>{table_rows}</tbody></table></details>"
            )
            parts.append(title + chart + table)
        return _section("groups", f"Per subject ({_e(self.focus)})", "".join(parts))

    def _groups_chart(self, key: tuple[str, str], groups: list[dict[str, Any]]) -> str:
        with _figure_of(10, 0.8 + 0.28 * len(groups)) as fig:
            ax = fig.subplots()
            ys = list(range(len(groups)))
            full = [100 * int(g["input_and_label"]) / int(g["items"]) for g in groups]
            only = [100 * int(g["input_only"]) / int(g["items"]) for g in groups]
            ax.barh(ys, only, color=_LIGHT, height=0.7, label="question only")
            ax.barh(
                ys, full, left=only, color=PRESET_COLORS["contam"], height=0.7, label="with answer"
            )
            peak = max(a + b for a, b in zip(only, full, strict=True))
            for y, g, a, b in zip(ys, groups, only, full, strict=True):
                ax.text(
                    a + b + peak * 0.01,
                    y,
                    f"{int(g['contaminated']):,} of {int(g['items']):,}",
                    va="center",
                    fontsize=8,
                    color=_MUTED,
                )
            ax.set_yticks(ys, [str(g["group"]) for g in groups])
            ax.invert_yaxis()
            ax.set_xlim(0, peak * 1.25)
            ax.set_xlabel("items of the subject contaminated (%)")
            ax.grid(axis="x", color=_GRID)
            fig.legend(loc="outside upper right", ncols=2, fontsize=9)
            return _svg(fig, f"groups-{key[0]}-{key[1]}")

    def _items(self) -> str:
        items = self.report.top_items(self.focus, self.top)
        if not items:
            body = (
                '<p class="verdict clean">No contaminated items under the '
                f"<b>{_e(self.focus)}</b> definition.</p>"
            )
            return _section("items", "Contaminated items", body)
        spans = self.report.query(
            """SELECT m.* FROM matches m
               WHERE list_contains(?, m.bench || chr(0) || m.split || chr(0) || m.item_id)
               ORDER BY m.bench, m.split, m.item_id, m.shard, m.doc_line, m.char_start""",
            [[f"{i['bench']}\0{i['split']}\0{i['item_id']}" for i in items]],
        )
        docs: dict[tuple[str, str, str], dict[tuple[str, int], list[dict[str, Any]]]] = {}
        for s in spans:
            item_docs = docs.setdefault((s["bench"], s["split"], s["item_id"]), {})
            item_docs.setdefault((s["shard"], int(s["doc_line"])), []).append(s)
        shown: dict[tuple[str, str, str], list[list[dict[str, Any]]]] = {}
        for key, by_doc in docs.items():
            ranked = sorted(
                by_doc.values(),
                key=lambda ss: (
                    -sum(int(s["matched_tokens"]) for s in ss),
                    ss[0]["shard"],
                    int(ss[0]["doc_line"]),
                ),
            )
            shown[key] = ranked[:DOCS_PER_ITEM]
        texts = document_texts(
            self.run,
            [
                DocRequest(ss[0]["shard"], int(ss[0]["doc_line"]), ss[0]["doc_id"])
                for doc_list in shown.values()
                for ss in doc_list
            ],
        )
        cards = []
        for item in items:
            key = (item["bench"], item["split"], item["item_id"])
            doc_list = shown.get(key, [])
            more = len(docs.get(key, {})) - len(doc_list)
            cards.append(self._item_card(item, doc_list, more, texts))
        total = self.contaminated
        lead = (
            f"<p>The {len(items)} contaminated item{'s' if len(items) != 1 else ''} with the "
            f"highest input coverage{f' (of {total:,})' if total > len(items) else ''}, each "
            "beside the corpus text it matched. <mark>Highlighted</mark>: aligned spans over the "
            'question; <mark class="label">orange</mark>: spans that start in the answer.</p>'
        )
        return _section("items", "Contaminated items", lead + "".join(cards))

    def _item_card(
        self,
        item: dict[str, Any],
        doc_list: list[list[dict[str, Any]]],
        more: int,
        texts: dict[tuple[str, int], str | None],
    ) -> str:
        part = "question and answer" if item["full_contaminated"] else "question"
        facts = [
            ("bench", f"{_e(item['bench'])} · {_e(item['split'])}"),
            ("subject", _e(item["group"]) if item["group"] is not None else "—"),
            ("leaked", part),
            ("input coverage", _num(item["input_coverage"])),
            ("answer coverage", _num(item["label_coverage"])),
            (
                "longest span",
                f"{_count(item['input_longest_run'] or 0, 'token')}, "
                f"{_count(item['input_edits'] or 0, 'edit')}",
            ),
            ("documents", f"{int(item['input_docs'] or 0):,}"),
        ]
        dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
        blocks = []
        for ss in doc_list:
            first = ss[0]
            text = texts.get((first["shard"], int(first["doc_line"])))
            n_tokens = sum(int(s["matched_tokens"]) for s in ss)
            head = (
                f'<div class="doc-head">document <code>{_e(first["doc_id"])}</code> · '
                f"<code>{_e(first['shard'])}</code> line {int(first['doc_line']):,} · "
                f"{_count(len(ss), 'span')}, {_count(n_tokens, 'token')} matched</div>"
            )
            marks = [(int(s["char_start"]), int(s["char_end"]), bool(s["input_part"])) for s in ss]
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
                f"{_e(self.focus)} definition found it by its own test, which keeps no "
                "offsets.</p>"
            )
        return (
            f'<article class="item"><div class="facts"><h3>{_breakable(item["item_id"])}</h3>'
            f"<dl>{dl}</dl></div><div>{''.join(blocks)}</div></article>"
        )

    def _documents(self) -> str:
        rows = self.report.top_documents(self.focus, self.top)
        if not rows:
            body = '<p class="note">No corpus document holds a contaminated item.</p>'
            return _section("documents", "Corpus documents", body)
        trs = "".join(
            f"<tr><td><code>{_e(r['doc_id'])}</code></td><td><code>{_e(r['shard'])}</code></td>"
            f'<td class="num">{int(r["doc_line"]):,}</td><td class="num">{int(r["items"]):,}</td>'
            f'<td class="num">{int(r["spans"]):,}</td>'
            f'<td class="num">{int(r["matched_tokens"]):,}</td><td>{_e(r["benches"])}</td></tr>'
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
            f"{_e(self.focus)}.</p>"
        )
        return _section("documents", "Corpus documents", lead + table)

    def _run(self) -> str:
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
        settings = _key_values(
            [(k, v) for k, v in _flatten(config) if k not in ("fingerprint", "preset")]
        )
        versions = _key_values(
            [
                *run.get("versions", {}).items(),
                ("report: contam", __version__),
                ("report: matplotlib", _matplotlib_version()),
            ]
        )
        benches = "".join(
            f"<tr><td>{_e(b['bench'])}</td><td>{_e(b['split'])}</td>"
            f'<td class="num">{int(b.get("items", 0)):,}</td>'
            f'<td><code class="hash">{_e(b.get("checksum") or "—")}</code></td></tr>'
            for b in plan.get("benches", [])
        )
        shards = "".join(
            f"<tr><td><code>{_e(s['shard'])}</code><br>"
            f'<code class="hash">sha256 {_e(s.get("sha256") or "not recorded")}</code></td>'
            f"<td>{_e(s.get('status'))}</td>"
            f'<td class="num">{int(s.get("docs", 0)):,}</td>'
            f'<td class="num">{int(s.get("tokens", 0)):,}</td>'
            f'<td class="num nowrap">{_size(s.get("raw_bytes"))}</td></tr>'
            for s in run.get("shards", [])
        )
        totals = run.get("totals", {})
        definitions = "".join(
            f"<tr{' class=hit' if p.name == self.focus else ''}><td>{_e(p.name)}</td>"
            f"<td>{_e(p.rule)}</td><td>{_e(p.source)}</td></tr>"
            for p in PRESETS.values()
        )
        body = (
            '<div class="meta">'
            f"<div><h3>Scan</h3>{_key_values(scan_facts)}</div>"
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
        return _section("run", "Run", body)


def excerpt_html(
    text: str, spans: list[tuple[int, int, bool]], context: int = CONTEXT_CHARS
) -> str:
    """HTML of the parts of ``text`` around ``spans``, each span in a ``<mark>``.

    ``spans`` are ``(char_start, char_end, input_part)`` Python string offsets; overlapping
    spans are merged, and a span that starts in the answer (``input_part`` false everywhere)
    gets ``class="label"``. Up to ``context`` characters, and at most ``CONTEXT_LINES`` lines
    beyond the span's own, are kept on each side; windows that touch are joined, the others
    separated by a gap. Everything is HTML-escaped.

    Example:
        >>> excerpt_html("we say the quick fox twice", [(7, 16, True)], context=4)
        '…say <mark>the quick</mark> fox…'
    """
    merged: list[list[Any]] = []
    for start, end, is_input in sorted(spans):
        start, end = max(0, start), min(len(text), end)
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][2] = merged[-1][2] or is_input
        elif start < end:
            merged.append([start, end, is_input])
    windows: list[list[Any]] = []
    for start, end, is_input in merged:
        lo, hi = _context_start(text, start, context), _context_end(text, end, context)
        if windows and lo <= windows[-1][1]:
            windows[-1][1] = hi
            windows[-1][2].append((start, end, is_input))
        else:
            windows.append([lo, hi, [(start, end, is_input)]])
    out = []
    for lo, hi, marks in windows:
        parts = ["…" if lo > 0 else ""]
        at = lo
        for start, end, is_input in marks:
            cls = "" if is_input else ' class="label"'
            parts.append(f"{_text(text[at:start])}<mark{cls}>{_text(text[start:end])}</mark>")
            at = end
        parts.append(_text(text[at:hi]) + ("…" if hi < len(text) else ""))
        out.append("".join(parts))
    return '<span class="gap"> </span>'.join(out)


def _context_start(text: str, start: int, context: int) -> int:
    # at most `context` characters, and at most CONTEXT_LINES whole lines before the span's
    # line: verse and code have short lines, and 160 characters of them fill a screen
    lo = max(0, start - context)
    at = start
    for _ in range(CONTEXT_LINES + 1):
        at = text.rfind("\n", lo, at)
        if at < 0:
            return lo
    return at + 1


def _context_end(text: str, end: int, context: int) -> int:
    hi = min(len(text), end + context)
    at = end
    for _ in range(CONTEXT_LINES + 1):
        newline = text.find("\n", at, hi)
        if newline < 0:
            return hi
        at = newline + 1
    return at - 1


def _text(s: str) -> str:
    # long runs of blank lines in context would only stretch the excerpt
    return html.escape(re.sub(r"\n\s*\n(\s*\n)+", "\n\n", s))


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _count(n: Any, word: str, plural: str | None = None) -> str:
    n = int(n)
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def _breakable(value: Any) -> str:
    # ids like test/chinese_teacher_qualification/81 wrap at their slashes
    return _e(value).replace("/", "/<wbr>")


def _pct(fraction: Any) -> str:
    value = 100 * float(fraction or 0)
    if value == 0:
        return "0%"
    if value < 0.01:
        return "<0.01%"
    return f"{value:.2f}%"


def _num(value: Any) -> str:
    return "—" if value is None else f"{float(value):.3f}"


def _size(raw: Any) -> str:
    if raw is None:
        return "—"
    n = float(raw)
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} TB"


def _flatten(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in d.items():
        if isinstance(v, dict):
            out.extend(_flatten(v, f"{prefix}{k}."))
        else:
            out.append((f"{prefix}{k}", ", ".join(map(str, v)) if isinstance(v, list) else v))
    return out


def _key_values(pairs: list[tuple[str, Any]]) -> str:
    rows = "".join(f"<dt>{_e(k)}</dt><dd>{_e(_value(v))}</dd>" for k, v in pairs)
    return f'<dl class="kv">{rows}</dl>'


def _value(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{title}</h2>{body}</section>'


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{caption}</figcaption></figure>"


def _matplotlib_version() -> str:
    import matplotlib

    return str(matplotlib.__version__)


@contextmanager
def _figure_of(width: float, height: float) -> Iterator[Figure]:
    import matplotlib
    from matplotlib.figure import Figure

    # the rc keys are typed as literals in matplotlib's stubs; _RC holds valid ones
    with matplotlib.rc_context(cast(Any, _RC)), warnings.catch_warnings():
        # labels are SVG text drawn by the browser: a glyph matplotlib's own font lacks
        # (CJK group names) only makes its layout estimate a little off
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        yield Figure(figsize=(width, height), layout="constrained")


def _svg(fig: Figure, key: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, flags=re.S)
    # inline in HTML the namespaces are implied; several charts share one id space
    svg = re.sub(r' xmlns(:xlink)?="[^"]*"', "", svg)
    prefix = re.sub(r"[^A-Za-z0-9_-]", "_", key) + "-"
    svg = svg.replace('id="', f'id="{prefix}').replace("url(#", f"url(#{prefix}")
    svg = svg.replace('href="#', f'href="#{prefix}')
    return svg.replace("<svg ", f'<svg role="img" aria-label="{_e(key)} chart" ', 1)


_CSS = """
:root { --ink: #1d2330; --muted: #5b6475; --line: #dde2ea; --soft: #f5f7fa;
  --accent: #1f5fa8; --mark: #ffe27a; --mark-label: #ffc09e; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--ink);
  font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    "Noto Sans", "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
    "PingFang SC", "Microsoft YaHei", sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 40px 64px; }
header { border-bottom: 3px solid var(--accent); padding-bottom: 12px; margin-bottom: 18px; }
.eyebrow { margin: 0; color: var(--accent); font-size: 13px; font-weight: 600;
  letter-spacing: .04em; text-transform: uppercase; }
h1 { margin: 2px 0 4px; font-size: 28px; }
h2 { margin: 40px 0 12px; padding-bottom: 6px; font-size: 20px;
  border-bottom: 1px solid var(--line); }
h3 { margin: 22px 0 8px; font-size: 16px; }
.subtitle, .muted, figcaption { color: var(--muted); }
.subtitle { margin: 0 0 6px; }
nav a { color: var(--accent); text-decoration: none; font-size: 14px; }
.verdict { margin: 14px 0; padding: 10px 14px; border-left: 4px solid #c2410c;
  background: #fff4ec; font-size: 16px; }
.verdict.clean { border-left-color: #2a9d6f; background: #eef8f3; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px;
  background: var(--soft); font-size: 13px; }
.card.hit { border-top: 3px solid #c2410c; }
.card .label { font-weight: 600; font-size: 14px; }
.card .n { font-size: 26px; font-weight: 650; line-height: 1.2; }
.card .of { font-size: 14px; font-weight: 400; color: var(--muted); }
table { width: 100%; border-collapse: collapse; font-size: 13.5px;
  font-variant-numeric: tabular-nums; margin: 8px 0 12px; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
thead th { background: var(--soft); font-weight: 600; white-space: nowrap; }
th.group { text-align: center; border-bottom: 2px solid var(--line); }
.num { text-align: right; }
.nowrap { white-space: nowrap; }
td.focus { font-weight: 650; }
tr.hit td { background: #fff7e0; }
table.compact { font-size: 12.5px; } table.compact td { padding: 2px 10px; }
details { margin: 6px 0 16px; } summary { cursor: pointer; color: var(--accent); }
figure { margin: 12px 0 20px; }
figure svg { display: block; width: 100%; height: auto; }
figcaption { font-size: 13px; margin-top: 4px; }
.note { color: var(--muted); font-style: italic; }
.item { display: grid; grid-template-columns: 290px minmax(0, 1fr); gap: 18px; margin: 14px 0;
  padding: 14px 16px; border: 1px solid var(--line); border-radius: 6px; }
.item h3 { margin: 0 0 8px; font-size: 15px; overflow-wrap: anywhere; }
.item dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; margin: 0;
  font-size: 13px; }
.item dt { color: var(--muted); white-space: nowrap; }
.item dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.doc + .doc { margin-top: 10px; }
.doc-head { font-size: 12.5px; color: var(--muted); }
.doc-head code { overflow-wrap: anywhere; }
.excerpt { margin: 4px 0 0; padding: 10px 12px; background: var(--soft); border-radius: 4px;
  white-space: pre-wrap; overflow-wrap: anywhere; font-size: 14.5px; line-height: 1.75; }
.excerpt .gap::before { content: "\\2003[…]\\2003"; color: var(--muted); }
mark { background: var(--mark); color: inherit; padding: 1px 0; border-radius: 2px; }
mark.label { background: var(--mark-label); }
code { font: 12.5px/1.4 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
code.hash { font-size: 11.5px; word-break: break-all; }
.meta { display: grid; grid-template-columns: 1.25fr 1fr 0.9fr; gap: 24px; }
dl.kv { display: grid; grid-template-columns: auto 1fr; gap: 2px 12px; margin: 0;
  font-size: 13px; }
dl.kv dt { color: var(--muted); } dl.kv dd { margin: 0; overflow-wrap: anywhere; }
"""
