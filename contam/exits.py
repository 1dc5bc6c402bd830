"""How every command ends on an error: one ``Error: ...`` line and exit code 1, never a
traceback; Ctrl-C says what was kept."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click

from contam.errors import ContamError
from contam.options import F


def errors_to_exit(interrupted: str) -> Callable[[F], F]:
    """A decorator mapping `ContamError` to click's one-line error and exit code 1, and
    Ctrl-C to the message ``interrupted`` and exit code 130."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except ContamError as e:
                raise click.ClickException(str(e)) from None
            except KeyboardInterrupt:
                click.echo(interrupted, err=True)
                sys.exit(130)

        return wrapper  # type: ignore[return-value]

    return decorate
