"""Report values as escaped HTML text, shared by the HTML report's page and charts.

Everything from a report folder (ids, group names, settings) is escaped here before it
reaches the page; missing values show as a dash rather than "None".
"""

from __future__ import annotations

import html
from typing import Any

#: What a missing value (None) shows as.
MISSING = "—"


def escape(value: Any) -> str:
    """``str(value)`` made safe for HTML text and attribute values."""
    return html.escape(str(value), quote=True)


def count(n: Any, word: str, plural: str | None = None) -> str:
    """``n`` with thousands separators and ``word`` in the matching number: "1 token"."""
    n = int(n)
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def breakable(value: Any) -> str:
    """Escaped ``value`` that may wrap after each slash."""
    # ids like test/chinese_teacher_qualification/81 wrap at their slashes
    return escape(value).replace("/", "/<wbr>")


def percent(fraction: Any) -> str:
    """A fraction as a percentage; a rate too small for two decimals still reads as nonzero."""
    value = 100 * float(fraction or 0)
    if value == 0:
        return "0%"
    if value < 0.01:
        return "<0.01%"
    return f"{value:.2f}%"


def decimal(value: Any) -> str:
    """A coverage or other fraction to three decimals, or a dash when not recorded."""
    return MISSING if value is None else f"{float(value):.3f}"


def byte_size(raw: Any) -> str:
    """A byte count in decimal units (kB = 1000 B), or a dash when not recorded."""
    if raw is None:
        return MISSING
    n = float(raw)
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} TB"


def flatten(settings: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested settings as ``("ngram.n", 13)`` pairs, lists joined by commas, so they fit
    one definition list."""
    pairs: list[tuple[str, Any]] = []
    for key, value in settings.items():
        if isinstance(value, dict):
            pairs.extend(flatten(value, f"{prefix}{key}."))
        else:
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            pairs.append((f"{prefix}{key}", shown))
    return pairs


def key_values(pairs: list[tuple[str, Any]]) -> str:
    """A ``<dl class="kv">`` of escaped keys and their readable values."""
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(readable(v))}</dd>" for k, v in pairs)
    return f'<dl class="kv">{rows}</dl>'


def readable(value: Any) -> str:
    """A setting as a person reads it: yes/no for booleans, a dash for None."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def section(anchor: str, title: str, body: str) -> str:
    """A page section the header's navigation links to by ``anchor``."""
    return f'<section id="{anchor}"><h2>{title}</h2>{body}</section>'


def figure(svg: str, caption: str) -> str:
    """A chart with its caption; ``caption`` is HTML, escaped by the caller."""
    return f"<figure>{svg}<figcaption>{caption}</figcaption></figure>"
