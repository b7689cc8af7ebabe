"""Daily partitions: settings, the history start, the run window and its as-of date, make run's
range, and the nightly schedule's request for a tick."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from sales_analytics.cli.daily import tick_run_request
from sales_analytics.cli.run import partition_range_tags
from sales_analytics.core.days import DayWindow, as_of_date, history_window, resolve_history_start
from sales_analytics.core.settings import Settings, SettingsError
from sales_analytics.definitions import build_definitions
from sales_analytics.defs.automation.jobs import NIGHTLY_JOB
from sales_analytics.defs.partitions import AS_OF_TAG, daily_partitions

SCHEDULE = "nightly_warehouse_rebuild"


def settings(**env: str) -> Settings:
    return Settings.from_env({"SALES_ANALYTICS_DUCKDB_PATH": "unused.duckdb", **env})


def test_history_starts_90_days_ago_unless_configured() -> None:
    today = date(2026, 3, 31)
    assert resolve_history_start(settings().history_start, "UTC", today) == date(2025, 12, 31)
    configured = settings(SALES_ANALYTICS_HISTORY_START="2026-01-15")
    assert resolve_history_start(configured.history_start, "UTC", today) == date(2026, 1, 15)


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


def test_a_window_is_its_days() -> None:
    window = DayWindow(date(2026, 1, 30), date(2026, 2, 2))
    assert window.days == 3
    assert window.last_day == date(2026, 2, 1)
    assert window.each_day() == [date(2026, 1, 30), date(2026, 1, 31), date(2026, 2, 1)]
    with pytest.raises(ValueError, match="at least one day"):
        DayWindow(date(2026, 1, 2), date(2026, 1, 2))


def test_the_as_of_date_is_the_window_end_unless_the_run_names_another() -> None:
    window = DayWindow(date(2026, 1, 30), date(2026, 2, 2))

    # The day after the last partition: "today" for a nightly run of yesterday.
    assert as_of_date(window) == date(2026, 2, 2)
    assert as_of_date(window, None) == as_of_date(window, "") == date(2026, 2, 2)
    assert as_of_date(window, "2026-01-15") == date(2026, 1, 15)
    with pytest.raises(ValueError, match="YYYY-MM-DD, got 'yesterday'"):
        as_of_date(window, "yesterday")
    assert AS_OF_TAG == "sales_analytics/as_of_date"


def test_make_run_backfills_the_days_before_the_as_of_date_in_one_range() -> None:
    as_of = date(2026, 3, 31)
    assert history_window(as_of, 30, None) == DayWindow(date(2026, 3, 1), as_of)
    assert history_window(as_of, None, None) == DayWindow(date(2025, 12, 31), as_of)
    assert history_window(as_of, None, date(2026, 3, 29)) == DayWindow(date(2026, 3, 29), as_of)
    with pytest.raises(ValueError, match="not before the as-of date"):
        history_window(as_of, None, as_of)
    window = DayWindow(date(2026, 3, 1), as_of)
    assert partition_range_tags(window) == {
        "dagster/asset_partition_range_start": "2026-03-01",
        "dagster/asset_partition_range_end": "2026-03-30",
    }
    # make run's whole history is as of the day it names.
    assert as_of_date(window) == as_of


def nightly_definitions(
    monkeypatch: pytest.MonkeyPatch, timezone: str = "UTC", history_start: str = "2026-01-01"
) -> dg.Definitions:
    monkeypatch.setenv("SALES_ANALYTICS_TIMEZONE", timezone)
    monkeypatch.setenv("SALES_ANALYTICS_HISTORY_START", history_start)
    return build_definitions(Settings.from_env())


def test_the_nightly_request_is_yesterdays_partition_of_the_nightly_job_as_of_the_tick_date(
    warehouse_path, monkeypatch
) -> None:
    monkeypatch.setenv("SALES_ANALYTICS_TRANSACTIONS_PER_DAY", "5000")
    definitions = nightly_definitions(monkeypatch)
    tick = datetime(2026, 3, 15, 2, 0, tzinfo=ZoneInfo("UTC"))

    request = tick_run_request(definitions, tick)

    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == "2026-03-14"
    schedule = definitions.resolve_schedule_def(SCHEDULE)
    assert (request.job_name or schedule.job_name) == NIGHTLY_JOB
    # The nightly volume is the job's config, which the run request carries or the job supplies.
    job = definitions.resolve_job_def(NIGHTLY_JOB)
    run_config = request.run_config or job.run_config_for_partition_key(request.partition_key)
    assert run_config["ops"]["raw__transactions"]["config"] == {"count": 5000, "days": 1}
    # The run's window is its partition's day; its as-of date, the window's end, is the tick's date.
    partitions = job.partitions_def
    window = partitions.time_window_for_partition_key(request.partition_key)
    days = DayWindow(window.start.date(), window.end.date())
    assert days == DayWindow(date(2026, 3, 14), date(2026, 3, 15))
    assert AS_OF_TAG not in request.tags
    assert as_of_date(days, request.tags.get(AS_OF_TAG)) == tick.date()


def test_the_nightly_request_skips_days_before_the_history(warehouse_path, monkeypatch) -> None:
    definitions = nightly_definitions(monkeypatch, history_start="2026-03-15")

    # The first partition (2026-03-15) is not over yet at 02:00 on its own day.
    request = tick_run_request(definitions, datetime(2026, 3, 15, 2, 0, tzinfo=ZoneInfo("UTC")))

    assert isinstance(request, dg.SkipReason)


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
    definitions = nightly_definitions(monkeypatch, timezone=timezone)

    request = tick_run_request(definitions, tick)

    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == partition
    schedule = definitions.resolve_schedule_def(SCHEDULE)
    assert schedule.job_name == NIGHTLY_JOB
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == timezone


def test_consecutive_ticks_ask_for_consecutive_days(warehouse_path, monkeypatch) -> None:
    definitions = nightly_definitions(monkeypatch)
    first = datetime(2026, 3, 15, 2, 0, tzinfo=ZoneInfo("UTC"))

    keys = [
        tick_run_request(definitions, first + timedelta(days=offset)).partition_key
        for offset in range(3)
    ]

    assert keys == ["2026-03-14", "2026-03-15", "2026-03-16"]


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


def test_every_job_is_partitioned_by_the_graphs_one_definition(warehouse_path) -> None:
    settings = Settings.from_env()
    definitions = build_definitions(settings)
    first_day = resolve_history_start(settings.history_start, settings.timezone)

    for name in ("sales_analytics_job", NIGHTLY_JOB):
        assert definitions.resolve_job_def(name).partitions_def == daily_partitions(
            first_day, "UTC"
        ), name
