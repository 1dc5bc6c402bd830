"""The probe's Parquet tables: schemas, rows -> tables, the join with a scan, terminal text.

A probe writes, under its output folder:

    scores.parquet          one row per item                  (SCORES_SCHEMA)
    sharded.parquet         one row per bench, with --sharded (SHARDED_SCHEMA)
    sharded_shards.parquet  one row per shard of each bench   (SHARDS_SCHEMA)
    joined.parquet          scores + a scan's items, --scan   (JOINED_SCHEMA)
    run.json                settings, models, versions, timings

and ``probe-eval`` writes ``eval.parquet`` (EVAL_SCHEMA), ``scores.parquet``
(EVAL_SCORES_SCHEMA: the scores and whether the item is a member) and ``run.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from contam.errors import ReportError
from contam.probe.calibrate import MetricEval
from contam.probe.scores import METRICS, ItemScores
from contam.probe.sharded import ShardedResult
from contam.records import BenchItem
from contam.report import ITEMS_SCHEMA
from contam.summary import Table

KEYS = ("bench", "split", "item_id")

SCORES_SCHEMA = pa.schema(
    [
        ("bench", pa.string()),
        ("split", pa.string()),
        ("item_id", pa.string()),
        ("group", pa.string()),
        ("part", pa.string()),
        ("tokens", pa.int32()),
        ("bytes", pa.int32()),
        ("zlib_bytes", pa.int32()),
        ("nll_per_byte", pa.float64()),
        ("ref_nll_per_byte", pa.float64()),
        *[(m, pa.float64()) for m in METRICS],
    ]
)

EVAL_SCORES_SCHEMA = pa.schema([*SCORES_SCHEMA, ("member", pa.bool_())])

SHARDED_SCHEMA = pa.schema(
    [
        ("bench", pa.string()),
        ("split", pa.string()),
        ("items", pa.int64()),
        ("shards", pa.int32()),
        ("permutations", pa.int32()),
        ("seed", pa.int64()),
        ("statistic", pa.float64()),
        ("t", pa.float64()),
        ("p_value", pa.float64()),
    ]
)

SHARDS_SCHEMA = pa.schema(
    [
        ("bench", pa.string()),
        ("split", pa.string()),
        ("shard", pa.int32()),
        ("first_item_id", pa.string()),
        ("items", pa.int32()),
        ("canonical_logprob", pa.float64()),
        ("permuted_mean", pa.float64()),
        ("permuted_std", pa.float64()),
        ("diff", pa.float64()),
    ]
)

EVAL_SCHEMA = pa.schema(
    [
        ("metric", pa.string()),
        ("members", pa.int64()),
        ("nonmembers", pa.int64()),
        ("auroc", pa.float64()),
        ("tpr_at_5_fpr", pa.float64()),
        ("member_if_low", pa.bool_()),
    ]
)

#: The scan's item columns that join the scores (its ``group`` is the same as ours).
SCAN_FIELDS = [f for f in ITEMS_SCHEMA if f.name not in (*KEYS, "group")]
JOINED_SCHEMA = pa.schema([*SCORES_SCHEMA, *SCAN_FIELDS])


def scores_table(items: Sequence[BenchItem], scores: Sequence[ItemScores], part: str) -> pa.Table:
    """Rows of `SCORES_SCHEMA`, one per item."""
    rows = [
        {"bench": it.bench, "split": it.split, "item_id": it.item_id, "group": it.group,
         "part": part, **asdict(s)}
        for it, s in zip(items, scores, strict=True)
    ]  # fmt: skip
    return pa.Table.from_pylist(rows, schema=SCORES_SCHEMA)


def sharded_tables(
    bench: str, split: str, items: Sequence[BenchItem], result: ShardedResult, seed: int
) -> tuple[pa.Table, pa.Table]:
    """One `SHARDED_SCHEMA` row and the `SHARDS_SCHEMA` rows of one bench's test."""
    shards, permutations = result.permuted.shape
    head = {"bench": bench, "split": split, "items": len(items), "shards": shards,
            "permutations": permutations, "seed": seed, "statistic": result.statistic,
            "t": result.t, "p_value": result.p_value}  # fmt: skip
    ends = [*result.starts[1:].tolist(), len(items)]
    diffs = result.diffs
    rows = [
        {"bench": bench, "split": split, "shard": s, "first_item_id": items[a].item_id,
         "items": b - a, "canonical_logprob": float(result.canonical[s]),
         "permuted_mean": float(result.permuted[s].mean()),
         "permuted_std": float(result.permuted[s].std(ddof=1)) if permutations > 1 else None,
         "diff": float(diffs[s])}
        for s, (a, b) in enumerate(zip(result.starts.tolist(), ends, strict=True))
    ]  # fmt: skip
    return (
        pa.Table.from_pylist([head], schema=SHARDED_SCHEMA),
        pa.Table.from_pylist(rows, schema=SHARDS_SCHEMA),
    )


