"""Tokens and n-gram hashes: the numba kernels shared by items and documents.

Hash scheme (`config.HASH_SCHEME`):

* a token's hash is xxh64 (seed 0) of its normalized UTF-8 bytes, equal to
  ``xxhash.xxh64_intdigest(token.encode())`` (a test pins this);
* the hash of a run of ``L`` tokens t_0..t_{L-1} is ``fmix64(raw + L * LEN_SALT)`` with
  ``raw = sum t_i * B^(L-1-i) mod 2^64``; the polynomial rolls in O(1) per token along a
  document, and the length salt keeps an L-token item from matching the first L tokens of an
  n-gram. fmix64 (MurmurHash3's finalizer) spreads the bits the bloom filter and table use.
  The zero hash is reserved for empty table slots, so a zero result becomes 1.

Collisions: with token hashes pseudo-random, a corpus window matches a given indexed n-gram
by chance with probability 2^-64; an index of 10^7 n-grams probed at 10^12 corpus positions
(about 5 TB of text) expects 10^19 / 1.8*10^19 ~ 0.5 false hits in all, each a single n-gram,
far below any verdict threshold.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from contam.config import NormConfig
from contam.normalize import char_classes, normalize

U64 = np.uint64
_P1 = U64(0x9E3779B185EBCA87)
_P2 = U64(0xC2B2AE3D27D4EB4F)
_P3 = U64(0x165667B19E3779F9)
_P4 = U64(0x85EBCA77C2B2AE63)
_P5 = U64(0x27D4EB2F165667C5)
_M1 = U64(0xFF51AFD7ED558CCD)
_M2 = U64(0xC4CEB9FE1A85EC53)
#: Base of the rolling polynomial (odd, so multiplication by it is invertible mod 2^64).
BASE = U64(0x9FB21C651E98DF25)
LEN_SALT = U64(0xD6E8FEB86659FD93)
_BLOOM_MIX = U64(0xA0761D6478BD642F)

HashArray = npt.NDArray[np.uint64]


def base_power(k: int) -> np.uint64:
    """``BASE**k mod 2^64``, the factor that drops the oldest token out of a k-token roll."""
    return np.uint64(pow(int(BASE), k, 1 << 64))


@njit(inline="always")
def _rotl(x, r):  # type: ignore[no-untyped-def]
    return (x << U64(r)) | (x >> U64(64 - r))


@njit(inline="always")
def _read64(d, p):  # type: ignore[no-untyped-def]
    return (
        U64(d[p])
        | (U64(d[p + 1]) << U64(8))
        | (U64(d[p + 2]) << U64(16))
        | (U64(d[p + 3]) << U64(24))
        | (U64(d[p + 4]) << U64(32))
        | (U64(d[p + 5]) << U64(40))
        | (U64(d[p + 6]) << U64(48))
        | (U64(d[p + 7]) << U64(56))
    )


@njit(inline="always")
def _round(acc, lane):  # type: ignore[no-untyped-def]
    acc = acc + lane * _P2
    acc = _rotl(acc, 31)
    return acc * _P1


@njit(cache=True, inline="always")
def xxh64(d, s, e):  # type: ignore[no-untyped-def]
    """xxh64 with seed 0 of ``d[s:e]`` (a uint8 array)."""
    length = e - s
    p = s
    if length >= 32:
        v1 = _P1 + _P2
        v2 = _P2
        v3 = U64(0)
        v4 = U64(0) - _P1
        while p + 32 <= e:
            v1 = _round(v1, _read64(d, p))
            v2 = _round(v2, _read64(d, p + 8))
            v3 = _round(v3, _read64(d, p + 16))
            v4 = _round(v4, _read64(d, p + 24))
            p += 32
        h = _rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)
        for v in (v1, v2, v3, v4):
            h = (h ^ _round(U64(0), v)) * _P1 + _P4
    else:
        h = _P5
    h = h + U64(length)
    while p + 8 <= e:
        h = h ^ _round(U64(0), _read64(d, p))
        h = _rotl(h, 27) * _P1 + _P4
        p += 8
    if p + 4 <= e:
        lane = U64(d[p]) | (U64(d[p + 1]) << U64(8)) | (U64(d[p + 2]) << U64(16))
        lane = lane | (U64(d[p + 3]) << U64(24))
        h = h ^ (lane * _P1)
        h = _rotl(h, 23) * _P2 + _P3
        p += 4
    while p < e:
        h = h ^ (U64(d[p]) * _P5)
        h = _rotl(h, 11) * _P1
        p += 1
    h = h ^ (h >> U64(33))
    h = h * _P2
    h = h ^ (h >> U64(29))
    h = h * _P3
    return h ^ (h >> U64(32))


@njit(inline="always")
def finish(raw, length):  # type: ignore[no-untyped-def]
    """Final hash of an ``length``-token run whose polynomial is ``raw``."""
    h = raw + U64(length) * LEN_SALT
    h = (h ^ (h >> U64(33))) * _M1
    h = (h ^ (h >> U64(33))) * _M2
    h = h ^ (h >> U64(33))
    if h == U64(0):
        h = U64(1)
    return h


@njit(inline="always")
def utf8_char(d, i):  # type: ignore[no-untyped-def]
    """Code point and byte width of the (valid) UTF-8 sequence starting at ``d[i]``."""
    b0 = d[i]
    if b0 < 0x80:
        return np.int64(b0), 1
    if b0 < 0xE0:
        return (np.int64(b0 & 0x1F) << 6) | np.int64(d[i + 1] & 0x3F), 2
    if b0 < 0xF0:
        cp = (np.int64(b0 & 0x0F) << 12) | (np.int64(d[i + 1] & 0x3F) << 6)
        return cp | np.int64(d[i + 2] & 0x3F), 3
    cp = (np.int64(b0 & 0x07) << 18) | (np.int64(d[i + 1] & 0x3F) << 12)
    return cp | (np.int64(d[i + 2] & 0x3F) << 6) | np.int64(d[i + 3] & 0x3F), 4


@njit(cache=True, inline="always")
def tokenize(d, s, e, classes, th, ts, te):  # type: ignore[no-untyped-def]
    """Cut ``d[s:e]`` (normalized UTF-8) into tokens; fill hashes and byte spans.

    Returns the token count. ``th``, ``ts``, ``te`` must hold ``e - s`` entries (a token has
    at least one byte).
    """
    count = 0
    i = s
    start = -1
    while i < e:
        cp, w = utf8_char(d, i)
        cls = classes[cp]
        if cls == 1:
            if start < 0:
                start = i
        else:
            if start >= 0:
                th[count] = xxh64(d, start, i)
                ts[count] = start
                te[count] = i
                count += 1
                start = -1
            if cls == 2:
                th[count] = xxh64(d, i, i + w)
                ts[count] = i
                te[count] = i + w
                count += 1
        i += w
    if start >= 0:
        th[count] = xxh64(d, start, e)
        ts[count] = start
        te[count] = e
        count += 1
    return count


@njit(inline="always")
def is_number(d, s, e):  # type: ignore[no-untyped-def]
    """Whether the token ``d[s:e]`` is all ASCII digits."""
    for p in range(s, e):  # noqa: SIM110 (numba compiles no generator expressions)
        if d[p] < 48 or d[p] > 57:
            return False
    return True


@njit(cache=True, nogil=True)
def tokenize_spans(d, starts, ends, classes):  # type: ignore[no-untyped-def]
    """`tokenize` over every text ``d[starts[k]:ends[k]]``, as CSR: (hashes, byte starts,
    byte ends into ``d``, token offsets); text k's tokens are ``tok_off[k]:tok_off[k+1]``.
    The arrays are views of buffers sized by bytes: copy what is kept."""
    total = 0
    for k in range(len(starts)):
        total += ends[k] - starts[k]
    th = np.empty(total, dtype=np.uint64)
    ts = np.empty(total, dtype=np.int64)
    te = np.empty(total, dtype=np.int64)
    tok_off = np.zeros(len(starts) + 1, dtype=np.int64)
    for k in range(len(starts)):
        base = tok_off[k]
        count = tokenize(d, starts[k], ends[k], classes, th[base:], ts[base:], te[base:])
        tok_off[k + 1] = base + count
    used = tok_off[-1]
    return th[:used], ts[:used], te[:used], tok_off


@njit(cache=True)
def tokenize_many(d, starts, ends, classes):  # type: ignore[no-untyped-def]
    """Token hashes of every text ``d[starts[k]:ends[k]]``, as CSR (hashes, token offsets),
    and whether each token is a number."""
    th, ts, te, tok_off = tokenize_spans(d, starts, ends, classes)
    numbers = np.empty(len(th), dtype=np.bool_)
    for t in range(len(th)):
        numbers[t] = is_number(d, ts[t], te[t])
    return th.copy(), tok_off, numbers


@njit(inline="always")
def grow_rows(buf, count, need):  # type: ignore[no-untyped-def]
    """``buf`` if it has ``need`` rows, else a copy of its first ``count`` rows in a buffer
    doubled until it has: how the kernels append to output arrays of unknown length."""
    size = buf.shape[0]
    if need <= size:
        return buf
    while size < need:
        size *= 2
    grown = np.empty((size, buf.shape[1]), dtype=buf.dtype)
    grown[:count] = buf[:count]
    return grown


@njit(cache=True)
def token_buffers(starts, ends):  # type: ignore[no-untyped-def]
    """`tokenize`'s hash and byte-span buffers, large enough for the longest document
    ``[starts[k], ends[k])`` (a token has at least one byte)."""
    longest = 1
    for k in range(len(starts)):
        longest = max(longest, ends[k] - starts[k])
    th = np.empty(longest, dtype=np.uint64)
    ts = np.empty(longest, dtype=np.int64)
    te = np.empty(longest, dtype=np.int64)
    return th, ts, te


@njit(cache=True)
def run_hashes(th, s, e, n, base_n):  # type: ignore[no-untyped-def]
    """Hashes of every n-token window of tokens ``th[s:e]`` (``max(0, e - s - n + 1)`` of them)."""
    out = np.empty(max(0, e - s - n + 1), dtype=np.uint64)
    raw = U64(0)
    for j in range(s, e):
        raw = raw * BASE + th[j]
        if j - s >= n:
            raw = raw - th[j - n] * base_n
        if j - s >= n - 1:
            out[j - s - n + 1] = finish(raw, n)
    return out


@njit(inline="always")
def prefix_key(raw):  # type: ignore[no-untyped-def]
    """Cheap, never-zero table key of a raw roll: the scan's trigger for short items, probed
    at every token, so it skips `finish`; a trigger is only a candidate, `seq_hash` decides."""
    return (raw ^ (raw >> U64(29))) | U64(1)


@njit(cache=True)
def prefix_raw(th, s, e):  # type: ignore[no-untyped-def]
    """`prefix_key` of the token run ``th[s:e]``."""
    raw = U64(0)
    for j in range(s, e):
        raw = raw * BASE + th[j]
    return prefix_key(raw)


@njit(cache=True)
def seq_hash(th, s, e):  # type: ignore[no-untyped-def]
    """Hash of the whole token run ``th[s:e]`` (how short items are matched)."""
    raw = U64(0)
    for j in range(s, e):
        raw = raw * BASE + th[j]
    return finish(raw, e - s)


@njit(inline="always")
def table_get(keys, vals, h):  # type: ignore[no-untyped-def]
    """Value stored for hash ``h`` in an open-addressing table, or -1."""
    mask = U64(len(keys) - 1)
    i = h & mask
    while True:
        k = keys[i]
        if k == h:
            return vals[i]
        if k == U64(0):
            return -1
        i = (i + U64(1)) & mask


@njit(cache=True)
def table_build(hashes):  # type: ignore[no-untyped-def]
    """Open-addressing table (load <= 0.5) mapping ``hashes[i]`` -> i; hashes must be unique."""
    size = 2
    while size < 2 * len(hashes):
        size *= 2
    keys = np.zeros(size, dtype=np.uint64)
    vals = np.full(size, -1, dtype=np.int32)
    mask = U64(size - 1)
    for idx in range(len(hashes)):
        h = hashes[idx]
        i = h & mask
        while keys[i] != U64(0):
            i = (i + U64(1)) & mask
        keys[i] = h
        vals[i] = idx
    return keys, vals


@njit(inline="always")
def _bloom_bits(h):  # type: ignore[no-untyped-def]
    g = h * _BLOOM_MIX
    return (
        (U64(1) << (g >> U64(58)))
        | (U64(1) << ((g >> U64(52)) & U64(63)))
        | (U64(1) << ((g >> U64(46)) & U64(63)))
    )


#: Multiplier of the two-bit filters (`bits_build`), which spreads a key's bits to the top.
BITS_MIX = U64(0x9E3779B97F4A7C15)


def bits_log(count: int, bits_per_key: int = 32) -> int:
    """log2 of a two-bit filter's size for ``count`` keys: the array, 256 KB for 64k keys,
    stays in L2, and a random key passes with probability about 1/200 (both of its bits, in
    a word where about one bit in 16 to 32 is set)."""
    return max(12, (count * bits_per_key - 1).bit_length())


@njit(inline="always")
def _bits_of(key, shift):  # type: ignore[no-untyped-def]
    """The word of ``key`` in a `bits_build` filter (the top bits of ``key * BITS_MIX``) and its
    two bits in that word (the next 6 bits, and the 6 below those)."""
    mixed = key * BITS_MIX
    f = mixed >> shift
    second = (mixed >> (shift - U64(6))) & U64(63)
    return f >> U64(6), (U64(1) << (f & U64(63))) | (U64(1) << second)


@njit(cache=True)
def bits_build(keys, log_bits):  # type: ignore[no-untyped-def]
    """A two-bit filter over ``2**log_bits`` bits, both bits of a key in one 64-bit word
    (`_bits_of`). Not a 3-bit bloom over a cache line: fewer operations at every position, for
    filters probed at every token or character and passed rarely. The second bit lets 8x fewer
    windows through to the GPT-4 table than one bit did (its kernel: 0.33 -> 0.29 s per
    100 MB) for two shifts more."""
    bits = np.zeros(1 << (log_bits - 6), dtype=np.uint64)
    shift = U64(64 - log_bits)
    for key in keys:
        word, mask = _bits_of(key, shift)
        bits[word] |= mask
    return bits


@njit(inline="always")
def bits_maybe(bits, shift, key):  # type: ignore[no-untyped-def]
    """False when ``key`` is surely not in the `bits_build` filter (``shift`` = 64 - log)."""
    word, mask = _bits_of(key, shift)
    return (bits[word] & mask) == mask


@njit(inline="always")
def bloom_maybe(bloom, h):  # type: ignore[no-untyped-def]
    """False when ``h`` is surely absent: one cache line, three bits, before the table probe."""
    bits = _bloom_bits(h)
    return (bloom[(h >> U64(32)) & U64(len(bloom) - 1)] & bits) == bits


@njit(cache=True)
def bloom_build(hashes, words):  # type: ignore[no-untyped-def]
    """Blocked bloom filter: each hash sets 3 bits in one 64-bit word; ``words`` a power of 2."""
    bloom = np.zeros(words, dtype=np.uint64)
    for h in hashes:
        bloom[(h >> U64(32)) & U64(words - 1)] |= _bloom_bits(h)
    return bloom


def bloom_words(count: int, bits_per_key: int = 12) -> int:
    """Words for ``count`` keys: 12 bits a key with k=3 in one word gives ~2% false passes."""
    words = 64
    while words * 64 < count * bits_per_key:
        words *= 2
    return words


def as_bytes(data: bytes) -> npt.NDArray[np.uint8]:
    """A read-only uint8 view of ``data`` for the kernels."""
    return np.frombuffer(data, dtype=np.uint8)


def tokens(text: str, norm: NormConfig) -> list[str]:
    """The tokens the kernels see in ``text``, as strings (for tests and explanations).

    Example:
        >>> tokens("Don't PANIC: 天下!", NormConfig())
        ['don', 't', 'panic', '天', '下']
    """
    data = normalize(text, norm).encode("utf-8", "surrogatepass")
    size = max(1, len(data))
    th = np.empty(size, dtype=np.uint64)
    ts = np.empty(size, dtype=np.int64)
    te = np.empty(size, dtype=np.int64)
    count = tokenize(
        as_bytes(data or b"\0"), 0, len(data), char_classes(norm.cjk_chars), th, ts, te
    )
    return [data[ts[k] : te[k]].decode() for k in range(count)]
