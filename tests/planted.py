"""A planted-contamination test set: real benchmark items hidden in real corpus text.

Builds ``OUT/corpus/part-*.jsonl`` (records ``{"id", "text"}``) and ``OUT/truth.jsonl`` (one row
per planted copy) from ``../shared/data``. Every copy goes into its own host document, a real
web page, Wikipedia article chunk, Bible chapter, Shakespeare passage or (for code items)
Python stdlib file of 2,000-8,000 characters, at a line or sentence boundary in its middle
40%. As many host documents again hold nothing. Each item is planted at most once.

Kinds of copy (``KINDS``; ``PER_KIND`` items each, drawn at random from the eligible items):

- ``verbatim``: input, newline, label, as the bench has them.
- ``recased``: the verbatim copy in UPPER or Title Case.
- ``punct_stripped``: every punctuation or symbol character replaced by a space.
- ``punct_deleted``: every punctuation character deleted, so "don't" becomes "dont" and
  "3.5" becomes "35": the tokens change, unlike ``punct_stripped`` (no recall target).
- ``wrapped``: hard-wrapped at 60 columns (30 for short items, so that they do wrap).
- ``qa_reformat``: "Question: ... / A) ... / Answer: B" and similar layouts (MMLU, ARC, GSM8K,
  TruthfulQA), inserting letters and words between question, choices and answer.
- ``edit10``, ``edit12``: one word in every 10 (12) replaced by a word from the benches'
  vocabulary, at positions ``r, r+10, r+20, ...`` with a random offset ``r``. Only items of
  at least 13 words in their input, so that "one in ten" is what the copy has.
- ``half``: the first half of the input's words (rounded up), no label. Only items of at
  least 26 words, so the half holds a whole 13-gram. It sits at the 0.5 threshold.
- ``short``: items whose input has 5-12 words and 5-12 tokens (matched whole), verbatim.
- ``input_only``: the input without its label: ``input_contaminated`` but not
  ``full_contaminated``. Not items whose answer echoes the question
  (`answer_echoes_question`): their input alone is mostly a copy of the label.
- ``hard_negative``: GSM8K *train* items, verbatim. No GSM8K test item may be flagged by them.
  First the train items whose question shares a 13-word window with a test question (the
  same template with other names and numbers, `template_twins`), then random ones.

``verbatim``, ``recased``, ``punct_stripped`` and ``wrapped`` each take a third of their items
from the short pool (mostly TruthfulQA), so their targets cover items under 13 words.

Run as a script to build the set; ``tests/test_planted.py`` scans it and prints the recall
table with ``pytest -s``::

    python tests/planted.py /tmp/planted --seed 0
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import math
import re
import sys
import textwrap
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from contam.records import BenchItem

#: The checkout this file belongs to; run as a script, it imports contam from here.
REPO = Path(__file__).resolve().parents[1]

#: The benches planted and scanned, in the order of the report.
BENCHES = ("mmlu", "gsm8k", "humaneval", "arc_challenge", "truthfulqa", "mbpp")
CODE_BENCHES = frozenset({"humaneval", "mbpp"})
KINDS = (
    "verbatim",
    "recased",
    "punct_stripped",
    "punct_deleted",
    "wrapped",
    "qa_reformat",
    "edit10",
    "edit12",
    "half",
    "short",
    "input_only",
    "hard_negative",
)
#: 36 copies per kind: one miss already drops recall to 0.972, two to 0.944 (below 0.95).
PER_KIND = 36
#: Kinds that take a third of their items from the short pool.
WITH_SHORT = frozenset({"verbatim", "recased", "punct_stripped", "wrapped"})
#: Kinds whose copy carries the label (answer, solution) after the input.
WITH_LABEL = frozenset(KINDS) - {"half", "input_only"}
N_SHARDS = 4
#: Host documents with nothing planted, per planted copy.
CLEAN_RATIO = 1.0
HOST_CHARS = (2_000, 8_000)

_WORD = re.compile(r"[^\W_]+")  # a token as contam defines it, for English text


def n_tokens(text: str) -> int:
    """Tokens as contam's README defines them (runs of letters and digits), independently."""
    return len(_WORD.findall(text))


def words(text: str) -> list[str]:
    """The case-folded tokens of ``text`` (README definition, for English text)."""
    return [t.casefold() for t in _WORD.findall(text)]


