"""The published contamination definitions, computed per item from one scan's alignments.

Every preset is judged on two parts of an item: its input (the question leaked) and its
input + label (question and answer leaked; this needs the label itself found, not only a long
question). Numbers come from what the scan committed per shard:

* runs (item start, item end, documents): maximal exact runs; an n-gram of the item "occurs
  in the corpus" as many times as runs cover it (each run is one place in one document);
* skip spans (Llama 2) and chains (contam), see `align`;
* GPT-4's substrings found, see `substrings`.

Definitions (sources in `config.PRESETS` and the README):

* ``gpt3``: dirty if any 13-gram of the part occurs in the corpus, ignoring 13-grams that occur
  10 or more times (a part shorter than 13 tokens: found whole, fewer than 10 times).
* ``palm``: dirty if at least 70% of the part's 8-grams occur (shorter: found whole).
* ``llama2``: a token is contaminated if it lies in a matched span of >= 10 tokens allowing 4
  mismatches; dirty if >= 80% of the part's tokens are (clean below 20%).
* ``gpt4``: dirty if one of three random 50-character substrings (spaces and symbols removed)
  occurs.
* ``contam``: dirty if edit-tolerant chains cover at least ``threshold`` of the part's
  distinctive tokens (those some non-boilerplate n-gram reaches).
"""

from __future__ import annotations

import numpy as np
from numba import njit

GPT3_N = 13
GPT3_FREQUENT = 10
PALM_N = 8
PALM_FRACTION = 0.70
LLAMA2_DIRTY = 0.80
LLAMA2_CLEAN = 0.20


@njit(cache=True)
def _covered(spans, lo, hi, length):  # type: ignore[no-untyped-def]
    """bool[length]: tokens inside any span ``spans[lo:hi]`` (item start, item end)."""
    diff = np.zeros(length + 1, dtype=np.int32)
    for s in range(lo, hi):
        a = min(spans[s, 0], length)
        b = min(spans[s, 1], length)
        if a < b:
            diff[a] += 1
            diff[b] -= 1
    return np.cumsum(diff[:length]) > 0


@njit(cache=True)
def gram_counts(runs, lo, hi, length, n):  # type: ignore[no-untyped-def]
    """How often each n-gram start of an item of ``length`` tokens occurs: the summed counts
    of the runs (item start, item end, count) ``runs[lo:hi]`` that contain it whole."""
    starts = max(0, length - n + 1)
    diff = np.zeros(starts + 1, dtype=np.int64)
    for r in range(lo, hi):
        a = runs[r, 0]
        b = min(runs[r, 1], length) - n + 1  # last start + 1 inside the run
        if a < b:
            diff[a] += runs[r, 2]
            diff[b] -= runs[r, 2]
    return np.cumsum(diff[:starts])


@njit(cache=True)
def whole_count(runs, lo, hi, length):  # type: ignore[no-untyped-def]
    """How often the first ``length`` tokens occur whole (for parts shorter than an n-gram)."""
    total = 0
    for r in range(lo, hi):
        if runs[r, 0] == 0 and runs[r, 1] >= length:
            total += runs[r, 2]
    return total


