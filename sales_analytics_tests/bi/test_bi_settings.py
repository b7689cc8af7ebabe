"""The BI paths in Settings: defaults, relative paths, and never the warehouse file."""

from __future__ import annotations

import pytest

from sales_analytics.core.settings import (
    BI_PATH,
    DASHBOARD_PATH,
    DUCKDB_PATH,
    PARQUET_DIR,
    PROJECT_ROOT,
    Settings,
    SettingsError,
)


def test_defaults_live_in_the_project_data_folder() -> None:
    settings = Settings.from_env({})
    assert settings.bi_path == PROJECT_ROOT / "data" / "sales_analytics_bi.duckdb"
    assert settings.parquet_dir == PROJECT_ROOT / "data" / "bi"
    assert settings.dashboard_path == PROJECT_ROOT / "data" / "dashboard" / "index.html"


def test_relative_paths_resolve_against_the_project_root() -> None:
    settings = Settings.from_env(
        {BI_PATH: "serving/bi.duckdb", PARQUET_DIR: "exports", DASHBOARD_PATH: "site/index.html"}
    )
    assert settings.bi_path == PROJECT_ROOT / "serving" / "bi.duckdb"
    assert settings.parquet_dir == PROJECT_ROOT / "exports"
    assert settings.dashboard_path == PROJECT_ROOT / "site" / "index.html"


@pytest.mark.parametrize(
    "bi_path", ["data/sales_analytics.duckdb", str(PROJECT_ROOT / "data/sales_analytics.duckdb")]
)
def test_the_serving_copy_can_never_be_the_warehouse(bi_path: str) -> None:
    with pytest.raises(SettingsError, match=BI_PATH):
        Settings.from_env({BI_PATH: bi_path})
    with pytest.raises(SettingsError, match=BI_PATH):
        Settings.from_env({DUCKDB_PATH: "/srv/w.duckdb", BI_PATH: "/srv/w.duckdb"})
