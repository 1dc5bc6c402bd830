"""Documents x lookup -> hits -> seeds -> aligned runs, spans and chains per (document, item).

The kernel `probe_docs` tokenizes each document of a batch, rolls the n-gram hash along it and
probes the bloom filter, then the exact table; items' short parts are found by probing a
prefix table with the first ``short_min`` tokens and extending only on a hit. Hits are few, so
aligning their documents with the items (`align`) and mapping offsets to characters is cheap.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import numpy.typing as npt
from numba import njit

from contam.align import (
    C_B0,
    C_B1,
    C_DOC,
    H_DOC,
    H_KEY,
    H_KIND,
    H_LEN,
    H_TOK,
    HIT_COLUMNS,
    KIND_GRAM,
    KIND_SHORT,
    SD_ANCHOR,
    SD_DOC,
    SD_ITEM,
    SD_J,
    SD_LEN,
    Alignment,
    AlignParams,
    align,
    seeds_of,
)
from contam.config import NormConfig
from contam.folding import SEGMENT_ROWS, Folded, FoldTable, first_alike, fold_room
from contam.lookup import Lookup
from contam.minhash import MinHashConfig, NearDupIndex, windows_around
from contam.normalize import char_classes, normalize_full, normalize_pieces, original_spans, pack
from contam.prefetch import read_ahead
from contam.records import DocBatch
from contam.shingles import (
    BASE,
    PIECE_BYTES,
    base_power,
    bits_log,
    bloom_maybe,
    finish,
    grow_rows,
    longest_text,
    piece_end,
    prefix_key,
    table_get,
    token_buffers,
    tokenize,
    tokenize_spans,
    top_bits_build,
    top_bits_has,
)
from contam.substrings import confirm, find_candidates

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
Probed = tuple[I64, I64]  # hits, tokens per document
FirstPass = tuple[Folded, Probed, I64]  # and (doc, substring) GPT-4 candidates


@njit(inline="always")
def _push(hits, count, row):  # type: ignore[no-untyped-def]
    hits = grow_rows(hits, count, count + 1)
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
    gram_keys,
    gram_vals,
    bloom,
    first_bits,
    last_bits,
    tok_shift,
    prefix_keys,
    prefix_vals,
    short_keys,
    short_vals,
    piece,
):
    """Every indexed n-gram and short item part in the documents ``d[starts[k]:ends[k]]``.

    Returns (hits int64[h, 5] with the `contam.align.H_DOC` ... `H_LEN` columns, tokens per
    document).
    One loop rolls the n-gram hash and, when the index has short items, looks for their
    first ``k0`` tokens ending at each token: the token and the one ``k0 - 1`` back must pass
    one-bit filters of the short parts' last and first prefix tokens (``first_bits``,
    ``last_bits``: `shingles.top_bits_build`), and only then are the ``k0`` tokens hashed and
    looked up in the prefix table, and a hit extended token by token. Rolling that hash at
    every token behind a filter of its own cost a sixth of the kernel with three benches'
    five short parts; the token filters, a fifth as much.

    A document longer than ``piece`` bytes is tokenized a piece at a time
    (`shingles.piece_end`). A piece's last n - 1 tokens are looked at with the next piece
    (a short part found there may extend that far), after the n - 1 before them, so the
    scratch holds a piece and 2(n - 1) tokens whatever the length of the document.
    """
    th, ts, te, state = token_buffers(min(longest_text(starts, ends), piece) + 2 * n, spans=False)
    hits = np.empty((256, HIT_COLUMNS), dtype=np.int64)
    row = np.empty(HIT_COLUMNS, dtype=np.int64)
    count = 0
    tokens = np.zeros(len(starts), dtype=np.int64)
    has_short = prefix_keys.any()
    for k in range(len(starts)):
        base = 0  # the document's index of token th[0]
        kept = 0  # tokens carried over from the last piece, th[:kept]
        lo = 0  # the first token not looked at yet
        p = starts[k]
        while True:
            cut = piece_end(d, p, ends[k], piece, classes)
            nt = kept + tokenize(d, p, cut, classes, th[kept:], ts, te, state[kept:], spans=False)
            last_piece = cut == ends[k]
            hi = nt if last_piece else max(lo, nt - (n - 1))
            raw = np.uint64(0)
            for j in range(lo):  # looked at before; rolled for the n-grams after them
                # (a test of j < lo in the loop below made the kernel 15% slower)
                raw = raw * BASE + th[j]
                if j >= n:
                    raw = raw - th[j - n] * base_n
            for j in range(lo, hi):
                t = th[j]
                raw = raw * BASE + t
                if j >= n:
                    raw = raw - th[j - n] * base_n
                if j >= n - 1:
                    h = finish(raw, n)
                    if bloom_maybe(bloom, h):
                        g = table_get(gram_keys, gram_vals, h)
                        if g >= 0:
                            row[H_DOC] = k
                            row[H_KIND] = KIND_GRAM
                            row[H_KEY] = g
                            row[H_TOK] = base + j - n + 1
                            row[H_LEN] = n
                            hits = _push(hits, count, row)
                            count += 1
                if not has_short or j < k0 - 1:
                    continue
                first = j - k0 + 1
                if not top_bits_has(last_bits, tok_shift, t):
                    continue
                if not top_bits_has(first_bits, tok_shift, th[first]):
                    continue
                ext = np.uint64(0)
                for i in range(first, j + 1):
                    ext = ext * BASE + th[i]
                if table_get(prefix_keys, prefix_vals, prefix_key(ext)) < 0:
                    continue
                for length in range(k0, min(n - 1, nt - first) + 1):
                    if length > k0:
                        ext = ext * BASE + th[first + length - 1]
                    u = table_get(short_keys, short_vals, finish(ext, length))
                    if u >= 0:
                        row[H_DOC] = k
                        row[H_KIND] = KIND_SHORT
                        row[H_KEY] = u
                        row[H_TOK] = base + first
                        row[H_LEN] = length
                        hits = _push(hits, count, row)
                        count += 1
            if last_piece:
                tokens[k] = base + nt
                break
            # carry the n - 1 tokens before ``hi`` and those from it on to the next piece
            c0 = max(0, hi - (n - 1))
            for i in range(c0, nt):
                th[i - c0] = th[i]
            kept = nt - c0
            base += c0
            lo = hi - c0
            p = cut
    return hits[:count].copy(), tokens


@dataclass(slots=True)
class BatchMatches:
    """What one batch of documents contributed: its hits and their alignment with the items.

    Chain offsets (`align.C_B0`, `C_B1`) are characters of the original document text.
    """

    hits: npt.NDArray[np.int64]
    aligned: Alignment
    gpt4: npt.NDArray[np.int64]  # distinct (item, part) whose GPT-4 substrings were found
    near: npt.NDArray[np.float64]  # near-duplicate windows: item, est. Jaccard, containment
    tokens: int
    docs: int
    text_chars: int
    doc_ids: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


class Matcher:
    """Runs the kernel for a `Lookup` over batches of documents."""

    def __init__(
        self,
        lookup: Lookup,
        norm: NormConfig,
        params: AlignParams | None = None,
        near: MinHashConfig | None = None,
    ) -> None:
        self.lookup = lookup
        self.norm = norm
        self.params = params or AlignParams()
        # near-duplicate search: item signatures in an LSH index, queried with seeded windows
        self.near = NearDupIndex.build(lookup.item_tok_ptr, lookup.item_tok, near) if near else None
        self.fold = FoldTable.build(norm)
        self._segment_exact: dict[bytes, bool] = {}  # joiner segment -> folds exactly
        self._segment_rows = SEGMENT_ROWS  # joiner segments folding starts with room for
        self.classes = char_classes(norm.cjk_chars)
        self.classes.flags.writeable = False  # shared tables, read-only like the lookup's
        # short parts start their item: the first and the short_min-th token of each
        first = lookup.item_tok_ptr[lookup.short_item]
        log_bits = bits_log(len(first))
        self.first_bits = top_bits_build(lookup.item_tok[first], log_bits)
        self.last_bits = top_bits_build(lookup.item_tok[first + lookup.short_min - 1], log_bits)
        self.tok_shift = np.uint64(64 - log_bits)
        self.base_n = base_power(lookup.n)
        self.piece = PIECE_BYTES  # bytes of a long document the kernels take at once

    def probe(self, data: npt.NDArray[np.uint8], starts: I64, ends: I64) -> Probed:
        """Kernel over normalized UTF-8 documents ``data[starts[k]:ends[k]]``: hits and tokens
        per document."""
        lk = self.lookup
        return probe_docs(  # type: ignore[no-any-return]
            data, starts, ends, self.classes, lk.n, self.base_n, lk.short_min,
            lk.gram_keys, lk.gram_vals, lk.bloom, self.first_bits, self.last_bits,
            self.tok_shift, lk.prefix_keys, lk.prefix_vals, lk.short_keys, lk.short_vals,
            self.piece,
        )  # fmt: skip

    def match(self, batch: DocBatch) -> BatchMatches:
        """Hits and spans of one batch; char offsets refer to the original texts."""
        return self.finish(batch, self._first_pass(batch.data, batch.starts, batch.ends))

    def matches(self, batches: Iterator[DocBatch], threads: int = 2) -> Iterator[BatchMatches]:
        """`match` over a stream, on ``threads`` threads. With more than one, a batch is cut
        into ``threads`` parts of about equal bytes, each a task that runs both kernels
        (without the GIL) in turn; the pool takes the next batch's tasks as threads come free,
        while the last batch is finished and the next is read in a thread of its own
        (`prefetch.read_ahead`). One process so keeps two cores busy, where one thread per
        kernel left the shorter one idle a third of the time. With one, each batch is read and
        matched in turn."""
        if threads == 1:
            yield from map(self.match, batches)
            return
        batches = read_ahead(batches)  # the reader gets a thread of its own
        with ThreadPoolExecutor(threads) as kernels:
            pending: tuple[DocBatch, list[tuple[int, Future[FirstPass]]]] | None = None
            for batch in batches:
                # the parts fold into one buffer, each into room for its own bytes
                parts = _parts(batch, threads)
                rooms = [fold_room(starts, ends) for _, starts, ends in parts]
                out = np.empty(sum(rooms), dtype=np.uint8)
                tasks, at = [], 0
                for (first, starts, ends), room in zip(parts, rooms, strict=True):
                    task = kernels.submit(
                        self._first_pass, batch.data, starts, ends, out, at, at + room
                    )
                    tasks.append((first, task))
                    at += room
                if pending is not None:
                    yield self._finish_pending(*pending)
                pending = (batch, tasks)
            if pending is not None:
                yield self._finish_pending(*pending)

    def _first_pass(
        self,
        data: U8,
        starts: I64,
        ends: I64,
        out: U8 | None = None,
        at: int = 0,
        stop: int | None = None,
    ) -> FirstPass:
        """Both kernels over documents ``data[starts[k]:ends[k]]``, without the GIL: the
        batch normalized character by character (noting the joiner segments) into
        ``out[at:stop]`` (`FoldTable.fold`) and probed; and the GPT-4 substring candidates,
        whose kernel folds the original bytes itself."""
        folded = self.fold.fold(data, starts, ends, out, at, stop, self._segment_rows)
        # room for twice the most a part had (a hint: a lost update between threads only
        # costs a retry): text with joiners at every word (Indic) folds once
        self._segment_rows = max(self._segment_rows, 2 * len(folded[3]))
        probed = self.probe(folded[0], folded[1], folded[2])
        found = find_candidates(data, starts, ends, self.lookup.substrings, self.piece)
        return folded, probed, found

    def _finish_pending(
        self, batch: DocBatch, parts: list[tuple[int, Future[FirstPass]]]
    ) -> BatchMatches:
        return self.finish(batch, _joined_passes([(k, f.result()) for k, f in parts]))

    def _rematch(
        self, hits: I64, doc_tokens: I64, docs: I64, texts: list[bytes]
    ) -> tuple[I64, I64]:
        """Replace the hits and token counts of batch documents ``docs`` by those of
        ``texts``, their normalized bytes (already final: no flags)."""
        again, again_tokens = self.probe(*pack(texts))
        again[:, H_DOC] = docs[again[:, H_DOC]]
        doc_tokens[docs] = again_tokens
        return np.concatenate([hits[~np.isin(hits[:, H_DOC], docs)], again]), doc_tokens

    def finish(self, batch: DocBatch, first: FirstPass) -> BatchMatches:
        """Redo the documents with a joiner in Python, then turn hits into spans with
        offsets, and confirm GPT-4 candidates on the original texts."""
        data, starts, ends = batch.data, batch.starts, batch.ends
        (folded, folded_starts, folded_ends, segments), (hits, doc_tokens), candidates = first
        joined = self._joined(data, folded, segments, len(starts))
        lk = self.lookup
        found = confirm(batch.texts, candidates, lk.substrings.strings)[:, 1]
        gpt4 = np.unique(np.column_stack([lk.sub_item[found], lk.sub_part[found]]), axis=0)
        normalized: dict[int, bytes] = {}  # documents normalized in Python
        sizes: dict[int, list[int]] = {}  # and the bytes of each of their pieces
        if joined.any():
            redo = np.flatnonzero(joined)
            for k in redo.tolist():
                pieces = normalize_pieces(batch.texts[k], self.norm, self.piece)
                sizes[k] = [len(p) for p in pieces]
                normalized[k] = b"".join(pieces)
                del pieces
            hits, doc_tokens = self._rematch(
                hits, doc_tokens, redo, [normalized[k] for k in redo.tolist()]
            )
        hit_docs = np.unique(hits[:, H_DOC])

        def final(k: int) -> bytes:
            if k in normalized:
                return normalized[k]
            return folded[folded_starts[k] : folded_ends[k]].tobytes()

        aligned, near = self._align(hits, hit_docs, [final(k) for k in hit_docs.tolist()])
        # Offsets: only documents with an aligned span need their characters mapped.
        chains = aligned.chains
        for doc in np.unique(chains[:, C_DOC]).tolist():
            if batch.chars[doc] == ends[doc] - starts[doc]:
                continue  # ASCII, one byte a character: byte offsets are char offsets
            rows = np.flatnonzero(chains[:, C_DOC] == doc)
            first_byte, last_byte = chains[rows, C_B0], chains[rows, C_B1] - 1
            if doc in normalized:
                chains[rows, C_B0], chains[rows, C_B1] = original_spans(
                    batch.texts[doc], self.norm, first_byte, last_byte, sizes[doc], self.piece
                )
                continue
            # folded: the character of each byte; a span ends one past its last's
            both = np.concatenate([first_byte, last_byte])
            at = self.fold.char_at(data, starts[doc], ends[doc], both)
            chains[rows, C_B0], chains[rows, C_B1] = at[: len(rows)], at[len(rows) :] + 1
        tokens = int(doc_tokens.sum())
        return BatchMatches(
            hits,
            aligned,
            gpt4,
            near,
            tokens,
            len(batch),
            batch.text_chars,
            batch.doc_ids,
            batch.lines,
        )

    def _joined(
        self, data: npt.NDArray[np.uint8], folded: npt.NDArray[np.uint8], segments: I64, docs: int
    ) -> npt.NDArray[np.bool_]:
        """Documents whose folding is not `normalize`'s: those with a joiner segment that
        normalizes as a whole to other bytes than its characters one by one (a combining
        accent after its letter). Most segments, like the vowel signs of Indic scripts, are
        already normal. Each distinct segment of the batch is checked once (`first_alike`:
        Indic text has one at almost every word), and its verdict is kept, keyed by its bytes."""
        exact = self._segment_exact
        if len(exact) > 1 << 16:
            exact.clear()
        first = first_alike(data, segments)
        distinct = np.flatnonzero(first == np.arange(len(first)))
        same = np.zeros(len(segments), dtype=np.bool_)  # each distinct segment's verdict
        for s, (a, b, c, d) in zip(distinct.tolist(), segments[distinct, 1:].tolist(), strict=True):
            piece = data[a:b].tobytes()
            verdict = exact.get(piece)
            if verdict is None:
                whole = normalize_full(piece.decode("utf-8", "surrogatepass"), self.norm)
                verdict = exact[piece] = whole.encode("utf-8", "surrogatepass") == bytes(
                    folded[c:d]
                )
            same[s] = verdict
        joined = np.zeros(docs, dtype=np.bool_)
        joined[segments[~same[first], 0]] = True
        return joined

    def _align(
        self, hits: I64, hit_docs: I64, texts: list[bytes]
    ) -> tuple[Alignment, npt.NDArray[np.float64]]:
        """Align the seeds of ``hits`` in the batch documents ``hit_docs``, whose final
        normalized bytes are ``texts`` (rows keep the batch's doc numbers); and the
        near-duplicate windows around the same seeds."""
        lk = self.lookup
        seeds = seeds_of(
            hits, lk.gram_seed_ptr, lk.seed_item, lk.seed_pos, lk.seed_anchor,
            lk.short_ptr, lk.short_item,
        )  # fmt: skip
        seeds[:, SD_DOC] = np.searchsorted(hit_docs, seeds[:, SD_DOC])
        data, starts, ends = pack(texts)
        tokens = tokenize_spans(data, starts, ends, self.classes, self.piece)
        aligned = align(
            tokens, starts, seeds, lk.item_tok_ptr, lk.item_tok, lk.item_num, self.params
        )
        near = self._near_windows(seeds, tokens[0], tokens[3])
        aligned.chains[:, C_DOC] = hit_docs[aligned.chains[:, C_DOC]]
        return aligned, near

    def _near_windows(
        self, seeds: I64, th: npt.NDArray[np.uint64], tok_off: I64
    ) -> npt.NDArray[np.float64]:
        """MinHash near-duplicates: for every (document, item) with a non-boilerplate seed, a
        window of the item's length around the seeds is looked up in the LSH index; each
        candidate item (the seeded one or another) is verified by its estimated Jaccard
        similarity and its exact shingle containment. Document k's token hashes are
        ``th[tok_off[k]:tok_off[k+1]]``. Rows: item, Jaccard, containment."""
        rows: list[tuple[float, float, float]] = []
        if self.near is None or len(seeds) == 0:
            return np.zeros((0, 3))
        lk = self.lookup
        anchored = seeds[seeds[:, SD_ANCHOR] == 1]
        anchored = anchored[np.lexsort((anchored[:, SD_ITEM], anchored[:, SD_DOC]))]
        pairs, first = np.unique(anchored[:, [SD_DOC, SD_ITEM]], axis=0, return_index=True)
        threshold = self.near.config.threshold
        for (doc, item), lo, hi in zip(
            pairs.tolist(), first.tolist(), [*first[1:].tolist(), len(anchored)], strict=True
        ):
            mine = anchored[lo:hi]  # first and last token of each seed
            positions = np.concatenate([mine[:, SD_J], mine[:, SD_J] + mine[:, SD_LEN] - 1])
            doc_tok = th[tok_off[doc] : tok_off[doc + 1]]
            item_len = int(lk.item_tok_ptr[item + 1] - lk.item_tok_ptr[item])
            for start, end in windows_around(positions, item_len, len(doc_tok)).tolist():
                window = doc_tok[start:end]
                sketch = self.near.sketch(window)
                for cand in self.near.query(window, sketch):
                    jaccard, containment = self.near.verify(cand, window, sketch)
                    if jaccard >= threshold:
                        rows.append((cand, jaccard, containment))
        return np.array(rows, dtype=np.float64).reshape(-1, 3)


def _parts(batch: DocBatch, count: int) -> list[tuple[int, I64, I64]]:
    """The batch's documents in ``count`` runs of about equal bytes, each cut at the document
    boundary nearest its share (a run may be empty): (first document, starts, ends)."""
    reach = np.cumsum(batch.ends - batch.starts)  # bytes up to and with each document
    total = int(reach[-1]) if len(reach) else 0
    cuts = [0]
    for j in range(1, count):
        share = total * j // count
        k = int(np.searchsorted(reach, share))  # the document that reaches the share
        before = int(reach[k - 1]) if k else 0
        cut = k if k >= len(reach) or share - before < int(reach[k]) - share else k + 1
        cuts.append(max(cuts[-1], cut))
    cuts.append(len(reach))
    return [(a, batch.starts[a:b], batch.ends[a:b]) for a, b in pairwise(cuts)]


def _joined_passes(parts: list[tuple[int, FirstPass]]) -> FirstPass:
    """The first passes of consecutive runs of a batch's documents (each from its first
    document) as one: document numbers moved past the runs before, and folded offsets too
    unless the runs were folded into one buffer (where they already point)."""
    buffers, starts, ends, segments, hits, tokens, candidates = [], [], [], [], [], [], []
    outs = [first_pass[0][0] for _, first_pass in parts]
    shared = all(out is outs[0] for out in outs)
    at = 0  # with buffers of their own: where the next run's bytes go in the joined one
    for first, ((out, f_starts, f_ends, f_segments), (f_hits, f_tokens), f_cands) in parts:
        shift = 0
        if not shared:  # only this run's bytes, wherever in its buffer it folded them
            lo, hi = (int(f_starts.min()), int(f_ends.max())) if len(f_starts) else (0, 0)
            buffers.append(out[lo:hi])
            shift = at - lo
            at += hi - lo
        starts.append(f_starts + shift)
        ends.append(f_ends + shift)
        moved = f_segments.copy()
        moved[:, 0] += first
        moved[:, 3:5] += shift
        segments.append(moved)
        moved_hits = f_hits.copy()
        moved_hits[:, H_DOC] += first
        hits.append(moved_hits)
        tokens.append(f_tokens)
        candidates.append(f_cands + np.array([first, 0]))
    if not shared:
        outs[0] = np.concatenate(buffers) if at else np.zeros(1, np.uint8)
    folded = (
        outs[0],
        np.concatenate(starts),
        np.concatenate(ends),
        np.concatenate(segments),
    )
    probed = (np.concatenate(hits), np.concatenate(tokens))
    return folded, probed, np.concatenate(candidates)
