"""Tokens and n-gram hashes: the numba kernels shared by items and documents.

Hash scheme (`config.HASH_SCHEME`):

* a token's hash comes from its normalized UTF-8 bytes read as 8-byte little-endian lanes,
  the last one zero-padded: ``fmix64(lane)`` for a token of at most 8 bytes (distinct such
  tokens never collide: their lanes differ, as no token holds a zero byte, and fmix64 is a
  bijection); a longer one mixes its lanes in turn (`lane_mix`, from a zero state) and ends
  with ``fmix64(lane_mix(state, last lane))``. A pure-Python copy in the tests pins it;
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
_M1 = U64(0xFF51AFD7ED558CCD)
_M2 = U64(0xC4CEB9FE1A85EC53)
#: Base of the rolling polynomial (odd, so multiplication by it is invertible mod 2^64).
BASE = U64(0x9FB21C651E98DF25)
LEN_SALT = U64(0xD6E8FEB86659FD93)
_BLOOM_MIX = U64(0xA0761D6478BD642F)

HashArray = npt.NDArray[np.uint64]

#: Bytes of a document the kernels take at once (`piece_end`): longer ones are cut into
#: pieces, so their scratch is bounded by this and not by the longest document (16 bytes
#: per byte of it for the probe's tokens: a 1.2 MB book held 20 MB per thread, a 100 MB
#: record would hold 1.6 GB; 12 for GPT-4's stream).
PIECE_BYTES = 1 << 18


def base_power(k: int) -> np.uint64:
    """``BASE**k mod 2^64``, the factor that drops the oldest token out of a k-token roll."""
    return np.uint64(pow(int(BASE), k, 1 << 64))


@njit(inline="always")
def fmix64(h):  # type: ignore[no-untyped-def]
    """MurmurHash3's 64-bit finalizer: a bijection that spreads every input bit."""
    h = (h ^ (h >> U64(33))) * _M1
    h = (h ^ (h >> U64(33))) * _M2
    return h ^ (h >> U64(33))


@njit(inline="always")
def lane_mix(h, lane):  # type: ignore[no-untyped-def]
    """Fold one 8-byte lane of a long token into its running state."""
    x = h ^ (lane * _P2)
    return ((x << U64(31)) | (x >> U64(33))) * _P1


@njit(inline="always")
def token_hash(state, lane):  # type: ignore[no-untyped-def]
    """The hash of a token whose last lane is ``lane`` and whose earlier lanes left ``state``
    (0 for a token of at most 8 bytes, which so hashes to ``fmix64(lane)``)."""
    if state != U64(0):
        lane = lane_mix(state, lane)
    return fmix64(lane)


@njit(inline="always")
def finish(raw, length):  # type: ignore[no-untyped-def]
    """Final hash of an ``length``-token run whose polynomial is ``raw``."""
    h = fmix64(raw + U64(length) * LEN_SALT)
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


@njit(inline="always")
def _restarts_tokens(d, c, classes):  # type: ignore[no-untyped-def]
    """Whether ``d[c]`` starts a character that is no part of a word (class 0 or 2), so that
    `tokenize` of a text cut just before it gives the tokens of the whole text."""
    b = d[c]
    if b < 0x80:
        return classes[b] == 0  # ASCII is never CJK
    if b & 0xC0 == 0x80:
        return False  # inside a character
    return classes[utf8_char(d, c)[0]] != 1


@njit(cache=True, inline="always")
def piece_end(d, p, e, piece, classes):  # type: ignore[no-untyped-def]
    """Where the piece of ``d[p:e]`` that the kernels tokenize next ends: ``e`` when it is
    at most ``piece`` bytes away; else the last place in ``(p, p + piece]`` before a
    character that is no part of a word, so the pieces' tokens are the text's (failing
    that, the first such place further on: the piece is then one long word; failing that,
    ``e``)."""
    if e - p <= piece:
        return e
    for c in range(p + piece, p, -1):
        if _restarts_tokens(d, c, classes):
            return c
    for c in range(p + piece + 1, e):
        if _restarts_tokens(d, c, classes):
            return c
    return e


@njit(inline="always")
def _slot(th, state, ts, te, k, lane, h, start, end, spans):  # type: ignore[no-untyped-def]
    """Write token slot ``k``: its last lane, the state of its earlier lanes and, with
    ``spans``, its byte span."""
    th[k] = lane
    state[k] = h
    if spans:
        ts[k] = start
        te[k] = end


