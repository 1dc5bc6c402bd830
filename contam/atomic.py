"""Folders and files written whole or not at all: indexes, merged lookups, shard commits,
reports.

A reader (a resumed scan, another process sharing the index folder) must never see half a
folder, so each is written under a temporary name and renamed into place. The name is the
writer's own, process and thread: a scan that stopped while its indexes were still being
built in the background (`prefetch.in_background`) may be followed in the same process by
one building the same index.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_folder(folder: Path, replace: bool = False) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``folder`` (``<name>.<writer>.tmp``); when
    the block ends, rename it to ``folder``.

    With ``replace`` an existing ``folder`` is swapped out; otherwise the rename raises
    `OSError` if ``folder`` exists (another writer was first). The temporary folder is removed
    whenever it is not renamed.

    Example:
        >>> with atomic_folder(tmp / "index") as staging:  # doctest: +SKIP
        ...     (staging / "manifest.json").write_text("{}")
    """
    tmp = _own(folder, "tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        old = _own(folder, "old")
        if replace and folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (``<name>.<writer>.tmp``) to write; when the block
    ends, replace ``path`` with it. It is removed whenever it is not renamed.

    Example:
        >>> with atomic_file(out / "removed.parquet") as tmp:  # doctest: +SKIP
        ...     pq.write_table(table, tmp)
    """
    tmp = _own(path, "tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _own(path: Path, suffix: str) -> Path:
    """``path``'s name with this process's and thread's id and ``suffix``, beside it."""
    return path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.{suffix}")
