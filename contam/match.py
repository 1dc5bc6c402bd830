"""Documents x lookup -> hits -> matched spans per (document, item).

The kernel `probe_docs` tokenizes each document of a batch, rolls the n-gram hash along it and
probes the bloom filter, then the exact table; items' short parts are found by probing a
prefix table with the first ``short_min`` tokens and extending only on a hit. Hits are few, so
turning them into per-item spans (`spans_of`) and character offsets is cheap.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from numba import njit

from contam.config import NormConfig
from contam.lookup import Lookup
from contam.normalize import (
    encode_batch,
    kernel_classes,
    lower_ascii,
    normalize_full,
    normalize_with_offsets,
)
from contam.records import DocBatch
from contam.shingles import BASE, base_power, bloom_maybe, finish, prefix_key, table_get, tokenize

I64 = npt.NDArray[np.int64]
Encoded = tuple[npt.NDArray[np.uint8], I64, I64]  # data, starts, ends
Probed = tuple[I64, I64, npt.NDArray[np.bool_]]  # hits, tokens per doc, changer flags

# hit columns
H_DOC, H_KIND, H_KEY, H_TOK, H_LEN, H_BYTE0, H_BYTE1 = range(7)
# span columns (byte offsets until `Matcher.finish` turns them into char offsets)
S_DOC, S_ITEM, S_TOK0, S_TOK1, S_CHAR0, S_CHAR1, S_INPUT = range(7)
KIND_GRAM, KIND_SHORT = 0, 1


@njit(inline="always")
def _push(hits, count, row):  # type: ignore[no-untyped-def]
    if count == hits.shape[0]:
        grown = np.empty((hits.shape[0] * 2, 7), dtype=np.int64)
        grown[:count] = hits[:count]
        hits = grown
    hits[count] = row
    return hits


@njit(cache=True, nogil=True)
def probe_docs(  # type: ignore[no-untyped-def]
    d,
    starts,
    ends,
    classes,
    n,
    base_n,
    k0,
    base_k0,
    gram_keys,
    gram_vals,
    bloom,
    prefix_keys,
    prefix_vals,
    short_keys,
    short_vals,
):
    """Every indexed n-gram and short item part in the documents ``d[starts[k]:ends[k]]``.

    Returns (hits int64[h, 7], tokens per document, documents holding a token changer); hit
    columns are doc, kind, key (n-gram or short id), first token, token count, and the byte
    span in the normalized document.
    One loop rolls both the n-gram hash and, when the index has short items, the hash of the
    last ``k0`` tokens, whose rare hits in the prefix table are extended token by token.
    """
    longest = 1
    for k in range(len(starts)):
        longest = max(longest, ends[k] - starts[k])
    th = np.empty(longest, dtype=np.uint64)
    ts = np.empty(longest, dtype=np.int64)
    te = np.empty(longest, dtype=np.int64)
    hits = np.empty((256, 7), dtype=np.int64)
    row = np.empty(7, dtype=np.int64)
    count = 0
    tokens = np.zeros(len(starts), dtype=np.int64)
    changers = np.zeros(len(starts), dtype=np.bool_)
    has_short = prefix_keys.any()
    for k in range(len(starts)):
        s = starts[k]
        nt, changers[k] = tokenize(d, s, ends[k], classes, th, ts, te)
        tokens[k] = nt
        raw = np.uint64(0)
        raw_k = np.uint64(0)
        for j in range(nt):
            t = th[j]
            raw = raw * BASE + t
            if j >= n:
                raw = raw - th[j - n] * base_n
            if j >= n - 1:
                h = finish(raw, n)
                if bloom_maybe(bloom, h):
                    g = table_get(gram_keys, gram_vals, h)
                    if g >= 0:
                        first = j - n + 1
                        row[0] = k
                        row[1] = 0
                        row[2] = g
                        row[3] = first
                        row[4] = n
                        row[5] = ts[first] - s
                        row[6] = te[j] - s
                        hits = _push(hits, count, row)
                        count += 1
            if not has_short:
                continue
            raw_k = raw_k * BASE + t
            if j >= k0:
                raw_k = raw_k - th[j - k0] * base_k0
            if j < k0 - 1 or table_get(prefix_keys, prefix_vals, prefix_key(raw_k)) < 0:
                continue
            first = j - k0 + 1
            ext = raw_k
            for length in range(k0, min(n - 1, nt - first) + 1):
                if length > k0:
                    ext = ext * BASE + th[first + length - 1]
                u = table_get(short_keys, short_vals, finish(ext, length))
                if u >= 0:
                    row[0] = k
                    row[1] = 1
                    row[2] = u
                    row[3] = first
                    row[4] = length
                    row[5] = ts[first] - s
                    row[6] = te[first + length - 1] - s
                    hits = _push(hits, count, row)
                    count += 1
    return hits[:count].copy(), tokens, changers


def spans_of(lookup: Lookup, hits: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Hits -> maximal matched spans per (doc, item), sorted by doc, item, first token.

    Returns int64[m, 7]: doc, item, first token, end token, byte start, byte end, input flag
    (the span holds an n-gram of the item's input part, or its whole short input). Spans of
    one item that overlap or touch in the document are one span.
    """
    rows = _item_hits(
        hits, lookup.gram_item_ptr, lookup.gram_item, lookup.gram_item_input,
        lookup.short_ptr, lookup.short_item, lookup.short_part,
    )  # fmt: skip
    merged: npt.NDArray[np.int64] = _merge_spans(
        rows[np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0]))]
    )
    return merged


