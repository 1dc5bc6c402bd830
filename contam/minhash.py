"""Near-duplicate candidates: MinHash signatures of items and document windows, banded by LSH.

An edited copy of an item (a word changed every few tokens) shares no long n-gram with it;
MinHash over word 3-gram shingles still sees it as a set with high Jaccard similarity.
Items' signatures are banded as datasketch's `MinHashLSH` bands them (a test checks both
give the same candidates), into sorted numpy arrays: built in milliseconds for tens of
thousands of items, shared by worker processes without a copy. A scan queries them with
windows of a document sized to an item and placed around seed positions (`windows_around`),
and `NearDupIndex.verify` measures each candidate exactly.

Signatures are datasketch's scheme ``"affine32"`` (datasketch >= 2.0), bit for bit: a 32-bit
shingle hash ``h`` is pre-mixed with MurmurHash3's fmix32, then permutation k maps it to
``a_k * fmix32(h) + b_k mod 2^32`` (``a_k`` odd, so a bijection), with ``a = 2 * randint(0,
2^31, P) + 1`` then ``b = randint(0, 2^32, P)`` drawn from ``numpy.random.RandomState(seed)``.
A test pins `signatures` to ``MinHash(scheme="affine32", hashfunc=int).update_batch``.
They are computed here in numba (datasketch's `update` runs at 0.9-9 MB/s). Not "legacy":
it folds a 61-bit prime range into 32 bits, which biases estimates, and is slower; not
"affine64": the shingle hashes have 32 bits anyway. datasketch itself is only the tests'
reference, not a run-time dependency.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from numba import njit

from contam.errors import ConfigError
from contam.shingles import base_power, run_hashes, seq_hash

U64 = np.uint64
I64 = npt.NDArray[np.int64]
U32 = npt.NDArray[np.uint32]
_MASK32 = U64(0xFFFFFFFF)
#: Band layouts are chosen so that a pair at the threshold becomes a candidate this often.
RECALL_AT_THRESHOLD = 0.9


def _bands_rows(threshold: float, num_perm: int) -> tuple[int, int] | None:
    """Most rows per band (fewest chance candidates) that still reach RECALL_AT_THRESHOLD."""
    for rows in range(num_perm // 2, 0, -1):  # datasketch needs >= 2 bands
        bands = num_perm // rows
        if 1.0 - (1.0 - threshold**rows) ** bands >= RECALL_AT_THRESHOLD:
            return bands, rows
    return None


@dataclass(frozen=True, slots=True)
class MinHashConfig:
    """How items and windows are sketched and banded.

    A pair with Jaccard similarity J shares a band with probability 1-(1-J^r)^b. The bands
    ``b`` and rows ``r`` follow from ``threshold``: the largest r whose ``b = num_perm // r``
    bands still make a pair at the threshold a candidate with probability >= 0.9.
    For the defaults that is b=21, r=6 (126 of 128 permutations):
    P(candidate | J=0.74) = 1-(1-0.74^6)^21 = 0.977, P(J=0.7) = 0.928, P(J=0.675) = 0.876,
    P(J=0.5) = 0.28, P(J=0.3) = 0.015.
    Why 0.7 and not 0.8: changing one token in twenty kills 3 shingles in 20, so the copy
    has J = (1-3/20)/(1+3/20) = 0.74 with the item, and 0.675 inside a 100-token item's
    window with the 5% margins of `windows_around` (83 shared shingles of 123); threshold 0.8
    (b=16, r=8: P(J=0.8) = 0.947, P(J=0.5) = 0.061) finds those with P = 0.78 and 0.51 only.
    A chance candidate costs one exact `verify`.

    Args:
        num_perm: permutations (signature length).
        shingle: tokens per shingle.
        threshold: the Jaccard similarity a candidate pair should reach.
        seed: seed of the permutations (datasketch's ``seed``).
    """

    num_perm: int = 128
    shingle: int = 3
    threshold: float = 0.7
    seed: int = 1
    bands: int = field(init=False)
    rows: int = field(init=False)

    def __post_init__(self) -> None:
        if not 2 <= self.num_perm <= 1024:
            raise ConfigError(
                f"num_perm must be between 2 and 1024, got {self.num_perm} (128 is usual)"
            )
        if not 1 <= self.shingle <= 16:
            raise ConfigError(f"shingle must be between 1 and 16 tokens, got {self.shingle}")
        if not 0.0 < self.threshold <= 1.0:
            raise ConfigError(
                f"threshold is a Jaccard similarity in (0, 1], got {self.threshold}"
                + (f"; did you mean {self.threshold / 100}?" if 1 < self.threshold <= 100 else "")
            )
        if not 0 <= self.seed < 2**32:
            raise ConfigError(f"seed must be in [0, 2^32) (numpy's RandomState), got {self.seed}")
        layout = _bands_rows(self.threshold, self.num_perm)
        if layout is None:
            raise ConfigError(
                f"threshold {self.threshold} is too low for num_perm={self.num_perm}: no band "
                f"layout makes such pairs candidates 90% of the time; raise threshold or num_perm"
            )
        object.__setattr__(self, "bands", layout[0])
        object.__setattr__(self, "rows", layout[1])

    def __str__(self) -> str:
        return f"mh{self.num_perm}_{self.shingle}t_b{self.bands}r{self.rows}_s{self.seed}"

    def permutations(self) -> U32:
        """uint32[2, num_perm]: datasketch's affine32 ``(a, b)`` for this seed (read-only)."""
        return _permutations(self.num_perm, self.seed)


@functools.lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int) -> U32:
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    perm = np.array([a, b])
    perm.flags.writeable = False  # shared by every caller through the cache
    return perm


