"""The numba JSONL extractor: what it reads must be what orjson reads, and what it cannot
vouch for must go to orjson."""

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contam.jsonl import LINE_BLANK, LINE_DOC, LINE_PYTHON, MAX_DEPTH, extract_lines
from contam.shards import ShardReader

Read = tuple[int, str | None, str | None, int]  # kind, text, id, chars


def extract(data: bytes, text: str = "text", id_field: str = "id") -> list[Read]:
    """Every line of ``data`` as the kernel reads it."""
    buf = np.frombuffer(data, dtype=np.uint8).copy()
    rows = extract_lines(
        buf,
        len(buf),
        np.frombuffer(text.encode(), np.uint8),
        np.frombuffer(id_field.encode(), np.uint8),
    )
    got: list[Read] = []
    for kind, _, _, t0, t1, chars, d0, d1 in rows.tolist():
        if kind != LINE_DOC:
            got.append((kind, None, None, 0))
            continue
        doc_id = buf[d0:d1].tobytes().decode() if d1 >= 0 else None
        got.append((kind, buf[t0:t1].tobytes().decode(), doc_id, chars))
    return got


def one(line: str | bytes) -> Read:
    data = line.encode() if isinstance(line, str) else line
    (read,) = extract(data)
    return read


DOCS = [
    ('{"id": 1, "text": "a\\u00e9b\\ud83d\\ude00"}', "aéb😀", "1"),
    ('{"text":"x"}', "x", None),
    ('{"id": null, "text": "x"}', "x", None),
    ('  {"text" : "x" , "id":"q\\n\\"\\\\\\/\\b\\f\\r\\t"}  \r', "x", 'q\n"\\/\b\f\r\t'),
    ('{"id":"d","meta":{"a":[1,2,{"b":null}],"c":-1.5e10,"e":[]},"text":"yo"}', "yo", "d"),
    ('{"标题": "x", "text": "中文，𠀀"}', "中文，𠀀", None),
    ('{"id": 123456789012345678, "text": ""}', "", "123456789012345678"),
    ('{"id": -7, "text": "\\u0000"}', "\x00", "-7"),
    ('{"n": 1e99, "m": 0.5e-40, "text": "a\x7fb"}', "a\x7fb", None),
    ('{"t": [true, false, null, "s", {"k": {}}], "text": "a"}', "a", None),
    ('{"id": "", "text": "\\u20ac\\u00a0"}', "€\xa0", ""),
    ('{"x":' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + ',"text":"d"}', "d", None),  # nested in a value
]


@pytest.mark.parametrize(("line", "text", "doc_id"), DOCS)
def test_plain_records_are_read_in_the_kernel(line: str, text: str, doc_id: str | None) -> None:
    assert one(line) == (LINE_DOC, text, doc_id, len(text))
    record = orjson.loads(line)  # the reference agrees
    assert record["text"] == text
    assert (None if record.get("id") is None else str(record["id"])) == doc_id


LEFT_TO_ORJSON = [
    "[1]",  # not an object
    "{}",  # no text
    '{"text": 1}',  # not a string
    '{"text": "a", "text": "b"}',  # duplicate text key: orjson keeps the last
    '{"id": 1, "id": 2, "text": "a"}',
    '{"te\\u0078t": "a"}',  # an escaped key
    '{"id": 1.5, "text": "a"}',  # ids whose str() is not their literal
    '{"id": -0, "text": "a"}',
    '{"id": 1e3, "text": "a"}',
    '{"id": true, "text": "a"}',
    '{"id": [1], "text": "a"}',
    '{"id": 1234567890123456789, "text": "a"}',  # 19 digits
    '{"n": 1e400, "text": "a"}',  # orjson: infinity
    '{"n": 1e100, "text": "a"}',  # might be: left to orjson
    '{"text": "a"} x',
    '{"text": "a"},',
    '{"text": "\\ud800"}',
    '{"text": "\\udc00"}',
    '{"text": "\\ud83d\\u0041"}',
    '{"text": "a\tb"}',  # a raw control character
    '{"text": "\\x41"}',
    '{"text": "a", }',
    '{"n": [1,], "text": "a"}',
    '{"n": 01, "text": "a"}',
    '{"n": 1., "text": "a"}',
    '{"n": .5, "text": "a"}',
    '{"n": nul, "text": "a"}',
    '{"text": "a"',
    '{"text" "a"}',
    "\x0c",
    '\ufeff{"text": "a"}',
    '{"x":' + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + ',"text":"d"}',
]


