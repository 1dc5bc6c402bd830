"""The ``contam`` command: options -> configs -> one library call -> a short summary.

No logic lives here; every `ContamError` becomes a one-line ``Error: ...`` and exit code 1.
"""

from __future__ import annotations

import functools
import sys
import time
from pathlib import Path
from typing import Any

import click

from contam import benches as bench_registry
from contam.config import (
    ENGINES,
    PRESET_NAMES,
    PRESETS,
    NGramConfig,
    NormConfig,
    ScanConfig,
    default_index_dir,
)
from contam.errors import ContamError
from contam.exits import errors_to_exit
from contam.export import SUBSETS
from contam.options import F, apply, bench_dir_option, bench_options, bench_sources
from contam.probe.cli import probe, probe_eval
from contam.summary import FORMATS, scan_summary

_errors_to_exit = errors_to_exit("interrupted; finished shards are kept, continue with --resume")


def _index_options(func: F) -> F:
    """Options that decide what an index holds (all part of its fingerprint)."""
    options = [
        click.option("--ngram", "n", type=int, default=NGramConfig().n, show_default=True,
                     help="Seed n-gram length in tokens (at most 8)."),
        click.option("--short-min", type=int, default=5, show_default=True,
                     help="Items shorter than n tokens are matched whole if at least this long."),
        click.option("--boilerplate-items", type=int, default=5, show_default=True,
                     help="An n-gram in this many items of a bench is boilerplate, never a match."),
        click.option("--no-nfkc", is_flag=True, help="Skip Unicode NFKC normalization."),
        click.option("--no-casefold", is_flag=True, help="Keep letter case."),
        click.option("--no-cjk-chars", is_flag=True,
                     help="Treat runs of CJK characters as words instead of one token each."),
        click.option("--index-dir", type=click.Path(file_okay=False, path_type=Path),
                     default=default_index_dir, show_default="indexes or $CONTAM_INDEX_DIR",
                     help="Where indexes are built and reused."),
        bench_options(),
    ]  # fmt: skip
    return apply(options, func)


def _configs(kw: dict[str, Any]) -> tuple[NormConfig, NGramConfig]:
    norm = NormConfig(
        nfkc=not kw.pop("no_nfkc"),
        casefold=not kw.pop("no_casefold"),
        cjk_chars=not kw.pop("no_cjk_chars"),
    )
    ngram = NGramConfig(kw.pop("n"), kw.pop("short_min"), kw.pop("boilerplate_items"))
    return norm, ngram


def _scan_options(func: F) -> F:
    """How shards are read, matched and judged, and how the work runs: shared by the commands
    that scan (scan, decontaminate)."""
    default = ScanConfig()
    options = [
        click.option("--text-field", multiple=True, default=("text",), show_default=True,
                     help="Corpus record field(s) joined into the document text. Repeatable."),
        click.option("--id-field", default="id", show_default=True,
                     help="Corpus record field used as document id (else the line number)."),
        click.option("--threshold", type=float, default=default.threshold, show_default=True,
                     help="contam preset: an item part is contaminated when aligned spans "
                     "cover this fraction of its distinctive tokens."),
        click.option("--preset", type=click.Choice(PRESET_NAMES), default="contam",
                     show_default=True,
                     help="Definition that sets the contaminated column (every preset gets its "
                     "own columns): " + "; ".join(f"{p.name}: {p.rule}" for p in PRESETS.values())
                     + "."),
        click.option("--max-gap", type=int, default=default.max_gap, show_default=True,
                     help="Most tokens an aligned span skips between exact runs (0: exact "
                     "matching only)."),
        click.option("--workers", type=int, default=default.workers, show_default=True,
                     help="Processes working on shards in parallel."),
        click.option("--threads", type=int, default=None,
                     help="Threads per worker, each scanning a shard of its own (or "
                     "sharing the batches of fewer shards than threads).  [default: 2 with "
                     "one worker, 1 with more]"),
        click.option("--resume", is_flag=True, help="Continue a killed run in --out."),
        click.option("--skip-bad", is_flag=True,
                     help="Count bad records and shards in the report instead of stopping."),
        click.option("--batch-mb", type=int, default=default.batch_chars >> 20,
                     show_default=True,
                     help="Text handed to the matcher at once, in MB (of JSON for JSONL records "
                     "with one text field)."),
        click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary."),
    ]  # fmt: skip
    return apply(options, func)


