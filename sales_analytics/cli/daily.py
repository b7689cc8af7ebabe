"""`make daily`: run now what the nightly schedule's tick runs (yesterday's partition and
everything downstream), and print the same summary as `make run`.

Exits 1 when a step failed or an error-severity check failed, 2 on bad settings.
"""

from __future__ import annotations

import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from sales_analytics.cli.report import (
    dbt_output_hidden,
    logging_config,
    project_instance,
    report,
)
from sales_analytics.core.settings import Settings, SettingsError
from sales_analytics.defs.automation.schedules import NIGHTLY_SCHEDULE


def tick_run_request(
    definitions: dg.Definitions, at: datetime, instance: dg.DagsterInstance | None = None
) -> dg.RunRequest | dg.SkipReason:
    """What the nightly schedule asks for on a tick at `at`, evaluated as the daemon does."""
    schedule = definitions.resolve_schedule_def(NIGHTLY_SCHEDULE)
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=at) as context:
        result = schedule(context)
    requests = [result] if isinstance(result, dg.RunRequest | dg.SkipReason) else list(result)
    return requests[0] if requests else dg.SkipReason("the schedule asked for no run")


def main() -> int:
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from sales_analytics.definitions import build_definitions

    definitions = build_definitions(settings)
    instance = project_instance()
    now = datetime.now(ZoneInfo(settings.timezone))
    request = tick_run_request(definitions, now, instance)
    if isinstance(request, dg.SkipReason):
        print(f"The schedule would skip this tick: {request.skip_message}")
        return 0
    print(f"Warehouse: {settings.duckdb_path}")
    print(f"Tick at {now:%Y-%m-%d %H:%M %Z}: partition {request.partition_key}")
    schedule = definitions.resolve_schedule_def(NIGHTLY_SCHEDULE)
    job = definitions.resolve_job_def(request.job_name or schedule.job_name)
    run_config = {**(request.run_config or {}), **logging_config()}
    with dbt_output_hidden():
        result = job.execute_in_process(
            run_config=run_config,
            partition_key=request.partition_key,
            tags=request.tags,
            instance=instance,
            raise_on_error=False,
        )
    return report(result, settings, definitions)


if __name__ == "__main__":
    sys.exit(main())
