"""The n-gram index of one bench: build, save, load.

On disk, ``indexes/<bench>/<fingerprint>/`` holds plain ``.npy`` arrays (loaded with
``allow_pickle=False``), ``items.parquet`` and ``manifest.json``; nothing is executable, so an
index from someone else is safe to load. Arrays (I items, P item n-gram positions, G distinct
n-grams, S short items):

    input_len, full_len   int32[I]    tokens of the input part, and of input + label
    item_gram_ptr         int64[I+1]  item i's n-grams are item_gram[ptr[i]:ptr[i+1]], in order
    item_gram             int32[P]    index into gram_hash of the n-gram at each position
    gram_hash             uint64[G]   sorted distinct n-gram hashes
    gram_common           bool[G]     boilerplate: in >= boilerplate_items items of this bench
    short_hash            uint64[S]   whole-run hash of an item part shorter than n tokens
    short_prefix          uint64[S]   prefix_key of its first short_min tokens (the scan's trigger)
    short_item, short_len int32[S]
    short_part            uint8[S]    1 = the input part, 2 = input + label, 3 = both (no label)
    item_tok              uint64[T]   token hashes of every item's input + label, in item order
                                      (item i's are at cumsum(full_len)[i-1]:...): the scan
                                      extends seeds by comparing them with a document's tokens
    item_num              bool[T]     whether each of those tokens is a number: an aligned span
                                      never bridges a changed number
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash
from numba import njit

from contam._version import __version__
from contam.atomic import atomic_folder
from contam.benches import BenchSource, iter_items
from contam.config import HASH_SCHEME, NGramConfig, NormConfig, index_fingerprint
from contam.errors import ContamError, IndexMismatchError
from contam.normalize import char_classes, normalize, pack
from contam.shingles import (
    base_power,
    prefix_raw,
    run_hashes,
    seq_hash,
    tokenize_many,
)
from contam.substrings import pick_substrings

INDEX_FORMAT = 4
_ARRAYS = (
    "input_len",
    "full_len",
    "item_gram_ptr",
    "item_gram",
    "gram_hash",
    "gram_common",
    "short_hash",
    "short_prefix",
    "short_item",
    "short_len",
    "short_part",
    "item_tok",
    "item_num",
)
#: ``gpt4_input``/``gpt4_label``: the item's GPT-4 substrings (`substrings.pick_substrings`).
ITEMS_SCHEMA = pa.schema(
    [
        ("item_id", pa.string()),
        ("split", pa.string()),
        ("group", pa.string()),
        ("gpt4_input", pa.list_(pa.string())),
        ("gpt4_label", pa.list_(pa.string())),
    ]
)


@dataclass(slots=True)
class BenchIndex:
    """Everything the scan needs to know about one bench's items (see module docstring)."""

    manifest: dict[str, Any]
    item_ids: list[str]
    splits: list[str]
    groups: list[str | None]
    gpt4_input: list[list[str]]
    gpt4_label: list[list[str]]
    input_len: npt.NDArray[np.int32]
    full_len: npt.NDArray[np.int32]
    item_gram_ptr: npt.NDArray[np.int64]
    item_gram: npt.NDArray[np.int32]
    gram_hash: npt.NDArray[np.uint64]
    gram_common: npt.NDArray[np.bool_]
    short_hash: npt.NDArray[np.uint64]
    short_prefix: npt.NDArray[np.uint64]
    short_item: npt.NDArray[np.int32]
    short_len: npt.NDArray[np.int32]
    short_part: npt.NDArray[np.uint8]
    item_tok: npt.NDArray[np.uint64]
    item_num: npt.NDArray[np.bool_]

    @property
    def bench(self) -> str:
        return str(self.manifest["bench"])

    def save(self, folder: Path) -> None:
        """Write to ``folder`` atomically (replacing an older index): a half-written index is
        never seen."""
        with atomic_folder(folder, replace=True) as tmp:
            for name in _ARRAYS:
                np.save(tmp / f"{name}.npy", getattr(self, name), allow_pickle=False)
            table = pa.table(
                [self.item_ids, self.splits, self.groups, self.gpt4_input, self.gpt4_label],
                schema=ITEMS_SCHEMA,
            )
            pq.write_table(table, tmp / "items.parquet")
            (tmp / "manifest.json").write_text(json.dumps(self.manifest, indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> BenchIndex:
        try:
            manifest = json.loads((folder / "manifest.json").read_text())
            if manifest.get("format") != INDEX_FORMAT:
                raise IndexMismatchError(
                    f"{folder}: index format {manifest.get('format')} is not {INDEX_FORMAT}; "
                    "rebuild it with: contam build-index --rebuild"
                )
            arrays = {n: np.load(folder / f"{n}.npy", allow_pickle=False) for n in _ARRAYS}
            table = pq.read_table(folder / "items.parquet")
        except (OSError, ValueError) as e:
            raise ContamError(
                f"{folder}: cannot read index ({e}); rebuild it with --rebuild"
            ) from e
        return cls(
            manifest,
            table.column("item_id").to_pylist(),
            table.column("split").to_pylist(),
            table.column("group").to_pylist(),
            table.column("gpt4_input").to_pylist(),
            table.column("gpt4_label").to_pylist(),
            **arrays,
        )


def index_folder(root: Path, source: BenchSource, norm: NormConfig, ngram: NGramConfig) -> Path:
    """``root/<bench>/<fingerprint>``; custom benches add a hash of the fields they read."""
    name = index_fingerprint(norm, ngram)
    if source.spec is None:
        fields = json.dumps([source.id_field, source.text_fields, source.label_fields])
        name += "_f" + xxhash.xxh64_hexdigest(fields.encode())[:8]
    return root / source.key / name


def check_manifest(
    manifest: dict[str, Any], folder: Path, norm: NormConfig, ngram: NGramConfig
) -> None:
    """Refuse an index built with other settings than the run's."""
    wanted = {"norm": asdict(norm), "ngram": asdict(ngram), "hash_scheme": HASH_SCHEME}
    for key, value in wanted.items():
        if manifest.get(key) != value:
            raise IndexMismatchError(
                f"{folder}: index built with {key}={manifest.get(key)}, the run asks for "
                f"{value}; rebuild with: contam build-index --bench {manifest.get('bench')} "
                "(with the run's settings)"
            )


def ensure_index(
    root: Path,
    source: BenchSource,
    norm: NormConfig,
    ngram: NGramConfig,
    rebuild: bool = False,
) -> BenchIndex:
    """Load the bench's index if it matches the settings and source checksum, else build it."""
    folder = index_folder(root, source, norm, ngram)
    if not rebuild and (folder / "manifest.json").is_file():
        try:
            index = BenchIndex.load(folder)
        except IndexMismatchError:
            pass  # cached by an older contam (another format): rebuilt, not refused
        else:
            check_manifest(index.manifest, folder, norm, ngram)
            if index.manifest["source"]["checksum"] == source.checksum:
                return index
    index = build_index(source, norm, ngram)
    index.save(folder)
    return index


def load_index_folder(folder: Path, norm: NormConfig, ngram: NGramConfig) -> BenchIndex:
    """An explicitly named index folder (``--index``): used as is, if its settings match."""
    index = BenchIndex.load(folder)
    check_manifest(index.manifest, folder, norm, ngram)
    return index


def tokens_of(
    texts: list[str], norm: NormConfig
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Token hashes of each text (normalized here), as CSR: hashes and per-text offsets; and
    which tokens are numbers."""
    encoded = [normalize(t, norm).encode("utf-8", "surrogatepass") for t in texts]
    th, tok_off, is_num = tokenize_many(*pack(encoded), char_classes(norm.cjk_chars))
    return th, tok_off, is_num


@njit(cache=True)
def _all_grams(th, tok_off, n, base_n):  # type: ignore[no-untyped-def]
    count = len(tok_off) - 1
    ptr = np.zeros(count + 1, dtype=np.int64)
    for i in range(count):
        ptr[i + 1] = ptr[i] + max(0, tok_off[i + 1] - tok_off[i] - n + 1)
    out = np.empty(ptr[-1], dtype=np.uint64)
    for i in range(count):
        out[ptr[i] : ptr[i + 1]] = run_hashes(th, tok_off[i], tok_off[i + 1], n, base_n)
    return out, ptr


def build_index(source: BenchSource, norm: NormConfig, ngram: NGramConfig) -> BenchIndex:
    """Tokenize and shingle every item of ``source``.

    Example:
        >>> idx = build_index(resolve_bench("gsm8k", Path("../shared/data/benchmarks")),
        ...                   NormConfig(), NGramConfig())
        >>> len(idx.item_ids)
        1319
    """
    started = time.perf_counter()
    items = list(iter_items(source))
    n = ngram.n
    full_th, full_off, full_num = tokens_of([it.full_text for it in items], norm)
    _, input_off, _ = tokens_of([it.input_text for it in items], norm)
    input_len = np.diff(input_off).astype(np.int32)
    full_len = np.diff(full_off).astype(np.int32)
    flat, item_gram_ptr = _all_grams(full_th, full_off, n, base_power(n))
    gram_hash, inverse = np.unique(flat, return_inverse=True)
    item_gram = inverse.astype(np.int32)
    # Boilerplate: count distinct items per n-gram.
    pos_item = np.repeat(np.arange(len(items), dtype=np.int64), np.diff(item_gram_ptr))
    pairs = np.unique(pos_item * len(gram_hash) + item_gram)
    items_per_gram = np.bincount(pairs % max(1, len(gram_hash)), minlength=len(gram_hash))
    gram_common = items_per_gram >= ngram.boilerplate_items

    shorts: list[tuple[int, int, int, int, int]] = []  # item, len, hash, prefix, part
    for i in range(len(items)):
        start = int(full_off[i])
        lin, lfull = int(input_len[i]), int(full_len[i])
        parts = []
        if ngram.short_min <= lin < n:
            parts.append((lin, 3 if lfull == lin else 1))
        if ngram.short_min <= lfull < n and lfull != lin:
            parts.append((lfull, 2))
        for length, part in parts:
            whole = int(seq_hash(full_th, start, start + length))
            prefix = int(prefix_raw(full_th, start, start + ngram.short_min))
            shorts.append((i, length, whole, prefix, part))
    short = np.array(shorts, dtype=np.uint64).reshape(-1, 5)

    manifest = {
        "format": INDEX_FORMAT,
        "contam_version": __version__,
        "bench": source.name,
        "split": source.split,
        "key": source.key,
        "fingerprint": index_fingerprint(norm, ngram),
        "norm": asdict(norm),
        "ngram": asdict(ngram),
        "hash_scheme": HASH_SCHEME,
        "source": source.describe(),
        "items": len(items),
        "ngrams": len(gram_hash),
        "boilerplate_ngrams": int(gram_common.sum()),
        "short_parts": len(shorts),
        "build_seconds": round(time.perf_counter() - started, 3),
    }
    picked = [
        pick_substrings(it.input_text, it.label_text, f"{source.name}/{it.item_id}") for it in items
    ]
    return BenchIndex(
        manifest,
        [it.item_id for it in items],
        [it.split for it in items],
        [it.group for it in items],
        [p[0] for p in picked],
        [p[1] for p in picked],
        input_len,
        full_len,
        item_gram_ptr,
        item_gram,
        gram_hash,
        gram_common,
        short[:, 2].copy(),
        short[:, 3].copy(),
        short[:, 0].astype(np.int32),
        short[:, 1].astype(np.int32),
        short[:, 4].astype(np.uint8),
        full_th,
        full_num,
    )
