"""How long headless Chromium takes to open the dashboard and paint it.

One measurement is a whole browser process: start, load the file, run the page's script, paint
and write a screenshot, exit. Browser start-up is included, so the figure is an upper bound of
what a user waits for once a browser is open.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.measure import run

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
# A closed network answers Chromium's background connections with errors: these keep it quiet.
HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1000",
)


@dataclass(frozen=True)
class Render:
    seconds: float  # median over the runs
    peak_rss_mb: float  # largest over the runs
    page_mb: float


def find_chromium() -> str | None:
    return next(filter(None, map(shutil.which, CHROMIUM_CANDIDATES)), None)


def render(page: Path, chromium: str, runs: int = 3) -> Render:
    """Median wall time of `runs` headless Chromium processes painting `page` to a PNG."""
    seconds, peaks = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="sales-analytics-render-") as tmp:
            screenshot = Path(tmp) / "page.png"
            command = [
                chromium,
                *HEADLESS_FLAGS,
                f"--user-data-dir={tmp}/profile",
                f"--screenshot={screenshot}",
                page.resolve().as_uri(),
            ]
            measured = run(command)
            if measured.returncode != 0 or not screenshot.exists():
                tail = "\n".join(measured.stderr.splitlines()[-10:])
                raise RuntimeError(
                    f"Chromium did not paint {page}: exit {measured.returncode}\n{tail}"
                )
            seconds.append(measured.seconds)
            peaks.append(measured.peak_rss_mb)
    return Render(
        seconds=statistics.median(seconds),
        peak_rss_mb=max(peaks),
        page_mb=page.stat().st_size / 2**20,
    )
