"""Daily partitions: settings, the history start, the run window, make run's range, the schedule."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from sales_analytics.definitions import build_definitions
from sales_analytics.defs.automation.jobs import NIGHTLY_JOB
from sales_analytics.defs.partitions import DayWindow, daily_partitions, resolve_history_start
from sales_analytics.cli.run import history_window, partition_range_tags
from sales_analytics.defs.automation.schedules import evaluate_tick, nightly_run_request
from sales_analytics.core.settings import Settings, SettingsError


def settings(**env: str) -> Settings:
    return Settings.from_env({"SALES_ANALYTICS_DUCKDB_PATH": "unused.duckdb", **env})


def test_history_starts_90_days_ago_unless_configured() -> None:
    today = date(2026, 3, 31)
    assert resolve_history_start(settings(), today) == date(2025, 12, 31)
    configured = settings(SALES_ANALYTICS_HISTORY_START="2026-01-15")
    assert resolve_history_start(configured, today) == date(2026, 1, 15)


@pytest.mark.parametrize(
    "name, value",
    [
        ("SALES_ANALYTICS_HISTORY_START", "15/01/2026"),
        ("SALES_ANALYTICS_TRANSACTIONS_PER_DAY", "0"),
        ("SALES_ANALYTICS_TRANSACTIONS_PER_DAY", "a lot"),
    ],
)
def test_bad_scale_settings_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        settings(**{name: value})


def test_a_window_is_days_with_their_dbt_vars() -> None:
    window = DayWindow(date(2026, 1, 30), date(2026, 2, 2))
    assert window.days == 3
    assert window.dbt_vars() == {"window_start": "2026-01-30", "window_end": "2026-02-02"}
    with pytest.raises(ValueError, match="at least one day"):
        DayWindow(date(2026, 1, 2), date(2026, 1, 2))


def test_make_run_backfills_the_days_before_the_as_of_date_in_one_range() -> None:
    as_of = date(2026, 3, 31)
    assert history_window(as_of, 30, None) == DayWindow(date(2026, 3, 1), as_of)
    assert history_window(as_of, None, None) == DayWindow(date(2025, 12, 31), as_of)
    assert history_window(as_of, None, date(2026, 3, 29)) == DayWindow(date(2026, 3, 29), as_of)
    with pytest.raises(ValueError, match="not before the as-of date"):
        history_window(as_of, None, as_of)
    assert partition_range_tags(DayWindow(date(2026, 3, 1), as_of)) == {
        "dagster/asset_partition_range_start": "2026-03-01",
        "dagster/asset_partition_range_end": "2026-03-30",
    }


def test_the_nightly_request_is_yesterdays_partition_as_of_the_tick_date() -> None:
    partitions = daily_partitions(date(2026, 1, 1), "UTC")

    request = nightly_run_request(date(2026, 3, 15), partitions, transactions_per_day=5000)

    assert request.partition_key == "2026-03-14"
    assert request.run_key == "2026-03-15"
    ops = request.run_config["ops"]
    assert ops["raw__transactions"]["config"] == {"count": 5000, "days": 1}
    assert ops["sales_analytics_dbt_assets"]["config"] == {"as_of_date": "2026-03-15"}


def test_the_nightly_request_skips_days_before_the_history() -> None:
    partitions = daily_partitions(date(2026, 3, 15), "UTC")
    assert isinstance(nightly_run_request(date(2026, 3, 15), partitions), dg.SkipReason)


@pytest.mark.parametrize(
    "timezone, tick, partition",
    [
        ("UTC", datetime(2026, 3, 15, 2, 0, tzinfo=ZoneInfo("UTC")), "2026-03-14"),
        # 02:00 in Berlin is still the evening before in UTC: the zone decides "yesterday".
        (
            "Europe/Berlin",
            datetime(2026, 3, 15, 2, 0, tzinfo=ZoneInfo("Europe/Berlin")),
            "2026-03-14",
        ),
        ("America/Los_Angeles", datetime(2026, 3, 15, 9, 0, tzinfo=ZoneInfo("UTC")), "2026-03-14"),
    ],
)
def test_the_schedules_tick_targets_yesterdays_partition(
    warehouse_path, monkeypatch, timezone: str, tick: datetime, partition: str
) -> None:
    monkeypatch.setenv("SALES_ANALYTICS_TIMEZONE", timezone)
    monkeypatch.setenv("SALES_ANALYTICS_HISTORY_START", "2026-01-01")
    definitions = build_definitions(Settings.from_env())

    request = evaluate_tick(definitions, tick)

    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == partition
    assert request.tags["dagster/partition"] == partition
    assert request.tags["dagster/schedule_name"] == "nightly_warehouse_rebuild"
    schedule = definitions.resolve_schedule_def("nightly_warehouse_rebuild")
    assert schedule.job_name == NIGHTLY_JOB
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == timezone


def test_the_nightly_job_is_transactions_products_and_everything_downstream(
    warehouse_path,
) -> None:
    definitions = build_definitions(Settings.from_env())
    nightly = definitions.resolve_job_def(NIGHTLY_JOB)

    keys = {key.to_user_string() for key in nightly.asset_layer.executable_asset_keys}

    assert keys == {
        "raw/products",
        "raw/transactions",
        "staging/stg_products",
        "staging/stg_transactions",
        "marts/dim_customers",
        "marts/dim_products",
        "marts/fct_transactions",
        "history/product_history",
        "bi/serving_copy",
        "bi/parquet_exports",
        "bi/dashboard",
    }


def test_only_transactions_and_incremental_models_are_partitioned(warehouse_path) -> None:
    graph = build_definitions(Settings.from_env()).resolve_asset_graph()

    partitioned = {
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if graph.get(key).partitions_def is not None
    }

    # product_history is incremental too (append-only), so with_daily_models partitions it.
    assert partitioned == {"raw/transactions", "marts/fct_transactions", "history/product_history"}
    for key in ("raw/transactions", "marts/fct_transactions"):
        node = graph.get(dg.AssetKey.from_user_string(key))
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
