"""The one partitions definition of the graph, and what a run reads from its partitions.

Every asset and check is partitioned by day with this definition, so whatever a person selects in
the UI — "Materialize all" over a range, a backfill from an asset's Partitions tab, one partition
from the launchpad — every selected asset shares the run's days, and a range is one run (each
asset's backfill policy is single_run) and one `dbt build`. Assets that are not naturally daily
(customers, products, staging, the dimensions, BI) rebuild their whole table once per run, as of
the run's last day.
"""

from __future__ import annotations

from datetime import date
from functools import cache

import dagster as dg

from sales_analytics.core.days import DayWindow, as_of_date, resolve_history_start
from sales_analytics.core.settings import Settings

# A run tag that makes a run measure customer status (and draw registrations) as of another day
# than the end of its window. The only place to override the as-of date.
AS_OF_TAG = "sales_analytics/as_of_date"


@cache
def daily_partitions(first_day: date, timezone: str) -> dg.DailyPartitionsDefinition:
    """One partition per calendar day in `timezone`, from `first_day` to yesterday."""
    return dg.DailyPartitionsDefinition(start_date=first_day.isoformat(), timezone=timezone)


def history_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    """The partitions the settings describe (first day: SALES_ANALYTICS_HISTORY_START)."""
    first_day = resolve_history_start(settings.history_start, settings.timezone)
    return daily_partitions(first_day, settings.timezone)


def run_window(context: dg.AssetExecutionContext) -> DayWindow:
    """The days of the run's partition or partition range."""
    window = context.partition_time_window
    return DayWindow(window.start.date(), window.end.date())


def run_as_of(context: dg.AssetExecutionContext) -> date:
    return as_of_date(run_window(context), context.run.tags.get(AS_OF_TAG))
