"""Opening the warehouse file for writing: a bounded wait for a lock, and errors that say what
to do instead of a bare DuckDB stack trace (no Dagster here)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


class WarehouseUnavailable(RuntimeError):
    """The warehouse file cannot be opened for writing; the message names the file and the fix."""


def is_lock_conflict(error: Exception) -> bool:
    return "Could not set lock on file" in str(error)


def explain_open_error(path: Path, error: Exception, waited_seconds: float) -> str:
    text = str(error)
    if "not a valid DuckDB database file" in text:
        return (
            f"the warehouse file {path} exists but is not a DuckDB database. Move it aside (or "
            "set SALES_ANALYTICS_DUCKDB_PATH to another file); the next run creates a new one."
        )
    if is_lock_conflict(error):
        holder = LOCK_HOLDER.search(text)
        who = f"process {holder['pid']} ({holder['program']})" if holder else "another process"
        return (
            f"the warehouse file {path} is locked by {who}; waited {waited_seconds:g}s. Close "
            "that program or wait for its run to finish, then run again. BI tools should read "
            "the serving copy, never the warehouse file itself."
        )
    return f"cannot open the warehouse file {path}: {text}"


def wait_until_writable(
    path: Path,
    *,
    timeout_seconds: float,
    poll_seconds: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Return once `path` can be opened for writing (creating its folder and the file if
    missing); raise WarehouseUnavailable if it is not a database, or still locked after
    `timeout_seconds`."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise WarehouseUnavailable(
            f"cannot create the folder {path.parent} for the warehouse file {path}: {error}. "
            "Set SALES_ANALYTICS_DUCKDB_PATH to a writable location."
        ) from error
    started = clock()
    while True:
        try:
            duckdb.connect(str(path)).close()
            return
        except duckdb.Error as error:
            waited = clock() - started
            if is_lock_conflict(error) and waited < timeout_seconds:
                sleep(min(poll_seconds, timeout_seconds - waited))
                continue
            raise WarehouseUnavailable(explain_open_error(path, error, round(waited, 1))) from error
