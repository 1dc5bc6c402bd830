"""The ``contam probe`` and ``contam probe-eval`` commands: options -> configs -> one call.

Registered in the main group by `contam.cli`; nothing heavy (torch, transformers, llama.cpp)
is imported until a command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from contam.exits import errors_to_exit
from contam.options import F, apply, bench_options, bench_sources
from contam.probe.config import BACKENDS, DTYPES, PARTS, ModelConfig, ProbeConfig

_errors_to_exit = errors_to_exit("interrupted; nothing was written")


def _model_options(func: F) -> F:
    """Which model, how to run it, and what to score (defaults from the configs)."""
    model, probe = ModelConfig("-"), ProbeConfig()
    options = [
        click.option("--model", metavar="PATH", help="Model folder (transformers) or .gguf file."),
        click.option("--endpoint", metavar="URL",
                     help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (its API "
                     "key in $CONTAM_API_KEY)."),
        click.option("--model-name", help="Model name sent to --endpoint."),
        click.option("--backend", type=click.Choice(BACKENDS), default=model.backend,
                     show_default=True,
                     help="auto: llama.cpp for .gguf (transformers if llama-cpp-python is "
                     "missing), transformers for a folder, the server for --endpoint."),
        click.option("--ref-model", metavar="PATH",
                     help="Reference model for the reference ratio (same backend rules)."),
        click.option("--start-token", metavar="TEXT",
                     help="Token put before each text [default: the model's BOS if it adds "
                     "one, else <|endoftext|>, else BOS, else EOS]."),
        click.option("--context", type=int,
                     help="Tokens seen at once; longer texts are scored in half-overlapping "
                     "windows [default: the model's, at most 2048]."),
        click.option("--batch-tokens", type=int, default=model.batch_tokens, show_default=True,
                     help="transformers: padded tokens per forward pass."),
        click.option("--threads", type=int, help="CPU threads of torch / llama.cpp."),
        click.option("--device", default=model.device, show_default=True,
                     help="transformers device (cpu, cuda, cuda:1, mps)."),
        click.option("--dtype", type=click.Choice(DTYPES), default=model.dtype,
                     show_default=True, help="transformers weights' dtype."),
        click.option("--trust-remote-code", is_flag=True,
                     help="Let transformers run the model folder's own code."),
        click.option("--k", type=float, default=probe.k, show_default=True,
                     help="Fraction of lowest-scoring tokens Min-K% and Min-K%++ average."),
        click.option("--part", type=click.Choice(PARTS), default=probe.part, show_default=True,
                     help="Score input and label (full) or the input alone."),
        click.option("--no-lowercase", is_flag=True,
                     help="Skip the lowercase ratio (it scores every text twice)."),
        click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary."),
    ]  # fmt: skip
    return apply(options, func)


def _configs(kw: dict[str, Any]) -> tuple[ModelConfig, ProbeConfig]:
    endpoint = kw["endpoint"]
    if kw["model_name"] and not endpoint:
        raise click.UsageError("--model-name names the model of an --endpoint; add --endpoint")
    name = kw["model_name"] or kw["model"] if endpoint else kw["model"]
    if not name:
        raise click.UsageError(
            "name the model: --model PATH, or --endpoint URL with --model-name NAME"
        )
    common = {
        "start_token": kw["start_token"], "context": kw["context"],
        "batch_tokens": kw["batch_tokens"], "threads": kw["threads"], "device": kw["device"],
        "dtype": kw["dtype"], "trust_remote_code": kw["trust_remote_code"],
    }  # fmt: skip
    model = ModelConfig(name, backend=kw["backend"], endpoint=endpoint, **common)
    ref = None
    if kw["ref_model"]:
        ref_backend = "auto" if kw["backend"] == "endpoint" else kw["backend"]
        ref = ModelConfig(kw["ref_model"], backend=ref_backend, **common)
    sharded = {k: kw[k] for k in ("sharded", "shards", "permutations", "seed") if k in kw}
    config = ProbeConfig(k=kw["k"], part=kw["part"], lowercase=not kw["no_lowercase"],
                         ref_model=ref, quiet=kw["quiet"], **sharded)  # fmt: skip
    return model, config


@click.command("probe")
@bench_options(required=True, corpus_fields=False)
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="New report folder.")  # fmt: skip
@_model_options
@click.option(
    "--sharded",
    is_flag=True,
    help="Also test each bench's order (Oren et al.'s sharded likelihood test).",
)
@click.option(
    "--shards",
    type=int,
    default=ProbeConfig().shards,
    show_default=True,
    help="Shards of the sharded test (each needs 2 items and fits --context).",
)
@click.option(
    "--permutations",
    type=int,
    default=ProbeConfig().permutations,
    show_default=True,
    help="Random orders scored per shard.",
)
@click.option(
    "--seed", type=int, default=ProbeConfig().seed, show_default=True, help="Seed of the orders."
)
@click.option(
    "--scan",
    type=click.Path(path_type=Path),
    help="A contam scan report folder to join the scores with (joined.parquet).",
)
@_errors_to_exit
def probe(**kw: Any) -> None:
    """Score every item of benches with membership signals of a model.

    Writes scores.parquet (loss, perplexity, zlib, lowercase, reference ratio, Min-K%,
    Min-K%++ per item), with --sharded sharded.parquet (a p-value per bench), with --scan
    joined.parquet, and run.json to --out.

    Example:

        contam probe --model SmolLM2-135M-Instruct.Q4_1.gguf --bench gsm8k --out reports/p1
    """
    from contam.config import ScanConfig
    from contam.probe.run import check_models
    from contam.probe.run import probe as run_probe
    from contam.probe.tables import summary_text

    model, config = _configs(kw)
    check_models(model, config)  # before the benches are read and hashed
    sources = bench_sources(kw, ScanConfig(bench_dir=kw["bench_dir"]))
    result = run_probe(sources, kw["out"], model, config, scan=kw["scan"])
    if config.quiet:
        return
    click.echo(summary_text(result.scores, result.sharded, result.run))
    files = ["scores.parquet"]
    files += ["sharded.parquet", "sharded_shards.parquet"] if config.sharded else []
    files += ["joined.parquet"] if kw["scan"] else []
    click.echo(f"reports in {result.out}/ ({', '.join(files)})")
    unmatched = result.run.get("scan_unmatched_items")
    if unmatched:
        click.echo(f"warning: {unmatched:,} items have no row in the scan")


@click.command("probe-eval")
@click.option("--members", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Texts the model was trained on (.jsonl/.csv/.parquet).")  # fmt: skip
@click.option("--nonmembers", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Texts it was not trained on.")  # fmt: skip
@click.option("--id-field", default="id", show_default=True, help="Id field of both files.")
@click.option("--text-field", multiple=True, default=("text",), show_default=True,
              help="Text field(s) of both files.")  # fmt: skip
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="New report folder.")  # fmt: skip
@_model_options
@_errors_to_exit
def probe_eval(members: Path, nonmembers: Path, **kw: Any) -> None:
    """Measure how well each membership signal separates known members from non-members.

    Writes eval.parquet (AUROC and TPR at 5% FPR per metric), scores.parquet and run.json
    to --out, and prints the table.

    Example:

        contam probe-eval --members seen.jsonl --nonmembers fresh.jsonl --model m.gguf --out r/e1
    """
    from contam.probe.run import probe_eval as run_eval
    from contam.probe.tables import eval_text

    model, config = _configs(kw)
    result = run_eval(members, nonmembers, kw["out"], model, config, id_field=kw["id_field"],
                      text_fields=tuple(kw["text_field"]))  # fmt: skip
    if config.quiet:
        return
    click.echo(eval_text(result.metrics))
    click.echo(f"reports in {result.out}/ (eval.parquet, scores.parquet)")
