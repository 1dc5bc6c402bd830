import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from contam.config import NormConfig
from contam.index import tokens_of
from contam.normalize import char_classes, normalize, pack
from contam.shingles import (
    PIECE_BYTES,
    as_bytes,
    base_power,
    bits_build,
    bits_log,
    bits_maybe,
    bloom_build,
    bloom_maybe,
    piece_end,
    run_hashes,
    seq_hash,
    table_build,
    table_get,
    tokenize_spans,
    tokens,
    top_bits_build,
    top_bits_has,
)

NORM = NormConfig()


MASK = (1 << 64) - 1


def fmix64_py(h: int) -> int:
    h = ((h ^ (h >> 33)) * 0xFF51AFD7ED558CCD) & MASK
    h = ((h ^ (h >> 33)) * 0xC4CEB9FE1A85EC53) & MASK
    return h ^ (h >> 33)


def token_hash_py(token: bytes) -> int:
    """The scheme of `contam.shingles`, written out plainly: 8-byte little-endian lanes."""
    lanes = [int.from_bytes(token[p : p + 8], "little") for p in range(0, len(token), 8)]
    state = 0
    for lane in lanes[:-1]:
        x = state ^ ((lane * 0xC2B2AE3D27D4EB4F) & MASK)
        state = ((((x << 31) | (x >> 33)) & MASK) * 0x9E3779B185EBCA87) & MASK
    last = lanes[-1]
    if state:
        x = state ^ ((last * 0xC2B2AE3D27D4EB4F) & MASK)
        last = ((((x << 31) | (x >> 33)) & MASK) * 0x9E3779B185EBCA87) & MASK
    return fmix64_py(last)


def test_token_hash_of_the_normalized_token() -> None:
    th, off, _ = tokens_of(["Hello, WORLD"], NORM)
    assert off.tolist() == [0, 2]
    assert th.tolist() == [token_hash_py(b"hello"), token_hash_py(b"world")]
    assert token_hash_py(b"hello") == fmix64_py(int.from_bytes(b"hello", "little"))


# words of every length around the lane size, ASCII and not, and CJK tokens of their own
WORDS = st.text(alphabet="ab9_éЖ\u0915\u093f天", min_size=1, max_size=40)


@given(st.lists(WORDS, min_size=1, max_size=6), st.sampled_from([" ", ", ", "\n", "—"]))
def test_kernel_token_hashes_equal_the_plain_scheme(words: list[str], sep: str) -> None:
    text = sep.join(words)
    th, _, _ = tokens_of([text], NORM)
    assert th.tolist() == [token_hash_py(t.encode()) for t in tokens(text, NORM)]


@given(
    st.lists(st.text(alphabet="ab éЖ天,\n", max_size=30), min_size=1, max_size=6),
    st.sampled_from([PIECE_BYTES, 1, 2, 3, 7]),
)
def test_tokenize_spans_of_many_texts_equals_each_text_alone(texts: list[str], piece: int) -> None:
    """Counted first (a piece at a time), then cut into arrays of that size: texts ending in
    separators (whose slot past the last token is written) and empty texts keep every other
    text's tokens."""
    normalized = [normalize(t, NORM).encode() for t in texts]
    data, starts, ends = pack(normalized)
    classes = char_classes(NORM.cjk_chars)
    th, ts, te, tok_off = tokenize_spans(data, starts, ends, classes, piece)
    for k, text in enumerate(texts):
        mine = range(tok_off[k], tok_off[k + 1])
        assert [data[ts[t] : te[t]].tobytes().decode() for t in mine] == tokens(text, NORM)
        assert th[tok_off[k] : tok_off[k + 1]].tolist() == tokens_of([text], NORM)[0].tolist()


def test_pieces_end_before_a_character_no_word_holds() -> None:
    classes = char_classes(NORM.cjk_chars)
    d = as_bytes("aaa bbb, 天下 cc".encode())  # 天 and 下 are 3 bytes each, at 9 and 12
    assert piece_end(d, 0, len(d), 99, classes) == len(d)  # short enough: whole
    assert piece_end(d, 0, len(d), 5, classes) == 3  # back from 5 to the space
    assert piece_end(d, 0, len(d), 2, classes) == 3  # none back to 0: the space after
    assert piece_end(d, 4, len(d), 3, classes) == 7  # the comma
    assert piece_end(d, 4, len(d), 6, classes) == 9  # 天 is a token of its own
    assert piece_end(d, 9, len(d), 4, classes) == 12  # and so is 下
    assert piece_end(d, 16, len(d), 1, classes) == len(d)  # "cc" to the end: one word


