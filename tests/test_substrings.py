"""The GPT-4 substring test: stripping, reproducible picks, and the folded-stream kernel plus
`confirm` equal to brute force ``strip_text(s) in strip_text(doc)``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from contam.errors import ConfigError
from contam.normalize import encode_batch
from contam.shingles import PIECE_BYTES
from contam.substrings import (
    SubstringTable,
    _casefolds,
    confirm,
    find_candidates,
    fold_text,
    pick_substrings,
    stream_chars,
    strip_text,
)

Pairs = set[tuple[int, int]]


def run(
    docs: list[str], strings: list[str], min_chars: int = 16, piece: int = PIECE_BYTES
) -> tuple[Pairs, Pairs]:
    """Candidates and confirmed (doc, string id) pairs, the buffer built as the scan builds it."""
    table = SubstringTable.build(strings, min_chars)
    data, starts, ends = encode_batch(docs)
    found = find_candidates(data, starts, ends, table, piece)
    assert found.dtype == np.int64 and found.shape[1] == 2
    rows = [(d, s) for d, s in found.tolist()]
    assert rows == sorted(set(rows)), "rows sorted, each (doc, string) once"
    confirmed = confirm(docs, found, strings)
    return set(rows), {(d, s) for d, s in confirmed.tolist()}


def test_strip_text_drops_spaces_and_symbols_keeps_case() -> None:
    assert strip_text("The quick, brown\nfox!") == "Thequickbrownfox"
    assert strip_text("café — naïve") == "cafénaïve"
    assert strip_text("天下，大同。") == "天下大同"
    assert strip_text("x² + ½ = 3_4") == "x²½34"
    assert strip_text(" .,;\t") == ""


def test_strip_text_equals_the_isalnum_filter_on_every_code_point() -> None:
    everything = "".join(map(chr, range(0x110000)))
    assert strip_text(everything) == "".join(c for c in everything if c.isalnum())


def test_stream_keeps_every_alnum_but_iota() -> None:
    alnum = np.array([chr(cp).isalnum() for cp in range(0x110000)])
    assert np.flatnonzero(alnum != stream_chars()).tolist() == [0x3B9]


def test_fold_text_casefolds_and_drops_iota() -> None:
    # ß -> ss, Ί -> ί, ᾳ -> αι -> α, ﬁ -> fi, İ -> i + U+0307 (dropped), Kelvin sign -> k
    assert fold_text("Straße ΣΊΣΥΦΟΣ ᾳ ﬁx İ \u212a") == "strasseσίσυφοσαfixik"


def test_pick_substrings_is_pinned_for_a_key() -> None:
    # 12 stripped input characters, length 10: starts 0, 1, 2 are all there are; the label
    # "B" is character 12, so only start 3 overlaps it.
    assert pick_substrings("What is 2+2? A) 3 B) 4", "B", "q1", length=10) == (
        ["Whatis22A3", "hatis22A3B", "atis22A3B4"],
        ["tis22A3B4B"],
    )


def test_pick_substrings_reproducible_per_key() -> None:
    text = "".join(f"{i:03d}x" for i in range(30))  # 120 chars, every 50-window distinct
    first, _ = pick_substrings(text, "", "mmlu/test/17")
    assert pick_substrings(text, "", "mmlu/test/17") == (first, [])
    other, _ = pick_substrings(text, "", "mmlu/test/18")
    assert other != first
    for picked in (first, other):
        assert len(picked) == 3 and len(set(picked)) == 3
        assert all(len(s) == 50 and s in text for s in picked)


def test_label_substrings_overlap_the_label() -> None:
    question = "".join(f"{i:03d}q" for i in range(40))  # 160 chars
    answer = "The answer: 7 apples."
    full = question + strip_text(answer)
    _, labels = pick_substrings(question, answer, "k")
    assert len(labels) == 3 and len(set(labels)) == 3
    for s in labels:
        # s must start at some p where full[p:p+50] reaches past the question
        assert any(full[p : p + 50] == s for p in range(len(question) - 49, len(full) - 49))
    # a one-character label has one overlapping start: the last 50 characters
    assert pick_substrings(question, "7", "k")[1] == [(question + "7")[-50:]]


def test_short_texts_are_used_whole() -> None:
    assert pick_substrings("Capital of Peru?", "Lima", "peru") == (
        ["CapitalofPeru"],
        ["CapitalofPeruLima"],
    )
    assert pick_substrings("Capital of Peru?", "", "peru") == (["CapitalofPeru"], [])
    assert pick_substrings("Capital of Peru?", " ?! ", "peru") == (["CapitalofPeru"], [])
    assert pick_substrings("", "", "x") == ([], [])
    # 51 characters have two 50-character starts: two substrings, not a repeat
    inputs, _ = pick_substrings("a" + "b" * 49 + "c", "", "x")
    assert inputs == ["a" + "b" * 49, "b" * 49 + "c"]


def test_pick_substrings_rejects_bad_counts() -> None:
    with pytest.raises(ConfigError, match="count"):
        pick_substrings("text", "", "k", count=0)
    with pytest.raises(ConfigError, match="length"):
        pick_substrings("text", "", "k", length=0)


FOX = "quickbrownfoxjumpsoverthelazydogandrunsintothewood"  # 50 characters


def test_found_across_spaces_punctuation_and_newlines() -> None:
    docs = [
        "Intro. The quick, brown\nfox -- jumps over the LAZY dog, and runs into the wood!",
        "nothing here",
    ]
    assert len(FOX) == 50
    strings = [FOX.replace("lazy", "LAZY"), "brown fox, jumps over!"]  # stripped when indexed
    assert run(docs, strings) == ({(0, 0), (0, 1)}, {(0, 0), (0, 1)})


def test_case_changed_copy_is_a_candidate_only() -> None:
    docs = ["THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG AND RUNS INTO THE WOOD"]
    assert run(docs, [FOX]) == ({(0, 0)}, set())


def test_a_49_character_prefix_or_suffix_is_not_found() -> None:
    # the whole string first, so the kernel's stream buffer still holds its last "d"
    docs = [FOX, "quick brown fox jumps over the lazy dog and runs into the woo", FOX[1:]]
    assert run(docs, [FOX]) == ({(0, 0)}, {(0, 0)})


def test_strings_shorter_than_min_chars_are_ignored() -> None:
    docs = ["Which of the following is a prime number?"]
    strings = ["ofthefollowing", "Whichofthefollo", "Whichofthefollow"]  # 14, 15, 16
    assert run(docs, strings) == ({(0, 2)}, {(0, 2)})
    assert SubstringTable.build(strings).indexed().tolist() == [2]
    # the length that counts is the stripped one
    assert SubstringTable.build(["of, the, following!"]).indexed().tolist() == []
    assert run(docs, strings, min_chars=14)[1] == {(0, 0), (0, 1), (0, 2)}


def test_each_document_and_string_reported_once() -> None:
    docs = ["nothing", "the quick brown fox jumps. THE QUICK BROWN FOX JUMPS", "the quick brownfox"]
    strings = ["quickbrownfoxjumps", "quickbrownfoxjumps", "QUICKBROWNFOXJUMPS"]
    candidates, confirmed = run(docs, strings)
    assert candidates == {(1, 0), (1, 1), (1, 2)}
    assert confirmed == {(1, 0), (1, 1), (1, 2)}


def test_length_changing_case_folds() -> None:
    docs = ["Die GROSSE STRASSE in Berlin", "Die Große Straße in Berlin", "ﬁnal ﬁgures ﬁled"]
    strings = ["GroßeStraßeinBerlin", "finalfiguresfiled"]
    # ß folds to ss, so the capitalized spelling is a candidate; only doc 1 has the string
    assert run(docs, strings) == ({(0, 0), (1, 0), (2, 1)}, {(1, 0)})


def test_ypogegrammeni_between_letters_does_not_hide_a_match() -> None:
    # U+0345 is a combining mark, dropped by strip_text, but it folds to ι.
    doc = "ΑΘΗΝΑ\u0345ΙΟΙ ΚΑΙ ΣΠΑΡΤΙΑΤΑΙ"
    string = "ΑΘΗΝΑΙΟΙΚΑΙΣΠΑΡΤΙΑΤΑΙ"
    assert strip_text(doc) == string
    assert run([doc], [string]) == ({(0, 0)}, {(0, 0)})


def test_strings_folding_below_the_window_are_searched_directly() -> None:
    strings = ["ΑΙΑΙΑΙΑΙΑΙΑΙΑΙΑΙ", "Ι" * 16]  # fold to 8 alphas and to nothing
    table = SubstringTable.build(strings)
    assert table.short_pats.tolist() == [0, 1]
    docs = ["αι αι αι αι αι αι αι αι", "ΑΑΑΑ ΑΑΑΑ", "ΑΑΑ ΑΑΑΑ", "ΙΙΙΙΙΙΙΙΙΙΙΙΙΙΙΙΙ"]
    candidates, confirmed = run(docs, strings)
    assert candidates == {(0, 0), (1, 0), (0, 1), (1, 1), (2, 1), (3, 1)}
    assert confirmed == {(3, 1)}


def test_empty_inputs() -> None:
    assert run([], ["quickbrownfoxjumps"]) == (set(), set())
    assert run(["quick brown fox jumps"], []) == (set(), set())
    assert run([""], ["quickbrownfoxjumps"]) == (set(), set())


def brute_force(docs: list[str], strings: list[str], min_chars: int) -> tuple[Pairs, Pairs]:
    """What the kernel must find on the folded streams, and the GPT-4 matches."""
    indexed = [(i, strip_text(s)) for i, s in enumerate(strings)]
    indexed = [(i, s) for i, s in indexed if len(s) >= min_chars]
    folded = {
        (k, i) for k, d in enumerate(docs) for i, s in indexed if fold_text(s) in fold_text(d)
    }
    exact = {(k, i) for k, d in enumerate(docs) for i, s in indexed if s in strip_text(d)}
    return folded, exact


# cased ASCII, digits, separators, length-changing folds (ß ẞ ﬁ İ), Greek sigmas and iotas,
# U+0345, the Kelvin sign, a superscript digit, CJK, a lone surrogate
ALPHABET = "aAbB09 ,.\n-_éÉßẞİıΣσςΙιᾳ\u0345\u212a²天—\ud800"


@st.composite
def docs_and_strings(
    draw: st.DrawFn, alphabet: str, min_doc: int, max_doc: int
) -> tuple[list[str], list[str]]:
    """Documents, and strings half of which are cut from them (some with case swapped)."""
    docs = draw(st.lists(st.text(alphabet, min_size=min_doc, max_size=max_doc), max_size=5))
    strings = []
    for _ in range(draw(st.integers(0, 8))):
        source = strip_text(draw(st.sampled_from(docs))) if docs else ""
        if draw(st.booleans()) and source:
            size = draw(st.integers(1, min(len(source), 50)))
            a = draw(st.integers(0, len(source) - size))
            s = source[a : a + size]
            strings.append(s.swapcase() if draw(st.booleans()) else s)
        else:
            strings.append(draw(st.text(alphabet, max_size=50)))
    return docs, strings


# documents taken whole, or in pieces of a few bytes: each piece after the end of the last
PIECES = st.sampled_from([PIECE_BYTES, 1, 2, 3, 5, 8, 13, 40])


@given(docs_and_strings(ALPHABET, 0, 60), st.integers(1, 6), PIECES)
def test_kernel_and_confirm_equal_brute_force(
    case: tuple[list[str], list[str]], min_chars: int, piece: int
) -> None:
    docs, strings = case
    assert run(docs, strings, min_chars, piece) == brute_force(docs, strings, min_chars)


@given(docs_and_strings("aAb b\n", 30, 300), PIECES)
def test_kernel_and_confirm_equal_brute_force_default_window(
    case: tuple[list[str], list[str]], piece: int
) -> None:
    # a two-letter alphabet: many strings share their first 16 characters with each other
    # and with the documents, so groups and the full compare are exercised
    docs, strings = case
    assert run(docs, strings, piece=piece) == brute_force(docs, strings, 16)


def test_a_string_across_pieces_is_found_once() -> None:
    """Pieces of 20 bytes: the string spans three, and repeats in the third."""
    string = "abcdefghijklmnopqrstuvwxyz0123"
    doc = f"{'x' * 15} {string} {string[:10]}"
    assert run([doc], [string], piece=20) == ({(0, 0)}, {(0, 0)})


def test_no_folding_keeps_more_code_points_than_its_bytes() -> None:
    """`find_kernel` sizes its stream by bytes, and folds each character as it decodes."""
    keep = stream_chars()
    fold_of, ptr, codes = _casefolds()
    changed = np.flatnonzero(fold_of >= 0)
    assert len(changed) > 1000  # Latin, Greek, Cyrillic, ... capitals; ß, ligatures
    for cp in changed.tolist():
        folded = codes[ptr[fold_of[cp]] : ptr[fold_of[cp] + 1]]
        assert "".join(map(chr, folded)) == chr(cp).casefold()
        assert keep[folded].sum() <= len(chr(cp).encode("utf-8", "surrogatepass"))


def test_unfolded_buffer_finds_non_ascii_capitals() -> None:
    """The buffer holds the original text: the kernel folds É, ß and Σ itself."""
    found, confirmed = run(["ÉCOLE STRASSE ΣΟΦΙΑ ÉTÉ"], ["ÉcoleStraßeσοφιαété"])
    assert found == {(0, 0)} and confirmed == set()
    found, confirmed = run(["École Straße σοφια été"], ["ÉcoleStraßeσοφιαété"])
    assert found == {(0, 0)} and confirmed == {(0, 0)}
