"""The nightly run at 02:00: the catalog, yesterday's transactions and everything downstream."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from sales_analytics.defs.automation.jobs import nightly_job, nightly_run_config

NIGHTLY_SCHEDULE = "nightly_warehouse_rebuild"
NIGHTLY_CRON = "0 2 * * *"


def nightly_run_request(
    tick_date: date,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    transactions_per_day: int | None = None,
) -> dg.RunRequest | dg.SkipReason:
    """The run of the tick on `tick_date`: the day before's partition, with the tick's date as
    as-of date, so a tick run again later gives the same warehouse."""
    day = tick_date - timedelta(days=1)
    partition_key = day.strftime(partitions_def.fmt)
    if not partitions_def.has_partition_key(partition_key):
        return dg.SkipReason(
            f"{partition_key} is not a partition (history starts {partitions_def.start.date()})"
        )
    return dg.RunRequest(
        run_key=tick_date.isoformat(),
        partition_key=partition_key,
        run_config=nightly_run_config(as_of=tick_date, transactions_per_day=transactions_per_day),
        tags={"sales_analytics/as_of_date": tick_date.isoformat()},
    )


def build_nightly_schedule(
    partitions_def: dg.TimeWindowPartitionsDefinition, transactions_per_day: int | None = None
) -> dg.ScheduleDefinition:
    """02:00 in the partitions' timezone (SALES_ANALYTICS_TIMEZONE): the nightly job for
    yesterday's partition (`transactions_per_day` of them, else the assets' default rate)."""

    @dg.schedule(
        name=NIGHTLY_SCHEDULE,
        cron_schedule=NIGHTLY_CRON,
        execution_timezone=partitions_def.timezone,
        job=nightly_job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    def nightly_warehouse_rebuild(
        context: dg.ScheduleEvaluationContext,
    ) -> dg.RunRequest | dg.SkipReason:
        tick_time = context.scheduled_execution_time.astimezone(ZoneInfo(partitions_def.timezone))
        return nightly_run_request(tick_time.date(), partitions_def, transactions_per_day)

    return nightly_warehouse_rebuild


def evaluate_tick(
    definitions: dg.Definitions, at: datetime, instance: dg.DagsterInstance | None = None
) -> dg.RunRequest | dg.SkipReason:
    """What the nightly schedule of `definitions` asks for on a tick at `at`, as the daemon would
    evaluate it: its one run request (with the schedule's and partition's tags), or why it skips."""
    context = dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=at,
        repository_def=definitions.get_repository_def(),
    )
    result = definitions.resolve_schedule_def(NIGHTLY_SCHEDULE).evaluate_tick(context)
    if not result.run_requests:
        return dg.SkipReason(result.skip_message)
    (request,) = result.run_requests
    return request
