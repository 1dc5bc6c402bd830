"""Shared fixtures: a tiny hand-checkable bench and corpus, and the real data in ../shared."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import settings

from contam.config import NGramConfig, ScanConfig

# The first call of a numba kernel loads or compiles it: no per-example deadline.
settings.register_profile("contam", deadline=None, max_examples=100)
settings.load_profile("contam")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
EXAMPLES = REPO / "examples"

#: The tiny bench: n=4 keeps every expectation small enough to count by hand.
TINY_ITEMS = [
    {"id": "fox", "text": "The quick brown fox jumps over the lazy dog", "answer": "a dog"},
    {"id": "sum", "text": "What is the sum of seven and five", "answer": "twelve"},
    {"id": "peru", "text": "Capital of Peru?", "answer": "Lima"},
    {"id": "tiny", "text": "Why", "answer": "because"},
    {"id": "q1", "text": "Which of the following is a prime number", "answer": "seven"},
    {"id": "q2", "text": "Which of the following is a mammal", "answer": "whale"},
    {"id": "q3", "text": "Which of the following is not a colour", "answer": "loud"},
]
TINY_NGRAM = NGramConfig(n=4, short_min=3, boilerplate_items=3)


def shared_data() -> Path:
    """The real data folder; missing data fails under CI instead of skipping."""
    if not SHARED.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"real data missing at {SHARED} (CI needs ../shared beside the clone)")
        pytest.skip(f"real data not present at {SHARED}")
    return SHARED


@pytest.fixture
def bench_dir() -> Path:
    return shared_data() / "benchmarks"


@pytest.fixture
def corpus_dir() -> Path:
    return shared_data() / "corpus"


@pytest.fixture(scope="session")
def shared_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One index folder for the session, so real benches are built once."""
    return tmp_path_factory.mktemp("indexes")


@pytest.fixture
def tiny_bench(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in TINY_ITEMS))
    return path


@pytest.fixture
def tiny_config(tmp_path: Path) -> ScanConfig:
    return ScanConfig(ngram=TINY_NGRAM, index_dir=tmp_path / "indexes", quiet=True)


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return path


#: The benches of the README's real-data scan.
SHARED_BENCHES = ("mmlu", "gsm8k", "humaneval", "cmmlu", "ceval")


@pytest.fixture(scope="session")
def shared_report(shared_index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's scan of ../shared/data/corpus (five benches), made once per session."""
    from contam.scan import scan

    data = shared_data()
    out = tmp_path_factory.mktemp("shared-report") / "out"
    config = ScanConfig(
        bench_dir=data / "benchmarks", index_dir=shared_index_dir, quiet=True, workers=2
    )
    scan(str(data / "corpus"), list(SHARED_BENCHES), out, config)
    return out