def _scan_config(kw: dict[str, Any], **extra: Any) -> ScanConfig:
    """The `ScanConfig` of `_index_options` and `_scan_options` (``extra``: engine settings)."""
    norm, ngram = _configs(kw)
    return ScanConfig(
        norm=norm, ngram=ngram, threshold=kw["threshold"], preset=kw["preset"],
        max_gap=kw["max_gap"], text_fields=tuple(kw["text_field"]), id_field=kw["id_field"],
        batch_chars=kw["batch_mb"] << 20, workers=kw["workers"], threads=kw["threads"],
        resume=kw["resume"],
        skip_bad=kw["skip_bad"], quiet=kw["quiet"], index_dir=kw["index_dir"],
        bench_dir=kw["bench_dir"], **extra,
    )  # fmt: skip


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="contam")
def cli() -> None:
    """Find which benchmark items leaked into a pretraining corpus."""


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@_index_options
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Report folder (new, or the one to --resume).",
)
@_scan_options
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="local",
    show_default=True,
    help="Where shards are scanned: local processes, or Ray tasks (pip install 'contam[ray]').",
)
@click.option(
    "--address",
    metavar="auto|HOST:PORT|ray://HOST:PORT",
    help="Ray cluster to join with --engine ray (the shards must be readable on its nodes; "
    "ray:// needs pip install 'ray[client]') "
    "[default: start Ray on this machine, --workers tasks at once of --threads CPUs each].",
)
@click.option(
    "--index",
    "index_folders",
    multiple=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="A prebuilt index folder to use as is (its settings must match).",
)
@_errors_to_exit
def scan(paths: tuple[str, ...], **kw: Any) -> None:
    """Scan corpus shards (files, folders, globs) against benchmarks.

    Writes items.parquet, matches.parquet, benches.parquet and run.json to --out.

    Example:

        contam scan corpus/ --bench mmlu --bench gsm8k --out reports/run1
    """
    from contam.scan import scan as run_scan

    quiet = kw["quiet"]
    config = _scan_config(kw, engine=kw["engine"], address=kw["address"])
    sources = bench_sources(kw, config)
    log = None if quiet else functools.partial(click.echo, err=True)
    bar = None if quiet else _ProgressBar(paths)
    started = time.perf_counter()
    try:
        result = run_scan(
            paths,
            sources,
            kw["out"],
            config,
            index_folders=kw["index_folders"],
            progress=None if bar is None else bar.advance,
            log=log,
        )
    finally:
        if bar is not None:
            bar.close()
    if not quiet:
        seconds = time.perf_counter() - started
        click.echo(scan_summary(result.benches.to_pylist(), result.run, seconds))
        click.echo(f"reports in {result.out}/ (items.parquet, matches.parquet, benches.parquet)")


class _ProgressBar:
    """tqdm bar over raw shard bytes, with documents read as its postfix."""

    def __init__(self, paths: tuple[str, ...], desc: str = "scan") -> None:
        from tqdm import tqdm

        from contam.shards import find_shards

        try:
            self.total = sum(p.stat().st_size for p in find_shards(list(paths)))
        except ContamError:
            self.total = 0
        self.tqdm = tqdm
        self.desc = desc
        self.bar: Any = None  # made at the first progress, after the index log lines
        self.docs = 0

    def advance(self, raw: int, docs: int) -> None:
        if self.bar is None:
            self.bar = self.tqdm(total=self.total, unit="B", unit_scale=True, unit_divisor=1024,
                                 desc=self.desc, file=sys.stderr, dynamic_ncols=True)  # fmt: skip
        self.docs += docs
        self.bar.update(raw)
        if docs:
            self.bar.set_postfix_str(f"{self.docs:,} docs", refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@cli.command("build-index")
@_index_options
@click.option(
    "--text-field",
    multiple=True,
    default=("text",),
    show_default=True,
    help="Text field(s) of custom bench files.",
)
@click.option("--id-field", default="id", show_default=True, help="Id field of custom bench files.")
@click.option("--rebuild", is_flag=True, help="Build even if a matching index exists.")
@_errors_to_exit
def build_index(**kw: Any) -> None:
    """Build (or check) the n-gram index of benches; scan does this on first use.

    Example:

        contam build-index --bench mmlu --bench gsm8k
    """
    from contam.scan import load_indexes

    norm, ngram = _configs(kw)
    if not kw["bench_names"]:
        raise click.UsageError("name at least one --bench")
    config = ScanConfig(
        norm=norm, ngram=ngram, text_fields=tuple(kw["text_field"]), id_field=kw["id_field"],
        index_dir=kw["index_dir"], bench_dir=kw["bench_dir"],
    )  # fmt: skip
    sources = bench_sources(kw, config)
    load_indexes(sources, config, rebuild=kw["rebuild"], log=click.echo)


@cli.group()
def benches() -> None:
    """Known benchmarks: list them, fetch their data."""


@benches.command("list")
@bench_dir_option
@_errors_to_exit
def benches_list(bench_dir: Path | None) -> None:
    """List registry benches, their splits and whether their data is present.

    Example:

        contam benches list --bench-dir ../shared/data/benchmarks
    """
    rows = [("bench", "split", "items", "data", "licence")]
    for name, spec in bench_registry.registry().items():
        for split, s in spec.splits.items():
            layout = [rel for rel, _ in s.files]
            try:
                where = str(bench_registry.locate_data(spec, layout, bench_dir))
            except ContamError:
                where = "missing (contam benches fetch " + name + ")"
            label = split + (" *" if split == spec.default_split else "")
            rows.append((name, label, f"{s.count:,}", where, spec.license))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip())
    click.echo("* default split; another one is named as --bench NAME:SPLIT")


