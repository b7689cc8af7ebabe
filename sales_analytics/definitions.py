"""Assembles the project's definitions from each area's factories; settings are read when Dagster
loads the code location, never at import."""

from __future__ import annotations

import dagster as dg

from sales_analytics.core.days import resolve_history_start
from sales_analytics.core.settings import Settings
from sales_analytics.defs.automation.jobs import build_jobs
from sales_analytics.defs.automation.schedules import build_nightly_schedule
from sales_analytics.defs.automation.sensors import build_run_alert_sensors
from sales_analytics.defs.bi.assets import build_bi_assets
from sales_analytics.defs.dbt.assets import build_dbt_assets
from sales_analytics.defs.dbt.project import dbt_target
from sales_analytics.defs.partitions import daily_partitions
from sales_analytics.defs.raw.assets import build_raw_assets
from sales_analytics.defs.raw.checks import build_raw_checks
from sales_analytics.defs.resources import build_resources


def build_definitions(settings: Settings) -> dg.Definitions:
    first_day = resolve_history_start(settings.history_start, settings.timezone)
    timezone = settings.timezone
    raw_assets = build_raw_assets(
        first_day, timezone, settings.retry_count, settings.retry_delay_seconds
    )
    raw_checks = build_raw_checks(first_day, timezone, settings.history_start)
    dbt_assets = build_dbt_assets(
        first_day, timezone, settings.freshness_hours, dbt_target(settings)
    )
    marts = sorted(spec.key for spec in dbt_assets.specs if spec.group_name == "marts")
    sales_analytics_job, nightly_job = build_jobs(settings.transactions_per_day)
    check_keys = [key for checks in raw_checks for key in checks.check_keys]
    return dg.Definitions(
        assets=[
            *raw_assets,
            dbt_assets,
            *build_bi_assets(daily_partitions(first_day, timezone), marts),
        ],
        asset_checks=raw_checks,
        jobs=[sales_analytics_job, nightly_job],
        schedules=[build_nightly_schedule(nightly_job)],
        sensors=build_run_alert_sensors(
            settings.ui_url, marts, [*check_keys, *dbt_assets.check_keys]
        ),
        resources=build_resources(settings),
        # One process writes the DuckDB file at a time, and steps skip ~3 s of imports each.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(Settings.from_env())
