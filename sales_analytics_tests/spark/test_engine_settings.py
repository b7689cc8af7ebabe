"""One setting picks the engine; each engine has its own dbt output and target folder. No Spark
needed: these run everywhere."""

from __future__ import annotations

import pytest

from sales_analytics.core.settings import PROJECT_ROOT, Settings, SettingsError
from sales_analytics.defs.dbt.project import (
    DUCKDB_TARGET,
    SPARK_CONNECT_TARGET,
    SPARK_TARGET,
    TARGET_PATHS,
    dbt_project_for,
    dbt_target,
    run_target_path,
)


def test_duckdb_is_the_default_and_changes_nothing():
    settings = Settings.from_env({})
    assert settings.warehouse == "duckdb" and not settings.on_spark
    assert dbt_target(settings) == DUCKDB_TARGET
    # The DuckDB manifest stays where @dbt_assets, the Makefile and the tests always read it.
    assert dbt_project_for(DUCKDB_TARGET).manifest_path == (
        PROJECT_ROOT / "sales_analytics_dbt" / "target" / "manifest.json"
    )
    assert dbt_project_for(DUCKDB_TARGET).target is None


def test_spark_picks_the_session_output_and_a_lake_under_the_project():
    settings = Settings.from_env({"SALES_ANALYTICS_WAREHOUSE": " Spark "})
    assert settings.on_spark
    assert dbt_target(settings) == SPARK_TARGET
    assert settings.lake_path == PROJECT_ROOT / "data" / "lake"
    relative = Settings.from_env({"SALES_ANALYTICS_LAKE_PATH": "elsewhere/lake"})
    assert relative.lake_path == PROJECT_ROOT / "elsewhere" / "lake"


def test_a_spark_connect_url_picks_the_cluster_output():
    settings = Settings.from_env(
        {"SALES_ANALYTICS_WAREHOUSE": "spark", "SALES_ANALYTICS_SPARK_REMOTE": "sc://spark:15002"}
    )
    assert dbt_target(settings) == SPARK_CONNECT_TARGET
    # Only on Spark: DuckDB ignores a Connect URL left in the environment.
    duckdb = Settings.from_env({"SALES_ANALYTICS_SPARK_REMOTE": "sc://spark:15002"})
    assert dbt_target(duckdb) == DUCKDB_TARGET


def test_every_target_parses_and_runs_in_its_own_folder():
    folders = [dbt_project_for(target).target_path for target in TARGET_PATHS]
    runs = [run_target_path(target) for target in TARGET_PATHS]
    assert len(set(folders)) == len(folders) == len(set(runs))
    manifests = {dbt_project_for(target).manifest_path for target in TARGET_PATHS}
    assert len(manifests) == len(TARGET_PATHS)


@pytest.mark.parametrize("value", ["postgres", "duck db", "sparks"])
def test_an_unknown_engine_is_an_error_naming_the_setting_and_the_choices(value):
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"SALES_ANALYTICS_WAREHOUSE": value})
    message = str(error.value)
    assert "SALES_ANALYTICS_WAREHOUSE" in message and "duckdb or spark" in message
    assert repr(value) in message


@pytest.mark.parametrize("value", ["http://spark:15002", "spark:15002", "sc://"])
def test_a_spark_remote_must_be_a_connect_url(value):
    with pytest.raises(SettingsError, match="SALES_ANALYTICS_SPARK_REMOTE"):
        Settings.from_env(
            {"SALES_ANALYTICS_WAREHOUSE": "spark", "SALES_ANALYTICS_SPARK_REMOTE": value}
        )
