"""`fold_batch` must give exactly `normalize`'s bytes for every text without joiners, flag the
joiner segments, and map every output byte back to its character."""

from __future__ import annotations

import random
import unicodedata

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from contam.config import NormConfig
from contam.folding import JOIN, KEEP, FoldTable, first_alike
from contam.normalize import encode_batch, normalize_full

NORM = NormConfig()
TABLE = FoldTable.build(NORM)


def fold(texts: list[str], norm: NormConfig = NORM) -> tuple[list[bytes], list[list[int]]]:
    """Folded bytes per text, and the joiner segments as [text, in0, in1, out0, out1] rows."""
    table = FoldTable.build(norm)
    out, starts, ends, segments = table.fold(*encode_batch(texts))
    return [out[a:b].tobytes() for a, b in zip(starts, ends, strict=True)], segments.tolist()


def expected(text: str, norm: NormConfig = NORM) -> bytes:
    return normalize_full(text, norm).encode("utf-8", "surrogatepass")


def non_joiners() -> list[int]:
    return [cp for cp in range(0x80, 0x30000) if TABLE.rep_of[cp] != JOIN]


def test_every_character_between_letters_folds_as_normalize() -> None:
    cps = non_joiners()
    texts = [f"A{chr(cp)}b" for cp in cps]
    got, segments = fold(texts)
    assert segments == []
    bad = [hex(cp) for cp, t, g in zip(cps, texts, got, strict=True) if g != expected(t)]
    assert bad == []


def test_random_runs_of_non_joiners_fold_as_normalize() -> None:
    """Pairs and runs: a character's form never depends on its neighbours without joiners."""
    rng = random.Random(7)
    cps = non_joiners()
    replaced = [cp for cp in cps if TABLE.rep_of[cp] >= 0]
    pool = replaced * 3 + cps + list(range(0x20, 0x7F)) * 50
    texts = [
        "".join(chr(rng.choice(pool)) for _ in range(rng.randint(2, 6))) for _ in range(60_000)
    ]
    got, _ = fold(texts)
    assert [t for t, g in zip(texts, got, strict=True) if g != expected(t)] == []


ALPHABET = "aZ 9.,'\nÉéßЖжǰİﬁ²Ｆ①½㎏ﷺ天下，。カー\u0915\u093f\u1100\u1161\u0301Σς"


@given(st.lists(st.text(alphabet=ALPHABET, max_size=30), min_size=1, max_size=6))
def test_texts_with_exact_segments_fold_as_normalize(texts: list[str]) -> None:
    """A text whose joiner segments each normalize to themselves folds exactly."""
    data = encode_batch(texts)[0].tobytes()
    got, segments = fold(texts)
    inexact = {
        doc
        for doc, a, b, c, d in segments
        if expected(data[a:b].decode()) != got[doc][c - sum(map(len, got[:doc])) :][: d - c]
    }
    for k, text in enumerate(texts):
        if k not in inexact:
            assert got[k] == expected(text)


def test_segments_hold_each_joiner_run_with_the_character_before() -> None:
    text = "x\u1100\u1161 e\u0301\u0302!"
    got, segments = fold(["ab", text])
    # offsets into the batch buffers: text 1 starts at byte 2 of both ("ab" folds 1:1);
    # ᄀ then ᅡ at bytes 1..7 of the text; e then two 2-byte accents at 8..13
    assert segments == [[1, 3, 9, 3, 9], [1, 10, 15, 10, 15]]
    assert got[1] == text.encode()  # joiners copied as they are


def test_char_at_names_the_character_of_output_bytes() -> None:
    text = "Ａﬁ天 x½"
    data, starts, ends = encode_batch(["zz", text])
    assert len(expected(text)) == 13
    every = np.arange(13)
    # a, f i, 天 (3 bytes), space, x, 1 ⁄ (3 bytes) 2
    want = [0, 1, 1, 2, 2, 2, 3, 4, 5, 5, 5, 5, 5]
    assert TABLE.char_at(data, int(starts[1]), int(ends[1]), every).tolist() == want
    # in any order, repeated, one past the last character's first byte
    some = np.array([12, 1, 7, 1, 0, 3])
    assert TABLE.char_at(data, int(starts[1]), int(ends[1]), some).tolist() == [5, 1, 4, 1, 0, 2]


