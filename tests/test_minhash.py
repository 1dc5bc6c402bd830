from typing import Any

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH
from hypothesis import given
from hypothesis import strategies as st

from contam.errors import ConfigError
from contam.minhash import (
    RECALL_AT_THRESHOLD,
    MinHashConfig,
    NearDupIndex,
    shingle_hashes,
    signatures,
    windows_around,
)
from contam.shingles import base_power, run_hashes, seq_hash

CFG = MinHashConfig()
U32_MAX = 2**32 - 1


def random_tokens(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2**63, n, dtype=np.uint64)


def csr(parts: list[np.ndarray], dtype: type) -> tuple[np.ndarray, np.ndarray]:
    ptr = np.zeros(len(parts) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(p) for p in parts])
    flat = np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)
    return ptr, flat


def datasketch_minhash(shingles: np.ndarray, config: MinHashConfig) -> MinHash:
    m = MinHash(num_perm=config.num_perm, seed=config.seed, scheme="affine32", hashfunc=int)
    m.update_batch(shingles)
    return m


# --- signatures are datasketch's -------------------------------------------------------------


@pytest.mark.parametrize(("num_perm", "seed"), [(128, 1), (7, 0), (256, 2**32 - 1)])
def test_permutations_are_datasketchs(num_perm: int, seed: int) -> None:
    ours = MinHashConfig(num_perm=num_perm, seed=seed).permutations()
    theirs = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    assert ours.dtype == theirs.dtype == np.uint32
    assert np.array_equal(ours, theirs)


@given(
    st.sampled_from([2, 16, 128]),
    st.integers(0, U32_MAX),
    st.lists(st.lists(st.integers(0, U32_MAX), max_size=40), max_size=5),
)
def test_signatures_equal_datasketch_update_batch(
    num_perm: int, seed: int, sets: list[list[int]]
) -> None:
    config = MinHashConfig(num_perm=num_perm, seed=seed)
    ptr, flat = csr([np.array(s, dtype=np.uint32) for s in sets], np.uint32)
    sig = signatures(ptr, flat, config)
    assert sig.shape == (len(sets), num_perm)
    assert sig.dtype == np.uint32
    for row, s in zip(sig, sets, strict=True):
        assert np.array_equal(
            row, datasketch_minhash(np.array(s, dtype=np.uint32), config).hashvalues
        )


def test_signatures_of_large_random_sets_equal_datasketch() -> None:
    rng = np.random.default_rng(7)
    sets = [rng.integers(0, 2**32, n, dtype=np.uint32) for n in (1, 100, 800, 5000)]
    ptr, flat = csr(sets, np.uint32)
    sig = signatures(ptr, flat, CFG)
    for row, s in zip(sig, sets, strict=True):
        assert np.array_equal(row, datasketch_minhash(s, CFG).hashvalues)


def test_banding_gives_datasketchs_lsh_candidates() -> None:
    # items and edited copies at every distance from identical to unrelated: the numpy bands
    # must answer exactly what datasketch's MinHashLSH (same b, r) answers
    rng = np.random.default_rng(7)
    items = [random_tokens(int(rng.integers(3, 120)), seed) for seed in range(300)]
    index = NearDupIndex.build(*csr(items, np.uint64), CFG)
    lsh = MinHashLSH(num_perm=CFG.num_perm, params=(CFG.bands, CFG.rows))
    for i, sig in enumerate(index.sigs):
        lsh.insert(i, MinHash(seed=CFG.seed, hashvalues=sig, scheme="affine32"))
    asked = answered = 0
    for q in range(600):
        window = items[q % 300].copy()
        every = int(rng.integers(2, 40))
        window[::every] = random_tokens(len(window[::every]), 10_000 + q)
        theirs = sorted(lsh.query(datasketch_minhash(shingle_hashes(window, 3), CFG)))
        assert index.query(window) == theirs, q
        asked += 1
        answered += len(theirs) > 0
    assert (CFG.bands, CFG.rows) == (21, 6)
    assert 0.2 * asked < answered < asked  # near and far copies both asked


# --- shingles ------------------------------------------------------------------------------