def eval_table(evals: Sequence[MetricEval]) -> pa.Table:
    """Rows of `EVAL_SCHEMA`, one per metric."""
    rows = [asdict(e) | {"tpr_at_5_fpr": e.tpr_at_fpr} for e in evals]
    return pa.Table.from_pylist(rows, schema=EVAL_SCHEMA)  # the schema drops tpr_at_fpr


def scan_items_path(scan: Path) -> Path:
    """``scan`` itself if it is a file, else its ``items.parquet``."""
    path = scan / "items.parquet" if scan.is_dir() else scan
    if not path.is_file():
        raise ReportError(f"no scan report at {path} (give the folder of a contam scan)")
    return path


def join_scan(scores: pa.Table, scan: Path) -> tuple[pa.Table, int]:
    """Scores left-joined with a scan's items on (bench, split, item_id), in the scores'
    order; and how many scored items the scan has no row for."""
    path = scan_items_path(scan)
    try:
        items = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as e:
        raise ReportError(f"cannot read scan report {path}: {e}") from None
    missing = [f.name for f in SCAN_FIELDS if f.name not in items.column_names]
    if missing or any(k not in items.column_names for k in KEYS):
        raise ReportError(
            f"{path} lacks columns {', '.join(missing) or ', '.join(KEYS)}: it is not an "
            "items.parquet of this contam version; rescan with: contam scan ..."
        )
    right = items.select([*KEYS, *[f.name for f in SCAN_FIELDS]]).cast(
        pa.schema([*[SCORES_SCHEMA.field(k) for k in KEYS], *SCAN_FIELDS])
    )
    order = pa.array(range(scores.num_rows), pa.int64())
    joined = scores.append_column("_row", order).join(right, list(KEYS), join_type="left outer")
    joined = joined.sort_by("_row").drop_columns(["_row"])
    if joined.num_rows != scores.num_rows:
        raise ReportError(f"{path} holds an item twice")
    unmatched = joined.column("input_tokens").null_count  # never null in a scan's row
    return joined.select(JOINED_SCHEMA.names).cast(JOINED_SCHEMA), unmatched


def fmt(value: Any, digits: int = 3) -> str:
    """A number for a terminal table; ``-`` for none."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e-3 and value != 0 else f"{value:.{digits}f}"
    return f"{value:,}"


def summary_text(scores: pa.Table, sharded: pa.Table, run: dict[str, Any]) -> str:
    """The table ``contam probe`` prints: per bench, items, tokens, mean loss and the sharded
    test's p-value; then the totals."""
    p_values = {(r["bench"], r["split"]): r["p_value"] for r in sharded.to_pylist()}
    per_bench: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in scores.select(["bench", "split", "tokens", "loss"]).to_pylist():
        per_bench.setdefault((r["bench"], r["split"]), []).append(r)
    rows: list[tuple[str, ...]] = []
    for bench in run["benches"]:
        key = (bench["bench"], bench["split"])
        mine = per_bench.get(key, [])
        loss = [r["loss"] for r in mine if r["loss"] is not None]
        mean = sum(loss) / len(loss) if loss else None
        tokens = sum(r["tokens"] for r in mine)
        rows.append((*key, fmt(len(mine)), fmt(tokens), fmt(mean), fmt(p_values.get(key))))
    read, seconds = run["tokens_read"], run["seconds"]
    rate = read / seconds if seconds else 0.0
    head = ("bench", "split", "items", "tokens", "mean loss", "sharded p")
    return (
        Table("", head, rows, numeric_from=2).text()
        + f"\nthe model read {read:,} tokens in {seconds:.1f}s ({rate:,.0f} tokens/s)"
    )


def eval_text(metrics: Sequence[MetricEval]) -> str:
    """The table ``contam probe-eval`` prints: one row per metric."""
    rows: list[tuple[str, ...]] = [
        (e.metric, fmt(e.members), fmt(e.nonmembers), fmt(e.auroc), fmt(e.tpr_at_fpr),
         "low" if e.member_if_low else "high")
        for e in metrics
    ]  # fmt: skip
    head = ("metric", "members", "nonmembers", "auroc", "tpr@5%fpr", "member if")
    return Table("", head, rows, numeric_from=1).text()
