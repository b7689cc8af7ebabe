"""The dg CLI loads the same code location from a shell without the venv on PATH."""

from __future__ import annotations

import os
import subprocess

from sales_analytics.core.settings import PROJECT_ROOT
from sales_analytics_tests.live.instance import VENV_BIN, path_without_venv


def dg(*args: str, tmp_path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path_without_venv(os.environ.get("PATH", ""))}
    env.pop("VIRTUAL_ENV", None)
    env["DAGSTER_HOME"] = str(tmp_path)
    return subprocess.run(
        [str(VENV_BIN / "dg"), *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_dg_check_defs_passes_without_the_venv_on_path(tmp_path) -> None:
    result = dg("check", "defs", tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dg_list_defs_shows_the_graph(tmp_path) -> None:
    result = dg("list", "defs", "--json", tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for key in ("raw/transactions", "marts/fct_transactions", "nightly_warehouse_rebuild"):
        assert key in result.stdout