@njit(cache=True, inline="always")
def tokenize(d, s, e, classes, th, ts, te, state, spans=True):  # type: ignore[no-untyped-def]
    """Cut ``d[s:e]`` (normalized UTF-8) into tokens; fill hashes and, with ``spans``, byte
    spans.

    Returns the token count. ``th``, ``ts``, ``te`` and ``state`` (scratch: the long tokens'
    lane states) must hold that count plus one entries (the slot after the last token is
    written too); ``e - s`` always do, as a token has at least one byte. Pass ``spans``
    as a constant: the n-gram probe, which needs no spans, so drops two of the four stores
    every byte makes (0.50 -> 0.43 s per 100 MB).

    A token's bytes are packed into 8-byte lanes as they are read (`token_hash` hashes
    them), never read twice. ASCII, most bytes of most corpora, takes a path without
    branches on the text: every byte writes the current token's lane, state and span to slot
    ``count``, which only moves on when a word ends; where words end is too irregular for a
    branch predictor, and this path is 1.3x faster than hashing each finished token with
    xxh64 (the hash this scheme replaced). ASCII characters are words or separators, never
    CJK (`normalize.char_classes`), so their class is 0 or 1.
    """
    count = 0
    in_word = U64(0)  # 1 inside a token
    lane = U64(0)  # the current token's bytes since its last full lane
    shift = U64(0)  # bits of ``lane`` used
    h = U64(0)  # its full lanes, mixed
    start = s
    i = s
    while i < e:
        b = d[i]
        if b < 0x80:
            word = U64(classes[b])
            _slot(th, state, ts, te, count, lane, h, start, i, spans)
            count += int(in_word & (word ^ U64(1)))
            if in_word == U64(0):
                start = i
            if shift == U64(64) and word == U64(1):
                h = lane_mix(h, lane)
                lane = U64(0)
                shift = U64(0)
            keep = U64(0) - word  # all ones in a word, else zero
            lane = (lane | (U64(b) << shift)) & keep
            shift = (shift + U64(8)) & keep
            h = h & keep
            in_word = word
            i += 1
            continue
        cp, w = utf8_char(d, i)
        cls = classes[cp]
        if cls == 1:
            if in_word == U64(0):
                start = i  # lane, shift and h are zero outside a word
            for t in range(w):
                if shift == U64(64):
                    h = lane_mix(h, lane)
                    lane = U64(0)
                    shift = U64(0)
                lane |= U64(d[i + t]) << shift
                shift += U64(8)
            in_word = U64(1)
        else:
            if in_word == U64(1):
                _slot(th, state, ts, te, count, lane, h, start, i, spans)
                count += 1
            in_word = U64(0)
            lane = U64(0)
            shift = U64(0)
            h = U64(0)
            if cls == 2:  # a token of its own
                one = U64(0)
                for t in range(w):
                    one |= U64(d[i + t]) << U64(8 * t)
                _slot(th, state, ts, te, count, one, U64(0), i, i + w, spans)
                count += 1
        i += w
    if in_word == U64(1):
        _slot(th, state, ts, te, count, lane, h, start, e, spans)
        count += 1
    for t in range(count):
        th[t] = token_hash(state[t], th[t])
    return count


@njit(inline="always")
def is_number(d, s, e):  # type: ignore[no-untyped-def]
    """Whether the token ``d[s:e]`` is all ASCII digits."""
    for p in range(s, e):  # noqa: SIM110 (numba compiles no generator expressions)
        if d[p] < 48 or d[p] > 57:
            return False
    return True


@njit(inline="always")
def _tokenize_pieces(d, s, e, classes, piece, th, ts, te, state, spans):  # type: ignore[no-untyped-def]
    """`tokenize` of ``d[s:e]`` a piece at a time (`piece_end`), so that ``state`` need only
    hold a piece's tokens and two. With ``spans`` the pieces' tokens follow each other in
    ``th``, ``ts`` and ``te``, which must hold the text's; without, each piece's overwrite
    the last's: only the count is wanted."""
    count = 0
    p = s
    while True:
        cut = piece_end(d, p, e, piece, classes)
        at = count if spans else 0
        count += tokenize(d, p, cut, classes, th[at:], ts[at:], te[at:], state, spans)
        if cut == e:
            return count
        p = cut