@given(st.lists(st.integers(0, 2**64 - 1), max_size=30), st.integers(1, 6))
def test_shingle_count_and_hash(values: list[int], k: int) -> None:
    tok = np.array(values, dtype=np.uint64)
    sh = shingle_hashes(tok, k)
    assert sh.dtype == np.uint32
    if len(tok) >= k:
        assert len(sh) == max(0, len(tok) - k + 1)
        # the upper half of the n-gram hash of contam.shingles, wherever the shingle stands
        grams = run_hashes(tok, 0, len(tok), k, base_power(k))
        assert sh.tolist() == (grams >> np.uint64(32)).tolist()
        for i in range(len(sh)):
            assert shingle_hashes(tok[i : i + k], k).tolist() == [sh[i]]
    else:
        assert len(sh) == min(1, len(tok))


def test_text_shorter_than_a_shingle_is_one_shingle_of_all_its_tokens() -> None:
    tok = random_tokens(3, 0)
    short = shingle_hashes(tok[:2], 3)
    assert short.tolist() == [int(seq_hash(tok, 0, 2)) >> 32]
    assert short[0] != shingle_hashes(tok, 3)[0]
    assert shingle_hashes(tok[:0], 3).tolist() == []


# --- verify and query ----------------------------------------------------------------------


def test_verify_identical_window() -> None:
    item = random_tokens(50, 1)
    index = NearDupIndex.build(*csr([item], np.uint64), CFG)
    assert index.verify(0, item.copy()) == (1.0, 1.0)


def test_verify_item_inside_extra_tokens_is_fully_contained() -> None:
    item = random_tokens(50, 1)
    window = np.concatenate([random_tokens(30, 2), item, random_tokens(30, 3)])
    index = NearDupIndex.build(*csr([item], np.uint64), CFG)
    estimate, containment = index.verify(0, window)
    assert containment == 1.0
    assert estimate < 1.0  # true Jaccard 48/108


def test_verify_one_changed_token_in_the_middle() -> None:
    # 10 distinct tokens -> 8 shingles; token 4 lies in the shingles starting at 2, 3 and 4,
    # so 5 of 8 survive: containment 5/8 (Jaccard 5/11).
    item = np.arange(1, 11, dtype=np.uint64)
    window = item.copy()
    window[4] = 999
    index = NearDupIndex.build(*csr([item], np.uint64), CFG)
    estimate, containment = index.verify(0, window)
    assert containment == 5 / 8
    expected = datasketch_minhash(shingle_hashes(item, 3), CFG).jaccard(
        datasketch_minhash(shingle_hashes(window, 3), CFG)
    )
    assert estimate == expected
    assert abs(estimate - 5 / 11) < 0.15


def test_query_finds_an_item_with_one_token_in_twenty_changed() -> None:
    items = [random_tokens(100, seed) for seed in range(40)]
    index = NearDupIndex.build(*csr(items, np.uint64), CFG)
    edited = items[17].copy()
    edited[10::20] = random_tokens(5, 99)  # 15 of 98 shingles die: J = 83/113 = 0.73
    assert index.query(edited) == [17]  # P = 1-(1-0.73^6)^21 = 0.97 for such a pair
    assert index.query(random_tokens(100, 1000)) == []
    estimate, containment = index.verify(17, edited)
    assert containment == 83 / 98
    assert abs(estimate - 83 / 113) < 0.15


def test_items_without_tokens_are_never_candidates() -> None:
    index = NearDupIndex.build(*csr([random_tokens(20, 0), random_tokens(0, 0)], np.uint64), CFG)
    assert index.query(random_tokens(0, 0)) == []
    assert index.verify(1, random_tokens(20, 0)) == (0.0, 0.0)


def test_windows_around_a_planted_copy_find_it() -> None:
    item = random_tokens(100, 5)
    doc = np.concatenate([random_tokens(1000, 6), item, random_tokens(500, 7)])
    index = NearDupIndex.build(*csr([item, random_tokens(100, 8)], np.uint64), CFG)
    # first and last tokens of three 13-gram hits of the copy
    seeds = np.array([1000, 1012, 1040, 1052, 1087, 1099])
    assert windows_around(seeds, 100, len(doc)).tolist() == [[995, 1105]]
    window = doc[995:1105]
    assert index.query(window) == [0]  # J = 98/108 = 0.91
    assert index.verify(0, window)[1] == 1.0