def test_tokens_fold_punctuation_and_split_cjk() -> None:
    assert tokens("Don't PANIC:\n\tthe  end.", NORM) == ["don", "t", "panic", "the", "end"]
    assert tokens("学而时习之，不亦说乎？", NORM) == list("学而时习之不亦说乎")
    assert tokens("カタカナとひらがな", NORM) == list("カタカナとひらがな")
    assert tokens("GPT-4 scored 86.4%", NORM) == ["gpt", "4", "scored", "86", "4"]
    assert tokens("学而时习之", NormConfig(cjk_chars=False)) == ["学而时习之"]


@given(st.lists(st.integers(0, 2**64 - 1), max_size=40), st.integers(1, 15))
def test_window_count_and_rolling_equals_direct(values: list[int], n: int) -> None:
    th = np.array(values, dtype=np.uint64)
    grams = run_hashes(th, 0, len(th), n, base_power(n))
    assert len(grams) == max(0, len(th) - n + 1)
    for start, h in enumerate(grams.tolist()):
        assert h == int(seq_hash(th, start, start + n))


def test_length_salt_separates_a_run_from_its_prefix() -> None:
    th = np.arange(1, 6, dtype=np.uint64)
    assert seq_hash(th, 0, 4) != seq_hash(th, 0, 5)
    assert int(seq_hash(th, 0, 0)) != 0


def test_two_bit_filter_passes_every_key_and_few_others() -> None:
    rng = np.random.default_rng(1)
    keys = rng.integers(1, 2**63, size=20_000, dtype=np.int64).astype(np.uint64)
    log_bits = bits_log(len(keys))
    assert log_bits == 20  # 640,000 bits for 32 per key, rounded up to 2**20
    bits, shift = bits_build(keys, log_bits), np.uint64(64 - log_bits)
    assert all(bits_maybe(bits, shift, k) for k in keys)
    others = rng.integers(1, 2**63, size=100_000, dtype=np.int64).astype(np.uint64)
    passes = sum(bool(bits_maybe(bits, shift, k)) for k in others)
    # 20,000 keys set at most 40,000 of 2**20 bits, 1 in 26; with words loaded unevenly, about
    # 1 in 400 random keys find both their bits set (239 here), against 1 in 26 for one bit
    assert passes < 400


def test_top_bits_filter_passes_every_key_and_few_others() -> None:
    rng = np.random.default_rng(2)
    keys = rng.integers(1, 2**63, size=100, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    log_bits = bits_log(len(keys))  # 12: 4,096 bits, at most 100 set
    bits, shift = top_bits_build(keys, log_bits), np.uint64(64 - log_bits)
    assert all(top_bits_has(bits, shift, k) for k in keys)
    others = rng.integers(1, 2**63, size=10_000, dtype=np.int64).astype(np.uint64)
    passes = sum(bool(top_bits_has(bits, shift, k)) for k in others)
    assert passes < 400  # about 100 / 4,096 of random keys: ~240


def test_table_and_bloom_find_every_key_and_reject_others() -> None:
    rng = np.random.default_rng(0)
    keys = np.unique(rng.integers(1, 2**63, size=5000, dtype=np.int64).astype(np.uint64))
    table_keys, table_vals = table_build(keys)
    bloom = bloom_build(keys, 1024)
    for i, k in enumerate(keys.tolist()):
        assert table_get(table_keys, table_vals, np.uint64(k)) == i
        assert bloom_maybe(bloom, np.uint64(k))
    others = rng.integers(1, 2**63, size=5000, dtype=np.int64).astype(np.uint64)
    assert all(table_get(table_keys, table_vals, k) == -1 for k in others if k not in keys)
    false_passes = sum(bool(bloom_maybe(bloom, k)) for k in others)
    assert false_passes < 500  # ~5,000 keys in 65,536 bits, k=3: about 4% pass
