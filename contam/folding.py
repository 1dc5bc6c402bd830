"""Batch normalization without the GIL: a table of every character's own normalized form.

`normalize` runs NFKC and case folding on whole texts in Python. Case folding maps each
character on its own, and so does NFKC unless a character can join the one before it
(`normalize.joiners`: combining marks, the second halves of canonical compositions, Hangul
vowel and final jamo). So a text without joiners normalizes to the concatenation of its
characters' own normalized forms, and `fold_batch` does that with a table (`FoldTable`) over
a whole batch buffer, in numba. Texts holding a joiner are flagged; the scan normalizes them
in Python, as it did every text before. `fold_char_at` gives, for bytes of a folded text,
the original character each came from, so spans found in folded bytes map back to
the document's characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from numba import njit

from contam.config import NormConfig
from contam.normalize import disk_cached, joiners, normalize_full
from contam.shingles import BASE, fmix64, utf8_char

#: `FoldTable.rep_of` entries that are not replacements.
KEEP, JOIN, REPLACE = -1, -2, 0
#: `fold_batch`'s outcomes: done, the output ran out of room, the segment rows ran out.
FITS, OUT_FULL, ROWS_FULL = 0, 1, 2
#: Room beyond the input's bytes that folding gets (replacements may be longer).
FOLD_SLACK = 4096
#: Joiner segment rows folding starts with (`FoldTable.fold` doubles them as needed).
SEGMENT_ROWS = 4096

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
Folded = tuple[U8, I64, I64, I64]  # out, out starts, out ends, joiner segments


@dataclass(frozen=True, slots=True)
class FoldTable:
    """Each code point's own normalized form under one `NormConfig`.

    ``rep_of[cp]`` is `KEEP` (the character normalizes to itself), `JOIN` (it can join the
    character before it: texts holding one are normalized in Python) or the index ``r`` of
    its replacement, the UTF-8 bytes ``rep_bytes[rep_ptr[r]:rep_ptr[r+1]]`` (possibly none:
    some characters normalize away). ``ascii`` maps each ASCII byte (lower-cased when case
    folding is on).
    """

    ascii: U8
    rep_of: I32
    rep_ptr: I64
    rep_bytes: U8
    expansion: int  # the most bytes a replacement has per byte of its character (11: U+FDFA)

    @classmethod
    @lru_cache(maxsize=4)
    def build(cls, config: NormConfig) -> FoldTable:
        """The table for ``config`` (the kinds are kept on disk; replacements take ~10 ms).

        Example:
            >>> table = FoldTable.build(NormConfig())
            >>> table.replacement(ord("Ｆ")), table.rep_of[ord("天")] == KEEP
            (b'f', True)
        """
        rep_of = _kinds(config).copy()
        replaced = np.flatnonzero(rep_of == REPLACE)
        reps = [normalize_full(chr(cp), config).encode("utf-8", "surrogatepass") for cp in
                replaced.tolist()]  # fmt: skip
        rep_of[replaced] = np.arange(len(replaced), dtype=np.int32)
        rep_ptr = np.zeros(len(reps) + 1, dtype=np.int64)
        np.cumsum([len(r) for r in reps], out=rep_ptr[1:])
        ascii_map = np.arange(128, dtype=np.uint8)
        if config.casefold:
            ascii_map[65:91] += 32
        for array in (ascii_map, rep_of, rep_ptr):
            array.flags.writeable = False  # shared by threads and forked workers
        rep_bytes = np.frombuffer(b"".join(reps) or b"\0", dtype=np.uint8)
        widths = [len(chr(cp).encode("utf-8", "surrogatepass")) for cp in replaced.tolist()]
        expansion = max([-(-len(r) // w) for r, w in zip(reps, widths, strict=True)], default=1)
        return cls(ascii_map, rep_of, rep_ptr, rep_bytes, max(1, expansion))

    def replacement(self, cp: int) -> bytes | None:
        """The replacement bytes of code point ``cp``, or None when it has none."""
        r = int(self.rep_of[cp])
        return None if r < 0 else self.rep_bytes[self.rep_ptr[r] : self.rep_ptr[r + 1]].tobytes()

    def fold(
        self,
        data: U8,
        starts: I64,
        ends: I64,
        out: U8 | None = None,
        at: int = 0,
        stop: int | None = None,
        rows: int = SEGMENT_ROWS,
    ) -> Folded:
        """`fold_batch` with this table into ``out[at:stop]`` (``stop`` defaults to the end;
        a fresh buffer of `fold_room` when no ``out`` is given), with ``rows`` joiner segment
        rows. Should replacements outgrow that (never in real text), a fresh buffer is tried,
        for the largest expansion; should the joiner segments outgrow their rows, twice the
        rows. Offsets are into the returned buffer: ``out`` unless it was outgrown."""
        if out is None:
            out, at = np.empty(fold_room(starts, ends), dtype=np.uint8), 0
        stop = len(out) if stop is None else stop
        while True:
            segments = np.empty((rows, 5), dtype=np.int64)
            *folded, status = fold_batch(
                data, starts, ends, self.ascii, self.rep_of, self.rep_ptr, self.rep_bytes, out,
                at, stop, segments,
            )  # fmt: skip
            if status == FITS:
                return tuple(folded)
            if status == ROWS_FULL:
                rows = min(2 * rows, len(data) // 2 + 1)  # a segment holds a 2-byte joiner
                continue
            stop = max(stop - at, self.expansion * int((ends - starts).sum()) + 64)
            out, at = np.empty(stop, dtype=np.uint8), 0

    def char_at(self, data: U8, start: int, end: int, offsets: I64) -> I64:
        """`fold_char_at` with this table."""
        return fold_char_at(data, start, end, self.rep_of, self.rep_ptr, offsets)  # type: ignore[no-any-return]


def fold_room(starts: I64, ends: I64) -> int:
    """Bytes to fold the texts ``[starts[k], ends[k])`` into: their own and `FOLD_SLACK`."""
    return int((ends - starts).sum()) + FOLD_SLACK


@disk_cached
def _kinds(config: NormConfig) -> I32:
    """`KEEP`, `JOIN` or `REPLACE` for every code point (ASCII: `KEEP`, `fold_batch` maps it)."""
    table = np.full(0x110000, KEEP, dtype=np.int32)
    if config.nfkc:
        table[joiners()] = JOIN
    # Beyond plane 2 nothing changes under NFKC or case folding (a test keeps this honest).
    for cp in range(0x80, 0x30000):
        if table[cp] == KEEP and normalize_full(chr(cp), config) != chr(cp):
            table[cp] = REPLACE
    return table


@njit(cache=True, nogil=True)
def fold_batch(d, starts, ends, ascii_map, rep_of, rep_ptr, rep_bytes, out, at, stop, segments):  # type: ignore[no-untyped-def]
    """Normalize every UTF-8 text ``d[starts[k]:ends[k]]`` character by character into
    ``out[at:stop]`` (nothing is written past ``stop``: two threads fold into one buffer).

    Returns (out, out_starts, out_ends, segments, `FITS`, or `OUT_FULL` or `ROWS_FULL` when
    ``out[at:stop]`` or the rows of ``segments`` ran out; `FoldTable.fold` then tries again
    with more; the buffers are not grown here, as reassigning an array in this loop made it
    3x slower).
    Text k's folded bytes are ``out[out_starts[k]:out_ends[k]]``. A `JOIN` character is copied as it
    is: each run of them, with the character before it, is a row (text, input start, input
    end, output start, output end) of ``segments``, whose folding is exact only if the
    segment normalizes to itself as a whole (`Matcher` checks those few in Python).

    Tried and dropped: an inner loop over each run of ASCII (find its end, then map it) was
    1.4x slower than this loop; folding inside the n-gram tokenizer, without writing the
    folded bytes, made that kernel slower than the two passes (0.62-0.71 against 0.59 s per
    100 MB).
    """
    room = stop
    out_starts = np.empty(len(starts), dtype=np.int64)
    out_ends = np.empty(len(starts), dtype=np.int64)
    count = 0
    o = at
    for k in range(len(starts)):
        out_starts[k] = o
        i = starts[k]
        e = ends[k]
        piece_in = i  # where the last character that is not a joiner starts, in and out
        piece_out = o
        in_run = False
        while i < e:
            b = d[i]
            if b < 0x80:
                if o >= room:
                    return out, out_starts, out_ends, segments[:0], OUT_FULL
                out[o] = ascii_map[b]
                piece_in = i
                piece_out = o
                in_run = False
                o += 1
                i += 1
                continue
            cp, width = utf8_char(d, i)
            r = rep_of[cp]
            size = width if r < 0 else rep_ptr[r + 1] - rep_ptr[r]
            if o + size > room:
                return out, out_starts, out_ends, segments[:0], OUT_FULL
            if r == JOIN:
                if not in_run:
                    if count == len(segments):
                        return out, out_starts, out_ends, segments[:0], ROWS_FULL
                    segments[count, 0] = k
                    segments[count, 1] = piece_in
                    segments[count, 3] = piece_out
                    count += 1
                    in_run = True
                segments[count - 1, 2] = i + width
                segments[count - 1, 4] = o + width
            else:
                piece_in = i
                piece_out = o
                in_run = False
            if r < 0:
                for t in range(width):
                    out[o + t] = d[i + t]
            else:
                lo = rep_ptr[r]
                for t in range(size):
                    out[o + t] = rep_bytes[lo + t]
            o += size
            i += width
        out_ends[k] = o
    return out, out_starts, out_ends, segments[:count].copy(), FITS


@njit(inline="always")
def _same_bytes(d, a0, b0, a, b):  # type: ignore[no-untyped-def]
    """Whether ``d[a0:b0]`` and ``d[a:b]`` hold the same bytes (compared without a copy)."""
    if b0 - a0 != b - a:
        return False
    for i in range(b - a):  # noqa: SIM110 (numba compiles no generator expressions)
        if d[a0 + i] != d[a + i]:
            return False
    return True


@njit(cache=True, nogil=True)
def first_alike(d, segments):  # type: ignore[no-untyped-def]
    """For each joiner segment (a `fold_batch` row), the first segment whose input bytes
    ``d[a:b]`` are the same: folding depends on those bytes alone, so only the distinct
    segments need checking. A hash table of segment numbers, each match confirmed byte by byte.
    """
    n = len(segments)
    size = 16
    while size < 2 * n:
        size *= 2
    mask = np.uint64(size - 1)
    table = np.full(size, -1, dtype=np.int64)
    first = np.empty(n, dtype=np.int64)
    for s in range(n):
        a = segments[s, 1]
        b = segments[s, 2]
        raw = np.uint64(b - a)
        for i in range(a, b):
            raw = raw * BASE + np.uint64(d[i])
        slot = fmix64(raw) & mask
        while True:
            t = table[slot]
            if t < 0:
                table[slot] = s
                first[s] = s
                break
            if _same_bytes(d, segments[t, 1], segments[t, 2], a, b):
                first[s] = t
                break
            slot = (slot + np.uint64(1)) & mask
    return first


@njit(cache=True, nogil=True)
def fold_char_at(d, s, e, rep_of, rep_ptr, offsets):  # type: ignore[no-untyped-def]
    """For byte offsets ``offsets`` (any order) into the folded form of the text ``d[s:e]``
    (no `JOIN` character), the index of the original character each comes from. One walk
    over the text, with no map of every byte: the texts with spans are often long, and a
    whole map (8 bytes a byte, and a copy for the span ends) took a third of `Matcher.finish`.
    """
    order = np.argsort(offsets)
    at = np.empty(len(offsets), dtype=np.int64)
    q = 0
    o = 0
    c = 0
    i = s
    while i < e and q < len(order):
        if d[i] < 0x80:
            width = 1
            size = 1
        else:
            cp, width = utf8_char(d, i)
            r = rep_of[cp]
            size = width if r < 0 else rep_ptr[r + 1] - rep_ptr[r]
        o += size
        while q < len(order) and offsets[order[q]] < o:
            at[order[q]] = c
            q += 1
        c += 1
        i += width
    return at
