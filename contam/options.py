"""Command-line options shared by the commands of ``contam`` and ``contam probe``: which
benches, and where their data is."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from contam.benches import BenchSource
from contam.config import ScanConfig

#: A command function, as the option decorators here and in the CLIs return it unchanged.
F = TypeVar("F", bound=Callable[..., Any])

#: ``--bench-dir``: where registry benches are read (the scan's, for export).
bench_dir_option = click.option(
    "--bench-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="CONTAM_BENCH_DIR",
    help="Folder with benchmark files in their original layout.",
)


def apply(options: Sequence[Callable[[Any], Any]], func: F) -> F:
    """``func`` decorated by ``options``, the first one outermost (as written above a def)."""
    decorated: Any = func
    for option in reversed(options):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]


def bench_options(required: bool = False, corpus_fields: bool = True) -> Callable[[F], F]:
    """``--bench`` (repeatable), ``--bench-dir`` and the fields of custom bench files, whose
    defaults are the corpus's ``--id-field``/``--text-field`` where the command has them."""
    id_default = "--id-field, or id" if corpus_fields else "id"
    text_default = "--text-field, or text" if corpus_fields else "text"
    options = [
        click.option("--bench", "bench_names", multiple=True, required=required,
                     metavar="NAME|FILE",
                     help="Registry bench (mmlu, mmlu:val), 'all' (every registry bench, one "
                     "pass) or a .jsonl/.csv/.parquet file. Repeatable."),
        bench_dir_option,
        click.option("--bench-id-field",
                     help=f"Id field of custom bench files [default: {id_default}]."),
        click.option("--bench-text-field", multiple=True,
                     help=f"Text field(s) of custom bench files [default: {text_default}]."),
        click.option("--label-field", multiple=True,
                     help="Label (answer) field(s) of custom bench files. Repeatable."),
    ]  # fmt: skip
    return lambda func: apply(options, func)


def bench_sources(kw: dict[str, Any], config: ScanConfig) -> list[BenchSource]:
    """The ``--bench`` values, resolved (custom files read with the ``--bench-*`` fields,
    else the config's corpus fields)."""
    from contam.scan import resolve_benches

    return resolve_benches(
        kw["bench_names"],
        config,
        bench_text_fields=tuple(kw["bench_text_field"]) or None,
        bench_id_field=kw["bench_id_field"],
        label_fields=tuple(kw["label_field"]),
    )
