import unicodedata

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from contam.config import NormConfig
from contam.normalize import (
    CJK,
    SEP,
    WORD,
    char_classes,
    joiners,
    normalize,
    normalize_full,
    normalize_pieces,
    normalize_with_offsets,
    original_spans,
    safe_pieces,
)

NORM = NormConfig()


def test_normalize_folds_width_case_and_ligatures() -> None:
    assert normalize("Ｆｕｌｌ ＷＩＤＴＨ", NORM) == "full width"
    assert normalize("ﬁne Straße", NORM) == "fine strasse"
    assert normalize("ÉCOLE", NORM) == "école"
    assert normalize("ÉCOLE", NormConfig(casefold=False)) == "ÉCOLE"


def test_composed_and_decomposed_forms_agree() -> None:
    assert normalize("e\u0301te\u0301", NORM) == normalize("\u00e9t\u00e9", NORM) == "été"


def test_char_classes() -> None:
    table = char_classes(True)
    assert table[ord("a")] == WORD and table[ord("7")] == WORD
    assert table[ord(",")] == SEP and table[ord(" ")] == SEP and table[ord("$")] == SEP
    assert table[ord("天")] == CJK and table[ord("ひ")] == CJK and table[ord("カ")] == CJK
    assert table[ord("ー")] == CJK  # katakana prolonged sound mark belongs with the kana
    assert table[ord("한")] == WORD  # Hangul is written with spaces: words, not characters
    assert table[ord("\u0301")] == WORD  # a combining mark stays inside its word
    assert char_classes(False)[ord("天")] == WORD


@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text, NORM)
    assert normalize(once, NORM) == once


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",))))
def test_offsets_point_back_into_the_original(text: str) -> None:
    normalized, starts, ends = normalize_with_offsets(text, NORM)
    assert len(starts) == len(ends) == len(normalized)
    assert all(0 <= a < b <= len(text) for a, b in zip(starts, ends, strict=True))
    assert list(starts) == sorted(starts)


MIXED = "aZ 9.,'\nÉéßЖжǰİﬁ²Ｆ①\u0301e天下，。カー\u0915\u093f\u1100\u1161\u11a8ﾞｶ…㍿ǅ\u0345"


@given(st.text(alphabet=MIXED, min_size=1, max_size=40))
def test_offsets_equal_normalizing_each_piece_alone(text: str) -> None:
    # reference: cut before every non-joiner, normalize each piece, repeat its span
    cuts = [k for k in range(len(text)) if k == 0 or not joiners()[ord(text[k])]]
    pieces = list(zip(cuts, [*cuts[1:], len(text)], strict=True))
    outs = [normalize_full(text[a:b], NORM) for a, b in pieces]
    normalized, starts, ends = normalize_with_offsets(text, NORM)
    assert normalized == "".join(outs) == normalize_full(text, NORM)
    assert starts.tolist() == [a for (a, _), o in zip(pieces, outs, strict=True) for _ in o]
    assert ends.tolist() == [b for (_, b), o in zip(pieces, outs, strict=True) for _ in o]


def test_offsets_of_a_ligature_map_to_its_source_char() -> None:
    normalized, starts, ends = normalize_with_offsets("aﬁb", NORM)
    assert normalized == "afib"
    assert starts.tolist() == [0, 1, 1, 2]
    assert ends.tolist() == [1, 2, 2, 3]


def test_conjoining_jamo_compose_across_the_piecewise_cut() -> None:
    # ᄀ + ᅡ are two starters that NFKC composes into 가: one piece, one output char
    normalized, starts, ends = normalize_with_offsets("x \u1100\u1161!", NORM)
    assert normalized == normalize("x \u1100\u1161!", NORM) == "x 가!"
    assert (starts.tolist(), ends.tolist()) == ([0, 1, 2, 4], [1, 2, 4, 5])


def test_no_character_that_joins_nothing_normalizes_to_one_that_joins() -> None:
    # what makes every cut of `safe_pieces` a boundary for case folding then NFKC too:
    # the first character of each step's output joins nothing before it either
    table = joiners()
    for cp in range(0x110000):
        if table[cp] or 0xD800 <= cp < 0xE000:
            continue
        nfkc = unicodedata.normalize("NFKC", chr(cp))
        folded = nfkc.casefold()
        again = unicodedata.normalize("NFKC", folded)
        assert not any(table[ord(s[0])] for s in (nfkc, folded, again) if s), hex(cp)


@given(st.text(alphabet=MIXED, max_size=60), st.integers(1, 8))
def test_normalizing_in_pieces_equals_the_whole(text: str, piece: int) -> None:
    cuts = list(safe_pieces(text, piece))
    bounds = [0, *[b for _, b in cuts]]  # adjacent and in order, covering the text
    assert [a for a, _ in cuts] == bounds[:-1] and bounds[-1] == len(text)
    assert all(not joiners()[ord(text[a])] for a, _ in cuts[1:])
    assert all(b - a >= piece for a, b in cuts[:-1])
    whole = normalize_full(text, NORM)
    assert b"".join(normalize_pieces(text, NORM, piece)) == whole.encode("utf-8", "surrogatepass")


def test_pieces_cut_after_a_run_of_joiners() -> None:
    text = "ab" + "\u0301" * 5000 + "cd"
    assert list(safe_pieces(text, 1)) == [(0, 1), (1, 5002), (5002, 5003), (5003, 5004)]


@given(st.text(alphabet=MIXED, min_size=1, max_size=60), st.integers(1, 8), st.data())
def test_original_spans_equal_the_whole_text_offsets(text: str, piece: int, data) -> None:  # type: ignore[no-untyped-def]
    normalized, starts, ends = normalize_with_offsets(text, NORM)
    encoded = normalized.encode("utf-8", "surrogatepass")
    if not encoded:
        return
    lead = [k for k in range(len(encoded)) if encoded[k] & 0xC0 != 0x80]
    char_of = [sum(1 for s in lead if s <= k) - 1 for k in range(len(encoded))]
    count = data.draw(st.integers(1, 5))
    offsets = st.lists(st.integers(0, len(encoded) - 1), min_size=count, max_size=count)
    first, last = np.array(data.draw(offsets)), np.array(data.draw(offsets))
    sizes = [len(p) for p in normalize_pieces(text, NORM, piece)]
    got_start, got_end = original_spans(text, NORM, first, last, sizes, piece)
    assert got_start.tolist() == [starts[char_of[k]] for k in first.tolist()]
    assert got_end.tolist() == [ends[char_of[k]] for k in last.tolist()]


def test_original_spans_by_hand() -> None:
    # "Ｆé" + "ﬁ" + "x": é decomposed (e + U+0301) is one piece; ﬁ gives two characters
    text = "\uff21e\u0301\ufb01x"
    pieces = normalize_pieces(text, NORM, 1)
    assert pieces == [b"a", "é".encode(), b"fi", b"x"]  # bytes a, é (2 bytes), f, i, x
    first = np.array([0, 1, 3, 4, 5])  # a, é, f, i, x
    last = np.array([0, 2, 3, 4, 5])
    got_start, got_end = original_spans(text, NORM, first, last, [1, 2, 2, 1], 1)
    assert got_start.tolist() == [0, 1, 3, 3, 4]
    assert got_end.tolist() == [1, 3, 4, 4, 5]
