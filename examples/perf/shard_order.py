"""Which shard goes first: name order against largest first, on a corpus of uneven shards.

Builds eight 64 MB .jsonl.zst shards and one of 512 MB named to sort last (as in a corpus
whose last shard is its biggest), then scans it in child processes with 2 workers of one
thread and with 1 worker of two threads, taking the shards in name order (as contam did
before) and largest first (`contam.shards.largest_first`, what it does now), alternating.
With name order the big shard starts when the small ones are half done and one worker idles
while it finishes; largest first, it starts at once (at best 512 MB of work on the longest
worker instead of 768 MB: 1.5x).

    python examples/perf/shard_order.py                 # 2 rounds
    python examples/perf/shard_order.py --rounds 3 --work-dir /tmp/contam-perf
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scan_throughput import BENCH_SETS, MAX_GAP, build_corpus, run_scan

SMALL, BIG = 64 << 20, 512 << 20
#: Ways to run 2 tasks at once: (workers, threads per worker).
SLOTS = [(2, 1), (1, 2)]
#: The child's switch back to name order: `contam.scan` takes shards as `largest_first` gives
#: them (the module, not the function `contam.scan` that shadows it).
NAME_ORDER = "import importlib\nimportlib.import_module('contam.scan').largest_first = list\n"


def uneven_corpus(folder: Path) -> int:
    """Eight SMALL shards and one BIG one, last in name order; its JSONL bytes. Reused when
    the folder is complete."""
    done = folder / ".complete"
    if done.exists():
        return int(done.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    written = build_corpus(folder, 8 * SMALL, SMALL, seed=0)
    with tempfile.TemporaryDirectory(dir=folder.parent) as tmp:
        written += build_corpus(Path(tmp), BIG, BIG, seed=1)
        (Path(tmp) / "part-00000.jsonl.zst").rename(folder / "part-zz-big.jsonl.zst")
    done.write_text(str(written))
    return written


def timed_scan(corpus: Path, work: Path, workers: int, threads: int, name_order: bool) -> float:
    """Seconds of one exact scan against MMLU + GSM8K + HumanEval in a fresh process."""
    took = run_scan(
        corpus, work / "out", workers, work / "indexes", BENCH_SETS["three"], MAX_GAP["exact"],
        threads=threads, setup=NAME_ORDER if name_order else "",
    )  # fmt: skip
    return took["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds")
    parser.add_argument("--work-dir", type=Path, default=None, help="keep corpus and index here")
    args = parser.parse_args()
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="contam-order-"))
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / "corpus-uneven"
    size = uneven_corpus(corpus)
    timed_scan(corpus, work, 1, 2, False)  # index build, caches
    print(f"corpus: {size / 1e6:,.0f} MB of JSONL in 8 x 64 MB + 1 x 512 MB shards")
    print("| workers x threads | name order | largest first | ratio |")
    print("|---|---|---|---|")
    for workers, threads in SLOTS:
        named, largest = [], []
        for _ in range(args.rounds):
            named.append(timed_scan(corpus, work, workers, threads, True))
            largest.append(timed_scan(corpus, work, workers, threads, False))
        a, b = min(named), min(largest)
        print(f"| {workers} x {threads} | {a:.1f} s, {size / 1e6 / a:.0f} MB/s "
              f"| {b:.1f} s, {size / 1e6 / b:.0f} MB/s | {a / b:.2f}x |")  # fmt: skip


if __name__ == "__main__":
    main()
