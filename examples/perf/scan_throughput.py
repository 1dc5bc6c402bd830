"""Scan throughput and how it grows: contam vs a naive Python 13-gram-set baseline, in one run.

Builds .jsonl.zst corpora of the chosen sizes from the real text in ../shared/data/corpus
(documents repeated and shuffled), scans each in a child process (so peak RSS is the scan's
own) with 1 and 2 workers, against the MMLU + GSM8K + HumanEval index ("three") and against
every registry bench at once ("all"), and times the baseline on a slice of the same corpus.
Throughput is MB of uncompressed JSONL per second, end to end (index load included); MB/cpu-s
divides by the CPU seconds of the scan's processes instead (one process keeps about two cores
busy: its kernels run in threads without the GIL), the figure that holds on a loaded machine.
A second table shows how the index grows with the number of items: build time (from
scratch), n-grams, size on disk, and the merge into one lookup.

    python examples/perf/scan_throughput.py                        # 500 MB, 1 and 2 workers
    python examples/perf/scan_throughput.py --sizes 100MB,500MB,2GB --benches three,all
    python examples/perf/scan_throughput.py --match exact,edits    # edit tolerance's cost
    python examples/perf/scan_throughput.py --engines local,ray    # Ray vs local processes
    python examples/perf/scan_throughput.py --engines local,ray,ray-up  # and a Ray already up

Peak RSS is the largest single process (with 2 workers, each worker holds about that much,
sharing the index pages it inherited). Ray workers are not children of the scan process, so
their RSS is not measured here.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import zstandard

from contam.config import ScanConfig

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
#: --match modes: exact runs only (no chains across edits, no MinHash), or the default scan.
MAX_GAP = {"exact": 0, "edits": 8}
#: Named bench sets; ``all`` is every registry bench (`contam.scan` expands it).
BENCH_SETS = {
    "three": ["mmlu", "gsm8k", "humaneval"],
    "all": ["all"],
    "mmlu": ["mmlu"],
    "gsm8k": ["gsm8k"],
}


def bench_set(name: str) -> list[str]:
    if name not in BENCH_SETS:
        raise SystemExit(f"unknown bench set {name!r}; use {', '.join(BENCH_SETS)}")
    return BENCH_SETS[name]


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


def run_child(code: str) -> str:
    """Run ``code`` in a fresh Python (its own peak RSS, a cold start); its stdout."""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return result.stdout


def run_scan(
    corpus: Path,
    out: Path,
    workers: int,
    index_dir: Path,
    benches: list[str],
    max_gap: int,
    engine: str = "local",
    address: str | None = None,
    threads: int | None = None,
    setup: str = "",
) -> dict[str, float]:
    """Scan in a child process; report wall time and the child's peak RSS. ``max_gap`` 0 is
    exact matching (no chains across edits, no MinHash windows). ``setup``: lines of code the
    child runs before the scan (an A/B harness's switch)."""
    code = (
        "import resource, sys, time, contam\n"
        "from pathlib import Path\n"
        + setup
        + f"cfg = contam.ScanConfig(bench_dir=Path({str(SHARED / 'benchmarks')!r}),"
        f" index_dir=Path({str(index_dir)!r}), workers={workers}, max_gap={max_gap},"
        f" engine={engine!r}, address={address!r}, threads={threads!r},"
        " quiet=True)\n"
        "def cpu():\n"
        "    who = (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)\n"
        "    return sum(u.ru_utime + u.ru_stime for u in map(resource.getrusage, who))\n"
        "t, c = time.perf_counter(), cpu()\n"
        f"r = contam.scan({str(corpus)!r}, {benches!r}, {str(out)!r}, cfg)\n"
        "took, used = time.perf_counter() - t, cpu() - c\n"
        "peak = max(resource.getrusage(w).ru_maxrss"
        " for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))\n"
        "print(took, r.run['totals']['docs'], r.run['totals']['tokens'],"
        " sum(b['contaminated'] for b in r.benches.to_pylist()), peak, used)\n"
    )
    stdout = run_child(code)
    shutil.rmtree(out, ignore_errors=True)
    seconds, docs, tokens, dirty, peak_kb, cpu = stdout.split()
    return {
        "seconds": float(seconds),
        "cpu_seconds": float(cpu),  # the scan's own processes (Ray workers not counted)
        "docs": int(docs),
        "tokens": int(tokens),
        "contaminated": int(dirty),
        "peak_rss_mb": int(peak_kb) / 1024,  # the scan process or its largest worker
    }


@contextmanager
def ray_runtime(cpus: int) -> Iterator[str]:
    """A Ray runtime of ``cpus`` CPUs for the block (``ray start --head``, then ``ray stop``,
    which stops every Ray runtime on the machine: run this where no other Ray work runs),
    with Ray's token authentication on (it binds the machine's address): the scans in child
    processes join it with ``RAY_AUTH_MODE=token`` and the token in ~/.ray/auth_token.
    Yields its address."""
    port = 6390
    ray = [sys.executable, "-m", "ray.scripts.scripts"]
    saved = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "token"  # for `ray start` and the scans alike
    try:
        subprocess.run([*ray, "get-auth-token", "--generate"], check=True, capture_output=True)
        started = subprocess.run(
            [*ray, "start", "--head", f"--num-cpus={cpus}", f"--port={port}",
             "--include-dashboard=false", "--disable-usage-stats"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if started.returncode != 0:
            raise SystemExit(f"ray start failed:\n{started.stderr}")
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([*ray, "stop"], check=False, capture_output=True)  # a half start too
        if saved is None:
            del os.environ["RAY_AUTH_MODE"]
        else:
            os.environ["RAY_AUTH_MODE"] = saved


def index_growth(work: Path, sets: list[str]) -> None:
    """Build each bench set's indexes from scratch in a fresh folder (one child process, so
    numba's compile cache is warm but no index is), then merge them into one lookup."""
    print(f"{'benches':>8} {'items':>8} {'n-grams':>11} {'build':>7} {'on disk':>8} {'merge':>7}")
    for name in sets:
        folder = work / f"index-growth-{name}-{os.getpid()}"
        code = (
            "import time, json, contam\n"
            "from pathlib import Path\n"
            "from contam.lookup import Lookup\n"
            "from contam.scan import load_indexes, resolve_benches\n"
            f"cfg = contam.ScanConfig(bench_dir=Path({str(SHARED / 'benchmarks')!r}),"
            f" index_dir=Path({str(folder)!r}))\n"
            "t = time.perf_counter()\n"
            f"ix = load_indexes(resolve_benches({bench_set(name)!r}, cfg), cfg)\n"
            "built = time.perf_counter() - t; t = time.perf_counter()\n"
            "Lookup.merge(ix)\n"
            "print(json.dumps([built, time.perf_counter() - t,"
            " sum(i.manifest['items'] for i in ix), sum(i.manifest['ngrams'] for i in ix)]))\n"
        )
        built, merged, items, grams = json.loads(run_child(code))
        size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        shutil.rmtree(folder)
        print(f"{name:>8} {items:>8,} {grams:>11,} {built:>6.1f}s {size / 1e6:>6.0f}MB "
              f"{merged:>6.1f}s", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500MB", help="comma-separated corpus sizes")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument(
        "--benches", default="three", help="comma-separated bench sets: three, all, mmlu, gsm8k"
    )
    parser.add_argument("--baseline-mb", type=float, default=20, help="baseline slice, MB")
    parser.add_argument(
        "--match",
        default="exact",
        help="comma-separated: exact (--max-gap 0: no edit tolerance, no MinHash) and/or "
        "edits (the default scan); with both, each edits row shows its ratio to exact",
    )
    parser.add_argument(
        "--engines",
        default="local",
        help="comma-separated: local, ray (the scan starts and stops Ray for --workers tasks "
        "on this machine) and/or ray-up (joins a Ray runtime started beforehand, untimed, as on "
        "a cluster; each scan still starts its own workers, as every Ray job does); the Ray "
        "engines need the ray extra; with local, each Ray row shows its ratio to local",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads per worker or Ray task (each Ray task reserves that many CPUs; default: "
        "the scan's, 2 with one worker and 1 with more); 1 shows "
        "how the scan scales with worker processes",
    )
    parser.add_argument("--growth", action="store_true", help="also print the index growth table")
    parser.add_argument(
        "--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "contam-perf"
    )
    args = parser.parse_args()
    work = args.work_dir
    work.mkdir(parents=True, exist_ok=True)
    index_dir = work / "indexes"
    sets = [b.strip() for b in args.benches.split(",")]
    modes = [m.strip() for m in args.match.split(",")]
    engines = [e.strip() for e in args.engines.split(",")]
    if not set(modes) <= set(MAX_GAP):
        raise SystemExit(f"--match takes {', '.join(MAX_GAP)}, got {args.match}")

    from contam.benches import iter_items, resolve_bench

    texts = [
        i.full_text
        for b in BENCH_SETS["three"]
        for i in iter_items(resolve_bench(b, SHARED / "benchmarks"))
    ]
    # warm-up, untimed: build indexes (and their merged lookups) and compile kernels, those
    # of documents with hits included (an item in accented text, a joiner, Chinese)
    warm = work / "warm"
    warm.mkdir(exist_ok=True)
    warm_text = f"Café e\u0301 天下 {texts[0]} ﬁn"
    (warm / "w.jsonl").write_text(json.dumps({"text": warm_text}) + "\n")
    for name in sets:
        for gap in sorted({MAX_GAP[m] for m in modes}):
            for engine in sorted({"ray" if e.startswith("ray") else e for e in engines}):
                # Ray workers see the index read-only: numba compiles those variants once
                run_scan(warm / "w.jsonl", work / f"out-warm-{os.getpid()}", 1, index_dir,
                         bench_set(name), gap, engine)  # fmt: skip

    print(f"{'size':>8} {'benches':>8} {'engine':>6} {'match':>6} {'workers':>7} {'MB/s':>8} "
          f"{'MB/cpu-s':>8} {'docs/s':>9} {'peak RSS':>9} {'baseline':>9} {'ratio':>6} "
          f"{'/exact':>6} {'/local':>6}")  # fmt: skip
    for size_text in args.sizes.split(","):
        size = parse_size(size_text)
        corpus = work / f"corpus-{size_text.strip()}"
        if not (work / f"{corpus.name}.bytes").exists():
            jsonl_bytes = build_corpus(corpus, size)
            (work / f"{corpus.name}.bytes").write_text(str(jsonl_bytes))
        jsonl_bytes = int((work / f"{corpus.name}.bytes").read_text())
        base_mbs, _ = naive_baseline(corpus, texts, int(args.baseline_mb * 1e6))
        for name in sets:
            for workers in [int(w) for w in args.workers.split(",")]:
                exact_mbs = None
                for mode in modes:
                    local_mbs = None
                    for engine in engines:
                        out = work / f"out-{size_text.strip()}-{name}-{engine}-{mode}-{workers}"
                        scan = (corpus, out, workers, index_dir, bench_set(name), MAX_GAP[mode])
                        if engine == "ray-up":
                            cpus = (
                                workers
                                * ScanConfig(workers=workers, threads=args.threads).worker_threads
                            )
                            with ray_runtime(cpus) as address:
                                r = run_scan(*scan, "ray", address, args.threads)
                        else:
                            r = run_scan(*scan, engine, None, args.threads)
                        mbs = jsonl_bytes / r["seconds"] / 1e6
                        if mode == "exact" and engine == "local":
                            exact_mbs = mbs
                        if engine == "local":
                            local_mbs = mbs
                        versus = (
                            f"{mbs / exact_mbs:>5.2f}x"
                            if exact_mbs and mode != "exact" and engine == "local"
                            else ""
                        )
                        on_local = (
                            f"{mbs / local_mbs:>5.2f}x" if local_mbs and engine != "local" else ""
                        )
                        rss = f"{r['peak_rss_mb']:>7.0f}MB" if engine == "local" else "n/a"
                        per_cpu = (
                            f"{jsonl_bytes / r['cpu_seconds'] / 1e6:>8.1f}"
                            if engine == "local"
                            else "n/a"
                        )
                        print(
                            f"{size_text:>8} {name:>8} {engine:>6} {mode:>6} {workers:>7} "
                            f"{mbs:>8.1f} {per_cpu:>8} {r['docs'] / r['seconds']:>9,.0f} {rss:>9} "
                            f"{base_mbs:>7.1f}MB/s {mbs / base_mbs:>5.1f}x {versus:>6} "
                            f"{on_local:>6}",
                            flush=True,
                        )
    if args.growth:
        print()
        index_growth(work, ["gsm8k", "mmlu", "three", "all"])


if __name__ == "__main__":
    main()
