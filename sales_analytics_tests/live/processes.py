"""Processes a test starts: each in its own process group, stopped with all of its children."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

# dagster dev forwards SIGTERM to the webserver and daemon and waits for them; runs and code
# servers may take a few seconds more to exit.
GRACEFUL_STOP_SECONDS = 20.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_process(
    args: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log_path: Path,
) -> subprocess.Popen[bytes]:
    """Start `args` in a new session (its own process group, so the group can be stopped as a
    whole), its stdout and stderr appended to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [str(arg) for arg in args],
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def pids_with_environment(name: str, value: str) -> list[int]:
    """Processes of this user whose environment has `name`=`value`: a process started by a
    test's server carries the test's unique value, even one that left the server's group."""
    wanted = f"{name}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            variables = (entry / "environ").read_bytes().split(b"\0")
        except OSError:  # gone, or another user's
            continue
        if wanted in variables:
            found.append(int(entry.name))
    return found


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def stop_process_group(
    process: subprocess.Popen[bytes], *, timeout: float = GRACEFUL_STOP_SECONDS
) -> None:
    """SIGTERM the process's group, and SIGKILL it if it outlives `timeout`."""
    _signal_group(process, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=timeout)
    # The leader may exit before the rest of its group.
    _signal_group(process, signal.SIGKILL)
    if process.poll() is None:
        process.wait(timeout=10)


def kill_marked_processes(name: str, value: str) -> None:
    """SIGKILL every process still carrying the environment variable `name`=`value` (unique to
    a test): children that left their group, e.g. a daemon's run worker."""
    deadline = time.monotonic() + 10
    while (survivors := pids_with_environment(name, value)) and time.monotonic() < deadline:
        for pid in survivors:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
    if survivors:
        raise RuntimeError(f"processes {survivors} outlived SIGKILL")


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def log_tail(path: Path, lines: int = 80) -> str:
    """The last `lines` lines of a server's log, without colour codes."""
    if not path.exists():
        return f"(no log at {path})"
    text = ANSI_ESCAPE.sub("", path.read_text(errors="replace")).splitlines()
    return "\n".join(text[-lines:])
