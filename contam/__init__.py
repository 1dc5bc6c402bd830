"""contam: which benchmark items leaked into a pretraining corpus?

Data flow (one module per stage)::

    benchmarks_meta/*.toml --benches--> BenchItem --normalize/shingles--> index --> indexes/
    corpus shards --shards--> DocBatch --normalize/shingles--> match(lookup) --> report (Parquet)

`scan` is the whole audit in one call; `build_index` and `resolve_bench` are its parts.
`decontaminate` scans, then writes the corpus again without the leaked text.

Example:
    >>> import contam
    >>> contam.scan("corpus/", benches=["mmlu", "gsm8k"], out="reports/run1")  # doctest: +SKIP
"""

from contam._version import __version__
from contam.benches import BenchSource, registry, resolve_bench
from contam.config import NGramConfig, NormConfig, ScanConfig
from contam.decontaminate import DecontaminateResult, decontaminate
from contam.errors import (
    BenchError,
    ConfigError,
    ContamError,
    IndexMismatchError,
    ModelError,
    RecordError,
    ReportError,
    ShardError,
)
from contam.index import BenchIndex, build_index, ensure_index
from contam.normalize import normalize
from contam.records import BenchItem, DocBatch
from contam.scan import ScanResult, scan

__all__ = [
    "BenchError",
    "BenchIndex",
    "BenchItem",
    "BenchSource",
    "ConfigError",
    "ContamError",
    "DecontaminateResult",
    "DocBatch",
    "IndexMismatchError",
    "ModelError",
    "NGramConfig",
    "NormConfig",
    "RecordError",
    "ReportError",
    "ScanConfig",
    "ScanResult",
    "ShardError",
    "__version__",
    "build_index",
    "decontaminate",
    "ensure_index",
    "normalize",
    "registry",
    "resolve_bench",
    "scan",
]