@njit(cache=True)
def _item_hits(  # type: ignore[no-untyped-def]
    hits, gram_item_ptr, gram_item, gram_item_input, short_ptr, short_item, short_part
):
    """One row per (hit, item holding the hit's n-gram or short part)."""
    total = 0
    for h in range(hits.shape[0]):
        key = hits[h, 2]
        if hits[h, 1] == 0:
            total += gram_item_ptr[key + 1] - gram_item_ptr[key]
        else:
            total += short_ptr[key + 1] - short_ptr[key]
    rows = np.empty((total, 7), dtype=np.int64)
    r = 0
    for h in range(hits.shape[0]):
        key = hits[h, 2]
        if hits[h, 1] == 0:
            lo, hi = gram_item_ptr[key], gram_item_ptr[key + 1]
        else:
            lo, hi = short_ptr[key], short_ptr[key + 1]
        for e in range(lo, hi):
            rows[r, 0] = hits[h, 0]
            rows[r, 2] = hits[h, 3]
            rows[r, 3] = hits[h, 3] + hits[h, 4]
            rows[r, 4] = hits[h, 5]
            rows[r, 5] = hits[h, 6]
            if hits[h, 1] == 0:
                rows[r, 1] = gram_item[e]
                rows[r, 6] = 1 if gram_item_input[e] else 0
            else:
                rows[r, 1] = short_item[e]
                rows[r, 6] = short_part[e] & 1
            r += 1
    return rows


@njit(cache=True)
def _merge_spans(rows):  # type: ignore[no-untyped-def]
    out = np.empty_like(rows)
    m = -1
    for r in range(rows.shape[0]):
        if (
            m >= 0
            and out[m, 0] == rows[r, 0]
            and out[m, 1] == rows[r, 1]
            and rows[r, 2] <= out[m, 3]
        ):
            out[m, 3] = max(out[m, 3], rows[r, 3])
            out[m, 5] = max(out[m, 5], rows[r, 5])
            out[m, 6] = max(out[m, 6], rows[r, 6])
        else:
            m += 1
            out[m] = rows[r]
    return out[: m + 1].copy()


@dataclass(slots=True)
class BatchMatches:
    """What one batch of documents contributed: hits and spans with original char offsets.

    ``spans`` columns: doc (index in the batch), item, first token, end token, char start,
    char end (in the original document text), input flag.
    """

    hits: npt.NDArray[np.int64]
    spans: npt.NDArray[np.int64]
    tokens: int
    docs: int
    text_chars: int
    doc_ids: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