@njit(cache=True, nogil=True)
def tokenize_spans(d, starts, ends, classes, piece=PIECE_BYTES):  # type: ignore[no-untyped-def]
    """`tokenize` over every text ``d[starts[k]:ends[k]]``, as CSR: (hashes, byte starts,
    byte ends into ``d``, token offsets); text k's tokens are ``tok_off[k]:tok_off[k+1]``.

    Two passes, each over pieces of at most ``piece`` bytes (`_tokenize_pieces`): the first
    counts each text's tokens (no spans, in scratch for one piece), the second cuts them
    into output arrays of exactly that size. Growing the output to one token per byte of
    each text instead held 24 bytes for every byte of a batch's documents with hits, several
    books at times: the rare batch that did set a scan's peak memory, so the peak kept rising
    with the corpus (one thread: +12-15% from 100 MB to 2 GB). The second pass costs little:
    few documents have hits. The arrays are views: copy what is kept."""
    th, ts, te, state = token_buffers(min(longest_text(starts, ends), piece) + 2, spans=False)
    tok_off = np.zeros(len(starts) + 1, dtype=np.int64)
    for k in range(len(starts)):
        count = _tokenize_pieces(d, starts[k], ends[k], classes, piece, th, ts, te, state, False)
        tok_off[k + 1] = tok_off[k] + count
    used = tok_off[-1]
    # one slot past the last token: `tokenize` writes the slot after a text's tokens
    th = np.empty(used + 1, dtype=np.uint64)
    ts = np.empty(used + 1, dtype=np.int64)
    te = np.empty(used + 1, dtype=np.int64)
    for k in range(len(starts)):
        base = tok_off[k]
        _tokenize_pieces(
            d, starts[k], ends[k], classes, piece, th[base:], ts[base:], te[base:], state, True
        )
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
    doubled until it has: how the kernels append to output arrays of unknown length (of one
    or two dimensions)."""
    size = buf.shape[0]
    if need <= size:
        return buf
    while size < need:
        size *= 2
    grown = np.empty((size, *buf.shape[1:]), dtype=buf.dtype)
    grown[:count] = buf[:count]
    return grown


@njit(inline="always")
def longest_text(starts, ends):  # type: ignore[no-untyped-def]
    """Bytes of the longest text ``[starts[k], ends[k])``, at least 1."""
    longest = 1
    for k in range(len(starts)):
        longest = max(longest, ends[k] - starts[k])
    return longest


@njit(cache=True)
def token_buffers(size, spans=True):  # type: ignore[no-untyped-def]
    """`tokenize`'s hash, byte-span and state buffers of ``size`` entries (a token has at
    least one byte, and the slot after the last is written too: a text's bytes plus one
    always do). Without ``spans`` the span buffers get one entry, as `tokenize` without
    spans never writes them: a 256 KB piece would otherwise hold 4 MB more."""
    th = np.empty(size, dtype=np.uint64)
    ts = np.empty(size if spans else 1, dtype=np.int64)
    te = np.empty(size if spans else 1, dtype=np.int64)
    state = np.empty(size, dtype=np.uint64)
    return th, ts, te, state


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
    wherever their token filters pass, so it skips `finish`; a trigger is only a candidate,
    `seq_hash` decides."""
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


@njit(cache=True)
def top_bits_build(keys, log_bits):  # type: ignore[no-untyped-def]
    """A one-bit filter over ``2**log_bits`` bits for keys that are hashes already (tokens'):
    each sets the bit its top ``log_bits`` bits name. No multiply: a test is two shifts and a
    load, cheap enough for every token of a corpus (`top_bits_has`)."""
    bits = np.zeros(1 << (log_bits - 6), dtype=np.uint64)
    shift = U64(64 - log_bits)
    for key in keys:
        top = key >> shift
        bits[top >> U64(6)] |= U64(1) << (top & U64(63))
    return bits


@njit(inline="always")
def top_bits_has(bits, shift, key):  # type: ignore[no-untyped-def]
    """False when ``key`` is surely not in the `top_bits_build` filter (``shift`` = 64 - log)."""
    top = key >> shift
    return (bits[top >> U64(6)] >> (top & U64(63))) & U64(1) != U64(0)


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
    th, ts, te, state = token_buffers(len(data) + 1)
    count = tokenize(
        as_bytes(data or b"\0"), 0, len(data), char_classes(norm.cjk_chars), th, ts, te, state
    )
    return [data[ts[k] : te[k]].decode() for k in range(count)]