def test_long_expansions_and_many_segments_get_room() -> None:
    many = "e\u0301" * 5000
    got, segments = fold(["ﷺ" * 3000, many])
    assert got[0] == expected("ﷺ" * 3000) and len(got[0]) == 33 * 3000
    assert len(segments) == 5000 and got[1] == many.encode()


def test_empty_texts() -> None:
    assert fold(["", "A", ""])[0] == [b"", b"a", b""]


def test_settings_off_fold_less() -> None:
    plain = NormConfig(nfkc=False, casefold=False)
    assert fold(["ÉＦ\u0301"], plain) == (["ÉＦ\u0301".encode()], [])
    case_only = NormConfig(nfkc=False)
    assert fold(["ÉＦ ﬁ"], case_only)[0] == ["éｆ fi".encode()]
    assert FoldTable.build(case_only).rep_of[0x301] == KEEP  # no NFKC: nothing joins


def test_nothing_above_plane_2_changes() -> None:
    """`folding._kinds` looks at planes 0 to 2 only; a new Unicode version could change that."""
    assert all(
        unicodedata.normalize("NFKC", chr(cp)) == chr(cp) and chr(cp).casefold() == chr(cp)
        for cp in range(0x30000, 0x110000)
    )


def test_fold_into_a_given_buffer_at_an_offset() -> None:
    texts = ["Ｆoo ①", "", "Straße"]
    data, starts, ends = encode_batch(texts)
    out = np.full(64, 7, dtype=np.uint8)
    got, out_starts, out_ends, _ = TABLE.fold(data, starts, ends, out, 10)
    assert got is out
    assert out_starts.tolist()[0] == 10
    assert [out[a:b].tobytes() for a, b in zip(out_starts, out_ends, strict=True)] == [
        b"foo 1",
        b"",
        b"strasse",
    ]
    assert (out[:10] == 7).all()  # nothing written before the offset


def test_fold_that_outgrows_the_given_buffer_gets_a_fresh_one() -> None:
    data, starts, ends = encode_batch(["\ufdfa" * 3])  # 9 bytes -> 99
    out = np.zeros(40, dtype=np.uint8)
    got, out_starts, out_ends, _ = TABLE.fold(data, starts, ends, out, 20)
    assert got is not out
    assert got[out_starts[0] : out_ends[0]].tobytes() == expected("\ufdfa" * 3)


def test_fold_writes_nothing_past_its_stop() -> None:
    # two threads fold into one buffer: a text that outgrows its share (½ is 2 bytes, its
    # folding "1⁄2" 5) must leave the next share alone and get a fresh buffer
    data, starts, ends = encode_batch(["\u00bd" * 100])
    out = np.full(400, 7, dtype=np.uint8)
    got, out_starts, out_ends, _ = TABLE.fold(data, starts, ends, out, 0, 250)
    assert got is not out
    assert (out[250:] == 7).all()
    assert got[out_starts[0] : out_ends[0]].tobytes() == expected("\u00bd" * 100)


def test_many_segments_keep_the_given_buffer() -> None:
    many = "e\u0301" * 5000  # more joiner segments than the first try has rows for
    data, starts, ends = encode_batch([many])
    out = np.zeros(len(data) + 64, dtype=np.uint8)
    got, _, _, segments = TABLE.fold(data, starts, ends, out, 10)
    assert got is out and len(segments) == 5000


def test_first_alike_points_each_segment_at_the_first_with_its_bytes() -> None:
    data = np.frombuffer(b"abcabdab", dtype=np.uint8)
    # input spans "ab", "ca", "ab", "ab", "abd", "" ("" twice: equal, and unlike "ab")
    spans = [(0, 2), (2, 4), (3, 5), (6, 8), (3, 6), (1, 1), (5, 5)]
    segments = np.array([[0, a, b, 0, 0] for a, b in spans], dtype=np.int64)
    assert first_alike(data, segments).tolist() == [0, 1, 0, 0, 4, 5, 5]
    assert first_alike(data, segments[:0]).tolist() == []
