"""The HTML report's charts, drawn by matplotlib as inline SVG strings.

Text is left as text (``svg.fonttype = "none"``), so CJK group names display in the
browser's fonts. The same data gives the same bytes: the SVG ids come from a fixed salt and
are prefixed per chart (several charts share one page's id space), and matplotlib's date and
creator metadata are dropped. matplotlib (the ``html`` extra) is imported only when a chart
is drawn.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from contam.config import PRESET_NAMES
from contam.markup import escape, percent
from contam.results import rates_by_bench

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: (bench, split)
BenchKey = tuple[str, str]

#: One color per definition, the same in every chart.
PRESET_COLORS = {
    "contam": "#1f5fa8",
    "gpt3": "#e08a00",
    "palm": "#2a9d6f",
    "llama2": "#b5548c",
    "gpt4": "#6f7785",
}
INK, MUTED, GRID, LIGHT = "#1d2330", "#5b6475", "#e6e9ef", "#a9c3e3"
#: matplotlib settings of every chart: text as SVG text, ids from a fixed salt, quiet axes.
CHART_RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "contam-report",
    "font.family": "sans-serif",
    "font.size": 10,
    "axes.edgecolor": "#9aa3b2",
    "axes.labelcolor": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.axisbelow": True,
    "xtick.color": MUTED,
    "ytick.color": INK,
    "legend.frameon": False,
}


def rates_chart(benches: list[BenchKey], rates: list[dict[str, Any]], focus: str) -> str:
    """Grouped bars: the share of each bench's items contaminated under each definition,
    with ``focus`` (the report's definition) outlined.

    Args:
        benches: the benches to draw, top to bottom.
        rates: ``ScanReport.rates()`` rows, one per bench, split and preset.
        focus: the definition the report uses.
    """
    import numpy as np

    by_bench = rates_by_bench(rates)
    bar_height = 0.15
    with figure_of(10, 0.9 + 0.85 * len(benches)) as fig:
        ax = fig.subplots()
        centers = np.arange(len(benches), dtype=float)
        peak = max((float(r["contaminated_fraction"]) for r in rates), default=0.0)
        span = peak * 100 or 1.0
        for k, preset in enumerate(PRESET_NAMES):
            ys = centers + (k - 2) * bar_height
            bench_rates = [by_bench.get(key, {}).get(preset) for key in benches]
            values = [100 * float(r["contaminated_fraction"]) if r else 0.0 for r in bench_rates]
            is_focus = preset == focus
            ax.barh(
                ys,
                values,
                height=bar_height * 0.92,
                color=PRESET_COLORS[preset],
                edgecolor=INK if is_focus else "none",
                linewidth=1.2 if is_focus else 0,
                label=f"{preset} (this report)" if is_focus else preset,
            )
            for y, value, r in zip(ys, values, bench_rates, strict=True):
                n = int(r["contaminated"]) if r else 0
                ax.text(
                    value + span * 0.01,
                    y,
                    f"{n:,}  ({percent(value / 100)})" if n else "0",
                    va="center",
                    fontsize=8,
                    color=INK if is_focus else MUTED,
                    fontweight="bold" if is_focus else "normal",
                )
        ax.set_yticks(centers, [f"{bench} · {split}" for bench, split in benches])
        ax.invert_yaxis()
        ax.set_xlim(0, span * 1.3)
        ax.set_xlabel("items contaminated (%)")
        ax.grid(axis="x", color=GRID)
        fig.legend(loc="outside upper center", ncols=len(PRESET_NAMES), fontsize=9)
        return render_svg(fig, "rates")


def overlap_chart(coverages: dict[BenchKey, list[float]], threshold: float) -> str:
    """One histogram per bench of its items' input coverage, split at ``threshold``.

    Args:
        coverages: per bench, top to bottom, the input coverage of each item with a span.
        threshold: contam's coverage threshold, drawn as a dashed line.
    """
    with figure_of(10, 0.6 + 1.5 * len(coverages)) as fig:
        axes = fig.subplots(len(coverages), 1, sharex=True, squeeze=False)[:, 0]
        bins = [k / 20 for k in range(21)]
        for ax, (key, values) in zip(axes, coverages.items(), strict=True):
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
            ax.axvline(threshold, color=INK, linestyle="--", linewidth=1)
            ax.set_title(
                f"{key[0]} · {key[1]}: {len(values):,} items with a span, "
                f"{len(above):,} at or above {threshold:g}",
                loc="left",
                fontsize=9.5,
            )
            ax.yaxis.get_major_locator().set_params(integer=True)
            ax.grid(axis="y", color=GRID)
            ax.set_ylabel("items")
        axes[0].legend(loc="upper right", fontsize=8.5)
        axes[-1].set_xlim(0, 1)
        axes[-1].set_xlabel(
            "input coverage: share of the item's distinctive tokens in one document's spans"
        )
        return render_svg(fig, "overlap")


def groups_chart(key: BenchKey, groups: list[dict[str, Any]]) -> str:
    """Stacked bars per subject of one bench: the share of its items leaked as the question
    only, and with the answer.

    Args:
        key: the bench and split, which name the chart's SVG ids.
        groups: ``ScanReport.groups()`` rows to draw, top to bottom, each with contaminated
            items.
    """
    with figure_of(10, 0.8 + 0.28 * len(groups)) as fig:
        ax = fig.subplots()
        ys = list(range(len(groups)))
        with_answer = [100 * int(g["input_and_label"]) / int(g["items"]) for g in groups]
        question_only = [100 * int(g["input_only"]) / int(g["items"]) for g in groups]
        ax.barh(ys, question_only, color=LIGHT, height=0.7, label="question only")
        ax.barh(
            ys,
            with_answer,
            left=question_only,
            color=PRESET_COLORS["contam"],
            height=0.7,
            label="with answer",
        )
        peak = max(a + b for a, b in zip(question_only, with_answer, strict=True))
        for y, g, a, b in zip(ys, groups, question_only, with_answer, strict=True):
            ax.text(
                a + b + peak * 0.01,
                y,
                f"{int(g['contaminated']):,} of {int(g['items']):,}",
                va="center",
                fontsize=8,
                color=MUTED,
            )
        ax.set_yticks(ys, [str(g["group"]) for g in groups])
        ax.invert_yaxis()
        ax.set_xlim(0, peak * 1.25)
        ax.set_xlabel("items of the subject contaminated (%)")
        ax.grid(axis="x", color=GRID)
        fig.legend(loc="outside upper right", ncols=2, fontsize=9)
        return render_svg(fig, f"groups-{key[0]}-{key[1]}")


@contextmanager
def figure_of(width: float, height: float) -> Iterator[Figure]:
    """A figure of ``width`` x ``height`` inches drawn under `CHART_RC`.

    A bare `Figure`, not pyplot's: no global figure registry, no GUI backend.
    """
    import matplotlib
    from matplotlib.figure import Figure

    # the rc keys are typed as literals in matplotlib's stubs; CHART_RC holds valid ones
    with matplotlib.rc_context(cast(Any, CHART_RC)), warnings.catch_warnings():
        # labels are SVG text drawn by the browser: a glyph matplotlib's own font lacks
        # (CJK group names) only makes its layout estimate a little off
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        yield Figure(figsize=(width, height), layout="constrained")


def render_svg(fig: Figure, key: str) -> str:
    """``fig`` as an ``<svg>`` element to inline in HTML, its ids prefixed by ``key``.

    The XML prolog, doctype, metadata and namespaces are dropped, so the same figure gives
    the same bytes and several charts fit one page.
    """
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
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(key)} chart" ', 1)


def matplotlib_version() -> str:
    """The installed matplotlib's version, recorded in the report's run section."""
    import matplotlib

    return str(matplotlib.__version__)
