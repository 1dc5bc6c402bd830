"""Where a document is cut: spans widened by the margin and snapped to word or CJK-character
boundaries, merged, and what is kept or dropped.

`cut_regions` turns the spans of one document into the regions to remove, `kept_pieces` gives
the text left between them, and `Editor` decides each document's fate for `decontaminate`
(an `contam.rewrite.Edit`), recording every removed region.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contam.errors import ShardError
from contam.normalize import CJK, char_classes

#: A region to cut from a text: ``(start, end, indices of the spans it holds)``.
Region = tuple[int, int, list[int]]


@dataclass(frozen=True, slots=True)
class Span:
    """An aligned span of a contaminated item in one document (from ``matches.parquet``)."""

    doc_id: str
    start: int
    end: int
    item: str  # "bench:item_id"


@dataclass(frozen=True, slots=True)
class CutPolicy:
    """How documents holding spans are cleaned (checked by `decontaminate`)."""

    mode: str  # drop-doc or cut-span
    margin: int  # characters added to each side of a span before it is cut
    max_pieces: int  # a document that cuts would leave in more pieces is dropped instead


def cut_regions(text: str, spans: Sequence[tuple[int, int]], margin: int) -> list[Region]:
    """The regions to cut from ``text``: each span widened by ``margin`` characters, snapped
    outward so that no word is cut in half (to whitespace, or beside a CJK character, each
    a word of its own), with the whitespace around it; overlapping regions merged. Each
    region comes with the indices of the spans it holds.

    Example:
        >>> cut_regions("one two three four", [(5, 6)], 0)
        [(3, 8, [0])]
    """
    widened = sorted(
        (
            _snap_start(text, max(0, start - margin)),
            _snap_end(text, min(len(text), end + margin)),
            span_index,
        )
        for span_index, (start, end) in enumerate(spans)
    )
    regions: list[Region] = []
    for start, end, span_index in widened:
        if regions and start <= regions[-1][1]:
            last_start, last_end, span_indices = regions[-1]
            regions[-1] = (last_start, max(last_end, end), [*span_indices, span_index])
        else:
            regions.append((start, end, [span_index]))
    return regions


def kept_pieces(text: str, regions: Sequence[Region]) -> list[str]:
    """The non-empty stretches of ``text`` between the (sorted, disjoint) regions.

    Example:
        >>> kept_pieces("one two three four", [(3, 8, [0])])
        ['one', 'three four']
    """
    bounds = [0, *[x for start, end, _ in regions for x in (start, end)], len(text)]
    pieces = (text[bounds[i] : bounds[i + 1]] for i in range(0, len(bounds), 2))
    return [piece for piece in pieces if piece]


def _is_break(text: str, position: int) -> bool:
    """Whether cutting ``text`` at ``position`` splits no word: an end of the text, beside
    whitespace, or beside a CJK character."""
    if position <= 0 or position >= len(text):
        return True
    classes = char_classes(True)
    before, after = text[position - 1], text[position]
    return (
        before.isspace()
        or after.isspace()
        or classes[ord(before)] == CJK
        or classes[ord(after)] == CJK
    )


def _snap_start(text: str, start: int) -> int:
    """``start`` moved left to a word boundary, then over the whitespace before it."""
    while not _is_break(text, start):
        start -= 1
    while start > 0 and text[start - 1].isspace():
        start -= 1
    return start


def _snap_end(text: str, end: int) -> int:
    """``end`` moved right to a word boundary, then over the whitespace after it."""
    while not _is_break(text, end):
        end += 1
    while end < len(text) and text[end].isspace():
        end += 1
    return end


class Editor:
    """The fate of each document of one shard that holds spans (an `contam.rewrite.Edit`);
    collects the rows of ``removed.parquet`` (without ``out_shard``) and the counts."""

    def __init__(self, shard: Path, spans: Mapping[int, Sequence[Span]], policy: CutPolicy) -> None:
        self.shard = shard
        self.spans = spans  # by record number
        self.policy = policy
        self.removed_rows: list[dict[str, Any]] = []
        self.docs_dropped = 0
        self.docs_cut = 0
        self.chars_removed = 0

    def __call__(self, line: int, doc_id: str, text: str) -> str | None:
        spans = self.spans[line]
        if doc_id != spans[0].doc_id or max(s.end for s in spans) > len(text):
            raise ShardError(
                f"{self.shard}:{line}: document {doc_id!r} is not the one scanned "
                f"({spans[0].doc_id!r}); the shard changed since the scan (start again with "
                "another --out)"
            )
        action = self.policy.mode
        if action == "cut-span":
            regions = cut_regions(text, [(s.start, s.end) for s in spans], self.policy.margin)
            pieces = kept_pieces(text, regions)
            if len(pieces) > self.policy.max_pieces:
                action = "drop-doc-too-many-pieces"
            elif not pieces:
                action = "drop-doc-all-cut"
            else:
                for start, end, span_indices in regions:
                    items = sorted({spans[k].item for k in span_indices})
                    self._record_removal(line, doc_id, action, start, end, items)
                self.docs_cut += 1
                return "\n".join(pieces)
        self._record_removal(line, doc_id, action, 0, len(text), sorted({s.item for s in spans}))
        self.docs_dropped += 1
        return None

    def _record_removal(
        self, line: int, doc_id: str, action: str, start: int, end: int, items: list[str]
    ) -> None:
        self.chars_removed += end - start
        self.removed_rows.append(
            {"shard": str(self.shard), "doc_id": doc_id, "doc_line": line,
             "action": action, "char_start": start, "char_end": end,
             "chars_removed": end - start, "items": items}
        )  # fmt: skip
