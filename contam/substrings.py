"""GPT-4's contamination test: three random 50-character substrings of an item, searched for
in documents with spaces and symbols removed.

The GPT-4 technical report (appendix C): "we removed all spaces and symbols from both the
evaluation and training data. For each evaluation example, we randomly select three
substrings of 50 characters (or use the entire example if it's less than 50 characters). A
match is identified if any of the three sampled evaluation substrings is a substring of the
processed training example." Here "spaces and symbols" are the characters that are not
`str.isalnum`, and case is kept (the report does not say it lower-cased).

The scan finds them in two steps. `find_candidates` runs over the scan's batch buffer (the
original texts, `records.DocBatch`) and case folds each character as it decodes it, so it
finds every document whose folded stream of alphanumerics holds a string's folded form: a
superset of the true matches. `confirm` then checks the few candidates case-sensitively on the
original texts.

Soundness of the folded search (no false negatives). `str.casefold` maps each character on
its own (no context: unlike `lower`, it folds a final Σ to σ), so with ``F(c)`` the characters
of ``c.casefold()`` the kernel keeps (`stream_chars`), a document's stream is the
concatenation of ``F(c)`` over its characters. If ``F(c)`` is empty for every character that
`strip_text` drops, the stream equals the concatenation of ``F(c)`` over ``strip_text(doc)``,
so ``s in strip_text(doc)`` implies ``F(s) in stream(doc)``: an occurrence of the string maps
to a contiguous run of the stream, whatever the lengths casefold gives each character
(ß -> ss, ﬁ -> fi, İ -> i + a combining dot that is dropped). One character breaks the
premise: U+0345 COMBINING GREEK YPOGEGRAMMENI is not alphanumeric but folds to ι, so
"α\\u0345β" would put an ι between α and β. The kernel therefore drops every alphanumeric
that some non-alphanumeric folds to (only ι in Unicode 15) from both the stream and the
folded strings; Greek strings are matched without their iotas, and `confirm` restores
exactness.

The kernel (`find_kernel`): the folded strings are patterns of 16 to 50 code points. It rolls
a polynomial hash over the last ``window`` (15: `MIN_CHARS` less one) code points of the
stream, two code points a step, and looks at the windows that end at odd positions. Every
pattern is indexed by its first two windows (at offsets 0 and 1), which end one position
apart, so each occurrence of a pattern has one of them looked at: a two-bit filter and then
a table keyed by that window name the candidate patterns, each compared in full against the
stream. Every occurrence is tried, none is sampled: exact.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import xxhash
from numba import njit

from contam.errors import ConfigError
from contam.normalize import disk_cached
from contam.shingles import (
    BASE,
    PIECE_BYTES,
    base_power,
    bits_build,
    bits_log,
    bits_maybe,
    grow_rows,
    longest_text,
    prefix_key,
    table_build,
    table_get,
)

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]

#: Substrings per item and their length, as in the GPT-4 report.
COUNT, LENGTH = 3, 50
#: Shorter stripped strings are not indexed: 15 alphanumerics of English hold ~15 * 4.1 = 62
#: bits of entropy at best, and far less for common phrases ("ofthefollowing" is 14), so a
#: terabyte of text (10^12 positions) would match them by chance.
MIN_CHARS = 16

# `re`'s \w is exactly str.isalnum plus "_" (sre tests Py_UNICODE_ISALNUM), so this keeps
# the same characters as a str.isalnum filter, in C (a test pins it over all code points).
_NOT_ALNUM = re.compile(r"[\W_]+")
#: Folded code of each ASCII byte the kernel keeps (lower-cased alphanumerics), else 0.
_ASCII_CODES = np.array(
    [ord(chr(b).lower()) if chr(b).isalnum() else 0 for b in range(128)], dtype=np.int32
)
# The window filter is `shingles.bits_build`'s: two bits in one word per window rather than a
# 3-bit bloom made the kernel run at ~330 rather than ~275 MB/s on English text.
# Seeds the label draw apart from the input draw, so a changed label keeps the input picks.
_LABEL_SEED = 0x5F3759DF


def strip_text(text: str) -> str:
    """The text with every character that is not `str.isalnum` removed; case is kept.

    Example:
        >>> strip_text("Café — 3 x 天下!")
        'Café3x天下'
    """
    return _NOT_ALNUM.sub("", text)


def fold_text(text: str) -> str:
    """The stream `find_candidates` searches: ``text.casefold()`` without the characters that
    are not in `stream_chars` (those `strip_text` drops, and ι).

    Example:
        >>> fold_text("Straße, Ἀθῆναι")  # ῆ folds to η + U+0342, a combining mark
        'strasseἀθηνα'
    """
    return strip_text(text.casefold()).translate(_dropped_map())


def pick_substrings(
    input_text: str, label_text: str, key: str, count: int = COUNT, length: int = LENGTH
) -> tuple[list[str], list[str]]:
    """An item's substrings for the GPT-4 test, drawn reproducibly from ``key`` (its id).

    Input part: ``count`` substrings of ``length`` characters of ``strip_text(input_text)``,
    or the whole stripped input when it is no longer than ``length``. Label part (the
    "question and answer leaked" verdict): substrings of the stripped input + label that hold
    at least one label character, or the whole of it when no longer than ``length``; none
    when the stripped label is empty. Start positions are distinct, so a text with fewer than
    ``count`` possible starts gives fewer substrings rather than repeats.

    The seed is xxh64 of ``key`` (not `hash`, which is salted per process) and positions are
    drawn with Floyd's algorithm from `random.Random.random` only, the one part of the
    `random` module whose sequence Python promises to keep across versions.

    Example:
        >>> pick_substrings("What is 2+2? A) 3 B) 4", "B", "q1", length=10)
        (['Whatis22A3', 'hatis22A3B', 'atis22A3B4'], ['tis22A3B4B'])
    """
    if count < 1:
        raise ConfigError(f"count must be >= 1 substring per item, got {count}")
    if length < 1:
        raise ConfigError(f"substring length must be >= 1 character, got {length}")
    seed = xxhash.xxh64_intdigest(key.encode("utf-8", "surrogatepass"))
    stripped_input = strip_text(input_text)
    full = stripped_input + strip_text(label_text)
    inputs = _draw(stripped_input, 0, count, length, random.Random(seed))
    if len(full) == len(stripped_input):
        return inputs, []
    labels = _draw(full, len(stripped_input), count, length, random.Random(seed ^ _LABEL_SEED))
    return inputs, labels


def _draw(text: str, first: int, count: int, length: int, rng: random.Random) -> list[str]:
    """``count`` substrings of ``text`` at distinct starts, each holding a character at or
    after ``first``; the whole text when it is no longer than ``length``."""
    if len(text) <= length:
        return [text] if text else []
    lo = max(0, first - length + 1)
    pool = len(text) - length + 1 - lo
    chosen: set[int] = set()
    # Floyd: k draws give a uniform k-subset of range(pool).
    for j in range(pool - min(count, pool), pool):
        t = int(rng.random() * (j + 1))
        chosen.add(j if t in chosen else t)
    return [text[lo + p : lo + p + length] for p in sorted(chosen)]


@lru_cache(maxsize=1)
@disk_cached
def _casefold_index() -> npt.NDArray[np.int32]:
    """-1 where ``chr(cp).casefold()`` is the character itself, else the rank of ``cp`` among
    the ~1,400 code points that fold to something else (a scan of every code point, kept on
    disk like the tokenizer's tables)."""
    everything = "".join(map(chr, range(0x110000)))
    changed: list[int] = []
    for lo in range(0, 0x110000, 1024):
        block = everything[lo : lo + 1024]
        if block.casefold() != block:
            changed += [lo + j for j, c in enumerate(block) if c.casefold() != c]
    fold_of = np.full(0x110000, -1, dtype=np.int32)
    fold_of[changed] = np.arange(len(changed), dtype=np.int32)
    return fold_of


@lru_cache(maxsize=1)
def _casefolds() -> tuple[npt.NDArray[np.int32], I64, npt.NDArray[np.int32]]:
    """Every code point's case folding, for the kernel: ``fold_of[cp]`` is -1 where
    ``chr(cp).casefold()`` is the character itself, else ``r``, and the folding's code points
    are ``codes[ptr[r]:ptr[r+1]]`` (1 to 3 of them)."""
    fold_of = _casefold_index()
    folds = [chr(cp).casefold() for cp in np.flatnonzero(fold_of >= 0).tolist()]
    ptr = np.zeros(len(folds) + 1, dtype=np.int64)
    np.cumsum([len(f) for f in folds], out=ptr[1:])
    codes = np.array([ord(c) for f in folds for c in f], dtype=np.int32)
    return fold_of, ptr, codes


@lru_cache(maxsize=1)
def _dropped() -> frozenset[str]:
    """Alphanumerics that `str.casefold` makes out of a non-alphanumeric (ι, from U+0345)."""
    changed = map(chr, np.flatnonzero(_casefold_index() >= 0).tolist())
    return frozenset(x for c in changed if not c.isalnum() for x in c.casefold() if x.isalnum())


@lru_cache(maxsize=1)
def _dropped_map() -> dict[int, None]:
    return dict.fromkeys(map(ord, _dropped()))


@lru_cache(maxsize=1)
@disk_cached
def stream_chars() -> npt.NDArray[np.bool_]:
    """Code points the kernel keeps: `str.isalnum` ones, less `_dropped` (~0.5 s to build,
    so kept on disk like the tokenizer's tables)."""
    everything = "".join(map(chr, range(0x110000)))
    keep = np.array([c.isalnum() for c in everything], dtype=np.bool_)
    for c in _dropped():
        keep[ord(c)] = False
    return keep


@dataclass(frozen=True, slots=True)
class SubstringTable:
    """Folded strings ready for `find_candidates`.

    A string id is its index in the list given to `build`; ``strings`` holds them stripped.
    Strings with the same folded form share one pattern: ``codes[code_ptr[p]:code_ptr[p+1]]``
    are the folded code points of pattern ``p`` and ``ids[id_ptr[p]:id_ptr[p+1]]`` its
    string ids. A pattern longer than ``window`` is found through ``raw``, the polynomial
    of ``window`` of its code points at offset 0 or 1: it passes the two-bit filter
    ``bits``, ``shift`` (`shingles.bits_build`), and ``keys/vals`` map ``prefix_key(raw)`` to
    a group, whose patterns are ``group_pats[group_ptr[g]:group_ptr[g+1]]``, with the offset
    of the window in each in ``group_offs`` (distinct windows may share a key, as
    `prefix_key` merges rolls differing in the lowest bit: the full compare sorts them out).
    ``short_pats`` are the rare patterns that folding made no longer than ``window`` (strings
    of Greek capitals rich in iotas); the kernel searches for them directly.
    """

    strings: list[str]
    window: int
    codes: I32
    code_ptr: I64
    ids: I64
    id_ptr: I64
    keys: U64
    vals: I32
    group_pats: I64
    group_offs: I64
    group_ptr: I64
    bits: U64
    shift: int
    short_pats: I64

    @classmethod
    def build(cls, strings: list[str], min_chars: int = MIN_CHARS) -> SubstringTable:
        """Index the ``strings`` (stripped again here) of at least ``min_chars`` characters.

        The rolling window is ``min_chars - 1`` folded code points (at least 1): every
        indexed string holds two windows, at offsets 0 and 1, unless folding shortened it.

        Example:
            >>> table = SubstringTable.build(["Thequickbrownfoxjumps", "tooshort"])
            >>> table.indexed().tolist()
            [0]
        """
        if min_chars < 1:
            raise ConfigError(f"min_chars must be >= 1, got {min_chars}")
        stripped = [strip_text(s) for s in strings]
        pattern_of: dict[str, int] = {}
        members: list[list[int]] = []
        for sid, s in enumerate(stripped):
            if len(s) >= min_chars:
                p = pattern_of.setdefault(fold_text(s), len(pattern_of))
                if p == len(members):
                    members.append([])
                members[p].append(sid)
        lengths = np.array([len(p) for p in pattern_of], dtype=np.int64)
        code_ptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=code_ptr[1:])
        codes = np.array([ord(c) for p in pattern_of for c in p], dtype=np.int32)
        id_ptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(np.array([len(m) for m in members], dtype=np.int64), out=id_ptr[1:])
        window = max(1, min_chars - 1)
        long_pats = np.flatnonzero(lengths > window)
        pats = np.concatenate([long_pats, long_pats])
        offs = np.repeat(np.arange(2, dtype=np.int64), len(long_pats))
        raws = _window_rolls(codes, code_ptr, pats, offs, window)
        pat_keys = _prefix_keys(raws)
        order = np.argsort(pat_keys, kind="stable")
        unique, first = np.unique(pat_keys[order], return_index=True)
        keys, vals = table_build(unique)
        log_bits = bits_log(len(raws))
        return cls(
            strings=stripped,
            window=window,
            codes=codes,
            code_ptr=code_ptr,
            ids=np.array([sid for m in members for sid in m], dtype=np.int64),
            id_ptr=id_ptr,
            keys=keys,
            vals=vals,
            group_pats=pats[order],
            group_offs=offs[order],
            group_ptr=np.append(first, len(order)).astype(np.int64),
            bits=bits_build(raws, log_bits),
            shift=64 - log_bits,
            short_pats=np.flatnonzero(lengths <= window),
        )

    def indexed(self) -> I64:
        """Ids of the strings in the table, ascending."""
        return np.sort(self.ids)