@njit(cache=True)
def _shingles_into(tok, s, e, k, base_k, out, o):  # type: ignore[no-untyped-def]
    """Write the shingle hashes of ``tok[s:e]`` at ``out[o:]``; return how many. ``base_k``
    is `base_power` of ``k``."""
    n = e - s
    if n == 0:
        return 0
    if n < k:  # a text shorter than a shingle is one shingle of all its tokens
        out[o] = np.uint32(seq_hash(tok, s, e) >> U64(32))
        return 1
    hashes = run_hashes(tok, s, e, k, base_k)  # the n-gram hashes items and documents share
    for x in range(len(hashes)):
        out[o + x] = np.uint32(hashes[x] >> U64(32))
    return len(hashes)


@njit(cache=True)
def _shingles_csr(tok_ptr, tok, k, base_k):  # type: ignore[no-untyped-def]
    count = len(tok_ptr) - 1
    ptr = np.zeros(count + 1, dtype=np.int64)
    out = np.empty(max(1, len(tok)), dtype=np.uint32)
    for i in range(count):
        n = _shingles_into(tok, tok_ptr[i], tok_ptr[i + 1], k, base_k, out, ptr[i])
        ptr[i + 1] = ptr[i] + n
    return ptr, out[: ptr[-1]].copy()


def shingle_hashes(tok: npt.NDArray[np.uint64], k: int) -> U32:
    """32-bit hash of every k-token shingle of ``tok``: ``max(0, len(tok) - k + 1)`` of them,
    or one of all the tokens when there are 1 to k-1. The upper half of the n-gram hash of
    `contam.shingles`, so a shingle hashes the same in items and documents.

    Example:
        >>> len(shingle_hashes(np.arange(1, 11, dtype=np.uint64), 3))
        8
    """
    _, out = _shingles_csr(np.array([0, len(tok)], dtype=np.int64), tok, k, base_power(k))
    result: U32 = out
    return result


@njit(inline="always")
def _fmix32(h):  # type: ignore[no-untyped-def]
    """MurmurHash3's 32-bit finalizer on a uint64 holding 32 bits (datasketch's pre-mix)."""
    h = h ^ (h >> U64(16))
    h = (h * U64(0x85EBCA6B)) & _MASK32
    h = h ^ (h >> U64(13))
    h = (h * U64(0xC2B2AE35)) & _MASK32
    return h ^ (h >> U64(16))


