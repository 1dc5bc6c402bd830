"""Where one scan thread spends its time: CPU seconds per 100 MB of JSONL for each stage.

Runs the scan's stages in turn on one thread over a .jsonl.zst corpus built by
`scan_throughput.py` (the same 64 MB shards), exact matching against the chosen benches:

- read: zstd, the JSONL kernel and the batch buffer (`ShardReader`);
- fold: normalizing each batch (`FoldTable.fold`);
- probe: tokens, n-gram hashes, bloom filter and tables (`Matcher.probe`);
- gpt4: GPT-4's substring kernel (`find_candidates`);
- finish: joiner segments, alignment and character offsets for documents with hits.

Each stage is timed with the thread's own CPU clock. A first pass over one shard compiles
and warms the kernels, untimed. In the scan each thread runs these stages in turn on a
shard of its own, so the sum here is one thread's CPU per 100 MB.

    python examples/perf/scan_throughput.py --sizes 100MB --workers 1   # builds the corpus
    python examples/perf/scan_stages.py --corpus /tmp/contam-perf/corpus-100MB
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scan_throughput import SHARED, bench_set

import contam
from contam.shards import ShardReader, find_shards
from contam.substrings import find_candidates

STAGES = ("read", "fold", "probe", "gpt4", "finish")


def stage_seconds(corpus: Path, benches: list[str], index_dir: Path) -> dict[str, float]:
    """CPU seconds of each stage over every shard of ``corpus``."""
    scan_module = sys.modules["contam.scan"]  # `contam.scan` the name is the function
    config = contam.ScanConfig(bench_dir=SHARED / "benchmarks", index_dir=index_dir, max_gap=0)
    sources = scan_module.resolve_benches(benches, config)
    _, matcher = scan_module._load_matcher(sources, config, [], None)
    shards = find_shards([str(corpus)])
    seconds = dict.fromkeys(STAGES, 0.0)
    for timed, paths in ((False, shards[:1]), (True, shards)):
        for path in paths:
            reader = ShardReader(path, config.text_fields, config.id_field, config.batch_chars)
            batches = reader.batches()
            while True:
                lap = time.thread_time()
                batch = next(batches, None)
                took = {"read": time.thread_time() - lap}
                if batch is None:
                    break
                lap = time.thread_time()
                folded = matcher.fold.fold(batch.data, batch.starts, batch.ends)
                took["fold"] = time.thread_time() - lap
                lap = time.thread_time()
                probed = matcher.probe(folded[0], folded[1], folded[2])
                took["probe"] = time.thread_time() - lap
                lap = time.thread_time()
                found = find_candidates(
                    batch.data, batch.starts, batch.ends, matcher.lookup.substrings
                )
                took["gpt4"] = time.thread_time() - lap
                lap = time.thread_time()
                matcher.finish(batch, (folded, probed, found))
                took["finish"] = time.thread_time() - lap
                if timed:
                    for stage, spent in took.items():
                        seconds[stage] += spent
            if timed:
                seconds["read"] += took["read"]  # the reader's last call, at the end
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    work = Path(tempfile.gettempdir()) / "contam-perf"
    parser.add_argument("--corpus", type=Path, default=work / "corpus-100MB")
    parser.add_argument("--benches", default="three", help="bench set: three, all, mmlu, gsm8k")
    parser.add_argument("--index-dir", type=Path, default=work / "indexes")
    args = parser.parse_args()
    sized = args.corpus.parent / f"{args.corpus.name}.bytes"
    if not sized.is_file():
        raise SystemExit(
            f"{args.corpus}: no {sized.name} beside it (build both: scan_throughput.py)"
        )
    mb = int(sized.read_text()) / 1e6
    seconds = stage_seconds(args.corpus, bench_set(args.benches), args.index_dir)
    print(f"{args.corpus.name}, {mb:.0f} MB of JSONL, one thread; CPU seconds per 100 MB:")
    for stage in STAGES:
        print(f"  {stage:>7} {seconds[stage] / mb * 100:6.3f}")
    print(f"  {'total':>7} {sum(seconds.values()) / mb * 100:6.3f}")


if __name__ == "__main__":
    main()
