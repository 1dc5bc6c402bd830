"""Shards worked on in forked processes, for the scan and for decontaminate.

The work is set in the parent before the pool forks, so what it holds (an index of hundreds
of MB) is shared copy-on-write, never pickled; only the tasks (shard paths) are sent. Each
worker adds its progress to two counters in shared memory, which the parent reports.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, TypeVar

T = TypeVar("T")

#: ``report(raw bytes read, documents read)``
Report = Callable[[int, int], None]

# What the forked workers run, set in the parent before the pool forks.
_FORKED: dict[str, Any] = {}
# glibc `mallopt` parameters, and the sizes that keep a scan's freed batch buffers (a few to
# some tens of MB each) in the heap for the next batch: by default glibc gives buffers that
# large their own mmap and unmaps them when freed, so every batch page-faulted its buffers in
# afresh, which took ~5% of a scan's CPU in the kernel.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_AT, _TRIM_AT = 256 << 20, 1 << 30


def no_progress(raw: int, docs: int) -> None:
    """A progress callback that reports nothing."""


def run_forked(
    work: Callable[[T, Report], None],
    tasks: Sequence[T],
    workers: int,
    progress: Report | None = None,
) -> None:
    """Call ``work(task, report)`` for every task in ``workers`` forked processes (in this
    one with a single worker or task); the first error stops the rest and is raised here.

    Example:
        >>> run_forked(lambda path, report: print(path), ["a", "b"], workers=1)
        a
        b
    """
    if workers == 1 or len(tasks) <= 1:
        for task in tasks:
            work(task, progress or no_progress)
        return
    ctx = mp.get_context("fork")
    counters = ctx.Array("q", 2, lock=False)
    _FORKED.update(work=work, counters=counters)
    seen = [0, 0]
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        pending: set[Future[None]] = {pool.submit(_in_worker, task) for task in tasks}
        try:
            while pending:
                done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()
                now = [counters[0], counters[1]]
                if progress is not None and now != seen:
                    progress(now[0] - seen[0], now[1] - seen[1])
                seen = now
        except BaseException:
            for future in pending:
                future.cancel()
            raise
        finally:
            _FORKED.clear()  # the work holds the index: let the parent free it


def reuse_freed_buffers() -> bool:
    """Have glibc's malloc keep freed large buffers for reuse instead of returning them to the
    system, for the whole process (the scan calls it; forked workers inherit it). Peak RSS
    grows by what stays mapped (2 GB scan: 643 -> 710 MB), the page faults fall 7x (845k ->
    114k; 2 s less system time). A fixed 1 MB threshold instead (every large buffer
    returned) kept RSS within 9% from 100 MB to 2 GB but scanned 12% slower. False where it
    cannot (another C library)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the symbols the process has loaded: libc's
    except (OSError, AttributeError, TypeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_AT)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_AT))


def _in_worker(task: Any) -> None:
    counters = _FORKED["counters"]

    def report(raw: int, docs: int) -> None:  # from the worker's main thread only
        counters[0] += raw
        counters[1] += docs

    _FORKED["work"](task, report)
