"""The text of matched documents, read back from the corpus shards a scan named.

A report folder holds offsets, not text: ``matches.parquet`` says which characters of which
record (shard, line) an item's span covers. To show them, the shards are read again, each in
one streaming pass that stops at the last requested line, with the scan's own ``text_fields``
and ``id_field`` so the offsets land on the same string. A shard that is gone or has changed
since the scan (another size than ``run.json`` records, or another id at a requested line)
gives None instead of a wrong excerpt.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contam.errors import ShardError
from contam.shards import ShardReader

#: (shard as named in the report, 1-based record line)
DocKey = tuple[str, int]


@dataclass(frozen=True, slots=True)
class DocRequest:
    """One document to read back: where it is and the id the scan saw there."""

    shard: str
    line: int
    doc_id: str


def read_lines(
    path: Path,
    lines: Iterable[int],
    text_fields: tuple[str, ...] = ("text",),
    id_field: str = "id",
) -> dict[int, tuple[str, str]] | None:
    """Read the records at ``lines`` of one shard in a single pass: line -> (doc id, text).

    None if the shard is missing or unreadable. Reading stops after the last wanted line;
    bad records elsewhere in the shard are skipped, as they were not what the scan matched.

    Example:
        >>> read_lines(Path("corpus/a.jsonl"), [2])  # doctest: +SKIP
        {2: ('d2', 'capital of\\nPERU -- lima')}
    """
    wanted = set(lines)
    if not wanted or not path.is_file():
        return None
    last = max(wanted)
    found: dict[int, tuple[str, str]] = {}
    reader = ShardReader(path, text_fields, id_field, batch_chars=1 << 20, skip_bad=True)
    try:
        for batch in reader.batches():
            for line, doc_id, text in zip(batch.lines, batch.doc_ids, batch.texts, strict=True):
                if line in wanted:
                    found[line] = (doc_id, text)
            if batch.lines and batch.lines[-1] >= last:
                break
    except (ShardError, OSError):
        return None
    return found


def document_texts(run: dict[str, Any], requests: Iterable[DocRequest]) -> dict[DocKey, str | None]:
    """The text of each requested document of a scan (``run`` is its ``run.json``).

    Each shard is read once for all its requested lines. A document's text is None when its
    shard is not among the scan's, is no longer present, has another size than when it was
    scanned, or holds another document id at that line.

    Example:
        >>> report = ScanReport.open("reports/run1")  # doctest: +SKIP
        >>> document_texts(report.run, [DocRequest("corpus/a.jsonl", 1, "d1")])  # doctest: +SKIP
        {('corpus/a.jsonl', 1): 'Yesterday THE QUICK, brown fox jumps! over a lazy dog.'}
    """
    config = run["plan"]["config"]
    text_fields = tuple(config.get("text_fields", ("text",)))
    id_field = str(config.get("id_field", "id"))
    scanned = {s["shard"]: s for s in run.get("shards", [])}
    by_shard: dict[str, dict[int, str]] = defaultdict(dict)
    for r in requests:
        by_shard[r.shard][r.line] = r.doc_id
    texts: dict[DocKey, str | None] = {}
    for shard, ids in sorted(by_shard.items()):
        found = None
        info = scanned.get(shard)
        if info is not None and _same_size(Path(shard), info.get("raw_bytes")):
            found = read_lines(Path(shard), ids, text_fields, id_field)
        for line, doc_id in ids.items():
            record = found.get(line) if found is not None else None
            texts[(shard, line)] = record[1] if record is not None and record[0] == doc_id else None
    return texts


def _same_size(path: Path, raw_bytes: Any) -> bool:
    # run.json records the size of every scanned shard: a cheap check that the file is still
    # the one whose offsets the report holds (a changed record of equal length is caught by
    # the document id, or not at all)
    try:
        size = path.stat().st_size
    except OSError:
        return False
    return raw_bytes is None or int(raw_bytes) == size