@njit(cache=True)
def _signatures(ptr, shingles, a, b):  # type: ignore[no-untyped-def]
    out = np.full((len(ptr) - 1, len(a)), np.uint32(0xFFFFFFFF), dtype=np.uint32)
    a64 = a.astype(np.uint64)
    b64 = b.astype(np.uint64)
    for i in range(len(ptr) - 1):
        row = out[i]
        for j in range(ptr[i], ptr[i + 1]):
            h = _fmix32(U64(shingles[j]))
            for p in range(len(a)):  # the wrap of the truncation is datasketch's mod 2^32
                v = np.uint32((a64[p] * h + b64[p]) & _MASK32)
                if v < row[p]:
                    row[p] = v
    return out


def signatures(ptr: I64, shingles: U32, config: MinHashConfig) -> U32:
    """uint32[m, num_perm] MinHash signatures of the m shingle sets ``shingles[ptr[i]:ptr[i+1]]``.

    Equal to datasketch's ``MinHash(num_perm, seed=seed, scheme="affine32",
    hashfunc=int)`` after ``update_batch`` of each set; an empty set keeps 2^32-1 everywhere.
    """
    perm = config.permutations()
    out: U32 = _signatures(ptr, shingles, perm[0], perm[1])
    return out


@njit(cache=True)
def band_keys(sigs, bands, rows):  # type: ignore[no-untyped-def]
    """uint64[m, bands]: one key per band of each signature, the band number mixed in, so
    all bands share one sorted array; equal bands give equal keys (a 64-bit collision only
    adds a candidate, which `NearDupIndex.verify` then measures)."""
    out = np.empty((sigs.shape[0], bands), dtype=np.uint64)
    for i in range(sigs.shape[0]):
        for b in range(bands):
            h = U64(b + 1) * U64(0x9E3779B97F4A7C15)
            for r in range(b * rows, (b + 1) * rows):
                h = (h ^ U64(sigs[i, r])) * U64(0x100000001B3)
                h = h ^ (h >> U64(29))
            h = (h ^ (h >> U64(33))) * U64(0xFF51AFD7ED558CCD)
            out[i, b] = h ^ (h >> U64(33))
    return out


#: A window's distinct shingle hashes (sorted) and its MinHash signature.
Sketch = tuple[U32, U32]


@njit(cache=True)
def _distinct_csr(ptr, values):  # type: ignore[no-untyped-def]
    """Each set ``values[ptr[i]:ptr[i+1]]`` sorted and without repeats, as CSR again."""
    out_ptr = np.zeros(len(ptr), dtype=np.int64)
    out = np.empty(len(values), dtype=values.dtype)
    o = 0
    for i in range(len(ptr) - 1):
        own = np.sort(values[ptr[i] : ptr[i + 1]])
        for x in range(len(own)):
            if x == 0 or own[x] != own[x - 1]:
                out[o] = own[x]
                o += 1
        out_ptr[i + 1] = o
    return out_ptr, out[:o].copy()


