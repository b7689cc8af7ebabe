"""The nightly run at 02:00: yesterday's partition of the nightly job."""

from __future__ import annotations

from typing import Any

import dagster as dg

NIGHTLY_SCHEDULE = "nightly_warehouse_rebuild"
NIGHTLY_HOUR = 2


def build_nightly_schedule(nightly_job: Any) -> Any:
    """02:00 in the partitions' timezone (SALES_ANALYTICS_TIMEZONE), for the last complete day:
    the day before the tick, whose window ends on the tick's date — the run's as-of date."""
    return dg.build_schedule_from_partitioned_job(
        nightly_job,
        name=NIGHTLY_SCHEDULE,
        hour_of_day=NIGHTLY_HOUR,
        minute_of_hour=0,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Every night at 02:00: yesterday's transactions and everything downstream.",
    )


# The same time as a cron string, for messages that say when the next nightly run comes.
NIGHTLY_CRON = f"0 {NIGHTLY_HOUR} * * *"
