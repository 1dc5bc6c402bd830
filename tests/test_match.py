"""The matcher's in-kernel normalization (`folding`, and Python for documents with an inexact
joiner segment) must give exactly the tokens of `normalize`, the function items go through."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from contam.align import C_B0, C_B1, C_ITEM
from contam.benches import resolve_bench
from contam.config import NGramConfig, NormConfig
from contam.index import build_index
from contam.lookup import Lookup
from contam.match import BatchMatches, Matcher, _parts
from contam.records import DocBatch
from contam.shingles import tokens

# ASCII, cased non-ASCII (É ß Ж ǰ İ), changers (ﬁ ² Ｆ ① combining acute), CJK and
# fullwidth punctuation, Devanagari with a vowel sign, Hangul jamo.
ALPHABET = "aZ 9.,'\nÉéßЖжǰİﬁ²Ｆ①\u0301e天下，。カー\u0915\u093f\u1100\u1161"
TEXTS = st.lists(st.text(alphabet=ALPHABET, min_size=1, max_size=40), min_size=1, max_size=8)
NORM = NormConfig()


def matcher_for(texts: list[str], tmp: Path, n: int, short_min: int = 1) -> Matcher:
    path = tmp / "items.jsonl"
    path.write_text(
        "".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts))
    )
    ngram = NGramConfig(n=n, short_min=short_min, boilerplate_items=99)
    index = build_index(resolve_bench(str(path)), NORM, ngram)
    return Matcher(Lookup.merge([index]), NORM)


@given(TEXTS)
def test_kernel_tokens_equal_normalize_tokens(tmp_path_factory, texts: list[str]) -> None:  # type: ignore[no-untyped-def]
    matcher = matcher_for(["placeholder item text"], tmp_path_factory.mktemp("m"), 2)
    found = matcher.match(
        DocBatch.of_texts("s", [str(i) for i in range(len(texts))], list(range(len(texts))), texts)
    )
    assert found.tokens == sum(len(tokens(t, NORM)) for t in texts)


@pytest.mark.parametrize(("n", "short_min"), [(2, 1), (5, 3)])
@given(texts=TEXTS)
def test_every_item_text_as_a_document_is_found(  # type: ignore[no-untyped-def]
    tmp_path_factory, n: int, short_min: int, texts: list[str]
) -> None:
    """Items shorter than n tokens are found whole (by their first short_min tokens)."""
    matcher = matcher_for(texts, tmp_path_factory.mktemp("m"), n, short_min)
    found = matcher.match(DocBatch.of_texts("s", ["d"] * len(texts), [1] * len(texts), texts))
    chains = found.aligned.chains
    matched_items = {int(item) for item in chains[:, C_ITEM]}
    expected = {i for i, t in enumerate(texts) if len(tokens(t, NORM)) >= short_min}
    assert matched_items >= expected
    own = {}
    for doc, item, first, end, c0, c1, _, edits, _ in chains.tolist():
        assert 0 <= c0 < c1 <= len(texts[doc])
        # another item can align with edits ("カカカ" in "カカ9カ"); an own copy needs none
        if doc == item and edits == 0:
            own[item] = max(own.get(item, 0), end - first)
    for item in expected:  # an item's own copy aligns all its tokens
        assert own[item] == len(tokens(texts[item], NORM))


def test_jamo_item_found_in_its_own_copy(tmp_path: Path) -> None:
    text = "\u1100\u1161 and more"
    matcher = matcher_for([text], tmp_path, 2)
    found = matcher.match(DocBatch.of_texts("s", ["d"], [1], [f"«{text}»"]))
    chains = found.aligned.chains
    assert [(c[C_ITEM], c[C_B0], c[C_B1]) for c in chains.tolist()] == [(0, 1, 1 + len(text))]


@pytest.mark.parametrize("piece", [1, 3, 1 << 18])
def test_spans_of_a_document_normalized_in_python_are_its_characters(
    tmp_path: Path, piece: int
) -> None:
    # e + combining acute composes to é: the document is normalized in Python, in pieces
    # of ``piece`` characters, and its span maps back to its own characters
    matcher = matcher_for(["café au lait please"], tmp_path, 2)
    matcher.piece = piece
    doc = "x\u0301 Ｃafe\u0301 au lait please!"
    found = matcher.match(DocBatch.of_texts("s", ["d"], [1], [doc]))
    spans = [(c[C_ITEM], c[C_B0], c[C_B1]) for c in found.aligned.chains.tolist()]
    assert spans == [(0, 3, 23)]
    assert doc[3:23] == "Ｃafe\u0301 au lait please"


def _same_matches(a: BatchMatches, b: BatchMatches) -> bool:
    return (
        np.array_equal(a.hits[np.lexsort(a.hits.T[::-1])], b.hits[np.lexsort(b.hits.T[::-1])])
        and np.array_equal(a.aligned.chains, b.aligned.chains)
        and np.array_equal(a.gpt4, b.gpt4)
        and a.tokens == b.tokens
    )


@given(TEXTS, TEXTS, st.integers(1, 4))
def test_threaded_parts_match_as_one_batch(tmp_path_factory, items, texts, threads) -> None:  # type: ignore[no-untyped-def]
    matcher = matcher_for(items, tmp_path_factory.mktemp("m"), 2)
    docs = texts + items  # the items' own copies, so there are hits to put together
    batch = DocBatch.of_texts("s", [str(i) for i in range(len(docs))], list(range(len(docs))), docs)
    [threaded] = matcher.matches(iter([batch]), threads)
    assert _same_matches(threaded, matcher.match(batch))


@pytest.mark.parametrize(("n", "short_min"), [(2, 1), (5, 3)])
@given(items=TEXTS, texts=TEXTS, piece=st.integers(1, 12))
def test_documents_in_pieces_match_as_whole(  # type: ignore[no-untyped-def]
    tmp_path_factory, n: int, short_min: int, items, texts, piece: int
) -> None:
    """Both kernels take a long document a piece at a time; hits, alignments, GPT-4
    candidates and token counts are those of the whole documents."""
    matcher = matcher_for(items, tmp_path_factory.mktemp("m"), n, short_min)
    docs = [" ".join(texts + items), *texts, *items]
    batch = DocBatch.of_texts("s", [str(i) for i in range(len(docs))], list(range(len(docs))), docs)
    whole = matcher.match(batch)
    matcher.piece = piece
    assert _same_matches(matcher.match(batch), whole)


def test_parts_cut_a_batch_into_runs_of_about_equal_bytes() -> None:
    texts = ["a" * 10, "b" * 10, "c" * 30, "d" * 10, "e" * 40]  # 100 bytes
    batch = DocBatch.of_texts("s", list("abcde"), [1, 2, 3, 4, 5], texts)
    # each quarter's cut at the nearest boundary: 25 -> after b (20), 50 -> after c (50),
    # 75 -> after d (60; after e is 100)
    parts = _parts(batch, 4)
    assert [(first, len(starts)) for first, starts, _ in parts] == [(0, 2), (2, 1), (3, 1), (4, 1)]
    # halves of one document: one holds it, the other is empty
    one = DocBatch.of_texts("s", ["a"], [1], ["abc"])
    assert sorted(len(starts) for _, starts, _ in _parts(one, 2)) == [0, 1]
    assert [(first, len(starts)) for first, starts, _ in _parts(batch, 1)] == [(0, 5)]


def test_half_that_outgrows_the_shared_buffer_is_folded_apart(tmp_path: Path) -> None:
    # ﷺ folds from 3 bytes to 33: the second half needs more than its room in the shared
    # buffer, gets its own, and the halves' offsets are put together as before
    item = "the quick brown fox jumps"
    matcher = matcher_for([item], tmp_path, 2)
    docs = [item, "\ufdfa" * 3000 + " " + item]
    batch = DocBatch.of_texts("s", ["a", "b"], [1, 2], docs)
    [threaded] = matcher.matches(iter([batch]))
    assert _same_matches(threaded, matcher.match(batch))
    spans = sorted((c[0], c[C_B0], c[C_B1]) for c in threaded.aligned.chains.tolist())
    assert spans == [(0, 0, len(item)), (1, 3001, 3001 + len(item))]


def test_joined_flags_every_document_holding_an_inexact_segment(tmp_path: Path) -> None:
    """`Matcher._joined` checks one copy of each distinct segment; every document holding a
    copy of an inexact one is flagged: e + combining acute composes to é under NFKC, x + the
    same accent (no precomposed form) is already normal."""
    matcher = matcher_for(["placeholder item text"], tmp_path, 2)
    texts = ["e\u0301 x", "plain", "ne\u0301", "x\u0301", "x\u0301 e\u0301"]
    batch = DocBatch.of_texts("s", list("abcde"), [1, 2, 3, 4, 5], texts)
    folded, _, _, segments = matcher.fold.fold(batch.data, batch.starts, batch.ends)
    assert len(segments) == 5
    joined = matcher._joined(batch.data, folded, segments, len(texts))
    assert joined.tolist() == [True, False, True, False, True]
