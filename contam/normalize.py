"""Text normalization and the character classes that define tokens.

Items and documents go through the same `normalize` and then the same tokenizer kernel in
`shingles.py`, so a document that repeats an item yields exactly the item's tokens.

Tokens: after NFKC and case folding, a token is a maximal run of letters, digits and combining
marks (Unicode categories L*, N*, M*), or one CJK ideograph or kana. Everything else
(punctuation, symbols, whitespace) only separates tokens, so re-punctuated or re-wrapped text
gives the same tokens.
"""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Callable, Iterator
from functools import lru_cache, wraps
from typing import Any

import numpy as np
import numpy.typing as npt

from contam.atomic import atomic_file
from contam.config import NormConfig, cache_root

#: Character classes looked up by the tokenizer kernel, one byte per code point.
SEP, WORD, CJK = 0, 1, 2

#: Bump when a table's definition below changes, so copies cached on disk are recomputed.
TABLES_VERSION = 2

#: Characters of a long text normalized at once (about): `normalize_with_offsets` holds some
#: 80 bytes of temporaries a character, so one huge record is taken a piece at a time.
PIECE_CHARS = 1 << 18

# Han ideographs (URO, extensions A-H, compatibility), kana and the iteration mark 々.
_CJK_RANGES = (
    (0x3005, 0x3007),
    (0x3040, 0x30FF),
    (0x31F0, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0xFF66, 0xFF9F),
    (0x20000, 0x2FA1F),
    (0x30000, 0x323AF),
)


def normalize(text: str, config: NormConfig) -> str:
    """Return the text that tokens are cut from.

    Only the tokens of the result matter, so NFKC is skipped when no character of the text
    can change a token under it (`token_changers`): the fullwidth "，" of Chinese text becomes
    "," under NFKC, a separator either way.

    Example:
        >>> normalize("Ｆｕｌｌ-width ÉCOLE", NormConfig())
        'full-width école'
    """
    if text.isascii():
        # NFKC is the identity on ASCII and casefold equals lower there: the fast path.
        return text.lower() if config.casefold else text
    folded = text.casefold() if config.casefold else text
    if not config.nfkc or _changer_chars().isdisjoint(folded):
        return folded
    return normalize_full(text, config)


Packed = tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64], npt.NDArray[np.int64]]


def pack(parts: list[bytes]) -> Packed:
    """UTF-8 texts in one read-only buffer: (data, starts, ends), text k is
    ``data[starts[k]:ends[k]]`` (the shape every kernel reads; none writes to it, so the
    joined bytes are not copied again)."""
    lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
    ends = np.cumsum(lengths)
    data = np.frombuffer(b"".join(parts) or b"\0", dtype=np.uint8)
    return data, ends - lengths, ends


def encode_batch(texts: list[str]) -> Packed:
    """The texts as they are, UTF-8 encoded into one buffer: what the scan's kernels read
    (`folding.fold_batch` normalizes it without the GIL)."""
    return pack([t.encode("utf-8", "surrogatepass") for t in texts])


def normalize_full(text: str, config: NormConfig) -> str:
    """`normalize` of a text known to hold a token changer: NFKC, case folding, NFKC."""
    if config.nfkc:
        text = unicodedata.normalize("NFKC", text)
    if config.casefold:
        text = text.casefold()
        if config.nfkc:
            # Case folding can leave decomposed sequences (ǰ -> j + U+030C); compose again.
            text = unicodedata.normalize("NFKC", text)
    return text


def normalize_pieces(text: str, config: NormConfig, piece: int = PIECE_CHARS) -> list[bytes]:
    """`normalize_full` of each of the `safe_pieces` of ``piece`` characters of ``text``, as
    UTF-8: joined, the whole text's bytes, without the whole text's NFKC copies at once; their
    lengths are what `original_spans` needs to find a byte's piece."""
    return [
        normalize_full(text[a:b], config).encode("utf-8", "surrogatepass")
        for a, b in safe_pieces(text, piece)
    ]


def safe_pieces(text: str, piece: int = PIECE_CHARS) -> Iterator[tuple[int, int]]:
    """Character ranges ``[a, b)`` of about ``piece`` characters that cover ``text``, each cut
    before a character that is not one of the `joiners`.

    Such a character has a normalization boundary before it: NFKC, and case folding then
    NFKC, of the ranges one by one concatenate to those of the whole text (case folding maps
    each character alone, and a test checks that no non-joiner folds to a joiner). A run of
    joiners longer than ``piece`` stays in one range.
    """
    table = joiners()
    a = 0
    while a < len(text):
        b = a + piece
        while b < len(text):  # to the first non-joiner from ``b`` on
            window = text[b : b + 4096].encode("utf-32-le", "surrogatepass")
            free = np.flatnonzero(~table[np.frombuffer(window, dtype=np.uint32)])
            if len(free):
                b += int(free[0])
                break
            b += len(window) // 4
        b = min(b, len(text))
        yield a, b
        a = b