class Matcher:
    """Runs the kernel for a `Lookup` over batches of documents."""

    def __init__(self, lookup: Lookup, norm: NormConfig) -> None:
        self.lookup = lookup
        self.norm = norm
        # first pass: flag the texts that need NFKC; texts normalized in Python: no flags
        self.classes = kernel_classes(norm.cjk_chars, norm.nfkc)
        self.plain_classes = kernel_classes(norm.cjk_chars, False)
        self.base_n = base_power(lookup.n)
        self.base_k0 = base_power(lookup.short_min)

    def probe(
        self,
        data: npt.NDArray[np.uint8],
        starts: npt.NDArray[np.int64],
        ends: npt.NDArray[np.int64],
        classes: npt.NDArray[np.uint8],
    ) -> Probed:
        """Kernel over UTF-8 documents ``data[starts[k]:ends[k]]``: hits, tokens per document,
        and which documents hold a character flagged in ``classes``."""
        lk = self.lookup
        return probe_docs(  # type: ignore[no-any-return]
            data, starts, ends, classes, lk.n, self.base_n, lk.short_min, self.base_k0,
            lk.gram_keys, lk.gram_vals, lk.bloom, lk.prefix_keys, lk.prefix_vals,
            lk.short_keys, lk.short_vals,
        )  # fmt: skip

    def probe_raw(self, data: npt.NDArray[np.uint8], starts: I64, ends: I64) -> Probed:
        """First pass over an `encode_batch` buffer (no GIL held): fold ASCII letters in place,
        probe, and flag the documents that need NFKC."""
        if self.norm.casefold:
            lower_ascii(data)
        return self.probe(data, starts, ends, self.classes)

    def probe_texts(self, texts: list[bytes], classes: npt.NDArray[np.uint8]) -> Probed:
        """`probe` over separately encoded texts."""
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        ends = np.cumsum(lengths)
        data = np.frombuffer(b"".join(texts) or b"\0", dtype=np.uint8)
        return self.probe(data, ends - lengths, ends, classes)

    def match(self, batch: DocBatch) -> BatchMatches:
        """Hits and spans of one batch; char offsets refer to the original texts."""
        encoded = encode_batch(batch.texts, self.norm)
        return self.finish(batch, encoded, self.probe_raw(*encoded))

    def matches(self, batches: Iterator[DocBatch]) -> Iterator[BatchMatches]:
        """`match` over a stream, the kernel of one batch running (without the GIL) in a
        thread while the next batch is read and encoded."""
        with ThreadPoolExecutor(1) as kernel:
            pending: tuple[DocBatch, Encoded, Future[Probed]] | None = None
            for batch in batches:
                encoded = encode_batch(batch.texts, self.norm)
                running = kernel.submit(self.probe_raw, *encoded)
                if pending is not None:
                    yield self.finish(pending[0], pending[1], pending[2].result())
                pending = (batch, encoded, running)
            if pending is not None:
                yield self.finish(pending[0], pending[1], pending[2].result())

    def _rematch(
        self, hits: I64, doc_tokens: I64, docs: I64, texts: list[bytes]
    ) -> tuple[I64, I64]:
        """Replace the hits and token counts of batch documents ``docs`` by those of
        ``texts``, their normalized bytes (already final: no flags)."""
        again, again_tokens, _ = self.probe_texts(texts, self.plain_classes)
        again[:, H_DOC] = docs[again[:, H_DOC]]
        doc_tokens[docs] = again_tokens
        return np.concatenate([hits[~np.isin(hits[:, H_DOC], docs)], again]), doc_tokens

    def finish(self, batch: DocBatch, encoded: Encoded, probed: Probed) -> BatchMatches:
        """Redo the documents that need NFKC, then turn hits into spans with offsets."""
        data, starts, ends = encoded
        hits, doc_tokens, flagged = probed
        normalized: dict[int, bytes] = {}
        if flagged.any():
            # The kernel saw a token changer in these folded texts: `normalize` is the full one.
            redo = np.flatnonzero(flagged)
            for k in redo.tolist():
                text = normalize_full(batch.texts[k], self.norm)
                normalized[k] = text.encode("utf-8", "surrogatepass")
            hits, doc_tokens = self._rematch(
                hits, doc_tokens, redo, [normalized[k] for k in redo.tolist()]
            )
        hit_docs = np.unique(hits[:, H_DOC]) if len(hits) else np.zeros(0, dtype=np.int64)
        char_maps: dict[int, tuple[I64, I64]] = {}
        for doc in hit_docs.tolist():
            text = batch.texts[doc]
            if text.isascii():
                continue  # byte offsets are char offsets
            pieces, piece_starts, piece_ends = normalize_with_offsets(text, self.norm)
            piecewise = pieces.encode("utf-8", "surrogatepass")
            if piecewise != normalized.get(doc, data[starts[doc] : ends[doc]].tobytes()):
                # Rare composing sequences normalize differently piecewise: match the doc
                # again on the piecewise text so its offsets are exact.
                hits, doc_tokens = self._rematch(hits, doc_tokens, np.array([doc]), [piecewise])
            # byte -> char index: count the UTF-8 lead bytes before it
            lead = (np.frombuffer(piecewise, dtype=np.uint8) & 0xC0) != 0x80
            char_of_byte = np.cumsum(lead) - 1
            char_maps[doc] = (piece_starts[char_of_byte], piece_ends[char_of_byte])
        spans = spans_of(self.lookup, hits)
        for r in range(len(spans)):
            doc = int(spans[r, S_DOC])
            if doc in char_maps:
                char_start, char_end = char_maps[doc]
                spans[r, S_CHAR0] = char_start[spans[r, S_CHAR0]]
                spans[r, S_CHAR1] = char_end[spans[r, S_CHAR1] - 1]
        tokens = int(doc_tokens.sum())
        return BatchMatches(
            hits, spans, tokens, len(batch.texts), batch.text_chars, batch.doc_ids, batch.lines
        )