def longest_common_run(a: list[str], b: list[str]) -> int:
    """Length of the longest run of tokens found in both ``a`` and ``b``."""
    best, prev = 0, [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, 1):
            if x == y:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def answer_echoes_question(item: BenchItem) -> bool:
    """Whether half or more of the label's tokens (two or more) run unbroken in the input.

    Then a copy of the input alone is mostly a copy of the label, and no matcher can tell that
    the answer did not leak. HumanEval/50's solution is its prompt's ``encode_shift`` body
    with ``+`` turned into ``-``, which tokens do not see; TruthfulQA 550 asks "Which animals
    can add up numbers just as well as humans?" and answers "No animals can add up numbers
    just as well as humans".
    """
    label = words(item.label_text)
    return len(label) > 1 and 2 * longest_common_run(label, words(item.input_text)) >= len(label)


# ---------------------------------------------------------------- copies


def _jsonl(path: Path) -> list[Any]:
    """Records of a JSON-lines file (split on newlines only: texts may hold U+2028)."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def recase(text: str, rng: Random) -> str:
    return text.upper() if rng.random() < 0.5 else text.title()


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PS"


def strip_punct(text: str) -> str:
    """Punctuation and symbols become spaces; spaces collapse, line breaks stay."""
    spaced = "".join(" " if _is_punct(ch) else ch for ch in text)
    return "\n".join(re.sub(r"[ \t]+", " ", line).strip() for line in spaced.split("\n"))


def delete_punct(text: str) -> str:
    """Punctuation deleted outright, as ``str.translate`` with ``string.punctuation`` does."""
    return "".join(ch for ch in text if unicodedata.category(ch)[0] != "P")


def wrap(text: str, width: int) -> str:
    """Hard wrap; long words (URLs, code) are not broken, so no token is split."""
    return textwrap.fill(text, width=width, break_long_words=False)


def edit_words(text: str, every: int, vocab: list[str], rng: Random) -> str:
    """Replace one word in ``every``: words ``r, r+every, ...`` for a random offset ``r``.

    A word is a whitespace-separated chunk holding a letter or digit; its leading and trailing
    punctuation stay, its capitalization is copied onto the replacement.
    """
    parts = re.split(r"(\s+)", text)
    slots = [i for i, p in enumerate(parts) if _WORD.search(p)]
    for k in range(rng.randrange(every), len(slots), every):
        i = slots[k]
        m = re.fullmatch(r"(\W*)(.*?)(\W*)", parts[i], flags=re.S)
        assert m is not None
        core = m.group(2)
        new = rng.choice(vocab)
        while new == core.casefold():
            new = rng.choice(vocab)
        if core.isupper() and len(core) > 1:
            new = new.upper()
        elif core[:1].isupper():
            new = new.capitalize()
        parts[i] = m.group(1) + new + m.group(3)
    return "".join(parts)


def first_half(text: str) -> str:
    """The input up to the end of its ``ceil(words / 2)``-th word, formatting kept."""
    spans = [m.end() for m in re.finditer(r"\S+", text)]
    return text[: spans[math.ceil(len(spans) / 2) - 1]]


QA_STYLES = (
    ("Question: {q}", "{l}) {c}", "Answer: {a}"),
    ("Q: {q}", "({l}) {c}", "A: {a}"),
    ("{q}", "{l}. {c}", "Correct answer: {a}"),
)


def qa_format(question: str, choices: list[tuple[str, str]], answer: str, rng: Random) -> str:
    q_fmt, c_fmt, a_fmt = rng.choice(QA_STYLES)
    lines = [q_fmt.format(q=question)]
    lines += [c_fmt.format(l=label, c=text) for label, text in choices]
    lines.append(a_fmt.format(a=answer))
    return "\n".join(lines)


class ChoiceReader:
    """Question and lettered choices of MMLU and ARC items, read from the raw files.

    The input text joins question and choices with newlines, and questions (and one MMLU
    choice) hold newlines themselves, so the split is taken from the source records.
    """

    def __init__(self, bench_dir: Path) -> None:
        self.bench_dir = bench_dir
        self._arc: dict[str, Any] | None = None

    def get(self, item: BenchItem) -> tuple[str, list[tuple[str, str]]] | None:
        if item.bench == "mmlu":
            split, subject, row = item.item_id.split("/")
            path = self.bench_dir / "mmlu" / split / f"{subject}_{split}.csv"
            rows = list(csv.reader(path.open(encoding="utf-8-sig", newline="")))
            rec = rows[int(row)]
            question, choices = rec[0], list(zip("ABCD", rec[1:5], strict=True))
        elif item.bench == "arc_challenge":
            if self._arc is None:
                path = self.bench_dir / "arc" / "ARC-Challenge-Test.jsonl"
                self._arc = {r["id"]: r for r in _jsonl(path)}
            q = self._arc[item.item_id]["question"]
            question = q["stem"]
            choices = [(c["label"], c["text"]) for c in q["choices"]]
        else:
            return None
        if "\n".join([question, *(c for _, c in choices)]) != item.input_text:
            return None
        return question, choices


# ---------------------------------------------------------------- hosts


@dataclass(slots=True)
class Host:
    doc_id: str
    text: str
    code: bool = False


def _chunks(text: str, sep: str, rng: Random) -> Iterator[str]:
    """Consecutive runs of ``sep``-separated paragraphs, each of 3,000-6,000 characters."""
    buf: list[str] = []
    size, goal = 0, rng.randint(3_000, 6_000)
    for para in text.split(sep):
        buf.append(para)
        size += len(para) + len(sep)
        if size >= goal:
            yield sep.join(buf).strip("\n")
            buf, size, goal = [], 0, rng.randint(3_000, 6_000)


def read_hosts(corpus: Path, rng: Random) -> dict[str, list[Host]]:
    """Host documents by source: web, wiki, kjv, shakespeare (prose) and code."""
    lo, hi = HOST_CHARS
    out: dict[str, list[Host]] = {}
    web_dir = corpus / "web_commoncrawl_dolma"
    web = []
    for path in sorted(web_dir.glob("*.jsonl*")):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as f:
            web += [json.loads(line)["text"] for line in f if line.strip()]
    out["web"] = [Host(f"web-{i:05d}", t) for i, t in enumerate(web)]
    wiki = ""
    for name in ("valid.txt", "test.txt"):
        wiki += (corpus / "wikipedia_wikitext2" / name).read_text(encoding="utf-8")
    out["wiki"] = [Host(f"wiki-{i:05d}", t) for i, t in enumerate(_chunks(wiki, "\n \n", rng))]
    kjv = _jsonl(corpus / "books" / "kjv_bible_by_chapter.jsonl")
    out["kjv"] = [Host(f"kjv-{i:05d}", r["text"]) for i, r in enumerate(kjv)]
    shakespeare = (corpus / "books" / "tinyshakespeare.txt").read_text(encoding="utf-8")
    out["shakespeare"] = [
        Host(f"shakespeare-{i:05d}", t) for i, t in enumerate(_chunks(shakespeare, "\n\n", rng))
    ]
    code_path = corpus / "code_python_stdlib" / "cpython-3.11.7-stdlib.jsonl.gz"
    with gzip.open(code_path, "rt", encoding="utf-8") as f:
        code = [json.loads(line)["text"] for line in f]
    out["code"] = [Host(f"code-{i:05d}", t, code=True) for i, t in enumerate(code)]
    for source, hosts in out.items():
        out[source] = [h for h in hosts if lo <= len(h.text) <= hi and _cuts(h.text, h.code)]
        rng.shuffle(out[source])
    return out


def _cuts(host: str, code: bool) -> list[int]:
    """Line (code: blank line) or sentence boundaries in the middle 40% of ``host``."""
    lo, hi = int(len(host) * 0.3), int(len(host) * 0.7)
    pattern = r"\n\n" if code else r"\n|[.!?;:] "
    return [m.end() for m in re.finditer(pattern, host) if lo <= m.end() <= hi]


def plant(host: Host, copy: str, rng: Random) -> str:
    """``copy`` inserted at a random boundary in the middle of the host text."""
    cut = rng.choice(_cuts(host.text, host.code))
    sep = "\n" if host.text[cut - 1] == "\n" else " "
    return f"{host.text[:cut]}{copy}{sep}{host.text[cut:]}"


# ---------------------------------------------------------------- the set


@dataclass(slots=True)
class Pools:
    """Benchmark items not yet planted, per bench, in random order."""

    items: dict[str, list[BenchItem]]
    used: set[tuple[str, str, str]] = field(default_factory=set)

    def take(
        self, n: int, ok: Callable[[BenchItem], bool], benches: tuple[str, ...]
    ) -> list[BenchItem]:
        """``n`` unused items passing ``ok``, round-robin over ``benches``."""
        picked: list[BenchItem] = []
        queues = {b: iter(self.items[b]) for b in benches}
        while len(picked) < n and queues:
            for bench in list(queues):
                fresh = (i for i in queues[bench] if (i.bench, i.split, i.item_id) not in self.used)
                item = next((i for i in fresh if ok(i)), None)
                if item is None:
                    del queues[bench]
                    continue
                self.used.add((item.bench, item.split, item.item_id))
                picked.append(item)
                if len(picked) == n:
                    break
        if len(picked) < n:
            raise ValueError(f"only {len(picked)} of {n} eligible items left in {benches}")
        return picked


def _short(item: BenchItem) -> bool:
    return 5 <= len(item.input_text.split()) <= 12 and 5 <= n_tokens(item.input_text) <= 12


def _grams(text: str, n: int = 13) -> set[tuple[str, ...]]:
    toks = words(text)
    return {tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)}


def template_twins(train: list[BenchItem], test: list[BenchItem]) -> list[BenchItem]:
    """Train items whose input shares a 13-gram with a test input, in ``train`` order.

    N-grams in 5 or more test inputs are stock phrases and do not count (as in contam).
    On GSM8K these are 4 items, such as train/20 and test/632: the same stamps problem with
    other names and numbers.
    """
    seen: dict[tuple[str, ...], int] = {}
    for item in test:
        for g in _grams(item.input_text):
            seen[g] = seen.get(g, 0) + 1
    return [i for i in train if any(0 < seen.get(g, 0) < 5 for g in _grams(i.input_text))]


def _vocabulary(items: dict[str, list[BenchItem]]) -> list[str]:
    """Frequent plain words of the benches' inputs: plausible replacements for ``edit*``."""
    counts = Counter(
        w
        for b in ("mmlu", "arc_challenge", "gsm8k")
        for i in items[b]
        for w in re.findall(r"\b[a-z]{3,10}\b", i.input_text)
    )
    return sorted(w for w, c in counts.items() if c >= 20)


