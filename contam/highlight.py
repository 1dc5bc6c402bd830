"""Highlighted excerpts: the corpus text around an item's matched spans, as HTML.

A matched document can be megabytes long, so the report shows only a window of context
around each span, cut at line breaks where the text has short lines (verse, code). The
text itself comes from `contam.excerpts`.
"""

from __future__ import annotations

import html
import re

#: Characters of document text shown on each side of a highlighted span.
CONTEXT_CHARS = 160
#: Whole lines of context kept on each side of a span's own line(s).
CONTEXT_LINES = 2

#: ``(char_start, char_end, input_part)``: a span's Python string offsets, and whether it is
#: over the item's input (question) rather than its label (answer).
Span = tuple[int, int, bool]


def excerpt_html(text: str, spans: list[Span], context: int = CONTEXT_CHARS) -> str:
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
    # [start, end, input_part], widened in place as overlapping spans join
    merged: list[list[int | bool]] = []
    for start, end, is_input in sorted(spans):
        start, end = max(0, start), min(len(text), end)
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][2] = merged[-1][2] or is_input
        elif start < end:
            merged.append([start, end, is_input])
    # (first char, end char, the spans marked in it), widened in place as windows join
    windows: list[tuple[list[int], list[Span]]] = []
    for mark_start, mark_end, mark_input in merged:
        span = (int(mark_start), int(mark_end), bool(mark_input))
        lo, hi = _context_start(text, span[0], context), _context_end(text, span[1], context)
        if windows and lo <= windows[-1][0][1]:
            windows[-1][0][1] = hi
            windows[-1][1].append(span)
        else:
            windows.append(([lo, hi], [span]))
    excerpts = []
    for (lo, hi), marks in windows:
        parts = ["…" if lo > 0 else ""]
        at = lo
        for start, end, is_input in marks:
            cls = "" if is_input else ' class="label"'
            parts.append(f"{_escape_text(text[at:start])}<mark{cls}>")
            parts.append(f"{_escape_text(text[start:end])}</mark>")
            at = end
        parts.append(_escape_text(text[at:hi]) + ("…" if hi < len(text) else ""))
        excerpts.append("".join(parts))
    return '<span class="gap"> </span>'.join(excerpts)


def _context_start(text: str, start: int, context: int) -> int:
    """Where the context before a span starting at ``start`` begins."""
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
    """Where the context after a span ending at ``end`` ends (same limits as the start)."""
    hi = min(len(text), end + context)
    at = end
    for _ in range(CONTEXT_LINES + 1):
        newline = text.find("\n", at, hi)
        if newline < 0:
            return hi
        at = newline + 1
    return at - 1


def _escape_text(s: str) -> str:
    """``s`` HTML-escaped, with runs of blank lines cut to one."""
    # long runs of blank lines in context would only stretch the excerpt
    return html.escape(re.sub(r"\n\s*\n(\s*\n)+", "\n\n", s))
