"""run_forked: every task once, on threads of this process or of forked workers; progress
summed exactly; the first error or an interrupt stops the rest as documented."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from contam.workers import Report, WorkerDied, run_forked


def progress_into(totals: list[int]) -> Report:
    def progress(raw: int, docs: int) -> None:
        totals[0] += raw
        totals[1] += docs

    return progress


@pytest.mark.parametrize(("workers", "threads"), [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2)])
def test_every_task_runs_once_and_progress_adds_up(
    tmp_path: Path, workers: int, threads: int
) -> None:
    def work(task: int, report: Report) -> None:  # files: forked workers share no memory
        (tmp_path / f"{task}.{threading.get_ident()}").touch()
        report(task, 1)
        report(1000, 0)

    totals = [0, 0]
    run_forked(work, list(range(7)), workers, progress_into(totals), threads)
    done = sorted(int(p.name.split(".")[0]) for p in tmp_path.iterdir())
    assert done == list(range(7))
    assert totals == [sum(range(7)) + 7 * 1000, 7]


def test_threads_of_one_process_share_its_tasks(tmp_path: Path) -> None:
    both = threading.Barrier(2, timeout=10)  # passes only with two tasks running at once

    def work(task: int, report: Report) -> None:
        both.wait()
        (tmp_path / f"{task}.{threading.get_ident()}").touch()

    run_forked(work, [0, 1], workers=1, threads=2)
    assert len({p.name.split(".")[1] for p in tmp_path.iterdir()}) == 2


def test_first_error_is_raised_after_the_tasks_begun_finish() -> None:
    began, finished = threading.Event(), []

    def work(task: str, report: Report) -> None:
        if task == "bad":
            began.wait(10)  # the slow task has been taken
            raise ValueError("bad shard")
        began.set()
        time.sleep(0.3)
        report(1, 1)
        finished.append(task)

    with pytest.raises(ValueError, match="bad shard"):
        run_forked(work, ["bad", "slow", "never", "never either"], workers=1, threads=2)
    assert finished == ["slow"]


def test_interrupt_stops_the_threads_at_their_next_report() -> None:
    reports = []

    def work(task: int, report: Report) -> None:
        if task == 0:  # Ctrl-C, once
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        for k in range(100):
            time.sleep(0.05)
            report(1, 0)  # raises once the parent has seen the interrupt
            reports.append(k)

    with pytest.raises(KeyboardInterrupt):
        run_forked(work, [0, 1, 2], workers=1, threads=2)
    assert len(reports) < 20  # tasks 0 and 1 cut short, 2 never begun


def test_a_killed_worker_is_one_error(tmp_path: Path) -> None:
    def work(task: int, report: Report) -> None:
        if task == 1:
            os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer does
        (tmp_path / str(task)).touch()

    with pytest.raises(WorkerDied, match=r"^a worker process died \(killed, or out of memory"):
        run_forked(work, list(range(4)), workers=2)


WORKERS_OF_A_KILLED_PARENT = """
import os, sys, time
from pathlib import Path
from contam.workers import run_forked

folder = Path(sys.argv[1])

def work(task, report):
    (folder / f"{os.getpid()}.pid").touch()
    time.sleep(60)

run_forked(work, list(range(4)), workers=2)
"""


def test_workers_die_with_their_parent(tmp_path: Path) -> None:
    parent = subprocess.Popen([sys.executable, "-c", WORKERS_OF_A_KILLED_PARENT, str(tmp_path)])
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("*.pid"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = [int(p.stem) for p in tmp_path.glob("*.pid")]
        assert len(workers) == 2
    finally:
        parent.kill()  # kill -9: the parent cannot stop its workers itself
        parent.wait()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in workers)


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status
