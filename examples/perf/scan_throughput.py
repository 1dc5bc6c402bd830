"""Scan throughput: contam vs a naive Python 13-gram-set baseline, in one run.

Builds a .jsonl.zst corpus of the chosen size from the real text in ../shared/data/corpus
(documents repeated and shuffled, a few benchmark items planted), scans it with the
MMLU + GSM8K + HumanEval index in a child process (so peak RSS is the scan's own), and times
the baseline on a slice of the same corpus. Throughput is MB of uncompressed JSONL per second.

    python examples/perf/scan_throughput.py                 # 500 MB, 1 and 2 workers
    python examples/perf/scan_throughput.py --sizes 100MB --workers 1
    python examples/perf/scan_throughput.py --match exact,edits   # edit tolerance's cost
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import zstandard

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
BENCHES = ["mmlu", "gsm8k", "humaneval"]


def parse_size(text: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMG]?)B?", text.strip().upper())
    if not m:
        raise SystemExit(f"bad size {text!r}; use e.g. 500MB or 2GB")
    return int(float(m.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[m.group(2)])


def source_docs() -> list[str]:
    """Every document of the shared corpus, English and Chinese, as plain text."""
    import gzip

    docs: list[str] = []
    corpus = SHARED / "corpus"
    for path in sorted(corpus.rglob("*")):
        name = path.name
        if name.endswith(".jsonl") or name.endswith(".jsonl.gz") or name.endswith(".json.gz"):
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rb") as f:
                docs += [json.loads(line)["text"] for line in f if line.strip()]
        elif name.endswith(".txt") and "LICENSE" not in name:
            text = path.read_text(encoding="utf-8")
            # split the long plain-text files into paragraph-sized documents
            docs += [p for p in text.split("\n\n") if len(p) > 200]
    return docs


def build_corpus(folder: Path, size: int, shard_size: int = 64 << 20, seed: int = 0) -> int:
    """Write ~size bytes of JSONL as .jsonl.zst shards of ~shard_size (8 MB zstd frames).

    Documents are drawn in shuffled passes over the whole shared corpus, so the byte mix is
    the corpus's own. Returns the uncompressed JSONL bytes written.
    """
    rng = random.Random(seed)
    docs = source_docs()
    order: list[int] = []
    written = n = 0
    cctx = zstandard.ZstdCompressor(level=3)
    folder.mkdir(parents=True, exist_ok=True)
    while written < size:
        with open(folder / f"part-{written // shard_size:05d}.jsonl.zst", "wb") as f:
            shard_end = min(size, written + shard_size)
            while written < shard_end:
                block = []
                block_size = 0
                while block_size < 8 << 20 and written + block_size < shard_end:
                    if not order:
                        order = list(range(len(docs)))
                        rng.shuffle(order)
                    line = orjson.dumps({"id": f"doc-{n}", "text": docs[order.pop()]}) + b"\n"
                    block.append(line)
                    block_size += len(line)
                    n += 1
                data = b"".join(block)
                f.write(cctx.compress(data))
                written += len(data)
    return written


def naive_baseline(path: Path, index_texts: list[str], limit: int) -> tuple[float, int]:
    """A Python 13-gram set: lowercase, split on non-word characters, join 13 words, look up."""
    word = re.compile(r"\w+")
    grams: set[str] = set()
    for text in index_texts:
        words = word.findall(text.lower())
        grams.update(" ".join(words[i : i + 13]) for i in range(len(words) - 12))
    started = time.perf_counter()
    consumed = hits = 0
    rest = b""
    with open(sorted(path.glob("*.jsonl.zst"))[0], "rb") as raw:
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        while consumed < limit:
            chunk = reader.read(1 << 22)
            if not chunk:
                break
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for line in lines:
                consumed += len(line) + 1
                words = word.findall(orjson.loads(line)["text"].lower())
                for i in range(len(words) - 12):
                    if " ".join(words[i : i + 13]) in grams:
                        hits += 1
    return consumed / (time.perf_counter() - started) / 1e6, hits


def run_scan(
    corpus: Path, out: Path, workers: int, index_dir: Path, max_gap: int = 8
) -> dict[str, float]:
    """Scan in a child process; report wall time and the child's peak RSS. ``max_gap`` 0 is
    exact matching (no chains across edits, no MinHash windows)."""
    code = (
        "import sys, time, contam\n"
        "from pathlib import Path\n"
        f"cfg = contam.ScanConfig(bench_dir=Path({str(SHARED / 'benchmarks')!r}),"
        f" index_dir=Path({str(index_dir)!r}), workers={workers}, max_gap={max_gap},"
        " quiet=True)\n"
        "t = time.perf_counter()\n"
        f"r = contam.scan({str(corpus)!r}, {BENCHES!r}, {str(out)!r}, cfg)\n"
        "print(time.perf_counter() - t, r.run['totals']['docs'], r.run['totals']['tokens'],"
        " sum(b['contaminated'] for b in r.benches.to_pylist()))\n"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    seconds, docs, tokens, dirty = result.stdout.split()
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "seconds": float(seconds),
        "docs": int(docs),
        "tokens": int(tokens),
        "contaminated": int(dirty),
        "peak_rss_mb": max(rss, before) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500MB", help="comma-separated corpus sizes")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--baseline-mb", type=float, default=20, help="baseline slice, MB")
    parser.add_argument(
        "--match",
        default="edits",
        help="comma-separated: exact (--max-gap 0: no edit tolerance, no MinHash) and/or "
        "edits (the default scan); with both, each edits row shows its ratio to exact",
    )
    parser.add_argument(
        "--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "contam-perf"
    )
    args = parser.parse_args()
    work = args.work_dir
    work.mkdir(parents=True, exist_ok=True)
    index_dir = work / "indexes"

    # warm-up: build indexes and compile kernels outside the timed runs
    warm = work / "warm"
    warm.mkdir(exist_ok=True)
    (warm / "w.jsonl").write_text('{"text": "warm up"}\n')
    run_scan(warm / "w.jsonl", work / f"out-warm-{os.getpid()}", 1, index_dir)

    from contam.benches import iter_items, resolve_bench

    texts = [
        f"{i.input_text}\n{i.label_text}"
        for b in BENCHES
        for i in iter_items(resolve_bench(b, SHARED / "benchmarks"))
    ]
    modes = [m.strip() for m in args.match.split(",")]
    print(f"{'size':>8} {'match':>6} {'workers':>7} {'MB/s':>8} {'docs/s':>9} {'peak RSS':>9} "
          f"{'baseline':>9} {'ratio':>6} {'/exact':>6}")  # fmt: skip
    for size_text in args.sizes.split(","):
        size = parse_size(size_text)
        corpus = work / f"corpus-{size_text.strip()}"
        if not (work / f"{corpus.name}.bytes").exists():
            jsonl_bytes = build_corpus(corpus, size)
            (work / f"{corpus.name}.bytes").write_text(str(jsonl_bytes))
        jsonl_bytes = int((work / f"{corpus.name}.bytes").read_text())
        base_mbs, _ = naive_baseline(corpus, texts, int(args.baseline_mb * 1e6))
        for workers in [int(w) for w in args.workers.split(",")]:
            exact_mbs = None
            for mode in modes:
                out = work / f"out-{size_text.strip()}-{mode}-{workers}-{os.getpid()}"
                r = run_scan(corpus, out, workers, index_dir, 0 if mode == "exact" else 8)
                mbs = jsonl_bytes / r["seconds"] / 1e6
                if mode == "exact":
                    exact_mbs = mbs
                versus = f"{mbs / exact_mbs:>5.2f}x" if exact_mbs and mode != "exact" else ""
                print(
                    f"{size_text:>8} {mode:>6} {workers:>7} {mbs:>8.1f} "
                    f"{r['docs'] / r['seconds']:>9,.0f} {r['peak_rss_mb']:>7.0f}MB "
                    f"{base_mbs:>7.1f}MB/s {mbs / base_mbs:>5.1f}x {versus:>6}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