def normalize_with_offsets(
    text: str, config: NormConfig
) -> tuple[str, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """`normalize_full`, keeping where each output character came from.

    The text is cut before every character that is not one of the `joiners`, each piece is
    normalized alone, and output character ``k`` maps to the original span
    ``[starts[k], ends[k])``. Each cut is a normalization boundary (`safe_pieces`), so the
    pieces' outputs join to `normalize_full` of the whole text.

    Example:
        >>> s, a, b = normalize_with_offsets("Ｆ-x", NormConfig())
        >>> s, a.tolist(), b.tolist()
        ('f-x', [0, 1, 2], [1, 2, 3])
    """
    if text.isascii():
        idx = np.arange(len(text), dtype=np.int64)
        return normalize(text, config), idx, idx + 1
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    first = np.ones(len(codes), dtype=np.bool_)  # a piece starts at each non-joiner
    first[1:] = ~joiners()[codes[1:]]
    piece_start = np.flatnonzero(first)
    piece_end = np.append(piece_start[1:], len(codes))
    # Each piece's output: the character itself (most pieces), or an entry of a table of
    # normalized strings, one per distinct one-character piece and one per longer piece.
    # The output code points are then gathered in bulk.
    longer = np.flatnonzero(piece_end - piece_start > 1)
    single = np.flatnonzero(piece_end - piece_start == 1)
    single = single[~_unchanged(config)[codes[piece_start[single]]]]
    distinct, inverse = np.unique(codes[piece_start[single]], return_inverse=True)
    outs = [normalize_full(chr(c), config) for c in distinct.tolist()]
    outs += [normalize_full(text[a:b], config) for a, b in zip(
        piece_start[longer].tolist(), piece_end[longer].tolist(), strict=True)]  # fmt: skip
    entry = np.full(len(piece_start), -1, dtype=np.int64)
    entry[single] = inverse.ravel()
    entry[longer] = len(distinct) + np.arange(len(longer))
    entry_len = np.array([len(o) for o in outs], dtype=np.int64)
    entry_ptr = np.zeros(len(outs) + 1, dtype=np.int64)
    np.cumsum(entry_len, out=entry_ptr[1:])
    entry_codes = np.frombuffer("".join(outs).encode("utf-32-le", "surrogatepass"), np.uint32)
    lengths = np.append(entry_len, 1)[entry]  # entry -1 (the character itself) takes the 1
    piece = np.repeat(np.arange(len(piece_start)), lengths)
    out_start = np.cumsum(lengths) - lengths
    within = np.arange(len(piece)) - out_start[piece]
    own = entry[piece] < 0
    out = np.empty(len(piece), dtype=np.uint32)
    out[own] = codes[piece_start[piece[own]]]
    out[~own] = entry_codes[entry_ptr[entry[piece[~own]]] + within[~own]]
    normalized = out.tobytes().decode("utf-32-le", "surrogatepass")
    return normalized, piece_start[piece], piece_end[piece]


def original_spans(
    text: str,
    config: NormConfig,
    first: npt.NDArray[np.int64],
    last: npt.NDArray[np.int64],
    sizes: list[int],
    piece: int = PIECE_CHARS,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Where spans of the joined `normalize_pieces` of ``text`` came from: for spans whose first
    and last bytes are ``first[i]`` and ``last[i]``, the original character offsets (start of
    the first's character, end of the last's). ``sizes`` are the pieces' byte lengths.

    Only the pieces that hold one of the bytes are normalized again, with offsets, so memory
    stays bounded by a piece whatever the text's length.
    """
    wanted = np.concatenate([first, last])
    found = np.zeros(len(wanted), dtype=np.int64)
    base = 0  # normalized bytes before this piece
    for (a, b), size in zip(safe_pieces(text, piece), sizes, strict=True):
        inside = np.flatnonzero((wanted >= base) & (wanted < base + size))
        if len(inside):
            normalized, starts, ends = normalize_with_offsets(text[a:b], config)
            lead = np.frombuffer(normalized.encode("utf-8", "surrogatepass"), dtype=np.uint8)
            char_of_byte = np.cumsum((lead & 0xC0) != 0x80) - 1
            chars = char_of_byte[wanted[inside] - base]
            is_first = inside < len(first)
            found[inside] = a + np.where(is_first, starts[chars], ends[chars])
        base += size
    return found[: len(first)], found[len(first) :]


def disk_cached(build: Callable[..., npt.NDArray[Any]]) -> Callable[..., npt.NDArray[Any]]:
    """Keep a code point table under the cache root, per Unicode version and arguments.

    Each table takes a few tenths of a second of `unicodedata` calls, which every scan (and
    every worker) would otherwise pay at start-up. An unwritable cache only costs that time.
    """

    @wraps(build)
    def cached(*args: Any) -> npt.NDArray[Any]:
        name = "-".join([build.__name__.strip("_"), *map(str, args)])
        folder = cache_root() / "unicode" / f"{unicodedata.unidata_version}-v{TABLES_VERSION}"
        path = folder / f"{name}.npy"
        with contextlib.suppress(OSError, ValueError):  # missing or damaged: build it again
            table = np.load(path, allow_pickle=False)
            if table.shape == (0x110000,):
                return table  # type: ignore[no-any-return]
        table = build(*args)
        with contextlib.suppress(OSError):  # an unwritable cache only costs the build
            folder.mkdir(parents=True, exist_ok=True)
            with atomic_file(path) as tmp, open(tmp, "wb") as f:
                np.save(f, table, allow_pickle=False)
        return table

    return cached


@lru_cache(maxsize=4)
@disk_cached
def _unchanged(config: NormConfig) -> npt.NDArray[np.bool_]:
    """Code points that `normalize_full` leaves as they are, alone."""
    table = np.ones(0x110000, dtype=np.bool_)
    for cp in range(0x30000):
        c = chr(cp)
        if not c.isascii() and normalize_full(c, config) != c:
            table[cp] = False
    for cp in range(ord("A"), ord("Z") + 1):
        table[cp] = not config.casefold
    return table


@lru_cache(maxsize=1)
@disk_cached
def token_changers() -> npt.NDArray[np.bool_]:
    """Code points that NFKC (or case folding then NFKC) can turn into other tokens.

    That is: characters whose NFKC form differs and is not all separators (ﬁ, Ｆ, ①, ℃),
    combining marks and the second halves of canonical compositions (they compose with the
    character before), conjoining Hangul jamo, and characters whose case folding yields any of
    these. A text without them tokenizes the same with or without NFKC.
    """
    classes = char_classes(True)
    table = _composing()
    for cp in range(0x30000):
        c = chr(cp)
        nfkc = unicodedata.normalize("NFKC", c)
        if nfkc != c and (classes[cp] != SEP or any(classes[ord(x)] != SEP for x in nfkc)):
            table[cp] = True
    for lo, hi in ((0x1100, 0x11FF), (0xA960, 0xA97F), (0xD7B0, 0xD7FF), (0xE0100, 0xE01EF)):
        table[lo : hi + 1] = True
    for cp in range(0x30000):
        c = chr(cp)
        folded = c.casefold()
        if folded != c and (
            any(table[ord(x)] for x in folded) or unicodedata.normalize("NFKC", folded) != folded
        ):
            table[cp] = True
    return table


def _composing() -> npt.NDArray[np.bool_]:
    """A new table of the code points that compose with the character before them: combining
    marks and the second halves of canonical compositions."""
    table = np.zeros(0x110000, dtype=np.bool_)
    for cp in range(0x30000):
        c = chr(cp)
        if unicodedata.combining(c):
            table[cp] = True
        decomposition = unicodedata.decomposition(c).split()
        if len(decomposition) == 2 and not decomposition[0].startswith("<"):
            table[int(decomposition[1], 16)] = True
    return table


@lru_cache(maxsize=1)
@disk_cached
def joiners() -> npt.NDArray[np.bool_]:
    """Code points NFKC can merge with or reorder against the character before them:
    combining marks, second halves of canonical compositions, Hangul jamo vowels and finals,
    and characters whose NFKC form starts with one of those."""
    table = _composing()
    table[0x1160:0x1200] = True
    table[0xD7B0:0xD800] = True
    for cp in range(0x30000):
        nfkc = unicodedata.normalize("NFKC", chr(cp))
        if nfkc and table[ord(nfkc[0])]:
            table[cp] = True
    return table


@lru_cache(maxsize=1)
def _changer_chars() -> frozenset[str]:
    return frozenset(map(chr, np.flatnonzero(token_changers()).tolist()))


@lru_cache(maxsize=2)
@disk_cached
def char_classes(cjk_chars: bool) -> npt.NDArray[np.uint8]:
    """SEP/WORD/CJK for every code point."""
    table = np.zeros(0x110000, dtype=np.uint8)
    word_major = {"L", "N", "M"}
    # Planes 4 and up hold no letters or digits (unassigned, tags, private use): separators.
    for cp in range(0x40000):
        if unicodedata.category(chr(cp))[0] in word_major:
            table[cp] = WORD
    if cjk_chars:
        for lo, hi in _CJK_RANGES:
            block = table[lo : hi + 1]
            block[block == WORD] = CJK
        # 〇 (U+3007) is a number in category Nl and belongs with the ideographs.
        table[0x3007] = CJK
    return table
