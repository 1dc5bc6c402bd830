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
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
from numba import njit

from contam.lookup import Lookup

#: Matched spans as committed per shard; ``item`` is the run's item number.
SHARD_MATCHES_SCHEMA = pa.schema(
    [
        ("item", pa.int32()),
        ("doc_id", pa.string()),
        ("doc_line", pa.int64()),
        ("char_start", pa.int64()),
        ("char_end", pa.int64()),
        ("matched_tokens", pa.int32()),
        ("input_part", pa.bool_()),
    ]
)

MATCHES_SCHEMA = pa.schema(
    [
        ("bench", pa.string()),
        ("split", pa.string()),
        ("item_id", pa.string()),
        ("shard", pa.string()),
        ("doc_id", pa.string()),
        ("doc_line", pa.int64()),
        ("char_start", pa.int64()),
        ("char_end", pa.int64()),
        ("matched_tokens", pa.int32()),
        ("input_part", pa.bool_()),
    ]
)

_PART_FIELDS = [
    ("ngrams", pa.int32()),
    ("ngrams_matched", pa.int32()),
    ("coverage", pa.float64()),
    ("longest_run", pa.int32()),
    ("docs", pa.int32()),
    ("contaminated", pa.bool_()),
]
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
        ("contaminated", pa.bool_()),
    ]
)

BENCHES_SCHEMA = pa.schema(
    [
        ("bench", pa.string()),
        ("split", pa.string()),
        ("items", pa.int64()),
        ("contaminated", pa.int64()),
        ("contaminated_fraction", pa.float64()),
        ("input_contaminated", pa.int64()),
        ("full_contaminated", pa.int64()),
        ("docs_scanned", pa.int64()),
        ("tokens_scanned", pa.int64()),
        ("chars_scanned", pa.int64()),
    ]
)


@dataclass(slots=True)
class ShardCommit:
    """One shard's contribution, as committed under ``shards/<key>/``."""

    info: dict[str, Any]
    seen_gram: npt.NDArray[np.int64]
    seen_short: npt.NDArray[np.int64]
    docs_item: npt.NDArray[np.int64]  # item numbers with >= 1 matching doc
    docs_full: npt.NDArray[np.int64]  # ... how many docs matched the item
    docs_input: npt.NDArray[np.int64]  # ... how many matched its input part
    matches: pa.Table

    def write(self, folder: Path) -> None:
        """Commit atomically: write a temporary folder, then rename it into place."""
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        np.savez(
            tmp / "state.npz",
            seen_gram=self.seen_gram,
            seen_short=self.seen_short,
            docs_item=self.docs_item,
            docs_full=self.docs_full,
            docs_input=self.docs_input,
        )
        pq.write_table(self.matches, tmp / "matches.parquet")
        (tmp / "shard.json").write_text(json.dumps(self.info, indent=2) + "\n")
        tmp.rename(folder)

    @classmethod
    def read(cls, folder: Path) -> ShardCommit:
        with np.load(folder / "state.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        return cls(
            json.loads((folder / "shard.json").read_text()),
            matches=pq.read_table(folder / "matches.parquet", schema=SHARD_MATCHES_SCHEMA),
            **arrays,
        )


@njit(cache=True)
def item_metrics(  # type: ignore[no-untyped-def]
    item_gram_ptr, item_gram, pos_common, seen_gram, input_len, full_len, n, short_min,
    short_found,
):  # fmt: skip
    """Per item and part (0 input, 1 input + label): n-grams, matched, coverage, longest run;
    and the coverage of the label tokens alone (by the input + label part's n-grams).

    A part of at least n tokens is measured on its distinctive tokens, those that at least one
    non-boilerplate n-gram of the item reaches: coverage is the fraction of them inside matched
    n-grams. A passage MMLU shares among five questions is then neither evidence of a leak nor
    a dilution of one. A part shorter than n (>= short_min tokens) is one unit, found whole or
    not. The label coverage is NaN when the label has no distinctive token.
    """
    count = len(input_len)
    ngrams = np.zeros((count, 2), dtype=np.int32)
    matched = np.zeros((count, 2), dtype=np.int32)
    coverage = np.zeros((count, 2), dtype=np.float64)
    longest = np.zeros((count, 2), dtype=np.int32)
    boiler = np.zeros(count, dtype=np.int32)
    label_cov = np.full(count, np.nan, dtype=np.float64)
    for i in range(count):
        base = item_gram_ptr[i]
        for p in range(item_gram_ptr[i + 1] - base):
            if pos_common[base + p]:
                boiler[i] += 1
        for part in range(2):
            length = input_len[i] if part == 0 else full_len[i]
            if length >= n:
                positions = length - n + 1
                ngrams[i, part] = positions
                diff = np.zeros(length + 1, dtype=np.int32)  # matched n-grams over a token
                reach = np.zeros(length + 1, dtype=np.int32)  # non-boilerplate n-grams
                for p in range(positions):
                    if pos_common[base + p]:
                        continue
                    reach[p] += 1
                    reach[p + n] -= 1
                    if seen_gram[item_gram[base + p]]:
                        matched[i, part] += 1
                        diff[p] += 1
                        diff[p + n] -= 1
                depth = 0
                depth_reach = 0
                run = 0
                covered = np.zeros(2, dtype=np.int64)  # all tokens, label tokens
                checkable = np.zeros(2, dtype=np.int64)
                for t in range(length):
                    depth += diff[t]
                    depth_reach += reach[t]
                    in_label = 1 if t >= input_len[i] else 0
                    if depth_reach > 0:
                        checkable[0] += 1
                        checkable[1] += in_label
                    if depth > 0:
                        covered[0] += 1
                        covered[1] += in_label
                        run += 1
                        longest[i, part] = max(longest[i, part], run)
                    else:
                        run = 0
                if checkable[0] > 0:
                    coverage[i, part] = covered[0] / checkable[0]
                if part == 1 and checkable[1] > 0:
                    label_cov[i] = covered[1] / checkable[1]
            elif length >= short_min:
                ngrams[i, part] = 1
                if part == 1 and length > input_len[i]:
                    label_cov[i] = 1.0 if short_found[i, part] else 0.0
                if short_found[i, part]:
                    matched[i, part] = 1
                    coverage[i, part] = 1.0
                    longest[i, part] = length
    return ngrams, matched, coverage, longest, boiler, label_cov


