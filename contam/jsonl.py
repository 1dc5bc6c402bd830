"""JSONL lines -> the text field's UTF-8 in one buffer, without a Python object per record.

`extract_lines` parses every line of a decompressed chunk as a JSON object, validating all of
it as strictly as orjson does, and decodes the text and id fields in place, in a copy of
the chunk that becomes the batch buffer. Python then touches only the few documents it needs
as strings (those with hits). A line the kernel cannot vouch for is marked ``LINE_PYTHON`` and
read by `contam.shards.ShardReader` with orjson, as every line used to be, so a bad record is
reported with its file, line and orjson's reason. Such lines are: anything invalid, a record
that is not an object, a text that is missing or not a string, an escaped key, a duplicate
text or id key, an id that is not a string, an integer of up to 18 digits or null, a number
orjson would reject as infinite (or that might be), nesting deeper than `MAX_DEPTH`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

LINE_BLANK = 0  # only JSON whitespace: skipped, as before
LINE_DOC = 1  # a document: text and id (or none: the line number) decoded in place
LINE_PYTHON = 2  # for the Python path (orjson): unusual or bad
MAX_DEPTH = 64  # orjson allows 1024; deeper records are left to it
_FAIL = -1


@njit(inline="always")
def _ws(b, i, e):  # type: ignore[no-untyped-def]
    """Past JSON whitespace but newlines, which end a record."""
    while i < e and (b[i] == 32 or b[i] == 9 or b[i] == 13):
        i += 1
    return i


@njit(inline="always")
def _hex4(b, i, e):  # type: ignore[no-untyped-def]
    """The value of 4 hex digits at ``b[i:]``, or -1."""
    if i + 4 > e:
        return -1
    v = 0
    for k in range(i, i + 4):
        c = b[k]
        if 48 <= c <= 57:
            d = c - 48
        elif 97 <= c <= 102:
            d = c - 87
        elif 65 <= c <= 70:
            d = c - 55
        else:
            return -1
        v = v * 16 + d
    return v


@njit(inline="always")
def _utf8_size(b, i, e):  # type: ignore[no-untyped-def]
    """Bytes of the valid, shortest-form, non-surrogate UTF-8 sequence at ``b[i]`` (a byte
    >= 0x80), or 0."""
    c = b[i]
    if 0xC2 <= c <= 0xDF:
        n, lo, hi = 2, 0x80, 0xBF
    elif 0xE0 <= c <= 0xEF:
        n = 3
        lo = 0xA0 if c == 0xE0 else 0x80
        hi = 0x9F if c == 0xED else 0xBF  # ED A0.. would be a surrogate
    elif 0xF0 <= c <= 0xF4:
        n = 4
        lo = 0x90 if c == 0xF0 else 0x80
        hi = 0x8F if c == 0xF4 else 0xBF  # F4 90.. is past U+10FFFF
    else:
        return 0
    if i + n > e or not lo <= b[i + 1] <= hi:
        return 0
    for k in range(i + 2, i + n):
        if b[k] & 0xC0 != 0x80:
            return 0
    return n


@njit(inline="always")
def _put(out, o, code, write):  # type: ignore[no-untyped-def]
    """Write code point ``code`` as UTF-8 at ``out[o]`` (or only measure it); return the new
    end."""
    if not write:
        return o + (1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4)
    if code < 0x80:
        out[o] = code
        return o + 1
    if code < 0x800:
        out[o] = 0xC0 | (code >> 6)
        out[o + 1] = 0x80 | (code & 0x3F)
        return o + 2
    if code < 0x10000:
        out[o] = 0xE0 | (code >> 12)
        out[o + 1] = 0x80 | ((code >> 6) & 0x3F)
        out[o + 2] = 0x80 | (code & 0x3F)
        return o + 3
    out[o] = 0xF0 | (code >> 18)
    out[o + 1] = 0x80 | ((code >> 12) & 0x3F)
    out[o + 2] = 0x80 | ((code >> 6) & 0x3F)
    out[o + 3] = 0x80 | (code & 0x3F)
    return o + 4


@njit(inline="always")
def _escape(x):  # type: ignore[no-untyped-def]
    """The byte a one-letter escape ``\\x`` stands for, or -1."""
    if x == 34 or x == 92 or x == 47:  # " \ /
        return x
    if x == 110:  # n
        return 10
    if x == 116:  # t
        return 9
    if x == 114:  # r
        return 13
    if x == 98:  # b
        return 8
    if x == 102:  # f
        return 12
    return -1


# bytes a JSON string holds as they are: printable ASCII but the quote and the backslash
_PLAIN = np.zeros(256, dtype=np.bool_)
_PLAIN[0x20:0x80] = True
_PLAIN[[34, 92]] = False


@njit(cache=True, nogil=True)
def _string(b, i, e, write):  # type: ignore[no-untyped-def]
    """Validate the JSON string whose opening quote is at ``b[i - 1]``; with ``write``,
    decode its escapes in place (the decoded text is never longer than its JSON).

    Returns (index past the closing quote or -1, end of the decoded text, its UTF-8
    continuation bytes): the text is ``b[i:end]`` with ``end - i - continuation`` characters.
    On failure the second value is where reading stopped: bytes from there on are as read,
    while those before may hold decoded escapes (a newline among them).
    """
    plain = _PLAIN
    extra = 0
    while True:  # the common case: no escape, nothing written
        while i < e and plain[b[i]]:
            i += 1
        if i >= e:
            return _FAIL, i, extra
        c = b[i]
        if c == 34:
            return i + 1, i, extra
        if c < 0x80:  # a backslash or a control character
            break
        n = _utf8_size(b, i, e)
        if n == 0:
            return _FAIL, i, extra
        i += n
        extra += n - 1
    if c != 92:
        return _FAIL, i, extra
    o = i  # decode from the first escape on
    while i < e:
        c = b[i]
        if c == 34:
            return i + 1, o, extra
        if c == 92:
            if i + 1 >= e:
                return _FAIL, i, extra
            x = b[i + 1]
            if x == 117:  # \u and 4 hex digits: a BMP character, or a surrogate pair
                code = _hex4(b, i + 2, e)
                if code < 0 or 0xDC00 <= code < 0xE000:
                    return _FAIL, i, extra
                i += 6
                if 0xD800 <= code < 0xDC00:
                    if i + 1 >= e or b[i] != 92 or b[i + 1] != 117:
                        return _FAIL, i, extra
                    low = _hex4(b, i + 2, e)
                    if not 0xDC00 <= low < 0xE000:
                        return _FAIL, i, extra
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                size = _put(b, o, code, write) - o
                o += size
                extra += size - 1
            else:
                v = _escape(x)
                if v < 0:
                    return _FAIL, i, extra
                if write:
                    b[o] = v
                o += 1
                i += 2
        elif c < 0x80:
            if c < 0x20:  # control characters must be escaped
                return _FAIL, i, extra
            if write:
                b[o] = c
            o += 1
            i += 1
        else:
            n = _utf8_size(b, i, e)
            if n == 0:
                return _FAIL, i, extra
            if write:
                for k in range(n):
                    b[o + k] = b[i + k]
            o += n
            i += n
            extra += n - 1
    return _FAIL, i, extra


@njit(inline="always")
def _number(b, i, e):  # type: ignore[no-untyped-def]
    """Validate the JSON number at ``b[i:]``. Returns (index past it or -1, whether it is an
    integer whose ``str`` is its literal). A number that could overflow a double is -1, for
    orjson to judge."""
    start = i
    if b[i] == 45:  # -
        i += 1
    if i >= e:
        return _FAIL, False
    if b[i] == 48:  # 0
        i += 1
    elif 49 <= b[i] <= 57:
        while i < e and 48 <= b[i] <= 57:
            i += 1
    else:
        return _FAIL, False
    digits = i - start - (1 if b[start] == 45 else 0)
    plain = digits <= 18 and not (digits == 1 and b[start] == 45 and b[start + 1] == 48)
    if i < e and b[i] == 46:  # .
        i += 1
        first = i
        while i < e and 48 <= b[i] <= 57:
            i += 1
        if i == first:
            return _FAIL, False
        plain = False
    if i < e and (b[i] == 101 or b[i] == 69):  # e E
        i += 1
        if i < e and (b[i] == 43 or b[i] == 45):
            i += 1
        first = i
        while i < e and 48 <= b[i] <= 57:
            i += 1
        if i == first or i - first > 2:
            return _FAIL, False
        plain = False
    if digits > 200:
        return _FAIL, False
    return i, plain


@njit(inline="always")
def _literal(b, i, e):  # type: ignore[no-untyped-def]
    """Index past ``true``, ``false`` or ``null`` at ``b[i:]``, or -1."""
    c = b[i]
    if c == 116 and i + 4 <= e and b[i + 1] == 114 and b[i + 2] == 117 and b[i + 3] == 101:
        return i + 4
    if c == 110 and i + 4 <= e and b[i + 1] == 117 and b[i + 2] == 108 and b[i + 3] == 108:
        return i + 4
    if (
        c == 102
        and i + 5 <= e
        and b[i + 1] == 97
        and b[i + 2] == 108
        and b[i + 3] == 115
        and b[i + 4] == 101
    ):
        return i + 5
    return _FAIL


@njit(inline="always")
def _key(b, i, e):  # type: ignore[no-untyped-def]
    """Past the object key at ``b[i]`` and its colon, or -1."""
    if i >= e or b[i] != 34:
        return _FAIL
    i = _string(b, i + 1, e, False)[0]
    if i < 0:
        return _FAIL
    i = _ws(b, i, e)
    if i >= e or b[i] != 58:  # :
        return _FAIL
    return i + 1


@njit(cache=True, nogil=True)
def _skip_value(b, i, e, stack):  # type: ignore[no-untyped-def]
    """Validate the JSON value at or after ``b[i]`` (nested up to `MAX_DEPTH`); return the
    index past it or -1."""
    depth = 0
    while True:
        i = _ws(b, i, e)  # a value
        if i >= e:
            return _FAIL
        c = b[i]
        if c == 123 or c == 91:  # { [
            if depth == MAX_DEPTH:
                return _FAIL
            i = _ws(b, i + 1, e)
            if i < e and b[i] == c + 2:  # {} []
                i += 1
            else:
                stack[depth] = c
                depth += 1
                if c == 123:
                    i = _key(b, i, e)
                    if i < 0:
                        return _FAIL
                continue
        elif c == 34:
            i = _string(b, i + 1, e, False)[0]
        elif c == 45 or 48 <= c <= 57:
            i = _number(b, i, e)[0]
        else:
            i = _literal(b, i, e)
        if i < 0:
            return _FAIL
        while depth > 0:  # after a value: close containers, or on to the next value
            i = _ws(b, i, e)
            if i >= e:
                return _FAIL
            c = b[i]
            top = stack[depth - 1]
            if c == top + 2:  # } ]
                depth -= 1
                i += 1
                continue
            if c != 44:  # ,
                return _FAIL
            i += 1
            if top == 123:
                i = _key(b, _ws(b, i, e), e)
                if i < 0:
                    return _FAIL
            break
        if depth == 0:
            return i


@njit(inline="always")
def _key_is(b, i, j, key):  # type: ignore[no-untyped-def]
    if j - i != len(key):
        return False
    for k in range(len(key)):  # noqa: SIM110 (no generators in numba)
        if b[i + k] != key[k]:
            return False
    return True


@njit(inline="always")
def _holds_zero(b, i, j):  # type: ignore[no-untyped-def]
    for k in range(i, j):  # noqa: SIM110 (no generators in numba)
        if b[k] == 0:
            return True
    return False


@njit(cache=True, nogil=True)
def _record(b, i, e, text_key, id_key, stack):  # type: ignore[no-untyped-def]
    """Parse the record that starts at ``b[i]``, a line start, decoding its text and id in
    place. Returns (kind, index where parsing stopped, text start, text end, chars, id start,
    id end, -1 when there is no id); for `LINE_DOC` the index is the line's end. An id
    holding an (escaped) zero character goes to orjson, as `joined_ids` splits on zero."""
    i = _ws(b, i, e)
    if i == e or b[i] == 10:
        return LINE_BLANK, i, 0, 0, 0, 0, -1
    if b[i] != 123:
        return LINE_PYTHON, i, 0, 0, 0, 0, -1
    i = _ws(b, i + 1, e)
    t0 = t1 = chars = -1
    d0 = d1 = -1
    while True:
        if i >= e or b[i] != 34:  # also {}: no text field
            return LINE_PYTHON, i, 0, 0, 0, 0, -1
        k0 = i + 1
        i, k1, _ = _string(b, k0, e, False)
        if i < 0 or k1 != i - 1:  # invalid, or escaped: orjson compares escaped keys
            return LINE_PYTHON, max(i, k0), 0, 0, 0, 0, -1
        i = _ws(b, i, e)
        if i >= e or b[i] != 58:
            return LINE_PYTHON, i, 0, 0, 0, 0, -1
        i = _ws(b, i + 1, e)
        if i >= e:
            return LINE_PYTHON, i, 0, 0, 0, 0, -1
        c = b[i]
        if _key_is(b, k0, k1, text_key):
            if t0 >= 0 or c != 34:  # a duplicate, or not a string
                return LINE_PYTHON, i, 0, 0, 0, 0, -1
            t0 = i + 1
            i, t1, extra = _string(b, t0, e, True)
            if i < 0:  # go on from where reading stopped, past what was decoded in place
                return LINE_PYTHON, t1, 0, 0, 0, 0, -1
            chars = t1 - t0 - extra
        elif _key_is(b, k0, k1, id_key):
            if d0 >= 0:
                return LINE_PYTHON, i, 0, 0, 0, 0, -1
            if c == 34:
                d0 = i + 1
                i, d1, _ = _string(b, d0, e, True)
                if i < 0:  # as for the text
                    return LINE_PYTHON, d1, 0, 0, 0, 0, -1
                if _holds_zero(b, d0, d1):  # ids are split on zero bytes
                    return LINE_PYTHON, i, 0, 0, 0, 0, -1
            elif c == 45 or 48 <= c <= 57:
                d0 = i
                i, plain = _number(b, i, e)
                if i < 0 or not plain:  # invalid, or str() of it would not be its literal
                    return LINE_PYTHON, max(i, d0), 0, 0, 0, 0, -1
                d1 = i
            else:
                d0 = i
                i = _literal(b, i, e)
                if i < 0 or b[i - 1] != 108:  # null; true and false would be str(bool)
                    return LINE_PYTHON, d0, 0, 0, 0, 0, -1
        else:
            i = _skip_value(b, i, e, stack)
        if i < 0:
            return LINE_PYTHON, k0, 0, 0, 0, 0, -1
        i = _ws(b, i, e)
        if i >= e:
            return LINE_PYTHON, i, 0, 0, 0, 0, -1
        if b[i] == 125:  # }
            break
        if b[i] != 44:
            return LINE_PYTHON, i, 0, 0, 0, 0, -1
        i = _ws(b, i + 1, e)
    i = _ws(b, i + 1, e)
    if (i < e and b[i] != 10) or t0 < 0:
        return LINE_PYTHON, i, 0, 0, 0, 0, -1
    return LINE_DOC, i, t0, t1, chars, d0, d1


@njit(cache=True, nogil=True)
def extract_lines(b, end, text_key, id_key):  # type: ignore[no-untyped-def]
    """Parse the lines of ``b[:end]`` (``end`` is past a newline, or the end of the stream),
    decoding the text and id of each record in place.

    Returns per line: kind, start and end in ``b``; text start, end and characters; id start
    and end (end -1: no id, so the line number is the id).
    """
    size = 1024
    rows = np.empty((size, 8), dtype=np.int64)
    stack = np.empty(MAX_DEPTH, dtype=np.uint8)
    lines = 0
    s = 0
    while s < end:
        kind, i, t0, t1, chars, d0, d1 = _record(b, s, end, text_key, id_key, stack)
        if kind != LINE_DOC:
            i = max(i, s)  # never back before the line: every line moves the scan on
            while i < end and b[i] != 10:
                i += 1
        if lines == size:
            size *= 2
            grown = np.empty((size, 8), dtype=np.int64)
            grown[:lines] = rows[:lines]
            rows = grown
        row = rows[lines]
        row[0] = kind
        row[1] = s
        row[2] = i
        row[3] = t0
        row[4] = t1
        row[5] = chars
        row[6] = d0
        row[7] = d1
        lines += 1
        s = i + 1
    return rows[:lines]


@njit(cache=True, nogil=True)
def joined_ids(b, id_starts, id_ends, numbers):  # type: ignore[no-untyped-def]
    """The documents' ids, each followed by a zero byte, so that one decode and one split
    make the list of id strings (a Python slice and decode per document took ~0.05 s per
    100 MB). Document k's id is ``b[id_starts[k]:id_ends[k]]``, or the decimal line number
    ``numbers[k]`` where ``id_ends[k]`` is -1."""
    size = len(id_starts)
    for k in range(len(id_starts)):
        size += id_ends[k] - id_starts[k] if id_ends[k] >= 0 else 20
    out = np.empty(size, dtype=np.uint8)
    o = 0
    digits = np.empty(20, dtype=np.uint8)
    for k in range(len(id_starts)):
        if id_ends[k] >= 0:
            for p in range(id_starts[k], id_ends[k]):
                out[o] = b[p]
                o += 1
        else:
            n = numbers[k]
            count = 0
            while True:
                digits[count] = 48 + n % 10
                count += 1
                n //= 10
                if n == 0:
                    break
            for q in range(count - 1, -1, -1):
                out[o] = digits[q]
                o += 1
        out[o] = 0
        o += 1
    return out[:o]
