from pathlib import Path

import pytest

from sales_analytics.core.settings import PROJECT_ROOT, Settings, SettingsError


def test_defaults_resolve_against_the_project_root():
    settings = Settings.from_env({})
    assert settings.duckdb_path == PROJECT_ROOT / "data" / "sales_analytics.duckdb"
    assert settings.products_url == "https://fakestoreapi.com"
    assert settings.offline is False
    assert settings.timezone == "UTC"


def test_values_from_the_environment(tmp_path: Path):
    settings = Settings.from_env(
        {
            "SALES_ANALYTICS_DUCKDB_PATH": str(tmp_path / "w.duckdb"),
            "SALES_ANALYTICS_PRODUCTS_URL": "http://127.0.0.1:8000/api/",
            "SALES_ANALYTICS_OFFLINE": "1",
            "SALES_ANALYTICS_TIMEZONE": "Europe/Berlin",
        }
    )
    assert settings.duckdb_path == tmp_path / "w.duckdb"
    assert settings.products_url == "http://127.0.0.1:8000/api"
    assert settings.offline is True
    assert settings.timezone == "Europe/Berlin"


def test_relative_warehouse_path_is_relative_to_the_project_not_the_cwd(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({"SALES_ANALYTICS_DUCKDB_PATH": "elsewhere/w.duckdb"})
    assert settings.duckdb_path == PROJECT_ROOT / "elsewhere" / "w.duckdb"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SALES_ANALYTICS_PRODUCTS_URL", "ftp://example.invalid", "SALES_ANALYTICS_PRODUCTS_URL"),
        ("SALES_ANALYTICS_PRODUCTS_URL", "fakestoreapi.com", "http:// or https://"),
        ("SALES_ANALYTICS_TIMEZONE", "Mars/Olympus", "SALES_ANALYTICS_TIMEZONE must be an IANA"),
        ("SALES_ANALYTICS_OFFLINE", "maybe", "SALES_ANALYTICS_OFFLINE must be 1 or 0"),
    ],
)
def test_bad_values_name_the_setting(variable, value, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({variable: value})