def make_copy(
    kind: str, item: BenchItem, rng: Random, vocab: list[str], choices: ChoiceReader
) -> str | None:
    """The text planted for ``item`` as ``kind``; None when the item has no such form."""
    full = item.full_text
    if kind in ("verbatim", "short", "hard_negative"):
        return full
    if kind == "recased":
        return recase(full, rng)
    if kind == "punct_stripped":
        return strip_punct(full)
    if kind == "punct_deleted":
        return delete_punct(full)
    if kind == "wrapped":
        return wrap(full, 30 if _short(item) else 60)
    if kind == "edit10":
        return edit_words(full, 10, vocab, rng)
    if kind == "edit12":
        return edit_words(full, 12, vocab, rng)
    if kind == "half":
        return first_half(item.input_text)
    if kind == "input_only":
        return item.input_text
    if kind == "qa_reformat":
        if item.bench in ("gsm8k", "truthfulqa"):
            return qa_format(item.input_text, [], item.label_text, rng)
        got = choices.get(item)
        return None if got is None else qa_format(got[0], got[1], item.label_text, rng)
    raise ValueError(f"unknown kind {kind!r}")


def _eligible(kind: str) -> tuple[tuple[str, ...], Callable[[BenchItem], bool]]:
    n_words = lambda i: len(i.input_text.split())  # noqa: E731
    if kind == "short":
        return BENCHES, _short
    if kind in ("edit10", "edit12"):
        return BENCHES, lambda i: n_words(i) >= 13 and n_tokens(i.input_text) >= 13
    if kind == "half":
        return BENCHES, lambda i: n_words(i) >= 26
    if kind == "qa_reformat":
        return ("mmlu", "gsm8k", "arc_challenge", "truthfulqa"), lambda i: True
    if kind == "input_only":
        return BENCHES, lambda i: not answer_echoes_question(i)
    return BENCHES, lambda i: True


