"""Field paths into JSON-like records: ``question.choices[*].text``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_PART = re.compile(r"^([^\[\]]+)((?:\[(?:\*|\d+)\])*)$")


def field_values(record: Any, path: str) -> list[str] | None:
    """All values at ``path`` as strings, or None when the path is absent: a name no object
    has, a subscript of what is no list, an index past every list's end, or only objects at
    the end (no text; a null is an empty value).

    ``a.b`` descends into objects, ``a[*]`` takes every element of a list, ``a[0]`` one.
    Bytes are read as UTF-8 (`UnicodeDecodeError` if they are not).

    Example:
        >>> field_values({"q": {"c": [{"t": "x"}, {"t": 2}]}}, "q.c[*].t")
        ['x', '2']
    """
    current: list[Any] = [record]
    for part in path.split("."):
        m = _PART.match(part)
        if m is None:
            raise ValueError(f"bad field path {path!r} at {part!r}")
        name, subscripts = m.group(1), m.group(2)
        nxt = [c[name] for c in current if isinstance(c, dict) and name in c]
        if not nxt:
            return None
        for sub in re.findall(r"\[(\*|\d+)\]", subscripts):
            lists = [c for c in nxt if isinstance(c, list)]
            if sub == "*":
                nxt = [x for c in lists for x in c]
            else:
                nxt = [c[int(sub)] for c in lists if int(sub) < len(c)]
            if not lists or (sub != "*" and not nxt):
                return None
        current = nxt
    if current and all(isinstance(v, dict) for v in current):
        return None
    return [_as_text(v) for v in current if v is not None and not isinstance(v, dict)]


def field_root(path: str) -> str:
    """The top-level field a path reads (a Parquet column to load).

    Example:
        >>> field_root("question.choices[*].text")
        'question'
    """
    return path.split(".")[0].split("[")[0]


def single_top_field(paths: Sequence[str]) -> str | None:
    """The one field ``paths`` name, when they name exactly one top-level field, else None:
    the case the JSONL kernel reads and a span cut rewrites.

    Example:
        >>> single_top_field(["text"]), single_top_field(["q.text"]), single_top_field(["a", "b"])
        ('text', None, None)
    """
    return paths[0] if len(paths) == 1 and field_root(paths[0]) == paths[0] else None


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, list):
        return "\n".join(_as_text(v) for v in value)
    return str(value)


def join_fields(record: Any, paths: tuple[str, ...] | list[str]) -> tuple[str, str | None]:
    """Join the values of ``paths`` with newlines; also name the first path that is absent."""
    if len(paths) == 1 and isinstance(record, dict):
        value = record.get(paths[0])
        if isinstance(value, str):  # the common case: one plain string field
            return value, None
    texts: list[str] = []
    for path in paths:
        values = field_values(record, path)
        if values is None:
            return "", path
        texts.extend(values)
    return "\n".join(texts), None