@benches.command("fetch")
@click.argument("names", nargs=-1, required=True)
@click.option("--mirror", help="Base URL serving the files in their original layout "
              "(instead of the official source).")  # fmt: skip
@click.option("--split", "splits", multiple=True, help="Only these splits (default: all).")
@_errors_to_exit
def benches_fetch(names: tuple[str, ...], mirror: str | None, splits: tuple[str, ...]) -> None:
    """Download benchmark files into the cache and verify their checksums.

    Example:

        contam benches fetch mmlu gsm8k
    """
    from contam.fetch import fetch_bench

    for name in names:
        for line in fetch_bench(name, splits=splits or None, mirror=mirror):
            click.echo(line)


@cli.command()
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="How the summary is printed.",
)
@click.option(
    "--preset",
    type=click.Choice(PRESET_NAMES),
    help="Definition for the subject and document tables [default: the scan's].",
)
@click.option(
    "--top",
    type=int,
    default=10,
    show_default=True,
    help="Documents in the top matched documents table, and items in the HTML report.",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a self-contained HTML report with charts to this file "
    "(pip install 'contam[html]').",
)
@_errors_to_exit
def report(out: Path, fmt: str, preset: str | None, top: int, html_path: Path | None) -> None:
    """Summarise a finished scan: contamination rate per bench and definition, what leaked
    (input only or with its label), per subject, and the top matched documents.

    Example:

        contam report reports/run1 --format markdown --html reports/run1/report.html
    """
    from contam.results import ScanReport
    from contam.summary import render, summary_data

    scan_report = ScanReport.open(out)
    click.echo(render(summary_data(scan_report, preset, top), fmt))
    if html_path is not None:
        from contam.html import write_html

        write_html(scan_report, html_path, preset=preset, top=top)
        click.echo(f"HTML report in {html_path}", err=True)


@cli.command()
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--dest",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for card.md and card.json [default: OUT].",
)
@_errors_to_exit
def card(out: Path, dest: Path | None) -> None:
    """Write a disclosure card of a finished scan (card.md and card.json): corpus shards
    with sizes and SHA-256, benchmarks and their checksums, definitions and thresholds, the
    rates, the tool version. The same scan always gives the same card.

    Example:

        contam card reports/run1
    """
    from contam.card import write_card
    from contam.results import ScanReport

    for path in write_card(ScanReport.open(out), dest):
        click.echo(path)


