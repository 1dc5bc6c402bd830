import json
import os
from pathlib import Path

import numpy as np
import pytest

from contam.benches import resolve_bench
from contam.config import NGramConfig, NormConfig
from contam.errors import ContamError, IndexMismatchError
from contam.index import (
    INDEX_FORMAT,
    BenchIndex,
    build_index,
    ensure_index,
    index_folder,
    load_index_folder,
)
from tests.conftest import TINY_NGRAM

NORM = NormConfig()


def tiny_index(tiny_bench: Path) -> BenchIndex:
    source = resolve_bench(str(tiny_bench), label_fields=("answer",))
    return build_index(source, NORM, TINY_NGRAM)


def test_item_lengths_and_ngram_counts(tiny_bench: Path) -> None:
    index = tiny_index(tiny_bench)
    assert index.item_ids == ["fox", "sum", "peru", "tiny", "q1", "q2", "q3"]
    assert index.input_len.tolist() == [9, 8, 3, 1, 8, 7, 8]
    assert index.full_len.tolist() == [11, 9, 4, 2, 9, 8, 9]
    # n=4: an item of L tokens has L - 3 n-grams (input + label together)
    assert np.diff(index.item_gram_ptr).tolist() == [8, 6, 1, 0, 6, 5, 6]


def test_boilerplate_is_an_ngram_in_three_items(tiny_bench: Path) -> None:
    index = tiny_index(tiny_bench)
    common = index.gram_common[index.item_gram]
    per_item = np.add.reduceat(common.astype(int), index.item_gram_ptr[:-1])
    per_item[np.diff(index.item_gram_ptr) == 0] = 0
    # "which of the following" and "of the following is" are in q1, q2, q3;
    # "the following is a" is in q1 and q2 only, so it is not boilerplate.
    assert per_item.tolist() == [0, 0, 0, 0, 2, 2, 2]
    assert index.manifest["boilerplate_ngrams"] == 2


def test_short_parts(tiny_bench: Path) -> None:
    index = tiny_index(tiny_bench)
    # peru's input (3 tokens) is matched whole; its input+label (4 = n) by its one n-gram;
    # tiny (1 and 2 tokens) is below short_min=3 and cannot be matched at all.
    assert index.short_item.tolist() == [2]
    assert index.short_len.tolist() == [3]
    assert index.short_part.tolist() == [1]


def test_save_load_round_trip_without_pickle(tiny_bench: Path, tmp_path: Path) -> None:
    index = tiny_index(tiny_bench)
    index.save(tmp_path / "ix")
    names = sorted(p.name for p in (tmp_path / "ix").iterdir())
    assert names[-3:] == ["short_len.npy", "short_part.npy", "short_prefix.npy"]
    assert all(n.endswith((".npy", ".parquet", ".json")) for n in names)
    loaded = BenchIndex.load(tmp_path / "ix")
    assert loaded.item_ids == index.item_ids
    assert np.array_equal(loaded.gram_hash, index.gram_hash)
    assert np.array_equal(loaded.item_gram, index.item_gram)
    assert loaded.manifest == index.manifest


def test_an_object_array_is_refused(tiny_bench: Path, tmp_path: Path) -> None:
    tiny_index(tiny_bench).save(tmp_path / "ix")
    np.save(tmp_path / "ix" / "gram_hash.npy", np.array([{"x": 1}], dtype=object))
    with pytest.raises(ContamError, match="cannot read index"):
        BenchIndex.load(tmp_path / "ix")


def test_reused_when_settings_and_source_match_rebuilt_when_source_changes(
    tiny_bench: Path, tmp_path: Path
) -> None:
    source = resolve_bench(str(tiny_bench))
    first = ensure_index(tmp_path, source, NORM, TINY_NGRAM)
    folder = index_folder(tmp_path, source, NORM, TINY_NGRAM)
    stamp = os.stat(folder / "manifest.json").st_mtime_ns
    ensure_index(tmp_path, source, NORM, TINY_NGRAM)
    assert os.stat(folder / "manifest.json").st_mtime_ns == stamp
    with tiny_bench.open("a") as f:
        f.write(json.dumps({"id": "new", "text": "a brand new item appears here"}) + "\n")
    changed = resolve_bench(str(tiny_bench))
    rebuilt = ensure_index(tmp_path, changed, NORM, TINY_NGRAM)
    assert len(rebuilt.item_ids) == len(first.item_ids) + 1
    assert rebuilt.manifest["source"]["checksum"] != first.manifest["source"]["checksum"]


def test_other_settings_live_in_another_folder(tiny_bench: Path, tmp_path: Path) -> None:
    source = resolve_bench(str(tiny_bench))
    a = index_folder(tmp_path, source, NORM, TINY_NGRAM)
    b = index_folder(tmp_path, source, NORM, NGramConfig(n=5, short_min=3, boilerplate_items=3))
    c = index_folder(
        tmp_path, resolve_bench(str(tiny_bench), text_fields=("answer",)), NORM, TINY_NGRAM
    )
    assert len({a, b, c}) == 3
    assert a.parent.name == "tiny"
    assert a.name.startswith("nfkc.cf.cjk_4g_s3_b3_lane64p_f")


def test_explicit_index_with_other_settings_is_refused(tiny_bench: Path, tmp_path: Path) -> None:
    source = resolve_bench(str(tiny_bench))
    ensure_index(tmp_path, source, NORM, TINY_NGRAM)
    folder = index_folder(tmp_path, source, NORM, TINY_NGRAM)
    with pytest.raises(IndexMismatchError, match="rebuild with: contam build-index"):
        load_index_folder(folder, NORM, NGramConfig(n=6))
    with pytest.raises(IndexMismatchError, match="norm"):
        load_index_folder(folder, NormConfig(casefold=False), TINY_NGRAM)
    assert load_index_folder(folder, NORM, TINY_NGRAM).item_ids[0] == "fox"


def test_real_bench_index(bench_dir: Path, shared_index_dir: Path) -> None:
    index = ensure_index(shared_index_dir, resolve_bench("gsm8k", bench_dir), NORM, NGramConfig())
    assert index.manifest["items"] == 1319
    assert index.manifest["source"]["checksum"].startswith("5851605240cc")
    # Every GSM8K test item is longer than 13 tokens: none is matched whole.
    assert index.manifest["short_parts"] == 0
    assert int(index.input_len.min()) >= 13


def test_index_cached_by_an_older_format_is_rebuilt(tiny_bench: Path, tmp_path: Path) -> None:
    source = resolve_bench(str(tiny_bench))
    ensure_index(tmp_path, source, NORM, TINY_NGRAM)
    folder = index_folder(tmp_path, source, NORM, TINY_NGRAM)
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "format": 1}))
    (folder / "item_num.npy").unlink()  # an older index lacks newer arrays
    assert ensure_index(tmp_path, source, NORM, TINY_NGRAM).manifest["format"] == INDEX_FORMAT
    with pytest.raises(IndexMismatchError, match="index format 1"):
        (folder / "manifest.json").write_text(json.dumps({**manifest, "format": 1}))
        load_index_folder(folder, NORM, TINY_NGRAM)  # --index DIR is used as is, or refused
