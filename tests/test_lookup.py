"""The merged lookup kept on disk must be the merge itself, and follow its indexes."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import numpy as np

from contam.benches import resolve_bench
from contam.config import NGramConfig, NormConfig
from contam.index import BenchIndex, build_index
from contam.lookup import KEEP_MERGED, Lookup, _flat_fields

NGRAM = NGramConfig(n=3, short_min=2, boilerplate_items=99)


def index_of(tmp: Path, name: str, texts: list[str]) -> BenchIndex:
    path = tmp / f"{name}.jsonl"
    path.write_text(
        "".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts))
    )
    return build_index(resolve_bench(str(path)), NormConfig(), NGRAM)


def assert_same(a: Lookup, b: Lookup) -> None:
    for (name, x), (_, y) in zip(_flat_fields(a), _flat_fields(b), strict=True):
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y), name
        else:
            assert x == y, name
    assert a.benches is b.benches or [i.bench for i in a.benches] == [i.bench for i in b.benches]


def test_cached_lookup_equals_the_merge_and_is_reused(tmp_path: Path) -> None:
    indexes = [
        index_of(tmp_path, "a", ["the quick brown fox jumps over the lazy dog", "a b"]),
        index_of(tmp_path, "b", ["What is 2 + 2? Answer: 4, said the quick brown fox"]),
    ]
    merged = Lookup.merge(indexes)
    first = Lookup.cached(indexes, tmp_path / "ix")
    assert_same(first, merged)
    saved = list((tmp_path / "ix" / "_merged").iterdir())
    assert len(saved) == 1 and (saved[0] / "meta.json").is_file()
    again = Lookup.cached(indexes, tmp_path / "ix")  # read back from disk
    assert_same(again, merged)
    assert {f.name for f in fields(Lookup)} >= {"gram_keys", "substrings"}


def test_other_indexes_get_their_own_lookup_and_old_ones_are_dropped(tmp_path: Path) -> None:
    for k in range(KEEP_MERGED + 2):
        index = index_of(tmp_path, "a", [f"item number {k} with some words in it"])
        assert_same(Lookup.cached([index], tmp_path / "ix"), Lookup.merge([index]))
    assert len(list((tmp_path / "ix" / "_merged").iterdir())) == KEEP_MERGED


def test_unreadable_cache_is_rebuilt(tmp_path: Path) -> None:
    indexes = [index_of(tmp_path, "a", ["one two three four five six"])]
    Lookup.cached(indexes, tmp_path / "ix")
    (folder,) = (tmp_path / "ix" / "_merged").iterdir()
    (folder / "gram_keys.npy").write_bytes(b"not an array")
    assert_same(Lookup.cached(indexes, tmp_path / "ix"), Lookup.merge(indexes))
    assert np.load(folder / "gram_keys.npy").dtype == np.uint64  # saved again, whole