@cli.command()
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--bench",
    required=True,
    metavar="NAME",
    help="The bench as scanned: mmlu, mmlu:val, or a custom file's stem.",
)
@click.option(
    "--subset",
    type=click.Choice(SUBSETS),
    required=True,
    help="clean: items not contaminated (for llama2: below 20% matched); "
    "dirty: contaminated items.",
)
@click.option(
    "--out",
    "dest",
    required=True,
    type=click.Path(path_type=Path),
    help="A .jsonl, .csv or .parquet file (one original record per item), or a "
    "folder (the bench's files in their original layout and format).",
)
@click.option(
    "--preset",
    type=click.Choice(PRESET_NAMES),
    help="Definition that decides clean and dirty [default: the scan's].",
)
@click.option("--id-column", metavar="NAME", help="Add each item's id under this field.")
@bench_dir_option
@_errors_to_exit
def export(
    out: Path,
    bench: str,
    subset: str,
    dest: Path,
    preset: str | None,
    id_column: str | None,
    bench_dir: Path | None,
) -> None:
    """Write a bench's clean or dirty items, as a scan judged them, in the bench's own record
    format, to evaluate a model on each subset.

    Example:

        contam export reports/run1 --bench mmlu --subset clean --out mmlu-clean.jsonl
    """
    from contam.export import export_subset
    from contam.results import ScanReport

    done = export_subset(ScanReport.open(out), bench, subset, dest, preset, bench_dir, id_column)
    click.echo(
        f"wrote {done.selected:,} {done.subset} items of {done.bench}:{done.split} "
        f"(of {done.items:,}, by {done.preset}) to {done.out}"
    )


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@_index_options
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the cleaned corpus (new, or the one to --resume); what was "
    "removed, and the scan, go to OUT/_contam/.",
)
@click.option(
    "--mode",
    type=click.Choice(["drop-doc", "cut-span"]),
    default="drop-doc",
    show_default=True,
    help="drop-doc: leave out each document holding a span of a "
    "contaminated item; cut-span: cut the spans out of the text.",
)
@click.option(
    "--margin",
    type=int,
    default=100,
    show_default=True,
    metavar="CHARS",
    help="cut-span: characters cut on each side of a span, snapped outward to whitespace.",
)
@click.option(
    "--max-pieces",
    type=int,
    default=4,
    show_default=True,
    help="cut-span: a document that cuts would leave in more pieces is dropped.",
)
@_scan_options
@_errors_to_exit
def decontaminate(paths: tuple[str, ...], **kw: Any) -> None:
    """Write the corpus again without the text of the benchmark items it leaks.

    Scans PATHS (files, folders, globs) like `contam scan`, then writes every shard to --out
    in its own format and layout, without the documents (or, with --mode cut-span, the
    spans) of the items --preset calls contaminated. What was removed and why:
    OUT/_contam/removed.parquet. The input files are never modified.

    Example:

        contam decontaminate corpus/ --bench mmlu --out clean/ --mode cut-span
    """
    from contam.decontaminate import decontaminate as run_decontaminate

    quiet = kw["quiet"]
    config = _scan_config(kw)
    sources = bench_sources(kw, config)
    bars = {} if quiet else {s: _ProgressBar(paths, s) for s in ("scan", "rewrite")}

    def log(message: str) -> None:
        bars["scan"].close()  # the scan is done or not begun: no bar to break
        click.echo(message, err=True)

    def progress(stage: str, raw: int, docs: int) -> None:
        bars[stage].advance(raw, docs)

    started = time.perf_counter()
    try:
        result = run_decontaminate(
            paths, sources, kw["out"], config, kw["mode"], kw["margin"], kw["max_pieces"],
            progress=progress if bars else None, log=log if bars else None,
        )  # fmt: skip
    finally:
        for bar in bars.values():
            bar.close()
    if not quiet:
        seconds = time.perf_counter() - started
        click.echo(scan_summary(result.scan.benches.to_pylist(), result.scan.run, seconds))
        share = result.chars_removed / max(1, result.chars_in)
        click.echo(
            f"removed the spans of {result.items:,} items ({config.preset}): "
            f"{result.docs_dropped:,} docs dropped, {result.docs_cut:,} cut, "
            f"{result.chars_removed:,} characters ({100 * share:.2f}%)"
        )
        if result.items_without_spans:
            click.echo(f"{len(result.items_without_spans):,} items have no span to remove "
                       "(see decontaminate.json)")  # fmt: skip
        click.echo(
            f"wrote {result.shards_written} of {result.shards} shards, {result.docs_out:,} of "
            f"{result.docs_in:,} docs, to {result.out}/ (what was removed and why: "
            f"{result.out}/_contam/removed.parquet)"
        )


cli.add_command(probe)
cli.add_command(probe_eval)


def main() -> None:
    """Console entry point."""
    cli(prog_name="contam")
