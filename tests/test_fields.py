"""Field paths into records: what is text, what is absent."""

from __future__ import annotations

from typing import Any

import pytest

from contam.fields import field_values, join_fields

RECORD = {
    "text": "plain",
    "none": None,
    "empty": [],
    "meta": {"title": "T", "n": 3, "ok": True},
    "parts": [{"t": "a"}, {"t": "b"}, {"u": "c"}],
    "nested": [["x", "y"], ["z"]],
    "raw": "bü".encode(),
}


@pytest.mark.parametrize(
    ("path", "values"),
    [
        ("text", ["plain"]),
        ("meta.title", ["T"]),
        ("meta.n", ["3"]),
        ("meta.ok", ["true"]),
        ("parts[*].t", ["a", "b"]),  # the element without "t" has no value
        ("parts[1].t", ["b"]),
        ("nested[*][0]", ["x", "z"]),
        ("nested[0]", ["x\ny"]),  # a list of strings joins with newlines
        ("none", []),  # present, but null: an empty value
        ("empty[*]", []),  # present, but an empty list
        ("raw", ["bü"]),  # bytes (a Parquet binary column) read as UTF-8
        # absent: no such name, a subscript of what is no list, an index past the end, an
        # object where text should be
        ("body", None),
        ("meta.body", None),
        ("text[0]", None),
        ("text[*]", None),
        ("parts[5].t", None),
        ("empty[0]", None),
        ("meta", None),
        ("parts[0]", None),
    ],
)
def test_field_values(path: str, values: list[str] | None) -> None:
    assert field_values(RECORD, path) == values


def test_bytes_that_are_not_utf8_raise() -> None:
    with pytest.raises(UnicodeDecodeError):
        field_values({"raw": b"a\xff"}, "raw")


@pytest.mark.parametrize(
    ("paths", "joined"),
    [
        (["text"], ("plain", None)),
        (["meta.title", "text"], ("T\nplain", None)),
        (["text", "text[0]", "body"], ("", "text[0]")),  # the first absent path is named
    ],
)
def test_join_fields(paths: list[str], joined: tuple[str, Any]) -> None:
    assert join_fields(RECORD, paths) == joined