class NearDupIndex:
    """Items' signatures, banded for candidate lookup, keyed by item number.

    Example:
        >>> cfg = MinHashConfig()
        >>> tok = np.arange(1, 101, dtype=np.uint64)
        >>> index = NearDupIndex.build(np.array([0, 100]), tok, cfg)
        >>> index.query(tok), index.verify(0, tok)
        ([0], (1.0, 1.0))
    """

    def __init__(self, config: MinHashConfig, shingle_ptr: I64, shingles: U32, sigs: U32) -> None:
        self.config = config
        # each item's distinct shingles, sorted (CSR), for `verify`'s containment
        self.shingle_ptr, self.shingles = _distinct_csr(shingle_ptr, shingles)
        self.sigs = sigs
        # Items without tokens have the all-empty signature: never a candidate.
        indexed = np.flatnonzero(np.diff(shingle_ptr))
        keys = band_keys(sigs[indexed], config.bands, config.rows).ravel()
        order = np.argsort(keys, kind="stable")
        self.keys = keys[order]  # every band's key of every item, sorted
        self.key_items = np.repeat(indexed, config.bands)[order]

    @classmethod
    def build(
        cls, item_tok_ptr: I64, item_tok: npt.NDArray[np.uint64], config: MinHashConfig
    ) -> NearDupIndex:
        """Index items given as CSR token hashes (item i is ``item_tok[ptr[i]:ptr[i+1]]``)."""
        k = config.shingle
        ptr, shingles = _shingles_csr(item_tok_ptr, item_tok, k, base_power(k))
        return cls(config, ptr, shingles, signatures(ptr, shingles, config))

    def sketch(self, window_tok: npt.NDArray[np.uint64]) -> Sketch:
        """(distinct shingle hashes, sorted; MinHash signature) of a window: what `query` and
        `verify` compare, computed once per window when given to them."""
        sh = np.unique(shingle_hashes(window_tok, self.config.shingle))
        return sh, signatures(np.array([0, len(sh)], dtype=np.int64), sh, self.config)[0]

    def query(self, window_tok: npt.NDArray[np.uint64], sketch: Sketch | None = None) -> list[int]:
        """Item numbers sharing a band with the window: candidates for `verify`. ``sketch``:
        the window's `sketch`, if already computed."""
        _, sig = sketch if sketch is not None else self.sketch(window_tok)
        keys = band_keys(sig[None, :], self.config.bands, self.config.rows)[0]
        lo = np.searchsorted(self.keys, keys, side="left")
        hi = np.searchsorted(self.keys, keys, side="right")
        hits = [self.key_items[a:b] for a, b in zip(lo.tolist(), hi.tolist(), strict=True) if b > a]
        return np.unique(np.concatenate(hits)).tolist() if hits else []

    def verify(
        self, item: int, window_tok: npt.NDArray[np.uint64], sketch: Sketch | None = None
    ) -> tuple[float, float]:
        """(Jaccard estimated from the signatures, exact containment of the item's shingles).

        Containment is ``|item shingles ∩ window shingles| / |item shingles|``: insensitive
        to the window's margins, it is the number to judge a copy by. ``sketch``: the
        window's `sketch`, if already computed.
        """
        sh, sig = sketch if sketch is not None else self.sketch(window_tok)
        estimate = float(np.count_nonzero(self.sigs[item] == sig)) / self.config.num_perm
        own = self.shingles[self.shingle_ptr[item] : self.shingle_ptr[item + 1]]
        if len(own) == 0:
            return estimate, 0.0
        return estimate, len(np.intersect1d(own, sh, assume_unique=True)) / len(own)


@njit(cache=True)
def _windows(seeds, doc_len, size):  # type: ignore[no-untyped-def]
    out = np.empty((len(seeds), 2), dtype=np.int64)
    w = 0
    i = 0
    while i < len(seeds):
        j = i
        while j + 1 < len(seeds) and seeds[j + 1] - seeds[i] < size:
            j += 1
        start = (seeds[i] + seeds[j] + 1) // 2 - size // 2
        start = max(0, min(start, doc_len - size))
        out[w, 0] = start
        out[w, 1] = min(start + size, doc_len)
        w += 1
        i = j + 1
    return out[:w].copy()


def windows_around(seed_positions: I64, item_len: int, doc_len: int) -> I64:
    """int64[w, 2] document token windows ``[start, end)`` to query for one item.

    A window is ``item_len + 2 * margin`` tokens, ``margin = ceil(item_len / 20)`` (at least 1),
    so a copy with a few inserted tokens still fits, while an exact copy keeps Jaccard
    (L-2)/(L+2m-2) ~ 0.91 with its window. Seeds (token positions known to lie in a copy,
    e.g. the first and last token of each n-gram hit) are taken in order; every seed less
    than a window from the first seed of a group joins it, and the group gets one window
    centred on it, shifted inside the document. Groups further apart keep separate windows
    even when these overlap: a merged window two items long would hold a copy at J ~ 0.5,
    below any useful threshold.

    Example:
        >>> windows_around(np.array([40, 45, 50]), 20, 1000).tolist()
        [[34, 56]]
    """
    size = item_len + 2 * max(1, -(-item_len // 20))
    seeds = np.unique(np.asarray(seed_positions, dtype=np.int64))
    out: I64 = _windows(seeds, doc_len, size)
    return out