@pytest.mark.parametrize("line", LEFT_TO_ORJSON)
def test_unusual_or_bad_records_are_left_to_orjson(line: str) -> None:
    assert one(line)[0] == LINE_PYTHON


@pytest.mark.parametrize(
    "data",
    [b'{"text": "\xff"}', b'{"text": "\xc0\x80"}', b'{"text": "\xed\xa0\x80"}', b'{"t\xe9": 1}'],
)
def test_invalid_utf8_is_left_to_orjson(data: bytes) -> None:
    assert one(data)[0] == LINE_PYTHON


def test_lines_blank_and_last() -> None:
    data = b'{"text": "a"}\n \t\r\n\n{"text": "b"}'  # the last line has no newline
    assert [r[0] for r in extract(data)] == [LINE_DOC, LINE_BLANK, LINE_BLANK, LINE_DOC]
    buf = np.frombuffer(data, dtype=np.uint8).copy()
    rows = extract_lines(buf, 19, np.frombuffer(b"text", np.uint8), np.frombuffer(b"id", np.uint8))
    assert rows[:, 0].tolist() == [LINE_DOC, LINE_BLANK, LINE_BLANK]  # up to ``end`` only
    assert rows[:, 1:3].tolist() == [[0, 13], [14, 17], [18, 18]]


def test_a_bad_line_ends_at_its_newline() -> None:
    data = b'{"text": "a\n{"text": "b"}\n'  # a raw newline cuts the first string
    assert [r[0] for r in extract(data)] == [LINE_PYTHON, LINE_DOC]


def test_other_field_names() -> None:
    assert one('{"id": 1, "body": "x", "key": "k"}') == (LINE_PYTHON, None, None, 0)
    assert extract(b'{"id": 1, "body": "x", "key": "k"}', "body", "key") == [
        (LINE_DOC, "x", "k", 1)
    ]


# Differential: random JSON records, some mangled, against orjson.

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
records = st.fixed_dictionaries(
    {},
    optional={
        "text": st.text(max_size=30) | scalars,
        "id": st.text(max_size=6) | st.integers(-(10**20), 10**20) | st.none() | st.floats(),
        "meta": values,
    },
)


def dumped(record: dict[str, Any], style: int) -> bytes:
    if style == 0:
        return orjson.dumps(record)
    if style == 1:  # escapes for every non-ASCII character, spaces after separators
        return json.dumps(record, ensure_ascii=True, allow_nan=False).encode()
    return json.dumps(record, ensure_ascii=False, indent=None, separators=(" ,", " : ")).encode()


def expect_orjson(line: bytes, read: Read) -> None:
    """The kernel's verdict on ``line`` holds against orjson."""
    kind, text, doc_id, chars = read
    if kind == LINE_BLANK:
        assert line.strip(b" \t\r") == b""
    elif kind == LINE_DOC:
        record = orjson.loads(line)
        assert type(record) is dict and record["text"] == text and chars == len(text)
        expected_id = record.get("id")
        assert doc_id == (None if expected_id is None else str(expected_id))


@settings(max_examples=400, deadline=None)
@given(records, st.integers(0, 2))
def test_well_formed_records_read_as_orjson_reads_them(record: dict[str, Any], style: int) -> None:
    try:
        line = dumped(record, style)
    except (ValueError, TypeError, OverflowError):
        return  # not representable (NaN from floats(), huge ints for orjson)
    read = one(line)
    expect_orjson(line, read)
    doc_id = record.get("id")
    short_int = type(doc_id) is int and len(str(abs(doc_id))) <= 18
    plain = type(record.get("text")) is str and (doc_id is None or type(doc_id) is str or short_int)
    if plain and not _has_unusual_numbers(record) and not _has_escaped_keys(line):
        assert read[0] == LINE_DOC  # the fast path is taken for plain records


