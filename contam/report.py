"""Report files: schemas, per-shard commits, and the final roll-up into Parquet.

A scan writes, under its output folder:

    shards/<key>/     one committed folder per finished shard (renamed into place atomically)
    items.parquet     one row per benchmark item            (ITEMS_SCHEMA)
    matches.parquet   one row per matched span in a document (MATCHES_SCHEMA)
    benches.parquet   one row per bench                      (BENCHES_SCHEMA)
    run.json          settings, fingerprint, versions, shards, skipped records

The final files are computed from ``shards/`` alone, so a resumed scan reports exactly what an
uninterrupted one does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
from numba import njit

from contam.atomic import atomic_folder
from contam.config import PRESET_NAMES
from contam.lookup import Lookup
from contam.presets import (
    LLAMA2_CLEAN,
    LLAMA2_DIRTY,
    PALM_FRACTION,
    contam_metrics,
    preset_metrics,
)

#: Aligned spans (contam chains) as committed per shard; ``item`` is the run's item number.
SHARD_MATCHES_SCHEMA = pa.schema(
    [
        ("item", pa.int32()),
        ("doc_id", pa.string()),
        ("doc_line", pa.int64()),
        ("char_start", pa.int64()),
        ("char_end", pa.int64()),
        ("item_token_start", pa.int32()),
        ("item_token_end", pa.int32()),
        ("matched_tokens", pa.int32()),
        ("longest_exact", pa.int32()),
        ("edits", pa.int32()),
        ("input_part", pa.bool_()),
    ]
)

MATCHES_SCHEMA = pa.schema(
    [
        ("bench", pa.string()),
        ("split", pa.string()),
        ("item_id", pa.string()),
        ("shard", pa.string()),
        *list(SHARD_MATCHES_SCHEMA)[1:],
    ]
)

_PART_FIELDS = [
    ("ngrams", pa.int32()),
    ("ngrams_matched", pa.int32()),
    ("coverage", pa.float64()),
    ("longest_run", pa.int32()),
    ("edits", pa.int32()),
    ("docs", pa.int32()),
]
#: The verdict columns ``<preset>_input`` / ``<preset>_full`` of every preset.
ITEMS_SCHEMA = pa.schema(
    [
        ("bench", pa.string()),
        ("split", pa.string()),
        ("item_id", pa.string()),
        ("group", pa.string()),
        ("input_tokens", pa.int32()),
        ("full_tokens", pa.int32()),
        ("boilerplate_ngrams", pa.int32()),
        *[(f"input_{name}", t) for name, t in _PART_FIELDS],
        *[(f"full_{name}", t) for name, t in _PART_FIELDS],
        ("label_coverage", pa.float64()),
        ("gpt3_input_found", pa.int32()),
        ("gpt3_full_found", pa.int32()),
        ("gpt3_frequent", pa.int32()),
        ("palm_input_fraction", pa.float64()),
        ("palm_full_fraction", pa.float64()),
        ("llama2_input_fraction", pa.float64()),
        ("llama2_full_fraction", pa.float64()),
        ("near_dup_jaccard", pa.float64()),
        ("near_dup_containment", pa.float64()),
        *[(f"{p}_{part}", pa.bool_()) for p in PRESET_NAMES for part in ("input", "full")],
        ("input_contaminated", pa.bool_()),
        ("full_contaminated", pa.bool_()),
        ("contaminated", pa.bool_()),
    ]
)

BENCHES_SCHEMA = pa.schema(
    [
        ("bench", pa.string()),
        ("split", pa.string()),
        ("preset", pa.string()),
        ("chosen", pa.bool_()),
        ("items", pa.int64()),
        ("contaminated", pa.int64()),
        ("contaminated_fraction", pa.float64()),
        ("input_contaminated", pa.int64()),
        ("full_contaminated", pa.int64()),
        ("clean", pa.int64()),
        ("docs_scanned", pa.int64()),
        ("tokens_scanned", pa.int64()),
        ("chars_scanned", pa.int64()),
    ]
)


@dataclass(slots=True)
class ShardCommit:
    """One shard's contribution, as committed under ``shards/<key>/``.

    ``runs``: distinct exact runs (item, item start, item end) with how many places in the
    shard's documents hold them; ``skips``: distinct Llama 2 spans (item, start, end);
    ``gpt4``: (item, part) whose GPT-4 substrings were found.
    """

    info: dict[str, Any]
    seen_gram: npt.NDArray[np.int64]
    runs: npt.NDArray[np.int64]
    skips: npt.NDArray[np.int64]
    gpt4: npt.NDArray[np.int64]
    near: npt.NDArray[np.float64]  # MinHash windows: item, estimated Jaccard, containment
    docs_item: npt.NDArray[np.int64]  # item numbers with >= 1 matching doc
    docs_full: npt.NDArray[np.int64]  # ... how many docs matched the item
    docs_input: npt.NDArray[np.int64]  # ... how many matched its input part
    matches: pa.Table

    def write(self, folder: Path) -> None:
        """Commit atomically: a killed scan leaves a whole commit or none."""
        with atomic_folder(folder) as tmp:
            np.savez(
                tmp / "state.npz",
                seen_gram=self.seen_gram,
                runs=self.runs,
                skips=self.skips,
                gpt4=self.gpt4,
                near=self.near,
                docs_item=self.docs_item,
                docs_full=self.docs_full,
                docs_input=self.docs_input,
            )
            pq.write_table(self.matches, tmp / "matches.parquet")
            (tmp / "shard.json").write_text(json.dumps(self.info, indent=2) + "\n")

    @classmethod
    def read(cls, folder: Path) -> ShardCommit:
        with np.load(folder / "state.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        return cls(
            json.loads((folder / "shard.json").read_text()),
            matches=pq.read_table(folder / "matches.parquet", schema=SHARD_MATCHES_SCHEMA),
            **arrays,
        )


def merge_runs(parts: list[npt.NDArray[np.int64]]) -> npt.NDArray[np.int64]:
    """Distinct (item, start, end) rows with their counts summed: int64[r, 4]."""
    rows = np.concatenate(parts) if parts else np.zeros((0, 4), dtype=np.int64)
    if len(rows) == 0:
        return rows.reshape(0, 4)
    keys, inverse = np.unique(rows[:, :3], axis=0, return_inverse=True)
    counts = np.bincount(inverse.ravel(), weights=rows[:, 3], minlength=len(keys))
    return np.column_stack([keys, counts.astype(np.int64)])


def _csr(rows: npt.NDArray[np.int64], items: int) -> tuple[npt.NDArray[np.int64], Any]:
    """Rows sorted by their first column (item) and the per-item row pointer."""
    rows = rows[np.argsort(rows[:, 0], kind="stable")]
    ptr = np.searchsorted(rows[:, 0], np.arange(items + 1)).astype(np.int64)
    return ptr, np.ascontiguousarray(rows[:, 1:])


def items_table(
    lookup: Lookup,
    commits: list[ShardCommit],
    threshold: float,
    preset: str = "contam",
) -> pa.Table:
    """The per-item table (ITEMS_SCHEMA) from all committed shards; ``preset`` sets the
    ``contaminated``, ``input_contaminated`` and ``full_contaminated`` columns."""
    count = lookup.items
    seen_gram = np.zeros(len(lookup.gram_hash), dtype=np.bool_)
    docs = np.zeros((count, 2), dtype=np.int64)
    gpt4 = np.zeros((count, 2), dtype=np.bool_)
    for c in commits:
        seen_gram[c.seen_gram] = True
        np.add.at(docs[:, 0], c.docs_item, c.docs_input)
        np.add.at(docs[:, 1], c.docs_item, c.docs_full)
        gpt4[c.gpt4[:, 0], c.gpt4[:, 1]] = True
    near = np.full((count, 2), np.nan)  # best window per item: Jaccard, its containment
    windows = np.concatenate([c.near for c in commits] + [np.zeros((0, 3))])
    windows = windows[np.lexsort((-windows[:, 1], windows[:, 0]))]  # first of equal Jaccards
    best_of, first = np.unique(windows[:, 0].astype(np.int64), return_index=True)
    near[best_of] = windows[first, 1:]
    run_ptr, runs = _csr(merge_runs([c.runs for c in commits]), count)
    skip_rows = np.concatenate([c.skips for c in commits] + [np.zeros((0, 3), np.int64)])
    skip_ptr, skips = _csr(skip_rows, count)
    # chains: item, item start, item end, edits, document (shard number, line)
    parts = [np.zeros((0, 5), dtype=np.int64)]
    for k, c in enumerate(commits):
        if c.matches.num_rows:
            cols = ("item", "item_token_start", "item_token_end", "edits", "doc_line")
            rows = np.column_stack([c.matches.column(x).to_numpy().astype(np.int64) for x in cols])
            rows[:, 4] += k << 40
            parts.append(rows)
    chain_rows = np.concatenate(parts)
    chain_rows = chain_rows[np.lexsort((chain_rows[:, 4], chain_rows[:, 0]))]
    chain_ptr, chains = _csr(chain_rows, count)

    n = lookup.n
    part_len = np.column_stack([lookup.input_len, lookup.full_len])
    ngrams = np.maximum(0, part_len - n + 1)
    short = (part_len >= lookup.short_min) & (part_len < n)
    matched, boiler = _grams_matched(
        lookup.item_gram_ptr, lookup.item_gram, lookup.pos_common, seen_gram, lookup.input_len, n
    )
    coverage, longest, edits, label_cov = contam_metrics(
        lookup.input_len, lookup.full_len, lookup.item_gram_ptr, lookup.pos_common, n,
        chain_ptr, chains,
    )  # fmt: skip
    ngrams[short] = 1  # a short part is one unit, found whole or not
    matched[short] = (coverage[short] == 1.0).astype(np.int32)
    g3_found, g3_frequent, g3_label, palm, palm_label, llama, llama_label = preset_metrics(
        lookup.input_len, lookup.full_len, run_ptr, runs, skip_ptr, skips
    )
    has_label = lookup.full_len > lookup.input_len
    with np.errstate(invalid="ignore"):
        verdicts = {
            "contam": (
                (coverage[:, 0] >= threshold) & (matched[:, 0] > 0),
                (coverage[:, 1] >= threshold)
                & (matched[:, 1] > 0)
                & (~has_label | (label_cov >= threshold)),
            ),
            "gpt3": (g3_found[:, 0] > 0, (g3_found[:, 1] > 0) & (~has_label | g3_label)),
            "palm": (
                palm[:, 0] >= PALM_FRACTION,
                (palm[:, 1] >= PALM_FRACTION) & (~has_label | (palm_label >= PALM_FRACTION)),
            ),
            "llama2": (
                llama[:, 0] >= LLAMA2_DIRTY,
                (llama[:, 1] >= LLAMA2_DIRTY) & (~has_label | (llama_label >= LLAMA2_DIRTY)),
            ),
            "gpt4": (gpt4[:, 0], gpt4[:, 1]),
        }
    for name, (inp, full) in verdicts.items():
        # the answer leaked with its question: input + label implies input
        verdicts[name] = (inp, full & inp)
    names = lookup.item_names()
    columns: list[Any] = [
        names["bench"], names["split"], names["item_id"], names["group"],
        lookup.input_len, lookup.full_len, boiler,
    ]  # fmt: skip
    for part in range(2):
        columns += [
            ngrams[:, part].astype(np.int32),
            matched[:, part],
            coverage[:, part],
            longest[:, part],
            edits[:, part],
            docs[:, part].astype(np.int32),
        ]
    columns += [
        _nullable(label_cov), g3_found[:, 0], g3_found[:, 1], g3_frequent,
        _nullable(palm[:, 0]), _nullable(palm[:, 1]),
        _nullable(llama[:, 0]), _nullable(llama[:, 1]),
        _nullable(near[:, 0]), _nullable(near[:, 1]),
    ]  # fmt: skip
    for name in PRESET_NAMES:
        columns += list(verdicts[name])
    chosen_input, chosen_full = verdicts[preset]
    columns += [chosen_input, chosen_full, chosen_input | chosen_full]
    return pa.table(columns, schema=ITEMS_SCHEMA)


def _nullable(values: npt.NDArray[np.float64]) -> pa.Array:
    """NaN (nothing to measure) becomes null."""
    return pa.array(values, pa.float64(), from_pandas=True)


@njit(cache=True)
def _grams_matched(item_gram_ptr, item_gram, pos_common, seen_gram, input_len, n):  # type: ignore[no-untyped-def]
    """Per item and part: non-boilerplate n-grams found anywhere; and boilerplate n-grams."""
    count = len(input_len)
    matched = np.zeros((count, 2), dtype=np.int32)
    boiler = np.zeros(count, dtype=np.int32)
    for i in range(count):
        base = item_gram_ptr[i]
        for p in range(item_gram_ptr[i + 1] - base):
            if pos_common[base + p]:
                boiler[i] += 1
            elif seen_gram[item_gram[base + p]]:
                matched[i, 1] += 1
                if p + n <= input_len[i]:
                    matched[i, 0] += 1
    return matched, boiler


def matches_table(
    lookup: Lookup, commits: list[ShardCommit], flagged: npt.NDArray[np.bool_]
) -> pa.Table:
    """The committed spans of the items some preset calls contaminated (``flagged``), with
    bench, split and item id, sorted for a stable report. Spans of other items (an 8-gram
    that ordinary prose shares with an item) stay in the shard commits."""
    names = {k: pa.array(v, pa.string()) for k, v in lookup.item_names().items()}
    parts = []
    for c in commits:
        item = c.matches.column("item").to_numpy()
        keep = flagged[item]
        if not keep.any():
            continue
        kept = c.matches.filter(pa.array(keep))
        item = item[keep]
        shard = pa.array([c.info["shard"]] * kept.num_rows, pa.string())
        parts.append(
            pa.table(
                [
                    names["bench"].take(item),
                    names["split"].take(item),
                    names["item_id"].take(item),
                    shard,
                    *[kept.column(f.name) for f in SHARD_MATCHES_SCHEMA][1:],
                ],
                schema=MATCHES_SCHEMA,
            )
        )
    if not parts:
        return MATCHES_SCHEMA.empty_table()
    table = pa.concat_tables(parts)
    keys = ["bench", "split", "item_id", "shard", "doc_line", "char_start"]
    return table.sort_by([(k, "ascending") for k in keys])


def benches_table(
    items: pa.Table, order: list[tuple[str, str]], totals: dict[str, int], preset: str
) -> pa.Table:
    """Per-bench roll-up of the items table, one row per preset, through DuckDB.

    ``clean`` counts the items whose input is clean: for llama2 below 20% of its tokens
    contaminated (so Llama 2's "not clean" is items - clean and "not dirty" items -
    contaminated), for the other presets the items not contaminated.
    """
    import duckdb

    selects = []
    for p in PRESET_NAMES:
        clean = (
            f"coalesce(llama2_input_fraction, 0) < {LLAMA2_CLEAN}"
            if p == "llama2"
            else f"NOT ({p}_input OR {p}_full)"
        )
        selects.append(
            f"""
            SELECT bench, split, '{p}' AS preset, {p == preset} AS chosen, count(*) AS items,
                   count(*) FILTER (WHERE {p}_input OR {p}_full) AS contaminated,
                   count(*) FILTER (WHERE {p}_input OR {p}_full) / count(*) AS fraction,
                   count(*) FILTER (WHERE {p}_input) AS input_contaminated,
                   count(*) FILTER (WHERE {p}_full) AS full_contaminated,
                   count(*) FILTER (WHERE {clean}) AS clean
            FROM items GROUP BY bench, split"""
        )
    con = duckdb.connect()
    con.register("items", items)
    rows = con.execute(" UNION ALL ".join(selects)).fetchall()
    con.close()
    rows.sort(key=lambda r: (order.index((r[0], r[1])), PRESET_NAMES.index(r[2])))
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [[]] * (len(BENCHES_SCHEMA) - 3)
    n = len(rows)
    return pa.table(
        [
            *columns,
            [totals["docs"]] * n,
            [totals["tokens"]] * n,
            [totals["text_chars"]] * n,
        ],
        schema=BENCHES_SCHEMA,
    )