@njit(cache=True)
def _window_rolls(codes, code_ptr, pats, offs, w):  # type: ignore[no-untyped-def]
    """The polynomial of the ``w`` code points at offset ``offs[q]`` of each pattern
    ``pats[q]``, as the kernel rolls it."""
    out = np.empty(len(pats), dtype=np.uint64)
    for q in range(len(pats)):
        raw = np.uint64(0)
        first = code_ptr[pats[q]] + offs[q]
        for j in range(first, first + w):
            raw = raw * BASE + np.uint64(codes[j])
        out[q] = raw
    return out


@njit(cache=True)
def _prefix_keys(raws):  # type: ignore[no-untyped-def]
    out = np.empty(len(raws), dtype=np.uint64)
    for q in range(len(raws)):
        out[q] = prefix_key(raws[q])
    return out


def find_candidates(
    data: npt.NDArray[np.uint8],
    starts: I64,
    ends: I64,
    table: SubstringTable,
    piece: int = PIECE_BYTES,
) -> I64:
    """(document, string id) for every table string whose folded form is in the folded stream
    of document ``data[starts[k]:ends[k]]``, sorted; a superset of the true matches.

    ``data`` is UTF-8 (a `DocBatch` buffer); the kernel case folds every character.
    Holds no GIL in the kernel; it allocates 12 bytes per byte of the longest document, or
    of ``piece``, the bytes it decodes at once of a longer one.

    Example:
        >>> data, starts, ends = encode_batch(["THE quick brown fox, jumps!"])
        >>> find_candidates(data, starts, ends, SubstringTable.build(["quickBROWNfoxjumps"]))
        array([[0, 0]])
    """
    if len(table.id_ptr) == 1 or len(starts) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    fold_of, fold_ptr, fold_codes = _casefolds()
    found = find_kernel(
        data, starts, ends, stream_chars(), _ASCII_CODES, fold_of, fold_ptr, fold_codes,
        table.window,
        base_power(table.window), table.bits, np.uint64(table.shift), table.keys, table.vals,
        table.group_pats, table.group_offs, table.group_ptr, table.codes, table.code_ptr, table.ids,
        table.id_ptr, table.short_pats, piece,
    )  # fmt: skip
    out: I64 = found[np.lexsort((found[:, 1], found[:, 0]))]
    return out


