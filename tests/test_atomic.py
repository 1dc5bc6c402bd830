"""A folder is written whole or not at all."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from contam.atomic import atomic_folder


def test_folder_appears_only_when_the_block_ends(tmp_path: Path) -> None:
    with atomic_folder(tmp_path / "f") as staging:
        (staging / "a.txt").write_text("1")
        assert not (tmp_path / "f").exists()
    assert (tmp_path / "f" / "a.txt").read_text() == "1"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_a_failed_block_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(KeyError), atomic_folder(tmp_path / "f") as staging:
        (staging / "a.txt").write_text("1")
        raise KeyError
    assert list(tmp_path.iterdir()) == []


def test_second_writer_fails_unless_it_replaces(tmp_path: Path) -> None:
    with atomic_folder(tmp_path / "f") as staging:
        (staging / "a.txt").write_text("old")
    with pytest.raises(OSError), atomic_folder(tmp_path / "f") as staging:
        (staging / "a.txt").write_text("new")
    assert (tmp_path / "f" / "a.txt").read_text() == "old"
    with atomic_folder(tmp_path / "f", replace=True) as staging:
        (staging / "a.txt").write_text("new")
    assert (tmp_path / "f" / "a.txt").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_writers_in_two_threads_of_one_process_stage_apart(tmp_path: Path) -> None:
    """A background index build still running when the next build of the same index starts
    in the same process: each stages in a folder of its own, and the last replaces."""
    inside, leave = threading.Event(), threading.Event()

    def slow_writer() -> None:
        with atomic_folder(tmp_path / "f", replace=True) as staging:
            (staging / "a.txt").write_text("slow")
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=slow_writer)
    thread.start()
    inside.wait(10)
    with atomic_folder(tmp_path / "f", replace=True) as staging:
        (staging / "a.txt").write_text("fast")
    assert (tmp_path / "f" / "a.txt").read_text() == "fast"
    leave.set()
    thread.join()
    assert (tmp_path / "f" / "a.txt").read_text() == "slow"  # its staging was left whole
    assert [p.name for p in tmp_path.iterdir()] == ["f"]