@njit(cache=True)
def preset_metrics(  # type: ignore[no-untyped-def]
    input_len, full_len, run_ptr, runs, skip_ptr, skips
):
    """Per item and part (0 input, 1 input + label) the numbers behind gpt3, palm and llama2.

    Returns gpt3 13-grams found (fewer than 10 times) and found frequently (full part only),
    whether a found 13-gram touches the label; palm 8-gram fraction, and its fraction over the
    8-grams touching the label; llama2 token fraction, and over the label tokens alone.
    Fractions are NaN when the part has no unit to measure.
    """
    count = len(input_len)
    gpt3_found = np.zeros((count, 2), dtype=np.int32)
    gpt3_frequent = np.zeros(count, dtype=np.int32)
    gpt3_label = np.zeros(count, dtype=np.bool_)
    palm = np.full((count, 2), np.nan)
    palm_label = np.full(count, np.nan)
    llama = np.full((count, 2), np.nan)
    llama_label = np.full(count, np.nan)
    for i in range(count):
        lo, hi = run_ptr[i], run_ptr[i + 1]
        li, lf = input_len[i], full_len[i]
        for part in range(2):
            length = li if part == 0 else lf
            if length == 0:
                continue
            # gpt3
            if length >= GPT3_N:
                c = gram_counts(runs, lo, hi, length, GPT3_N)
                for p in range(len(c)):
                    if 0 < c[p] < GPT3_FREQUENT:
                        gpt3_found[i, part] += 1
                        if part == 1 and p + GPT3_N > li:
                            gpt3_label[i] = True
                    elif c[p] >= GPT3_FREQUENT and part == 1:
                        gpt3_frequent[i] += 1
            else:
                w = whole_count(runs, lo, hi, length)
                if 0 < w < GPT3_FREQUENT:
                    gpt3_found[i, part] = 1
                    if part == 1 and length > li:
                        gpt3_label[i] = True
                elif w >= GPT3_FREQUENT and part == 1:
                    gpt3_frequent[i] = 1
            # palm
            if length >= PALM_N:
                c = gram_counts(runs, lo, hi, length, PALM_N)
                palm[i, part] = np.mean(c > 0)
                if part == 1 and lf > li:
                    first = max(0, li - PALM_N + 1)  # 8-grams touching the label
                    palm_label[i] = np.mean(c[first:] > 0)
            else:
                found = whole_count(runs, lo, hi, length) > 0
                palm[i, part] = 1.0 if found else 0.0
                if part == 1 and lf > li:
                    palm_label[i] = palm[i, part]
            # llama2
            cov = _covered(skips, skip_ptr[i], skip_ptr[i + 1], length)
            llama[i, part] = np.mean(cov)
            if part == 1 and lf > li:
                llama_label[i] = np.mean(cov[li:])
    return gpt3_found, gpt3_frequent, gpt3_label, palm, palm_label, llama, llama_label


@njit(cache=True)
def contam_metrics(  # type: ignore[no-untyped-def]
    input_len, full_len, item_gram_ptr, pos_common, n, chain_ptr, chains
):
    """Per item and part: the best coverage of its distinctive tokens by the chains (item
    start, item end, edits, document) of one document, the longest chain inside the part and
    its edits; and the label's coverage in the document that covers the whole item best.

    One document: a leaked item sits in a document; fragments of it scattered over many
    (a counting run here, a code idiom there) are not a copy. A part of at least n tokens is
    measured on its distinctive tokens, those that at least one non-boilerplate n-gram
    reaches: a passage MMLU shares among five questions is then neither evidence of a leak
    nor a dilution of one. A shorter part counts all its tokens. Label coverage is NaN when
    the label has no distinctive token. Chains must be sorted by item, then document.
    """
    count = len(input_len)
    coverage = np.zeros((count, 2))
    longest = np.zeros((count, 2), dtype=np.int32)
    edits = np.zeros((count, 2), dtype=np.int32)
    label_cov = np.full(count, np.nan)
    for i in range(count):
        li, lf = input_len[i], full_len[i]
        if lf == 0:
            continue
        base = item_gram_ptr[i]
        reach = np.zeros(lf, dtype=np.bool_)  # distinctive tokens of the full item
        if lf >= n:
            for p in range(lf - n + 1):
                if not pos_common[base + p]:
                    reach[p : p + n] = True
        reach_in = reach[:li].copy()
        if li < n:
            reach_in[:] = True  # a short input is one unit, all its tokens count
        if lf < n:
            reach[:] = True
        lo = chain_ptr[i]
        while lo < chain_ptr[i + 1]:
            hi = lo
            while hi < chain_ptr[i + 1] and chains[hi, 3] == chains[lo, 3]:
                hi += 1
            cov = _covered(chains, lo, hi, lf)
            if reach_in.sum() > 0:
                c = (cov[:li] & reach_in).sum() / reach_in.sum()
                coverage[i, 0] = max(coverage[i, 0], c)
            if reach.sum() > 0:
                c = (cov & reach).sum() / reach.sum()
                if c > coverage[i, 1] or (c == coverage[i, 1] and c > 0 and lf > li):
                    coverage[i, 1] = c
                    if lf > li and reach[li:].sum() > 0:
                        label_cov[i] = (cov[li:] & reach[li:]).sum() / reach[li:].sum()
            lo = hi
        for c in range(chain_ptr[i], chain_ptr[i + 1]):
            for part in range(2):
                length = li if part == 0 else lf
                span = min(chains[c, 1], length) - chains[c, 0]
                if span > longest[i, part]:
                    longest[i, part] = span
                    edits[i, part] = chains[c, 2]
        if lf > li and reach[li:].sum() > 0 and np.isnan(label_cov[i]):
            label_cov[i] = 0.0
    return coverage, longest, edits, label_cov
