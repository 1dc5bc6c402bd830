"""Shards worked on in forked processes, each on one or more threads, for the scan and for
decontaminate.

The work is set in the parent before the pool forks, so what it holds (an index of hundreds
of MB) is shared copy-on-write, never pickled; only the tasks' positions are sent. Each
thread of each worker takes the next task from a counter in shared memory when it comes
free, and adds its progress to its own pair of counters there, which the parent sums and
reports. Threads in one process share its index and each scan a shard of their own: on a
2-core machine two such threads scanned 1.1-1.25x faster than one process splitting each
batch over its two threads, in 10-15% less memory, and as fast as two processes.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar

from contam.errors import ContamError

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
#: prctl's option: the signal a process gets when its parent dies.
_PR_SET_PDEATHSIG = 1
#: How often the parent sums the progress counters (seconds).
_POLL = 0.25
#: `_Run.stop`: take tasks; finish the tasks begun, but take no more (a task failed); stop
#: at the next report (the run was interrupted).
_GO, _FINISH, _STOP_NOW = 0, 1, 2


class WorkerDied(ContamError):
    """A forked worker was killed, by a signal or the out-of-memory killer."""


class Stopped(Exception):
    """Raised in a thread's ``report`` once the run was interrupted: its task is left
    unfinished (a scan's shard uncommitted, so a resume scans it again)."""


def no_progress(raw: int, docs: int) -> None:
    """A progress callback that reports nothing."""


def run_forked(
    work: Callable[[T, Report], None],
    tasks: Sequence[T],
    workers: int,
    progress: Report | None = None,
    threads: int = 1,
) -> None:
    """Call ``work(task, report)`` for every task, on ``threads`` threads in each of
    ``workers`` forked processes (in this process with one worker or one task). A thread
    takes the next task when it comes free. After the first error the others finish the task
    they are on and take no more, and the error is raised here; an interrupt (Ctrl-C) stops
    them at their next ``report``.

    Example:
        >>> run_forked(lambda path, report: print(path), ["a", "b"], workers=1)
        a
        b
    """
    workers = min(workers, len(tasks))
    if workers * threads <= 1 or len(tasks) <= 1:
        for task in tasks:
            work(task, progress or no_progress)
        return
    ctx = mp.get_context("fork")
    run = _Run(
        work,
        tasks,
        threads,
        ctx.Array("q", 2 * workers * threads, lock=False),  # a pair per thread: no races
        ctx.Value("q", 0),
        ctx.Value("b", 0, lock=False),
    )
    if workers == 1:  # this process's threads, run from one so that this one reports
        pool: ThreadPoolExecutor | ProcessPoolExecutor = ThreadPoolExecutor(1)
        futures = {pool.submit(run.take_all, 0)}
    else:
        _FORKED["run"] = run
        _FORKED["parent"] = os.getpid()
        pool = ProcessPoolExecutor(workers, mp_context=ctx)
        futures = {pool.submit(_in_worker, first * threads) for first in range(workers)}
    with pool:
        try:
            _wait(futures, run, progress)
        finally:
            _FORKED.clear()  # the work holds the index: let the parent free it


def _wait(futures: set[Future[None]], run: _Run, progress: Report | None) -> None:
    """Report progress until every future is done; raise the first error."""
    seen = [0, 0]
    pending = futures
    while pending:
        try:
            done, pending = wait(pending, timeout=_POLL, return_when=FIRST_COMPLETED)
        except BaseException:  # interrupted here, in the parent
            run.stop.value = _STOP_NOW
            raise
        now = [sum(run.counters[0::2]), sum(run.counters[1::2])]
        if progress is not None and now != seen:
            progress(now[0] - seen[0], now[1] - seen[1])
        seen = now
        for future in done:
            try:
                future.result()
            except BrokenProcessPool:
                raise WorkerDied(
                    "a worker process died (killed, or out of memory?); the shards finished "
                    "are kept: run again with --resume to do the rest"
                ) from None


@dataclass(slots=True)
class _Run:
    """The tasks of one `run_forked` and what its threads share: a pair of progress counters
    each, the number of tasks taken, and the `_GO` / `_FINISH` / `_STOP_NOW` state."""

    work: Callable[[Any, Report], None]
    tasks: Sequence[Any]
    threads: int
    counters: Any
    taken: Any
    stop: Any

    def take_all(self, first_slot: int) -> None:
        """Work on the tasks on this process's ``threads`` threads, as slots ``first_slot``
        onwards; the first error is raised once every thread has stopped."""
        if self.threads == 1:
            self.take_tasks(first_slot)
            return
        with ThreadPoolExecutor(self.threads) as pool:
            futures = [pool.submit(self.take_tasks, first_slot + k) for k in range(self.threads)]
        for future in futures:
            future.result()

    def take_tasks(self, slot: int) -> None:
        """Work on the next task until none is left, as thread ``slot`` of the run."""

        def report(raw: int, docs: int) -> None:  # only this thread writes its pair
            self.counters[2 * slot] += raw
            self.counters[2 * slot + 1] += docs
            if self.stop.value == _STOP_NOW:
                raise Stopped

        while self.stop.value == _GO:
            with self.taken.get_lock():
                at = self.taken.value
                self.taken.value += 1
            if at >= len(self.tasks):
                return
            try:
                self.work(self.tasks[at], report)
            except Stopped:
                return
            except BaseException:
                self.stop.value = max(self.stop.value, _FINISH)
                raise


def reuse_freed_buffers() -> bool:
    """Have glibc's malloc keep freed large buffers for reuse instead of returning them to the
    system, for the whole process (the scan calls it; forked workers inherit it). Peak RSS
    grows by what stays mapped (2 GB scan: 643 -> 710 MB), the page faults fall 7x (845k ->
    114k; 2 s less system time). A fixed 1 MB threshold instead (every large buffer
    returned) kept RSS within 9% from 100 MB to 2 GB but scanned 12% slower. False where it
    cannot (another C library)."""
    mallopt = _libc("mallopt")
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_AT)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_AT))


def _in_worker(first_slot: int) -> None:
    """A forked worker: its threads take tasks as slots ``first_slot`` onwards."""
    _die_with_parent(_FORKED["parent"])
    _FORKED["run"].take_all(first_slot)


def _die_with_parent(parent: int) -> None:
    """Have Linux kill this process when the one that forked it dies (``kill -9`` of a scan):
    left alone, its workers went on committing shards, racing a ``--resume`` of the same
    folder. Elsewhere, or without ``prctl``, nothing is done."""
    prctl = _libc("prctl")
    if prctl is None:
        return
    prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the request took
        os._exit(1)


def _libc(name: str) -> Any:
    """The C library's function ``name`` (among the symbols the process has loaded), or None
    where there is none (another C library, another system)."""
    try:
        return getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError, TypeError):
        return None
