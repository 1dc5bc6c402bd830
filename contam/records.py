"""The records that flow between stages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np
import numpy.typing as npt


@dataclass(slots=True)
class BenchItem:
    """One benchmark item: what a model is evaluated on.

    ``input_text`` is what the model is shown (question, choices, prompt); ``label_text`` is
    what it must produce (answer, solution). A leak of the input alone already spoils the item;
    a leak of both is worse, so they are matched separately.
    """

    bench: str
    split: str
    item_id: str
    input_text: str
    label_text: str
    group: str | None = None

    @property
    def full_text(self) -> str:
        """Input and label as the index tokenizes them together (positions past the input's
        tokens are the label's)."""
        return f"{self.input_text}\n{self.label_text}"


@dataclass(slots=True)
class DocBatch:
    """Consecutive documents of one shard, read together to keep the kernels busy.

    Document ``k``'s text is the UTF-8 ``data[starts[k]:ends[k]]`` with ``chars[k]`` characters:
    the shape the kernels read, so a JSONL reader can decode texts straight into it and no
    Python string is made for a document unless someone asks for it (``texts[k]``). Ranges
    need not be contiguous; ``data`` is read-only. ``lines`` are 1-based record numbers in
    the shard (the line of a JSONL file).
    """

    shard: str
    doc_ids: list[str]
    lines: list[int]
    data: npt.NDArray[np.uint8]
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]
    chars: npt.NDArray[np.int64]

    def __post_init__(self) -> None:
        self.data.flags.writeable = False  # one numba specialization for every source

    @classmethod
    def of_texts(
        cls, shard: str, doc_ids: list[str], lines: list[int], texts: list[str]
    ) -> DocBatch:
        """A batch of Python strings (lone surrogates kept, as the kernels skip them)."""
        from contam.normalize import encode_batch  # records stay free of stage imports

        chars = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        return cls(shard, doc_ids, lines, *encode_batch(texts), chars)

    @classmethod
    def join(cls, parts: list[DocBatch]) -> DocBatch:
        """The documents of ``parts`` (of one shard) in one batch: each part's used bytes are
        copied once; a single part is returned as it is."""
        parts = [p for p in parts if len(p)] or parts[:1]
        if len(parts) == 1:
            return parts[0]
        spans = [(int(p.starts.min()), int(p.ends.max())) for p in parts]
        shifts = np.cumsum([0] + [hi - lo for lo, hi in spans])
        data = np.concatenate([p.data[lo:hi] for p, (lo, hi) in zip(parts, spans, strict=True)])
        moved = [shifts[i] - spans[i][0] for i in range(len(parts))]
        return cls(
            parts[0].shard,
            [d for p in parts for d in p.doc_ids],
            [n for p in parts for n in p.lines],
            data,
            np.concatenate([p.starts + m for p, m in zip(parts, moved, strict=True)]),
            np.concatenate([p.ends + m for p, m in zip(parts, moved, strict=True)]),
            np.concatenate([p.chars for p in parts]),
        )

    def take(self, first: int, stop: int) -> DocBatch:
        """Documents ``first`` to ``stop - 1``, sharing this batch's buffer."""
        return DocBatch(
            self.shard,
            self.doc_ids[first:stop],
            self.lines[first:stop],
            self.data,
            self.starts[first:stop],
            self.ends[first:stop],
            self.chars[first:stop],
        )

    def __len__(self) -> int:
        return len(self.doc_ids)

    @property
    def text_chars(self) -> int:
        """Characters of text in the batch."""
        return int(self.chars.sum())

    @property
    def texts(self) -> Texts:
        """The documents' texts, decoded when indexed."""
        return Texts(self)


class Texts(Sequence[str]):
    """The texts of a `DocBatch` as a sequence of strings, each decoded when asked for."""

    def __init__(self, batch: DocBatch) -> None:
        self.batch = batch

    def __len__(self) -> int:
        return len(self.batch.doc_ids)

    @overload
    def __getitem__(self, k: int) -> str: ...
    @overload
    def __getitem__(self, k: slice) -> list[str]: ...
    def __getitem__(self, k: int | slice) -> str | list[str]:
        b = self.batch
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        return b.data[b.starts[k] : b.ends[k]].tobytes().decode("utf-8", "surrogatepass")