def confirm(texts: Sequence[str], candidates: I64, strings: list[str]) -> I64:
    """The rows of ``candidates`` where ``strip_text(texts[doc])`` holds
    ``strip_text(strings[sid])`` case-sensitively: the GPT-4 matches.

    Example:
        >>> confirm(["The quick, brown fox", "THE QUICK BROWN FOX"],
        ...         np.array([[0, 0], [1, 0]]), ["quickbrownfox"]).tolist()
        [[0, 0]]
    """
    keep = np.zeros(len(candidates), dtype=np.bool_)
    docs: dict[int, str] = {}
    for r, (doc, sid) in enumerate(candidates.tolist()):
        if doc not in docs:
            docs[doc] = strip_text(texts[doc])
        keep[r] = strip_text(strings[sid]) in docs[doc]
    out: I64 = candidates[keep]
    return out


@njit(inline="always")
def _decode(d, s, e, keep, ascii_codes, fold_of, fold_ptr, fold_codes, stream):  # type: ignore[no-untyped-def]
    """Write the kept code points of the case folding of UTF-8 ``d[s:e]`` to ``stream``;
    return their count, at most ``e - s``: no character's folding keeps more code points than
    it has UTF-8 bytes (a test pins this).

    ASCII is branch-free: every byte writes its code (0 when dropped) and only a kept one
    advances, as spaces and punctuation come too irregularly to predict (2x faster).
    """
    n = 0
    i = s
    while i < e:
        b0 = d[i]
        if b0 < 0x80:
            c = ascii_codes[b0]
            stream[n] = c
            n += c != 0
            i += 1
            continue
        if b0 < 0xE0:
            width = 2
            cp = np.int64(b0 & 0x1F)
        elif b0 < 0xF0:
            width = 3
            cp = np.int64(b0 & 0x0F)
        else:
            width = 4
            cp = np.int64(b0 & 0x07)
        if i + width > e:
            break  # truncated sequence (not from encode_batch): nothing kept
        for t in range(1, width):
            cp = (cp << 6) | np.int64(d[i + t] & 0x3F)
        i += width
        if cp >= 0x110000:
            continue
        r = fold_of[cp]
        if r < 0:
            if keep[cp]:
                stream[n] = cp
                n += 1
            continue
        for q in range(fold_ptr[r], fold_ptr[r + 1]):
            c = fold_codes[q]
            if keep[c]:
                stream[n] = c
                n += 1
    return n


