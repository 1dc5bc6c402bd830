"""Seeds -> exact runs -> skip-gram spans and edit-tolerant chains, per (document, item).

A seed is an exact n-gram (or a short item part) of an item found in a document. Aligning
it with the item's own tokens gives three things, each the raw material of a definition:

* runs: maximal exact runs along one diagonal (item token i = document token j + offset),
  extended token by token from every seed. PaLM's 8-grams and GPT-3's 13-grams are counted
  from them.
* skip spans (Llama 2): from every run of at least ``skip_min`` tokens, walk on along the
  diagonal allowing up to ``skip_budget`` mismatched tokens; the span ends at its last match
  (no trailing mismatch, none in its first ``skip_min`` tokens).
* chains (contam): runs linked in item and document order across gaps of at most ``max_gap``
  tokens on either side, so a word changed, inserted or deleted every ten words still gives
  one aligned span; its edits are the Levenshtein distances of the gaps. A chain needs one
  seed that is not boilerplate, and never bridges a number of the item that the document
  changed or dropped: "9 more truck stamps" is another problem than "5 more truck stamps".

Only documents with seeds get here (a few in a thousand on a clean corpus), so the caller
tokenizes their normalized bytes a second time (`contam.shingles.tokenize_spans`), once for
this and its near-duplicate windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit

I64 = npt.NDArray[np.int64]
#: Documents' tokens as CSR: hashes, byte starts, byte ends, per-document token offsets.
DocTokens = tuple[npt.NDArray[np.uint64], I64, I64, I64]

# hit columns (`contam.match.probe_docs`): doc, kind, key (n-gram or short part id), first
# document token, token count
HIT_COLUMNS = 5
H_DOC, H_KIND, H_KEY, H_TOK, H_LEN = range(HIT_COLUMNS)
KIND_GRAM, KIND_SHORT = 0, 1
# seed columns
SD_DOC, SD_ITEM, SD_I, SD_J, SD_LEN, SD_ANCHOR = range(6)
# run columns: item, item start, item end
R_ITEM, R_I0, R_I1 = range(3)
# chain columns: doc, item, item start/end, doc byte start/end, exact tokens, edits, longest run
C_DOC, C_ITEM, C_I0, C_I1, C_B0, C_B1, C_MATCHED, C_EDITS, C_LONGEST = range(9)


@dataclass(frozen=True, slots=True)
class AlignParams:
    """How far alignment may stray from exact runs.

    Args:
        max_gap: most tokens skipped, in the item or the document, between two chained runs.
            0 chains only runs that touch: exact matching.
        skip_min: Llama 2's minimum matched span (10 tokens).
        skip_budget: Llama 2's skip-gram budget (4 mismatched tokens); negative: no skip spans.
    """

    max_gap: int = 8
    skip_min: int = 10
    skip_budget: int = 4


@dataclass(slots=True)
class Alignment:
    """Runs, skip spans and chains of one batch (doc numbers are the batch's)."""

    runs: I64  # int64[r, 3] R_* columns
    skips: I64  # int64[s, 3]: item, item start, item end
    chains: I64  # int64[c, 9] C_* columns


@njit(cache=True, nogil=True)
def seeds_of(  # type: ignore[no-untyped-def]
    hits, gram_seed_ptr, seed_item, seed_pos, seed_anchor, short_ptr, short_item
):
    """One seed row per (hit, item position holding the hit's n-gram or short part)."""
    total = 0
    for h in range(hits.shape[0]):
        key = hits[h, H_KEY]
        if hits[h, H_KIND] == KIND_GRAM:
            total += gram_seed_ptr[key + 1] - gram_seed_ptr[key]
        else:
            total += short_ptr[key + 1] - short_ptr[key]
    seeds = np.empty((total, 6), dtype=np.int64)
    r = 0
    for h in range(hits.shape[0]):
        key = hits[h, H_KEY]
        gram = hits[h, H_KIND] == KIND_GRAM
        lo = gram_seed_ptr[key] if gram else short_ptr[key]
        hi = gram_seed_ptr[key + 1] if gram else short_ptr[key + 1]
        for e in range(lo, hi):
            seeds[r, SD_DOC] = hits[h, H_DOC]
            seeds[r, SD_J] = hits[h, H_TOK]
            seeds[r, SD_LEN] = hits[h, H_LEN]
            if gram:
                seeds[r, SD_ITEM] = seed_item[e]
                seeds[r, SD_I] = seed_pos[e]
                seeds[r, SD_ANCHOR] = 1 if seed_anchor[e] else 0
            else:
                seeds[r, SD_ITEM] = short_item[e]
                seeds[r, SD_I] = 0
                seeds[r, SD_ANCHOR] = 1
            r += 1
    return seeds


@njit(cache=True)
def _gap_edits(a, a0, a1, b, b0, b1):  # type: ignore[no-untyped-def]
    """Levenshtein distance of token runs ``a[a0:a1]`` and ``b[b0:b1]`` (both short)."""
    m = b1 - b0
    row = np.arange(m + 1)
    for x in range(a1 - a0):
        prev = row[0]
        row[0] = x + 1
        for y in range(m):
            cur = row[y + 1]
            cost = 0 if a[a0 + x] == b[b0 + y] else 1
            row[y + 1] = min(row[y] + 1, cur + 1, prev + cost)
            prev = cur
    return row[m]


@njit(cache=True)
def _extend(a, anum, a0, a_lim, b, b0, b_lim, step):  # type: ignore[no-untyped-def]
    """Best alignment of the tokens after a chain end (``step`` 1) or before its start (-1):
    ``a`` from ``a0`` towards ``a_lim``, ``b`` from ``b0`` towards ``b_lim``, both anchored at
    the chain. A match scores 2 and an edit -1, so one inserted word before the item's last
    word ("Answer: B") still extends; an item number (``anum``) is only ever matched.
    Returns (item tokens, document tokens, matches, edits)."""
    la = (a_lim - a0) * step
    lb = (b_lim - b0) * step
    score = np.zeros((la + 1, lb + 1), dtype=np.int64)
    edits = np.zeros((la + 1, lb + 1), dtype=np.int64)
    same = np.zeros((la + 1, lb + 1), dtype=np.int64)
    for x in range(la + 1):
        for y in range(lb + 1):
            if x == 0 and y == 0:
                continue
            best = -(1 << 30)
            e = 0
            m = 0
            number = x > 0 and anum[a0 + step * (x - 1)]
            if x > 0 and y > 0:
                hit = a[a0 + step * (x - 1)] == b[b0 + step * (y - 1)]
                if hit or not number:
                    best = score[x - 1, y - 1] + (2 if hit else -1)
                    e = edits[x - 1, y - 1] + (0 if hit else 1)
                    m = same[x - 1, y - 1] + (1 if hit else 0)
            if x > 0 and not number and score[x - 1, y] - 1 > best:
                best = score[x - 1, y] - 1
                e = edits[x - 1, y] + 1
                m = same[x - 1, y]
            if y > 0 and score[x, y - 1] - 1 > best:
                best = score[x, y - 1] - 1
                e = edits[x, y - 1] + 1
                m = same[x, y - 1]
            score[x, y] = best
            edits[x, y] = e
            same[x, y] = m
    bx, by = 0, 0
    for x in range(la + 1):
        for y in range(lb + 1):
            if score[x, y] > score[bx, by]:
                bx, by = x, y
    return bx, by, same[bx, by], edits[bx, by]


@njit(cache=True)
def _align_pair(  # type: ignore[no-untyped-def]
    seeds,
    lo,
    hi,
    it,
    inum,
    il,
    dt,
    dl,
    max_gap,
    skip_min,
    skip_budget,
    runs,
    skips,
    chains,
    counts,
):
    """All seeds ``seeds[lo:hi]`` of one (doc, item): item tokens ``it[:il]``, document tokens
    ``dt[:dl]``. Appends to the output buffers; ``counts`` holds how many rows each has."""
    k = hi - lo
    bi0 = np.empty(k, dtype=np.int64)
    bi1 = np.empty(k, dtype=np.int64)
    bj0 = np.empty(k, dtype=np.int64)
    anchor = np.zeros(k, dtype=np.bool_)
    nb = 0
    for s in range(lo, hi):
        i, j, ln = seeds[s, SD_I], seeds[s, SD_J], seeds[s, SD_LEN]
        inside = -1
        for b in range(nb):
            if bj0[b] - bi0[b] == j - i and bi0[b] <= i and i + ln <= bi1[b]:
                inside = b
                break
        if inside >= 0:
            anchor[inside] |= seeds[s, SD_ANCHOR] == 1
            continue
        end = i
        while end < il and j + end - i < dl and it[end] == dt[j + end - i]:
            end += 1
        if end < i + ln:
            continue  # a hash collision: the tokens differ
        start = i
        while start > 0 and j - (i - start) > 0 and it[start - 1] == dt[j - (i - start) - 1]:
            start -= 1
        bi0[nb] = start
        bi1[nb] = end
        bj0[nb] = j - (i - start)
        anchor[nb] = seeds[s, SD_ANCHOR] == 1
        nb += 1
    # item order (insertion sort: few runs per pair)
    for b in range(1, nb):
        x = b
        while x > 0 and (bi0[x - 1] > bi0[x] or (bi0[x - 1] == bi0[x] and bj0[x - 1] > bj0[x])):
            bi0[x - 1], bi0[x] = bi0[x], bi0[x - 1]
            bi1[x - 1], bi1[x] = bi1[x], bi1[x - 1]
            bj0[x - 1], bj0[x] = bj0[x], bj0[x - 1]
            anchor[x - 1], anchor[x] = anchor[x], anchor[x - 1]
            x -= 1
    doc, item = seeds[lo, SD_DOC], seeds[lo, SD_ITEM]
    for b in range(nb):
        r = counts[0]
        runs[r, R_ITEM] = item
        runs[r, R_I0] = bi0[b]
        runs[r, R_I1] = bi1[b]
        counts[0] += 1
        if skip_budget >= 0 and bi1[b] - bi0[b] >= skip_min:
            i = bi1[b]
            j = bj0[b] + bi1[b] - bi0[b]
            last = i
            missed = 0
            while i < il and j < dl:
                if it[i] == dt[j]:
                    last = i + 1
                else:
                    missed += 1
                    if missed > skip_budget:
                        break
                i += 1
                j += 1
            r = counts[1]
            skips[r, 0] = item
            skips[r, 1] = bi0[b]
            skips[r, 2] = last
            counts[1] += 1
    # chains: best-scoring chain ending at each run (score = exact tokens - gap tokens)
    score = np.empty(nb, dtype=np.int64)
    prev = np.full(nb, -1, dtype=np.int64)
    for b in range(nb):
        score[b] = bi1[b] - bi0[b]
        for a in range(b):
            gi = bi0[b] - bi1[a]
            gj = bj0[b] - (bj0[a] + bi1[a] - bi0[a])
            if gi < 0 or gj < 0 or gi > max_gap or gj > max_gap:
                continue
            if inum[bi1[a] : bi0[b]].any():
                continue  # the document changed or dropped a number of the item
            cand = score[a] + bi1[b] - bi0[b] - max(gi, gj)
            if cand > score[b]:
                score[b] = cand
                prev[b] = a
    # Best chains first; a document stretch aligns with one place of the item only (a run of
    # "1 2 3 ... 41" in a document must not cover every counting run of an item at once).
    used = np.zeros(nb, dtype=np.bool_)
    taken_j0 = np.empty(nb, dtype=np.int64)
    taken_j1 = np.empty(nb, dtype=np.int64)
    taken = 0
    order = np.argsort(-score, kind="mergesort")
    for x in range(nb):
        last = order[x]
        b = last
        free = True
        has_anchor = False
        while b >= 0:
            free &= not used[b]
            has_anchor |= anchor[b]
            first = b
            b = prev[b]
        if not free or not has_anchor:
            continue
        cj0, cj1 = bj0[first], bj0[last] + bi1[last] - bi0[last]
        for t in range(taken):
            if cj0 < taken_j1[t] and taken_j0[t] < cj1:
                free = False
        if not free:
            continue
        taken_j0[taken] = cj0
        taken_j1[taken] = cj1
        taken += 1
        matched = 0
        edits = 0
        longest = 0
        b = last
        first = last
        while b >= 0:
            used[b] = True
            matched += bi1[b] - bi0[b]
            longest = max(longest, bi1[b] - bi0[b])
            a = prev[b]
            if a >= 0:
                edits += _gap_edits(it, bi1[a], bi0[b], dt, bj0[a] + bi1[a] - bi0[a], bj0[b])
            first = b
            b = a
        i0, j0 = bi0[first], bj0[first]
        i1, j1 = bi1[last], bj0[last] + bi1[last] - bi0[last]
        if max_gap > 0:  # a few item tokens at either end, past edits: extend over them
            reach = max_gap + 8
            xi, xj, xm, xe = _extend(
                it, inum, i1, min(il, i1 + reach), dt, j1, min(dl, j1 + reach), 1
            )
            i1 += xi
            j1 += xj
            matched += xm
            edits += xe
            xi, xj, xm, xe = _extend(
                it, inum, i0, max(0, i0 - reach), dt, j0, max(0, j0 - reach), -1
            )
            i0 -= xi
            j0 -= xj
            matched += xm
            edits += xe
        r = counts[2]
        chains[r, C_DOC] = doc
        chains[r, C_ITEM] = item
        chains[r, C_I0] = i0
        chains[r, C_I1] = i1
        chains[r, C_B0] = j0  # token numbers until the caller maps them to bytes
        chains[r, C_B1] = j1
        chains[r, C_MATCHED] = matched
        chains[r, C_EDITS] = edits
        chains[r, C_LONGEST] = longest
        counts[2] += 1


@njit(cache=True, nogil=True)
def align_docs(  # type: ignore[no-untyped-def]
    th,
    ts,
    te,
    tok_off,
    starts,
    seeds,
    item_tok_ptr,
    item_tok,
    item_num,
    max_gap,
    skip_min,
    skip_budget,
):
    """Runs, skip spans and chains for seeds sorted by (doc, item, doc token, item token).

    Document ``k`` starts at byte ``starts[k]`` and its tokens are ``tok_off[k]:tok_off[k+1]``
    of ``th`` (hashes), ``ts`` and ``te`` (byte spans), as `contam.shingles.tokenize_spans`
    gives them. Chain doc offsets are bytes into the document."""
    n = seeds.shape[0]
    runs = np.empty((n, 3), dtype=np.int64)
    skips = np.empty((n, 3), dtype=np.int64)
    chains = np.empty((n, 9), dtype=np.int64)
    counts = np.zeros(3, dtype=np.int64)
    lo = 0
    while lo < n:
        doc = seeds[lo, SD_DOC]
        t0 = tok_off[doc]
        dt = th[t0 : tok_off[doc + 1]]
        while lo < n and seeds[lo, SD_DOC] == doc:
            item = seeds[lo, SD_ITEM]
            hi = lo
            while hi < n and seeds[hi, SD_DOC] == doc and seeds[hi, SD_ITEM] == item:
                hi += 1
            c0 = counts[2]
            it = item_tok[item_tok_ptr[item] : item_tok_ptr[item + 1]]
            inum = item_num[item_tok_ptr[item] : item_tok_ptr[item + 1]]
            _align_pair(
                seeds, lo, hi, it, inum, len(it), dt, len(dt), max_gap, skip_min, skip_budget,
                runs, skips, chains, counts,
            )  # fmt: skip
            for c in range(c0, counts[2]):
                chains[c, C_B0] = ts[t0 + chains[c, C_B0]] - starts[doc]
                chains[c, C_B1] = te[t0 + chains[c, C_B1] - 1] - starts[doc]
            lo = hi
    return runs[: counts[0]].copy(), skips[: counts[1]].copy(), chains[: counts[2]].copy()


def align(
    tokens: DocTokens,
    starts: I64,
    seeds: I64,
    item_tok_ptr: I64,
    item_tok: npt.NDArray[np.uint64],
    item_num: npt.NDArray[np.bool_],
    params: AlignParams,
) -> Alignment:
    """`align_docs` over seeds in any order; ``tokens`` are `tokenize_spans`'s CSR tokens of
    the documents starting at bytes ``starts``."""
    order = np.lexsort((seeds[:, SD_I], seeds[:, SD_J], seeds[:, SD_ITEM], seeds[:, SD_DOC]))
    runs, skips, chains = align_docs(
        *tokens, starts, seeds[order], item_tok_ptr, item_tok, item_num,
        params.max_gap, params.skip_min, params.skip_budget,
    )  # fmt: skip
    return Alignment(runs, skips, chains)
