"""Run a command and measure its wall time and peak memory, children included.

Peak memory is the larger of two numbers: the kernel's peak RSS of the largest single process of
the command's tree (wait4's rusage covers waited-for descendants, e.g. the dbt subprocess), and
the peak of the tree's summed RSS sampled every 50 ms from /proc (Linux), which counts the
Dagster process and dbt together while both are alive.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SAMPLE_SECONDS = 0.05
PROC = Path("/proc")


@dataclass(frozen=True)
class Measurement:
    seconds: float
    peak_rss_mb: float
    stdout: str
    stderr: str
    returncode: int


def _children(pid: int) -> list[int]:
    children: list[int] = []
    tasks = PROC / str(pid) / "task"
    try:
        for task in tasks.iterdir():
            text = (task / "children").read_text()
            children.extend(int(child) for child in text.split())
    except OSError:
        pass
    return children


def _rss_kb(pid: int) -> int:
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kb(pid: int) -> int:
    """Summed RSS of `pid` and all its descendants now (0 where /proc is unavailable)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        total += _rss_kb(current)
        pending.extend(_children(current))
    return total


def run(
    command: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Measurement:
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak_tree_kb = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_tree_kb
        while not done.is_set():
            peak_tree_kb = max(peak_tree_kb, tree_rss_kb(process.pid))
            done.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    # Drain both pipes in threads so a chatty child never blocks on a full pipe.
    outputs: dict[str, str] = {}
    readers = [
        threading.Thread(target=lambda n=name, s=stream: outputs.__setitem__(n, s.read()))
        for name, stream in (("stdout", process.stdout), ("stderr", process.stderr))
    ]
    for reader in readers:
        reader.start()
    # wait4 (not wait) to get the rusage of this child and its waited-for descendants.
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    for reader in readers:
        reader.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in KiB on Linux.
    peak_kb = max(peak_tree_kb, usage.ru_maxrss)
    return Measurement(
        seconds=seconds,
        peak_rss_mb=peak_kb / 1024,
        stdout=outputs.get("stdout", ""),
        stderr=outputs.get("stderr", ""),
        returncode=process.returncode,
    )


def current_environment(**overrides: str | None) -> dict[str, str]:
    """os.environ with `overrides` applied (None removes a variable)."""
    env = dict(os.environ)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env
