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
    normalize_with_offsets,
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
    outs = [normalize(text[a:b], NORM) for a, b in pieces]
    normalized, starts, ends = normalize_with_offsets(text, NORM)
    assert normalized == "".join(outs)
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
