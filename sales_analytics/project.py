"""The dbt project, as dagster-dbt sees it."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from sales_analytics.settings import PROJECT_ROOT

dbt_project = DbtProject(
    project_dir=PROJECT_ROOT / "sales_analytics_dbt",
    profiles_dir=PROJECT_ROOT / "sales_analytics_dbt",
)
# Under `dagster dev` the manifest is re-parsed at load; `make` targets and the test session
# prepare it themselves (prepare_manifest).
dbt_project.prepare_if_dev()


def dbt_executable() -> str:
    """The dbt installed beside this Python (the project's venv), even when it is not on PATH."""
    beside_python = Path(sys.executable).parent / "dbt"
    return str(beside_python) if beside_python.exists() else shutil.which("dbt") or "dbt"


def dbt_cli_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())


def prepare_manifest() -> Path:
    """Parse the dbt project into target/manifest.json (what @dbt_assets loads at import)."""
    dbt_cli_resource().cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()
    return dbt_project.manifest_path
