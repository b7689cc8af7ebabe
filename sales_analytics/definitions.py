"""Assembles the project's definitions; settings are read when Dagster loads them."""

from datetime import date, timedelta

import dagster as dg

from sales_analytics.defs.bi.assets import bi_assets
from sales_analytics.defs.dbt.assets import sales_analytics_dbt_assets, with_daily_models
from sales_analytics.defs.raw.assets import customers, products, transactions
from sales_analytics.defs.raw.checks import build_freshness_checks, build_raw_checks, mart_keys
from sales_analytics.defs.automation.jobs import nightly_job, sales_analytics_job
from sales_analytics.defs.partitions import daily_partitions, partitioned_by, resolve_history_start
from sales_analytics.defs.resources import build_resources
from sales_analytics.defs.raw.retries import extraction_retry_policy, with_extraction_retries
from sales_analytics.defs.automation.schedules import build_nightly_schedule
from sales_analytics.defs.automation.sensors import build_freshness_sensor, build_run_alert_sensors
from sales_analytics.core.settings import Settings


def build_definitions(settings: Settings, *, history_start: date | None = None) -> dg.Definitions:
    """The definitions for `settings`; `history_start` overrides the first daily partition."""
    first_day = history_start or resolve_history_start(settings)
    days = daily_partitions(first_day, settings.timezone)
    raw_customers, raw_products, raw_transactions = with_extraction_retries(
        [customers, products, transactions],
        extraction_retry_policy(settings.retry_count, settings.retry_delay_seconds),
    )
    freshness_checks = build_freshness_checks(
        mart_keys(sales_analytics_dbt_assets), timedelta(hours=settings.freshness_hours)
    )
    return dg.Definitions(
        assets=[
            raw_customers,
            raw_products,
            *partitioned_by(days, [raw_transactions]),
            with_daily_models(sales_analytics_dbt_assets, days),
            *bi_assets,
        ],
        asset_checks=[*build_raw_checks(first_day), *freshness_checks],
        jobs=[sales_analytics_job, nightly_job],
        schedules=[build_nightly_schedule(days, settings.transactions_per_day)],
        sensors=[
            *build_run_alert_sensors([sales_analytics_job, nightly_job], settings.ui_url),
            build_freshness_sensor(freshness_checks),
        ],
        resources=build_resources(settings),
        # One process writes the DuckDB file at a time, and steps skip ~3 s of imports each.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(Settings.from_env())
