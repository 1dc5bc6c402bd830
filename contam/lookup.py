"""One probe-ready view of several bench indexes, so a corpus is read once for all benches.

Item numbers run across benches (bench b owns items ``item_base[b]:item_base[b+1]``) and the
n-grams of all benches are merged into one distinct set. Boilerplate stays per bench: an
n-gram common in MMLU is still a real match for a GSM8K item that contains it, so a bench's
results do not depend on which other benches share the scan.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import xxhash

from contam.atomic import atomic_folder
from contam.index import INDEX_FORMAT, BenchIndex
from contam.shingles import bloom_build, bloom_words, table_build
from contam.substrings import SubstringTable

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]

#: Bump when `Lookup.merge`'s output changes, so merged lookups cached on disk are rebuilt.
LOOKUP_FORMAT = 4
#: Merged lookups kept under ``<index dir>/_merged`` (the least recently used go first).
KEEP_MERGED = 4


@dataclass(slots=True)
class Lookup:
    """Merged arrays (see `index` for the per-bench ones) plus the scan's probe tables.

    ``gram_seed_ptr/seed_item/seed_pos/seed_anchor``: for each n-gram, every (item, position)
    holding it, and whether it is not boilerplate there (only those anchor a contam chain).
    ``item_tok_ptr/item_tok/item_num``: every item's token hashes (input + label) and which
    are numbers, for extending seeds.
    ``short_keys/short_vals``: the distinct whole-run hashes of short item parts, and for
    each its items ``short_item[short_ptr[u]:short_ptr[u+1]]``.
    ``substrings``: every item's GPT-4 substrings; string k belongs to item ``sub_item[k]``,
    part ``sub_part[k]`` (0 input, 1 label).
    """

    benches: list[BenchIndex]
    n: int
    short_min: int
    item_base: I64
    input_len: I32
    full_len: I32
    item_gram_ptr: I64
    item_gram: I32
    pos_common: npt.NDArray[np.bool_]
    gram_hash: U64
    gram_seed_ptr: I64
    seed_item: I32
    seed_pos: I32
    seed_anchor: npt.NDArray[np.bool_]
    item_tok_ptr: I64
    item_tok: U64
    item_num: npt.NDArray[np.bool_]
    short_ptr: I64
    short_item: I32
    gram_keys: U64
    gram_vals: I32
    bloom: U64
    prefix_keys: U64
    prefix_vals: I32
    short_keys: U64
    short_vals: I32
    substrings: SubstringTable
    sub_item: I64
    sub_part: I64

    def __post_init__(self) -> None:
        # Read-only, as Ray's object store hands them to its workers: then the kernels are
        # compiled (and cached) for one kind of array whichever engine runs them, and
        # nothing can write into an index that worker processes share.
        for _, value in _flat_fields(self):
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    @property
    def items(self) -> int:
        return int(self.item_base[-1])

    def item_names(self) -> dict[str, list[str | None]]:
        """bench, split, item_id and group of every item, in item-number order."""
        names: dict[str, list[str | None]] = {"bench": [], "split": [], "item_id": [], "group": []}
        for b in self.benches:
            names["bench"] += [b.bench] * len(b.item_ids)
            names["split"] += b.splits
            names["item_id"] += b.item_ids
            names["group"] += b.groups
        return names

    @classmethod
    def cached(cls, benches: list[BenchIndex], root: Path) -> Lookup:
        """`merge`, kept on disk under ``root/_merged/<key>`` for the next scan of the same
        indexes: merging sorts millions of n-grams and builds the probe tables (a second or
        more per scan, in every process), loading them back is a file read."""
        key = xxhash.xxh64_hexdigest(
            json.dumps([LOOKUP_FORMAT, INDEX_FORMAT, [b.manifest for b in benches]]).encode()
        )
        folder = root / "_merged" / key
        try:
            lookup = cls._load(folder, benches)
            os.utime(folder)
            return lookup
        except (OSError, ValueError, KeyError):
            shutil.rmtree(folder, ignore_errors=True)  # missing, or damaged: merge again
        lookup = cls.merge(benches)
        with contextlib.suppress(OSError):  # a read-only index folder costs the merge again
            lookup._save(folder)
        return lookup

    def _save(self, folder: Path) -> None:
        """Arrays as .npy files, the rest in ``meta.json``, written whole or not at all
        (`OSError` when another scan saved it first); then drop the least recently used."""
        with atomic_folder(folder) as tmp:
            meta: dict[str, Any] = {}
            for name, value in _flat_fields(self):
                if isinstance(value, np.ndarray):
                    np.save(tmp / f"{name}.npy", value, allow_pickle=False)
                else:
                    meta[name] = value
            (tmp / "meta.json").write_text(json.dumps(meta))
        kept = [f for f in folder.parent.iterdir() if not f.name.endswith(".tmp")]
        older = sorted(kept, key=lambda f: f.stat().st_mtime)
        for stale in older[:-KEEP_MERGED]:
            shutil.rmtree(stale, ignore_errors=True)

    @classmethod
    def _load(cls, folder: Path, benches: list[BenchIndex]) -> Lookup:
        meta = json.loads((folder / "meta.json").read_text())

        def value(name: str) -> Any:
            return meta[name] if name in meta else np.load(folder / f"{name}.npy")

        table = SubstringTable(
            **{f.name: value(f"substrings.{f.name}") for f in fields(SubstringTable)}
        )
        kept = {f.name: value(f.name) for f in fields(cls) if f.name not in _NOT_FLAT}
        return cls(benches=benches, substrings=table, **kept)

    @classmethod
    def merge(cls, benches: list[BenchIndex]) -> Lookup:
        n = int(benches[0].manifest["ngram"]["n"])
        short_min = int(benches[0].manifest["ngram"]["short_min"])
        sizes = [len(b.item_ids) for b in benches]
        item_base = np.zeros(len(benches) + 1, dtype=np.int64)
        np.cumsum(sizes, out=item_base[1:])

        gram_hash, inverse = np.unique(
            np.concatenate([b.gram_hash for b in benches]), return_inverse=True
        )
        gram_base = np.cumsum([0] + [len(b.gram_hash) for b in benches])
        item_gram = np.concatenate(
            [inverse[gram_base[k] + b.item_gram] for k, b in enumerate(benches)]
        ).astype(np.int32)
        pos_common = np.concatenate([b.gram_common[b.item_gram] for b in benches])
        ptr_parts = [np.zeros(1, dtype=np.int64)]
        total = 0
        for b in benches:
            ptr_parts.append(b.item_gram_ptr[1:] + total)
            total += int(b.item_gram_ptr[-1])
        item_gram_ptr = np.concatenate(ptr_parts)
        input_len = np.concatenate([b.input_len for b in benches]).astype(np.int32)
        full_len = np.concatenate([b.full_len for b in benches]).astype(np.int32)

        # n-gram -> every (item, position) holding it
        pos_item = np.repeat(np.arange(len(input_len), dtype=np.int64), np.diff(item_gram_ptr))
        pos_in_item = np.arange(len(item_gram), dtype=np.int64) - item_gram_ptr[pos_item]
        by_gram = np.argsort(item_gram, kind="stable")
        gram_seed_ptr = np.searchsorted(item_gram[by_gram], np.arange(len(gram_hash) + 1))
        item_tok_ptr = np.zeros(len(full_len) + 1, dtype=np.int64)
        np.cumsum(full_len, out=item_tok_ptr[1:])

        # short parts: distinct whole-run hashes -> entries
        s_hash = np.concatenate([b.short_hash for b in benches])
        s_prefix = np.concatenate([b.short_prefix for b in benches])
        s_item = np.concatenate(
            [b.short_item + item_base[k] for k, b in enumerate(benches)]
        ).astype(np.int32)
        order = np.argsort(s_hash, kind="stable")
        s_hash, s_item = s_hash[order], s_item[order]
        short_hash, s_first = np.unique(s_hash, return_index=True)
        short_ptr = np.append(s_first, len(s_hash)).astype(np.int64)
        prefixes = np.unique(s_prefix)

        strings: list[str] = []
        sub_item: list[int] = []
        sub_part: list[int] = []
        for k, b in enumerate(benches):
            for i, (inp, lab) in enumerate(zip(b.gpt4_input, b.gpt4_label, strict=True)):
                item = int(item_base[k]) + i
                for part, picked in ((0, inp), (1, lab)):
                    strings += picked
                    sub_item += [item] * len(picked)
                    sub_part += [part] * len(picked)

        gram_keys, gram_vals = table_build(gram_hash)
        prefix_keys, prefix_vals = table_build(prefixes)
        short_keys, short_vals = table_build(short_hash)
        return cls(
            benches,
            n,
            short_min,
            item_base,
            input_len,
            full_len,
            item_gram_ptr,
            item_gram,
            pos_common,
            gram_hash,
            gram_seed_ptr.astype(np.int64),
            pos_item[by_gram].astype(np.int32),
            pos_in_item[by_gram].astype(np.int32),
            ~pos_common[by_gram],
            item_tok_ptr,
            np.concatenate([b.item_tok for b in benches]),
            np.concatenate([b.item_num for b in benches]),
            short_ptr,
            s_item,
            gram_keys,
            gram_vals,
            bloom_build(gram_hash, bloom_words(len(gram_hash))),
            prefix_keys,
            prefix_vals,
            short_keys,
            short_vals,
            SubstringTable.build(strings),
            np.array(sub_item, dtype=np.int64),
            np.array(sub_part, dtype=np.int64),
        )


_NOT_FLAT = ("benches", "substrings")


def _flat_fields(lookup: Lookup) -> list[tuple[str, Any]]:
    """(name, value) of every field but the bench indexes, the substring table's fields
    prefixed ``substrings.``."""
    flat = [(f.name, getattr(lookup, f.name)) for f in fields(lookup) if f.name not in _NOT_FLAT]
    table = lookup.substrings
    flat += [(f"substrings.{f.name}", getattr(table, f.name)) for f in fields(table)]
    return flat