@njit(inline="always")
def _piece_end(d, at, e, piece):  # type: ignore[no-untyped-def]
    """Where the piece of UTF-8 ``d[at:e]`` that `find_kernel` decodes next ends: ``e``, or
    the last character start at most ``piece`` bytes on (the first after, for a tiny
    ``piece`` inside a character)."""
    if e - at <= piece:
        return e
    c = at + piece
    while c > at and d[c] & 0xC0 == 0x80:
        c -= 1
    if c == at:
        c = at + piece + 1
        while c < e and d[c] & 0xC0 == 0x80:
            c += 1
    return c


@njit(inline="always")
def _same(stream, first, codes, lo, size):  # type: ignore[no-untyped-def]
    # a loop, not all(...): numba compiles no generator expressions here
    for t in range(size):  # noqa: SIM110
        if stream[first + t] != codes[lo + t]:
            return False
    return True


@njit(inline="always")
def _emit(found, count, k, ids, lo, hi):  # type: ignore[no-untyped-def]
    """Append (k, id) for ids[lo:hi], growing ``found``; returns it and the new count."""
    found = grow_rows(found, count, count + hi - lo)
    for e in range(lo, hi):
        found[count, 0] = k
        found[count, 1] = ids[e]
        count += 1
    return found, count


@njit(cache=True, nogil=True)
def find_kernel(  # type: ignore[no-untyped-def]
    d,
    starts,
    ends,
    keep,
    ascii_codes,
    fold_of,
    fold_ptr,
    fold_codes,
    w,
    base_w,
    bits,
    shift,
    keys,
    vals,
    group_pats,
    group_offs,
    group_ptr,
    codes,
    code_ptr,
    ids,
    id_ptr,
    short_pats,
    piece,
):
    """`find_candidates` without the GIL: int64[k, 2] rows (doc, string id), unsorted.

    Per document: decode the UTF-8 into its stream of kept, case folded code points; roll the
    polynomial of the last ``w`` of them, two code points a step, and note the (few) windows
    ending at odd positions whose filter bit is set; look those up in the table, whose group
    names the patterns holding that window at offset 0 or 1, each compared in full (which
    also rules out hash collisions). Lookups kept out of the rolling loop keep that loop
    small: ~330 rather than ~290 MB/s, which rolling in chunks with a bounded list of passes
    also fell back to. A pattern is reported once per document.

    Two steps a turn halve the roll's chain of dependent multiplies, and looking at every
    second window halves the filter's work. Per 100 MB of English, decoding took 0.12 s, and
    the roll and the filter about 0.08 s each, before. A cyclic (buzhash) roll, with a
    shorter dependency chain, was slower (0.34 against 0.28 s in all).

    A document longer than ``piece`` bytes is decoded a piece at a time, each after the last
    code points of the one before (as many as the longest pattern, less one), so every
    occurrence lies whole in one of them and the scratch is bounded by ``piece``.
    """
    most = 1  # code points of the longest pattern
    for p in range(len(code_ptr) - 1):
        most = max(most, code_ptr[p + 1] - code_ptr[p])
    # a piece decodes to at most its bytes, after the last ``most - 1`` code points before it
    room = most - 1 + min(longest_text(starts, ends), max(piece, 4))
    # stream[:w] stays zero: the roll starts on w zeros, so no first window is special
    stream = np.zeros(w + room + 1, dtype=np.int32)
    # the windows past the filter: at most one per step (two code points)
    pass_raw = np.empty(room // 2 + 1, dtype=np.uint64)
    pass_first = np.empty(room // 2 + 1, dtype=np.int64)
    last = np.full(len(id_ptr) - 1, -1, dtype=np.int64)  # last doc each pattern was found in
    base_2 = BASE * BASE
    found = np.empty((64, 2), dtype=np.int64)
    count = 0
    for k in range(len(starts)):
        kept = 0  # code points carried over from the last piece, stream[w : w + kept]
        at = starts[k]
        while True:
            cut = _piece_end(d, at, ends[k], piece)
            n = kept + _decode(
                d, at, cut, keep, ascii_codes, fold_of, fold_ptr, fold_codes, stream[w + kept :]
            )
            raw = np.uint64(0)
            npass = 0
            for j in range(w + 1, w + n, 2):  # the windows ending at odd positions
                a = np.uint64(stream[j - 1]) - np.uint64(stream[j - 1 - w]) * base_w
                b = np.uint64(stream[j]) - np.uint64(stream[j - w]) * base_w
                raw = raw * base_2 + (a * BASE + b)
                if bits_maybe(bits, shift, raw):
                    pass_raw[npass] = raw
                    pass_first[npass] = j - 2 * w + 1  # where the window starts in the stream
                    npass += 1
            for r in range(npass):
                first = pass_first[r]
                if first < 0:
                    continue  # a window still holding some of the leading zeros
                g = table_get(keys, vals, prefix_key(pass_raw[r]))
                if g < 0:
                    continue
                for q in range(group_ptr[g], group_ptr[g + 1]):
                    p = group_pats[q]
                    start = first - group_offs[q]  # where the pattern would start
                    lo = code_ptr[p]
                    size = code_ptr[p + 1] - lo
                    if start < 0 or last[p] == k or start + size > n:
                        continue
                    if _same(stream, w + start, codes, lo, size):
                        last[p] = k
                        found, count = _emit(found, count, k, ids, id_ptr[p], id_ptr[p + 1])
            for p in short_pats:
                lo = code_ptr[p]
                size = code_ptr[p + 1] - lo
                if last[p] == k:
                    continue
                for first in range(n - size + 1):
                    if _same(stream, w + first, codes, lo, size):
                        last[p] = k
                        found, count = _emit(found, count, k, ids, id_ptr[p], id_ptr[p + 1])
                        break
            if cut == ends[k]:
                break
            # a pattern that ends in the next piece may start in this one's last most - 1
            # code points: they are looked at again (`last` reports a pattern once)
            c0 = max(0, n - (most - 1))
            for i in range(c0, n):
                stream[w + i - c0] = stream[w + i]
            kept = n - c0
            at = cut
    return found[:count].copy()
