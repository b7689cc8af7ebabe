"""Assembles the project's definitions; settings are read when Dagster loads them."""

import dagster as dg

from sales_analytics.assets.bi import bi_assets
from sales_analytics.assets.dbt import sales_analytics_dbt_assets
from sales_analytics.assets.raw import customers, products, transactions
from sales_analytics.jobs import sales_analytics_job
from sales_analytics.resources import build_resources
from sales_analytics.schedules import build_nightly_schedule
from sales_analytics.settings import Settings


@dg.definitions
def defs() -> dg.Definitions:
    settings = Settings.from_env()
    return dg.Definitions(
        assets=[customers, products, transactions, sales_analytics_dbt_assets, *bi_assets],
        jobs=[sales_analytics_job],
        schedules=[build_nightly_schedule(settings.timezone)],
        resources=build_resources(settings),
        # One process writes the DuckDB file at a time, and steps skip ~3 s of imports each.
        executor=dg.in_process_executor,
    )
