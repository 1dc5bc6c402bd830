"""Folders and files written whole or not at all: indexes, merged lookups, shard commits,
reports.

A reader (a resumed scan, another process sharing the index folder) must never see half a
folder, so each is written under a temporary name and renamed into place.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_folder(folder: Path, replace: bool = False) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``folder`` (named ``<name>.<pid>.tmp``); when
    the block ends, rename it to ``folder``.

    With ``replace`` an existing ``folder`` is swapped out; otherwise the rename raises
    `OSError` if ``folder`` exists (another writer was first). The temporary folder is removed
    whenever it is not renamed.

    Example:
        >>> with atomic_folder(tmp / "index") as staging:  # doctest: +SKIP
        ...     (staging / "manifest.json").write_text("{}")
    """
    tmp = folder.with_name(f"{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        old = folder.with_name(f"{folder.name}.{os.getpid()}.old")
        if replace and folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (``<name>.<pid>.tmp``) to write; when the block
    ends, replace ``path`` with it. It is removed whenever it is not renamed.

    Example:
        >>> with atomic_file(out / "removed.parquet") as tmp:  # doctest: +SKIP
        ...     pq.write_table(table, tmp)
    """
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
