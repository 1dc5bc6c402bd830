"""The one exception hierarchy of contam.

    ContamError                 anything the user can fix; the CLI prints it on one line, exit 1
    ├── ConfigError             an option or setting out of range
    ├── BenchError              unknown bench, missing or unparsable bench data, bad checksum
    ├── ShardError              an unreadable, corrupt or empty corpus shard
    │   └── RecordError         one bad record (JSON, encoding, missing field) at file:line
    ├── IndexMismatchError      an index built with other settings than the run asks for
    ├── ReportError             an output folder that cannot be written or resumed
    └── ModelError              a model or endpoint that cannot be loaded or scored, or a
                                missing probe extra (pip install 'contam[probe]')

Every message names the file (and line) and, where there is one, the fix.
"""

from __future__ import annotations


class ContamError(Exception):
    """Base of every error the user can act on."""


class ConfigError(ContamError):
    """An option or setting out of range."""


class BenchError(ContamError):
    """A benchmark that is unknown, absent, unparsable or fails its checksum."""


class ShardError(ContamError):
    """A corpus shard that cannot be read as a whole."""


class RecordError(ShardError):
    """One bad record in a shard; skippable with ``--skip-bad``."""


class IndexMismatchError(ContamError):
    """An index whose manifest disagrees with the settings of the run."""


class ReportError(ContamError):
    """An output folder that cannot be written or resumed."""


class ModelError(ContamError):
    """A model, tokenizer or endpoint that cannot be loaded or scored (contam probe)."""


def first_line(e: BaseException) -> str:
    """A foreign exception's message on one line, for the one-line errors raised from it."""
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0]
