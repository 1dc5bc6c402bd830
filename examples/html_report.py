#!/usr/bin/env python3
"""Scan the real data in ../shared/data, write the HTML report, and screenshot it.

    python examples/html_report.py [OUT]          # OUT defaults to reports/example-html/

scans the whole corpus against MMLU, GSM8K, HumanEval, CMMLU and C-Eval (it finds 6 CMMLU
items and 1 C-Eval item quoting the Chinese classics), then writes:

    OUT/scan/            the report folder (items.parquet, matches.parquet, ...)
    OUT/report.html      the self-contained HTML report
    OUT/report.png       headless Chromium's view of its first 1280 x 2000 pixels
    OUT/report-full.png  the whole page, 1280 pixels wide

Needs ``pip install -e '.[html]'`` and Debian's ``chromium`` (``apt-get install chromium``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import contam
from contam.html import write_html
from contam.results import ScanReport

REPO = Path(__file__).resolve().parents[1]
BENCHES = ["mmlu", "gsm8k", "humaneval", "cmmlu", "ceval"]
WIDTH, FIRST_SCREEN, TALLEST = 1280, 2000, 16000


#: Headless Chromium with no network traffic of its own (updates, sync, first-run pages)
#: and no scrollbars in screenshots; tests/test_html.py renders the page with the same flags.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def find_chromium() -> str | None:
    """The Chromium binary on ``PATH``, by Debian's or Ubuntu's name."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def headless_command(chromium: str, page: Path, profile: Path, *args: str) -> list[str]:
    """The command line that opens ``page`` in headless ``chromium`` with a fresh
    ``profile`` folder; ``args`` say what to do with it (``--dump-dom``, ``--screenshot``)."""
    return [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()]


def screenshot(page: Path, png: Path, height: int) -> None:
    """Render ``page`` in headless Chromium, offline, into a ``WIDTH`` x ``height`` PNG."""
    chromium = find_chromium()
    if chromium is None:
        sys.exit("chromium not found: apt-get install chromium (the HTML report is written)")
    with tempfile.TemporaryDirectory() as profile:
        args = (f"--screenshot={png}", f"--window-size={WIDTH},{height}")
        command = headless_command(chromium, page, Path(profile), *args)
        subprocess.run(command, check=True, capture_output=True, timeout=120)


def crop_to_content(png: Path, margin: int = 40) -> None:
    """Cut the blank rows below the page's last content from a tall screenshot."""
    import matplotlib.image
    import numpy as np

    pixels = matplotlib.image.imread(png)[:, :, :3]
    rows = np.flatnonzero((pixels < 0.99).any(axis=(1, 2)))
    bottom = min(len(pixels), int(rows[-1]) + margin) if len(rows) else len(pixels)
    matplotlib.image.imsave(png, pixels[:bottom])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="reports/example-html", type=Path)
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.path.relpath(REPO.parent / "shared" / "data")),
        help="the shared data folder (corpus/ and benchmarks/)",
    )
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    folder = args.out / "scan"
    config = contam.ScanConfig(
        bench_dir=args.data / "benchmarks",
        workers=args.workers,
        resume=(folder / "run.json").is_file(),  # a rerun only rebuilds the reports
    )
    contam.scan(str(args.data / "corpus"), BENCHES, folder, config)
    page = write_html(ScanReport.open(folder), args.out / "report.html")
    screenshot(page, args.out / "report.png", FIRST_SCREEN)
    full = args.out / "report-full.png"
    screenshot(page, full, TALLEST)
    crop_to_content(full)
    print(f"wrote {page}, {args.out / 'report.png'} and {full}")


if __name__ == "__main__":
    main()
