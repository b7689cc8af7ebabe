"""A throwaway Dagster home and the environment of the processes that serve it."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from sales_analytics_tests.conftest import use_test_warehouse

# The executables of the venv running the tests, called by path: the servers must work without
# the venv on PATH, as a user's shell without an activated venv has it.
VENV_BIN = Path(sys.executable).parent

# One run at a time, as the project's own DAGSTER_HOME (DuckDB has one writer per file).
BASE_INSTANCE_CONFIG: dict[str, Any] = {
    "telemetry": {"enabled": False},
    "concurrency": {"runs": {"max_concurrent_runs": 1}},
}


def write_instance(home: Path, config: Mapping[str, Any] | Path | None = None) -> Path:
    """DAGSTER_HOME at `home` with a dagster.yaml of `config`: a mapping, a file copied as it
    is (e.g. deploy/dagster.yaml), or the base config when None."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "dagster.yaml"
    if isinstance(config, Path):
        path.write_text(config.read_text())
    else:
        path.write_text(yaml.safe_dump(dict(BASE_INSTANCE_CONFIG if config is None else config)))
    return path


def path_without_venv(path: str) -> str:
    return os.pathsep.join(
        entry
        for entry in path.split(os.pathsep)
        if entry and Path(entry).resolve() != VENV_BIN.resolve()
    )


def server_environment(
    folder: Path, home: Path, overrides: Mapping[str, str | None] | None = None
) -> dict[str, str]:
    """The environment of servers whose runs write a warehouse under `folder` (the variables
    the in-process tests set, see conftest.use_test_warehouse), with DAGSTER_HOME=`home`, no
    venv on PATH, and `overrides` (None removes a variable)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_test_warehouse(monkeypatch, folder)
        env = dict(os.environ)
    env["DAGSTER_HOME"] = str(home)
    env["PATH"] = path_without_venv(env.get("PATH", ""))
    env.pop("VIRTUAL_ENV", None)
    for name, value in (overrides or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env
