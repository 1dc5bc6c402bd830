"""Benchmarks: the registry in ``benchmarks_meta/*.toml`` and custom files -> `BenchItem`.

A bench is named on the command line as ``mmlu`` (its default split), ``mmlu:val`` (another
split) or a path to a ``.jsonl``/``.csv``/``.parquet`` file (a custom bench named after the file
stem). Registry data is looked for in ``--bench-dir``/``$CONTAM_BENCH_DIR`` (the files in their
original layout), then in the cache that ``contam benches fetch`` fills.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
import string
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from contam.config import cache_root
from contam.errors import BenchError
from contam.fields import field_values, join_fields
from contam.records import BenchItem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CUSTOM_SUFFIXES = (".jsonl", ".csv", ".parquet")


def meta_dir() -> Path:
    """Where the registry TOMLs live: ``$CONTAM_META_DIR``, the source tree, or the install."""
    env = os.environ.get("CONTAM_META_DIR")
    candidates = [Path(env)] if env else []
    candidates += [
        Path(__file__).resolve().parent.parent / "benchmarks_meta",
        Path(sys.prefix) / "share" / "contam" / "benchmarks_meta",
    ]
    for path in candidates:
        if path.is_dir() and any(path.glob("*.toml")):
            return path
    raise BenchError(
        "benchmark registry not found; set CONTAM_META_DIR to a benchmarks_meta folder"
    )


def cache_dir() -> Path:
    """Where fetched benchmark files go: ``$CONTAM_CACHE_DIR/benchmarks`` or ~/.cache/contam."""
    return cache_root() / "benchmarks"


@dataclass(frozen=True, slots=True)
class SplitSpec:
    name: str
    files: tuple[tuple[str, dict[str, str]], ...]  # layout path, template vars of that file
    count: int
    sha256: str
    where: dict[str, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BenchSpec:
    """One registry entry, parsed from ``benchmarks_meta/<name>.toml``."""

    name: str
    title: str
    license: str
    homepage: str
    default_split: str
    splits: dict[str, SplitSpec]
    format: dict[str, Any]
    item: dict[str, Any]
    source: dict[str, Any]
    path: Path

    @classmethod
    def from_toml(cls, path: Path) -> BenchSpec:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise BenchError(f"{path}: cannot read registry entry ({e})") from e
        if raw.get("name") != path.stem:
            raise BenchError(f"{path}: name {raw.get('name')!r} must equal the file stem")
        variables: dict[str, list[str]] = raw.get("vars", {})
        splits = {}
        for split_name, s in raw["splits"].items():
            files = []
            for template in s["files"]:
                files.extend(_expand(template, variables, split_name))
            where = {k: (int(v[0]), int(v[1])) for k, v in s.get("where", {}).items()}
            splits[split_name] = SplitSpec(
                split_name, tuple(files), int(s["count"]), str(s["sha256"]), where
            )
        return cls(
            name=raw["name"],
            title=raw.get("title", raw["name"]),
            license=raw.get("license", "unknown"),
            homepage=raw.get("homepage", ""),
            default_split=raw["default_split"],
            splits=splits,
            format=raw["format"],
            item=raw["item"],
            source=raw.get("source", {}),
            path=path,
        )


def _expand(
    template: str, variables: dict[str, list[str]], split: str
) -> list[tuple[str, dict[str, str]]]:
    names = [f for _, f, _, _ in string.Formatter().parse(template) if f]
    combos: list[dict[str, str]] = [{"split": split}]
    for name in names:
        if name == "split":
            continue
        combos = [{**c, name: v} for c in combos for v in variables[name]]
    return [(template.format(**c), c) for c in combos]


def registry() -> dict[str, BenchSpec]:
    """Every known bench by name."""
    return {p.stem: BenchSpec.from_toml(p) for p in sorted(meta_dir().glob("*.toml"))}


#: The ``--bench`` value that stands for every registry bench (default splits).
ALL_BENCHES = "all"


def expand_names(names: list[str]) -> list[str]:
    """``--bench`` values with `ALL_BENCHES` replaced by every registry bench not named
    otherwise (so ``all`` plus ``mmlu:val`` scans MMLU's val split, not test as well)."""
    if ALL_BENCHES not in names or Path(ALL_BENCHES).exists():
        return names
    named = {n.partition(":")[0] for n in names}
    out: list[str] = []
    for name in names:
        if name == ALL_BENCHES:
            out += [b for b in registry() if b not in named and b not in out]
        else:
            out.append(name)
    return out


def split_digest(root: Path, layout_paths: list[str]) -> str:
    """SHA-256 over ``<layout path>\\t<sha256 of file>\\n`` lines, files sorted by layout path."""
    lines = []
    for rel in sorted(set(layout_paths)):
        h = hashlib.sha256()
        with open(root / rel, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        lines.append(f"{rel}\t{h.hexdigest()}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class BenchSource:
    """A resolved bench: what to read, and the checksum an index built from it records."""

    name: str
    split: str
    files: tuple[tuple[Path, dict[str, str]], ...]
    checksum: str
    spec: BenchSpec | None = None
    # custom benches only
    id_field: str = "id"
    text_fields: tuple[str, ...] = ("text",)
    label_fields: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Stable name of the index folder: ``mmlu``, ``mmlu-val``, or the custom file stem."""
        if self.spec is None or self.split == self.spec.default_split:
            return self.name
        return f"{self.name}-{self.split}"

    def describe(self) -> dict[str, Any]:
        """What the index manifest and ``run.json`` record about the source."""
        out: dict[str, Any] = {
            "bench": self.name,
            "split": self.split,
            "checksum": self.checksum,
            "files": [str(p) for p, _ in self.files],
        }
        if self.spec is None:
            out.update(
                id_field=self.id_field,
                text_fields=list(self.text_fields),
                label_fields=list(self.label_fields),
            )
        return out


def resolve_bench(
    name: str,
    bench_dir: Path | None = None,
    id_field: str = "id",
    text_fields: tuple[str, ...] = ("text",),
    label_fields: tuple[str, ...] = (),
) -> BenchSource:
    """Turn a ``--bench`` value into a `BenchSource`, or say how to get the data.

    Example:
        >>> resolve_bench("gsm8k", bench_dir=Path("../shared/data/benchmarks")).split
        'test'
    """
    path = Path(name)
    if path.suffix in CUSTOM_SUFFIXES or path.exists():
        if not path.is_file():
            raise BenchError(f"custom bench file {name} not found")
        if path.suffix not in CUSTOM_SUFFIXES:
            raise BenchError(f"{name}: a custom bench must be .jsonl, .csv or .parquet")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        return BenchSource(
            path.stem, "custom", ((path, {}),), digest, None, id_field, text_fields, label_fields
        )
    bench, _, split = name.partition(":")
    known = registry()
    if bench not in known:
        raise BenchError(
            f"unknown bench {bench!r}; known: {', '.join(known)}; "
            "or give a .jsonl/.csv/.parquet file"
        )
    spec = known[bench]
    split = split or spec.default_split
    if split not in spec.splits:
        raise BenchError(f"{bench} has no split {split!r}; splits: {', '.join(spec.splits)}")
    s = spec.splits[split]
    layout = [rel for rel, _ in s.files]
    root = locate_data(spec, layout, bench_dir)
    digest = split_digest(root, layout)
    if digest != s.sha256:
        raise BenchError(
            f"{bench}:{split} files under {root} differ from the registered release "
            f"(sha256 {digest[:12]} != {s.sha256[:12]}); re-fetch with: contam benches fetch "
            f"{bench}, or scan your copy as a custom bench file"
        )
    files = tuple((root / rel, variables) for rel, variables in s.files)
    return BenchSource(bench, split, files, digest, spec)


def data_roots(bench_dir: Path | None) -> list[Path]:
    """Folders searched for registry data, in order."""
    roots = []
    if bench_dir is not None:
        roots.append(Path(bench_dir))
    elif os.environ.get("CONTAM_BENCH_DIR"):
        roots.append(Path(os.environ["CONTAM_BENCH_DIR"]))
    roots.append(cache_dir())
    return roots


def locate_data(spec: BenchSpec, layout: list[str], bench_dir: Path | None) -> Path:
    """The first data root holding every file of ``layout``."""
    roots = data_roots(bench_dir)
    for root in roots:
        if all((root / rel).is_file() for rel in layout):
            return root
    looked = ", ".join(str(r) for r in roots)
    raise BenchError(
        f"{spec.name} data not found (looked in {looked}); get it with: contam benches fetch "
        f"{spec.name}, or point --bench-dir at a folder with {layout[0]}"
    )


def iter_items(source: BenchSource) -> Iterator[BenchItem]:
    """Every item of the bench, in file order; checks ids are unique and the count matches."""
    for item, _, _ in iter_item_records(source):
        yield item


def iter_item_records(source: BenchSource) -> Iterator[tuple[BenchItem, Any, Path]]:
    """Every item with the record it was read from and that record's file, in file order
    (what ``contam export`` writes back); checks ids are unique and the count matches."""
    seen: set[str] = set()
    count = 0
    for path, variables in source.files:
        for row, (line, record) in enumerate(_read_records(path, source)):
            item = _make_item(source, record, path, line, row, variables)
            if item is None:
                continue
            if item.item_id in seen:
                raise BenchError(f"{path}:{line}: duplicate item id {item.item_id!r}")
            seen.add(item.item_id)
            count += 1
            yield item, record, path
    if source.spec is not None and count != source.spec.splits[source.split].count:
        expected = source.spec.splits[source.split].count
        raise BenchError(f"{source.name}:{source.split} has {count} items, expected {expected}")
    if count == 0:
        raise BenchError(f"{source.files[0][0]}: bench has no items")


def file_format(source: BenchSource, path: Path) -> dict[str, Any]:
    """How a bench file is laid out: ``kind`` (jsonl, jsonl.gz, json, csv, parquet) and, for
    CSV, ``header``, ``columns`` and ``encoding``."""
    return dict(source.spec.format) if source.spec else {"kind": path.suffix.lstrip(".")}


def _make_item(
    source: BenchSource,
    record: Any,
    path: Path,
    line: int,
    row: int,
    variables: dict[str, str],
) -> BenchItem | None:
    if not isinstance(record, dict):
        raise BenchError(f"{path}:{line}: record is not an object")
    if source.spec is None:
        if source.id_field not in record:
            raise BenchError(
                f"{path}:{line}: record has no id field {source.id_field!r} (--id-field)"
            )
        item_id = str(record[source.id_field])
        input_text, missing = join_fields(record, source.text_fields)
        if missing:
            raise BenchError(f"{path}:{line}: record has no field {missing!r} (--text-field)")
        label_text, missing = join_fields(record, source.label_fields)
        if missing:
            raise BenchError(f"{path}:{line}: record has no field {missing!r} (--label-field)")
        return BenchItem(source.name, source.split, item_id, input_text, label_text)
    spec = source.spec
    for key, (lo, hi) in spec.splits[source.split].where.items():
        if not lo <= int(record[key]) <= hi:
            return None
    values = {**variables, "row": str(row)}
    values.update({k: str(v) for k, v in record.items() if isinstance(v, (str, int, float))})
    input_text, missing = join_fields(record, spec.item["input"])
    if missing:
        raise BenchError(f"{path}:{line}: record has no field {missing!r} ({spec.path.name})")
    # A missing label (C-Eval's test split has no answers) is an empty label.
    label_parts = [v for p in spec.item.get("label", []) for v in (field_values(record, p) or [])]
    group = spec.item.get("group")
    return BenchItem(
        spec.name,
        source.split,
        spec.item["id"].format(**values),
        input_text,
        "\n".join(label_parts),
        group.format(**values) if group else None,
    )


def _read_records(path: Path, source: BenchSource) -> Iterator[tuple[int, Any]]:
    """(line number, record) pairs of a bench file."""
    fmt = file_format(source, path)
    kind = fmt["kind"]
    try:
        if kind in ("jsonl", "jsonl.gz"):
            opener = gzip.open if kind == "jsonl.gz" else open
            with opener(path, "rb") as f:
                for line_no, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    try:
                        record = orjson.loads(line)
                    except orjson.JSONDecodeError as e:
                        raise BenchError(f"{path}:{line_no}: invalid JSON ({e})") from e
                    yield line_no, record
        elif kind == "json":
            records = orjson.loads(path.read_bytes())
            yield from enumerate(records, 1)
        elif kind == "csv":
            text = path.read_text(encoding=fmt.get("encoding", "utf-8-sig"))
            reader = csv.reader(io.StringIO(text, newline=""))
            columns: list[str] = list(fmt.get("columns") or [])
            if fmt.get("header", True):
                header = next(reader, None)
                if header is None:
                    return
                columns = columns or header
            for row in reader:
                if row:
                    yield reader.line_num, dict(zip(columns, row, strict=False))
        elif kind == "parquet":
            import pyarrow.parquet as pq

            for i, record in enumerate(pq.read_table(path).to_pylist(), 1):
                yield i, record
        else:
            raise BenchError(f"{path}: unknown bench file format {kind!r}")
    except orjson.JSONDecodeError as e:
        raise BenchError(f"{path}: invalid JSON ({e})") from e
    except (OSError, UnicodeDecodeError, EOFError, csv.Error) as e:
        raise BenchError(f"{path}: cannot read bench file ({e})") from e
