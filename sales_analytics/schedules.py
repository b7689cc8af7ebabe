"""The nightly rebuild at 02:00."""

from __future__ import annotations

import dagster as dg

from sales_analytics.jobs import sales_analytics_job, warehouse_run_config

NIGHTLY_CRON = "0 2 * * *"


def build_nightly_schedule(timezone: str) -> dg.ScheduleDefinition:
    """Each tick rebuilds raw through marts for its own date (as-of = the tick's date), so a
    tick run again later gives the same warehouse."""

    @dg.schedule(
        name="nightly_warehouse_rebuild",
        cron_schedule=NIGHTLY_CRON,
        execution_timezone=timezone,
        job=sales_analytics_job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    def nightly_warehouse_rebuild(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        tick_date = context.scheduled_execution_time.date()
        return dg.RunRequest(
            run_key=tick_date.isoformat(),
            run_config=warehouse_run_config(as_of=tick_date),
            tags={"sales_analytics/as_of_date": tick_date.isoformat()},
        )

    return nightly_warehouse_rebuild
