"""Membership probes: evidence of contamination from the model itself, without its corpus.

Data flow (one module per stage)::

    bench items --run.item_text--> texts --backends--> TokenScores (log p, mu, var per token)
        --scores--> ItemScores (loss, zlib, Min-K%, ...) --tables--> scores.parquet
    texts in shards, canonical vs shuffled --sharded--> p-value per bench --> sharded.parquet
    member / non-member texts --scores--> --calibrate--> AUROC, TPR@5%FPR --> eval.parquet

The backends (`contam.probe.backends`) need an optional extra: ``pip install
'contam[probe]'`` (transformers) or ``'contam[llama]'`` (llama.cpp); importing this package
needs neither.

Example:
    >>> from contam.probe import ModelConfig, probe
    >>> from contam.benches import resolve_bench
    >>> probe([resolve_bench("gsm8k")], "reports/probe1",
    ...       ModelConfig("SmolLM2-135M-Instruct.Q4_1.gguf"))  # doctest: +SKIP
"""

from contam.probe.backends import Backend, TokenScores, open_backend
from contam.probe.calibrate import MetricEval, auroc, evaluate, tpr_at_fpr
from contam.probe.config import ModelConfig, ProbeConfig
from contam.probe.run import EvalResult, ProbeResult, item_text, probe, probe_eval
from contam.probe.scores import MEMBER_IF_LOW, METRICS, ItemScores, score_item
from contam.probe.sharded import ShardedResult, sharded_test

__all__ = [
    "MEMBER_IF_LOW",
    "METRICS",
    "Backend",
    "EvalResult",
    "ItemScores",
    "MetricEval",
    "ModelConfig",
    "ProbeConfig",
    "ProbeResult",
    "ShardedResult",
    "TokenScores",
    "auroc",
    "evaluate",
    "item_text",
    "open_backend",
    "probe",
    "probe_eval",
    "score_item",
    "sharded_test",
    "tpr_at_fpr",
]
