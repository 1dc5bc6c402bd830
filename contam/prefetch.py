"""Work done ahead in a thread of its own: a generator kept a bounded number of items ahead
of its user (`read_ahead`), and one call run while the caller does something else
(`in_background`).

When a worker's threads split the batches of one shard (fewer shards than threads), the
scan's reader spends most of its time in zstd and the JSONL kernel, which release the
GIL. Run in the thread that also finished each batch, reading left the kernel threads idle
while it read; in a thread of its own it overlaps the finishing, and one scan process keeps
both cores of a 2-core machine busy (1.6 -> about 1.9 cores). A Ray scan loads its indexes
in the background while Ray starts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from queue import Full, Queue
from typing import Any, TypeVar

T = TypeVar("T")

_ITEM, _DONE, _FAILED = 0, 1, 2
#: How often a blocked producer looks whether the consumer has stopped.
_POLL = 0.1


def read_ahead(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Yield ``items`` as they are, produced in a thread that stays at most ``depth`` items
    ahead (memory stays bounded). An exception in the producer is raised here, at the item
    where it happened; when the consumer stops early the producer stops too and closes
    ``items`` in its own thread.

    Example:
        >>> list(read_ahead(iter(range(3))))
        [0, 1, 2]
    """
    if depth < 1:
        raise ValueError(f"depth must be >= 1 item, got {depth}")
    queue: Queue[tuple[int, object]] = Queue(maxsize=depth)
    stop = threading.Event()

    def put(kind: int, value: object) -> bool:
        while not stop.is_set():
            try:
                queue.put((kind, value), timeout=_POLL)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(_ITEM, item):
                    return
            put(_DONE, None)
        except BaseException as e:  # handed to the consumer, which raises it
            put(_FAILED, e)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="contam-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = queue.get()  # the producer always ends with _DONE or _FAILED
            if kind == _DONE:
                return
            if kind == _FAILED:
                assert isinstance(value, BaseException)
                raise value
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()


def in_background(call: Callable[..., T], *args: Any) -> Callable[[], T]:
    """Start ``call(*args)`` in a daemon thread, which never holds up an exit (an error or
    Ctrl-C in the caller meanwhile ends the process at once); return a function that waits
    for the thread to end and returns the result, or raises the error.

    Example:
        >>> result = in_background(sum, [1, 2, 3])
        >>> result()
        6
    """
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append((True, call(*args)))
        except BaseException as e:  # raised in the caller
            outcome.append((False, e))

    thread = threading.Thread(target=run, name="contam-background", daemon=True)
    thread.start()

    def result() -> T:
        thread.join()  # ended, not just done: a fork after this copies no running thread
        done, value = outcome[0]
        if not done:
            raise value
        return value  # type: ignore[no-any-return]

    return result