def build_planted(shared: Path, out: Path, seed: int = 0) -> Path:
    """Write the planted corpus and its truth table under ``out``; return ``out``.

    Args:
        shared: the shared data folder (holding ``benchmarks/`` and ``corpus/``).
        out: where ``corpus/part-*.jsonl`` and ``truth.jsonl`` go (created).
        seed: the only source of randomness; the same seed writes the same bytes.

    Example:
        >>> build_planted(Path("../shared/data"), Path("/tmp/planted"))  # doctest: +SKIP
    """
    from contam.benches import iter_items, resolve_bench

    rng = Random(seed)
    bench_dir = shared / "benchmarks"
    items = {b: list(iter_items(resolve_bench(b, bench_dir))) for b in BENCHES}
    items["gsm8k:train"] = list(iter_items(resolve_bench("gsm8k:train", bench_dir)))
    vocab = _vocabulary(items)
    for b in sorted(items):
        rng.shuffle(items[b])
    pools = Pools(items)
    hosts = read_hosts(shared / "corpus", rng)
    prose = ("web", "wiki", "kjv", "shakespeare")
    choices = ChoiceReader(bench_dir)

    docs: list[dict[str, str]] = []
    truth: list[dict[str, Any]] = []

    def next_host(code: bool) -> Host:
        source = "code" if code else rng.choice([s for s in prose if hosts[s]])
        return hosts[source].pop()

    for kind in KINDS:
        made: list[tuple[BenchItem, str]] = []
        if kind == "hard_negative":
            twins = template_twins(items["gsm8k:train"], items["gsm8k"])
            pools.used.update((i.bench, i.split, i.item_id) for i in twins)
            rest = pools.take(PER_KIND - len(twins), lambda i: True, ("gsm8k:train",))
            made = [(i, i.full_text) for i in twins + rest]
        benches, ok = _eligible(kind)
        n_short = PER_KIND // 3 if kind in WITH_SHORT else 0
        while len(made) < PER_KIND:
            if len(made) < n_short:
                picked = pools.take(n_short - len(made), _short, BENCHES)
            else:
                picked = pools.take(PER_KIND - len(made), ok, benches)
            for item in picked:
                copy = make_copy(kind, item, rng, vocab, choices)
                if copy is not None:  # None: choices that could not be read back
                    made.append((item, copy))
        for item, copy in made:
            host = next_host(item.bench in CODE_BENCHES and rng.random() < 0.5)
            docs.append({"id": host.doc_id, "text": plant(host, copy, rng)})
            truth.append(
                {
                    "bench": item.bench,
                    "split": item.split,
                    "item_id": item.item_id,
                    "kind": kind,
                    "doc_id": host.doc_id,
                    "with_label": kind in WITH_LABEL,
                    "short": _short(item),
                    "input_tokens": n_tokens(item.input_text),
                }
            )
    for _ in range(int(len(truth) * CLEAN_RATIO)):
        host = next_host(rng.random() < 0.1)
        docs.append({"id": host.doc_id, "text": host.text})

    rng.shuffle(docs)
    (out / "corpus").mkdir(parents=True, exist_ok=True)
    for k in range(N_SHARDS):
        shard = docs[k::N_SHARDS]
        text = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in shard)
        (out / "corpus" / f"part-{k}.jsonl").write_text(text, encoding="utf-8")
    lines = "".join(json.dumps(t) + "\n" for t in truth)
    (out / "truth.jsonl").write_text(lines, encoding="utf-8")
    return out


def read_truth(out: Path) -> list[dict[str, Any]]:
    return _jsonl(out / "truth.jsonl")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder for corpus/ and truth.jsonl")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--shared",
        type=Path,
        default=REPO.parent / "shared" / "data",
        help="the shared data folder (default: ../shared/data beside the clone)",
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    build_planted(args.shared, args.out, args.seed)
    counts = Counter(t["kind"] for t in read_truth(args.out))
    n_docs = sum(1 for p in (args.out / "corpus").glob("*.jsonl") for _ in p.open())
    for kind in KINDS:
        print(f"{kind:15} {counts[kind]:4}")
    print(f"{sum(counts.values())} copies in {n_docs} documents, in {args.out / 'corpus'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