def items_table(
    lookup: Lookup,
    commits: list[ShardCommit],
    threshold: float,
) -> pa.Table:
    """The per-item table (ITEMS_SCHEMA) from all committed shards."""
    count = lookup.items
    seen_gram = np.zeros(len(lookup.gram_hash), dtype=np.bool_)
    seen_short = np.zeros(len(lookup.short_hash), dtype=np.bool_)
    docs = np.zeros((count, 2), dtype=np.int64)
    for c in commits:
        seen_gram[c.seen_gram] = True
        seen_short[c.seen_short] = True
        np.add.at(docs[:, 0], c.docs_item, c.docs_input)
        np.add.at(docs[:, 1], c.docs_item, c.docs_full)
    short_found = np.zeros((count, 2), dtype=np.bool_)
    for u in np.flatnonzero(seen_short):
        for e in range(lookup.short_ptr[u], lookup.short_ptr[u + 1]):
            part = int(lookup.short_part[e])
            short_found[lookup.short_item[e], 0] |= bool(part & 1)
            short_found[lookup.short_item[e], 1] |= bool(part & 2)
    ngrams, matched, coverage, longest, boiler, label_cov = item_metrics(
        lookup.item_gram_ptr, lookup.item_gram, lookup.pos_common, seen_gram,
        lookup.input_len, lookup.full_len, lookup.n, lookup.short_min, short_found,
    )  # fmt: skip
    dirty = (matched > 0) & (coverage >= threshold)
    # "input + label leaked" needs the label itself found, not only a long question; a label
    # with no distinctive token (NaN) cannot be confirmed.
    has_label = lookup.full_len > lookup.input_len
    with np.errstate(invalid="ignore"):
        dirty[:, 1] &= ~has_label | (label_cov >= threshold)
    names = lookup.item_names()
    columns: list[Any] = [
        names["bench"], names["split"], names["item_id"], names["group"],
        lookup.input_len, lookup.full_len, boiler,
    ]  # fmt: skip
    for part in range(2):
        columns += [
            ngrams[:, part],
            matched[:, part],
            coverage[:, part],
            longest[:, part],
            docs[:, part].astype(np.int32),
            dirty[:, part],
        ]
    columns += [pa.array(label_cov, pa.float64(), from_pandas=True), dirty[:, 0] | dirty[:, 1]]
    return pa.table(columns, schema=ITEMS_SCHEMA)


def matches_table(lookup: Lookup, commits: list[ShardCommit]) -> pa.Table:
    """All committed spans with bench, split and item id, sorted for a stable report."""
    names = {k: pa.array(v, pa.string()) for k, v in lookup.item_names().items()}
    parts = []
    for c in commits:
        if c.matches.num_rows == 0:
            continue
        item = c.matches.column("item").to_numpy()
        shard = pa.array([c.info["shard"]] * c.matches.num_rows, pa.string())
        parts.append(
            pa.table(
                [
                    names["bench"].take(item),
                    names["split"].take(item),
                    names["item_id"].take(item),
                    shard,
                    *[c.matches.column(f.name) for f in SHARD_MATCHES_SCHEMA][1:],
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
    items: pa.Table, order: list[tuple[str, str]], totals: dict[str, int]
) -> pa.Table:
    """Per-bench roll-up of the items table, through DuckDB."""
    import duckdb

    con = duckdb.connect()
    con.register("items", items)
    rows = con.execute(
        """
        SELECT bench, split, count(*) AS items,
               count(*) FILTER (WHERE contaminated) AS contaminated,
               count(*) FILTER (WHERE contaminated) / count(*) AS contaminated_fraction,
               count(*) FILTER (WHERE input_contaminated) AS input_contaminated,
               count(*) FILTER (WHERE full_contaminated) AS full_contaminated
        FROM items GROUP BY bench, split
        """
    ).fetchall()
    con.close()
    rows.sort(key=lambda r: order.index((r[0], r[1])))
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [[]] * 7
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
