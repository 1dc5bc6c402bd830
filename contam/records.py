"""The records that flow between stages."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    """Consecutive documents of one shard, read together to keep the kernel busy.

    ``lines`` are 1-based record numbers in the shard (the line of a JSONL file).
    """

    shard: str
    doc_ids: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    text_chars: int = 0
