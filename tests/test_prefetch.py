"""`read_ahead` must hand over every item in order, raise the producer's error where it
happened, stay a bounded number of items ahead, and stop and close its producer early; and
the scan's process tuning must take."""

from __future__ import annotations

import platform
import threading
import time
from collections.abc import Iterator

import pytest

from contam.prefetch import read_ahead
from contam.workers import reuse_freed_buffers


def test_items_in_order() -> None:
    assert list(read_ahead(iter(range(100)), depth=3)) == list(range(100))


def test_empty() -> None:
    assert list(read_ahead(iter([]))) == []


def test_error_raised_after_the_items_before_it() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError("disk gone")

    got = []
    with pytest.raises(OSError, match="disk gone"):
        for item in read_ahead(items()):
            got.append(item)
    assert got == [1, 2]


def test_producer_stays_within_depth() -> None:
    made = []

    def items() -> Iterator[int]:
        for k in range(10):
            made.append(k)
            yield k

    ahead = read_ahead(items(), depth=2)
    assert next(ahead) == 0
    time.sleep(0.3)  # give the producer time to run ahead as far as it may
    # 0 taken, 1 and 2 queued, 3 made and waiting for room
    assert len(made) <= 4
    assert list(ahead) == list(range(1, 10))


def test_stopping_early_closes_the_producer() -> None:
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            yield from range(1000)
        finally:
            closed.set()

    ahead = read_ahead(items())
    assert next(ahead) == 0
    ahead.close()  # what a consumer's break or error does
    assert closed.is_set()


def test_depth_must_be_positive() -> None:
    with pytest.raises(ValueError, match="depth must be >= 1"):
        list(read_ahead(iter([1]), depth=0))


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_freed_buffers_kept_for_reuse_under_glibc() -> None:
    assert reuse_freed_buffers()