# --- windows -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seeds", "doc_len", "expected"),
    [
        # item_len 20: margin ceil(20/20) = 1, window 22; centre (40+50+1)//2 = 45 -> 45-11
        ([40, 45, 50], 1000, [[34, 56]]),
        ([3], 1000, [[0, 22]]),  # 3-11 < 0: shifted to the document start
        ([995], 1000, [[978, 1000]]),  # shifted to end at the document end
        ([2, 7], 10, [[0, 10]]),  # a document shorter than a window is one window
        # 100..121 is one group (121-100 < 22), 122 starts the next; 300 alone
        ([300, 122, 100, 110, 121, 110], 1000, [[100, 122], [111, 133], [289, 311]]),
        ([], 1000, []),
    ],
)
def test_windows_around(seeds: list[int], doc_len: int, expected: list[list[int]]) -> None:
    got = windows_around(np.array(seeds, dtype=np.int64), 20, doc_len)
    assert got.dtype == np.int64
    assert got.shape == (len(expected), 2)
    assert got.tolist() == expected


def test_window_margin_grows_with_the_item() -> None:
    # item_len 100: margin 5, window 110; item_len 5: margin 1, window 7
    assert windows_around(np.array([500]), 100, 10_000).tolist() == [[445, 555]]
    assert windows_around(np.array([500]), 5, 10_000).tolist() == [[497, 504]]


@given(
    st.lists(st.integers(0, 999), max_size=30),
    st.integers(1, 300),
    st.integers(0, 1000),
)
def test_windows_cover_every_seed_inside_the_document(
    seeds: list[int], item_len: int, extra: int
) -> None:
    doc_len = max(seeds, default=0) + 1 + extra
    got = windows_around(np.array(seeds, dtype=np.int64), item_len, doc_len)
    size = item_len + 2 * max(1, -(-item_len // 20))
    assert ((got[:, 1] - got[:, 0]) == min(size, doc_len)).all()
    assert (got[:, 0] >= 0).all() and (got[:, 1] <= doc_len).all()
    assert (np.diff(got[:, 0]) > 0).all()
    for s in seeds:
        assert ((got[:, 0] <= s) & (s < got[:, 1])).any()


# --- config --------------------------------------------------------------------------------


def test_fingerprint_names_every_setting_that_changes_signatures() -> None:
    assert str(CFG) == "mh128_3t_b21r6_s1"
    assert str(MinHashConfig(threshold=0.8)) == "mh128_3t_b16r8_s1"
    assert str(MinHashConfig(num_perm=64, shingle=5, seed=9)) == "mh64_5t_b16r4_s9"


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.9, 1.0])
def test_band_layout_is_the_most_selective_reaching_the_recall(threshold: float) -> None:
    config = MinHashConfig(threshold=threshold)
    b, r = config.bands, config.rows
    assert b * r <= config.num_perm and b >= 2
    assert 1 - (1 - threshold**r) ** b >= RECALL_AT_THRESHOLD
    b1 = config.num_perm // (r + 1)
    assert b1 < 2 or 1 - (1 - threshold ** (r + 1)) ** b1 < RECALL_AT_THRESHOLD


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_perm": 1}, "num_perm must be between 2 and 1024, got 1 (128 is usual)"),
        ({"shingle": 0}, "shingle must be between 1 and 16 tokens, got 0"),
        (
            {"threshold": 80},
            "threshold is a Jaccard similarity in (0, 1], got 80; did you mean 0.8?",
        ),
        ({"threshold": 0.0}, "threshold is a Jaccard similarity in (0, 1], got 0.0"),
        ({"seed": -1}, "seed must be in [0, 2^32) (numpy's RandomState), got -1"),
        (
            {"threshold": 0.01},
            "threshold 0.01 is too low for num_perm=128: no band layout makes such pairs "
            "candidates 90% of the time; raise threshold or num_perm",
        ),
    ],
)
def test_config_errors_say_what_is_wrong(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        MinHashConfig(**kwargs)
    assert str(err.value) == message
