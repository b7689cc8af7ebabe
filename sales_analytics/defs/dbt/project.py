"""The dbt project as dagster-dbt sees it, the dbt it runs, and its manifest."""

from __future__ import annotations

import shutil
import sys
from functools import cache, cached_property
from importlib.metadata import version
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from packaging.version import Version

from sales_analytics.core.settings import PROJECT_ROOT, Settings

DBT_PROJECT_DIR = PROJECT_ROOT / "sales_analytics_dbt"
# The profile's outputs (profiles.yml), one per engine, as hooli-data-eng-pipelines switches them.
DUCKDB_TARGET = "dev"
SPARK_TARGET = "spark"
SPARK_CONNECT_TARGET = "spark_connect"
# Each target parses into its own folder: the manifest @dbt_assets loads names the adapter's
# relations and macros, so a Spark build must never overwrite DuckDB's (target/manifest.json).
TARGET_PATHS = {
    DUCKDB_TARGET: Path("target"),
    SPARK_TARGET: Path("target") / "spark",
    SPARK_CONNECT_TARGET: Path("target") / "spark_connect",
}


def dbt_target(settings: Settings) -> str:
    """The profile output of the engine the settings pick."""
    if not settings.on_spark:
        return DUCKDB_TARGET
    return SPARK_CONNECT_TARGET if settings.spark_remote else SPARK_TARGET


@cache
def dbt_project_for(target: str = DUCKDB_TARGET) -> DbtProject:
    return DbtProject(
        project_dir=DBT_PROJECT_DIR,
        profiles_dir=DBT_PROJECT_DIR,
        # DuckDB runs dbt exactly as before the Spark outputs existed (the profile's default).
        target=None if target == DUCKDB_TARGET else target,
        target_path=TARGET_PATHS[target],
    )


dbt_project = dbt_project_for(DUCKDB_TARGET)


def run_target_path(target: str = DUCKDB_TARGET) -> Path:
    """Where run-time dbt commands write: one folder per target kept from run to run, so dbt's
    partial parse (partial_parse.msgpack) is reused instead of a full parse in every run, and
    the folder does not grow by a copy per invocation. Runs are one at a time (DAGSTER_HOME's
    run queue)."""
    return DBT_PROJECT_DIR / TARGET_PATHS[target] / "runs"


RUN_TARGET_PATH = run_target_path(DUCKDB_TARGET)


def dbt_executable() -> str:
    """The dbt installed beside this Python (the project's venv), even when it is not on PATH."""
    # `which` with the scripts folder as path finds dbt.exe on Windows too.
    return (
        shutil.which("dbt", path=str(Path(sys.executable).parent)) or shutil.which("dbt") or "dbt"
    )


class WarehouseDbtCliResource(DbtCliResource):
    """Runs the project's dbt (installed beside Dagster) against the warehouse file."""

    # Two start-up costs dagster-dbt 0.29 pays on every dbt command, which this project does not
    # need; measured here: the `dbt --version` probe 2.3 s (4.8 s on a loaded machine) and the
    # in-process dbt adapter 1.2 s (2.7 s), over a third of a default `make run`. The version is
    # the dbt-core package's (its dbt is the one beside this Python), and the adapter serves only
    # dagster-dbt's fetch_row_counts()/fetch_column_metadata(), which this project replaces by
    # reading the warehouse itself (defs/dbt/metadata.py). Both hooks are private to dagster-dbt:
    # sales_analytics_tests/test_dbt_resource.py fails when an upgrade renames them.
    @cached_property
    def _cli_version(self) -> Version:
        return Version(version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):
        return None


def dbt_resource(target: str = DUCKDB_TARGET) -> DbtCliResource:
    return WarehouseDbtCliResource(
        project_dir=dbt_project_for(target),
        target=None if target == DUCKDB_TARGET else target,
        dbt_executable=dbt_executable(),
        # Logs read in the UI and in `make run`'s output, not on a colour terminal.
        global_config_flags=["--no-use-colors"],
    )


def dbt_sources() -> list[Path]:
    """The files the manifest is parsed from."""
    return [
        path
        for pattern in ("*.sql", "*.yml", "*.yaml")
        for path in DBT_PROJECT_DIR.rglob(pattern)
        if "target" not in path.relative_to(DBT_PROJECT_DIR).parts[:1]
        and "logs" not in path.relative_to(DBT_PROJECT_DIR).parts[:1]
    ]


def manifest_is_current(target: str = DUCKDB_TARGET) -> bool:
    manifest = dbt_project_for(target).manifest_path
    if not manifest.exists():
        return False
    parsed_at = manifest.stat().st_mtime
    return all(path.stat().st_mtime <= parsed_at for path in dbt_sources())


def prepare_manifest(target: str = DUCKDB_TARGET) -> Path:
    """Parse the dbt project into target/manifest.json (what @dbt_assets loads) when it is
    missing or older than a model, test or YAML file; with the dbt beside this Python, so the
    code location loads without an activated venv (`dagster dev`, `dg`, `uv run`, tests)."""
    project = dbt_project_for(target)
    if not manifest_is_current(target):
        dbt_resource(target).cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return project.manifest_path