def _has_unusual_numbers(value: Any) -> bool:
    """A float whose repr has a 3-digit exponent (left to orjson, which may call it infinite)."""
    if isinstance(value, float):
        return "e" in repr(value) and len(repr(value).split("e")[1].lstrip("+-")) > 2
    if isinstance(value, dict):
        return any(_has_unusual_numbers(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unusual_numbers(v) for v in value)
    return False


def _has_escaped_keys(line: bytes) -> bool:
    return b"\\" in line and any(b"\\" in k.encode() for k in _keys(orjson.loads(line)))


def _keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [k for k in value] + [k for v in value.values() for k in _keys(v)]
    if isinstance(value, list):
        return [k for v in value for k in _keys(v)]
    return []


@settings(max_examples=600, deadline=None)
@given(records, st.integers(0, 2), st.lists(st.tuples(st.integers(0, 200), st.binary(max_size=2))))
def test_mangled_records_are_never_misread(
    record: dict[str, Any], style: int, edits: list[tuple[int, bytes]]
) -> None:
    try:
        line = bytearray(dumped(record, style))
    except (ValueError, TypeError, OverflowError):
        return
    for at, new in edits:  # replace a byte (or delete it) with 0-2 random bytes
        if not line:
            return
        at %= len(line)
        line[at : at + 1] = new.replace(b"\n", b"")
    if line:
        expect_orjson(bytes(line), one(bytes(line)))


def test_real_corpus_shards_read_as_orjson_reads_them(corpus_dir: Path) -> None:
    shards = [
        *corpus_dir.glob("*/*.jsonl"),
        *corpus_dir.glob("*/*.jsonl.gz"),
        *corpus_dir.glob("*/*.json.gz"),
    ]
    assert len(shards) >= 6
    for shard in shards:
        raw = shard.read_bytes()
        data = gzip.decompress(raw) if shard.suffix == ".gz" else raw
        expected = []
        for number, line in enumerate(data.split(b"\n"), 1):
            if line.strip():
                record = orjson.loads(line)
                doc_id = record.get("id")
                expected.append((str(number if doc_id is None else doc_id), number, record["text"]))
        reader = ShardReader(shard, batch_chars=1 << 16)
        got = [
            (doc_id, line, text)
            for batch in reader.batches()
            for doc_id, line, text in zip(batch.doc_ids, batch.lines, batch.texts, strict=True)
        ]
        assert got == expected, shard
        assert reader.stats.records == len(expected)
        kinds = extract_lines(
            np.frombuffer(data, np.uint8).copy(),
            len(data),
            np.frombuffer(b"text", np.uint8),
            np.frombuffer(b"id", np.uint8),
        )[:, 0]
        assert (kinds == LINE_DOC).sum() == len(expected), shard  # all in the kernel


def test_ids_of_every_kind_in_one_chunk(tmp_path: Path) -> None:
    lines = [
        '{"id": "a", "text": "x"}',
        '{"text": "y"}',  # no id: the line number
        '{"id": 1234567890123, "text": "z"}',
        '{"id": null, "text": "w"}',
        '{"id": "\u00e9\u5929", "text": "v"}',
        '{"id": "", "text": "u"}',
    ]
    path = tmp_path / "ids.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    [batch] = ShardReader(path).batches()
    assert batch.doc_ids == ["a", "2", "1234567890123", "4", "\u00e9\u5929", ""]
    assert batch.lines == [1, 2, 3, 4, 5, 6]


def test_an_id_holding_a_zero_character_is_kept_whole(tmp_path: Path) -> None:
    path = tmp_path / "zero.jsonl"
    path.write_text('{"id": "a\\u0000b", "text": "x"}\n{"text": "y"}\n', encoding="utf-8")
    [batch] = ShardReader(path).batches()
    assert batch.doc_ids == ["a\0b", "2"]


@pytest.mark.parametrize(
    "bad",
    [
        '{"id": nul, "text": "x"}',  # an invalid literal where the id is (the scan hung)
        '{"text": "a\\nb\\0c"}',  # a newline decoded in place, then an invalid escape
        '{"id": "a\\nb\\u0000", "text": "x"}',  # ... then a zero character in the id
        '{"id": "a\\nb\\q", "text": "x"}',
        '{"text": "a\\nb", "id": 12x}',  # ... then an invalid id number
        '{"text": "a\\nb", "id": 1e400}',
    ],
)
def test_a_left_record_stays_one_line_whatever_was_decoded_first(bad: str, tmp_path: Path) -> None:
    data = '{"text": "a"}\n' + bad + '\n{"text": "b"}\n'
    assert [kind for kind, *_ in extract(data.encode())] == [LINE_DOC, LINE_PYTHON, LINE_DOC]
    path = tmp_path / "s.jsonl"
    path.write_text(data, encoding="utf-8")
    reader = ShardReader(path, skip_bad=True)
    lines = [line for batch in reader.batches() for line in batch.lines]
    try:
        orjson.loads(bad)
    except orjson.JSONDecodeError:
        assert (lines, reader.stats.skipped) == ([1, 3], 1)
    else:
        assert (lines, reader.stats.skipped) == ([1, 2, 3], 0)
