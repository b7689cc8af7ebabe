"""The completion alert of every run of the project, on success and on failure."""

import re
from collections.abc import Sequence
from typing import Any

import dagster as dg

from sales_analytics.core.alerts import CheckOutcome, RunReport, alert_payload, run_url
from sales_analytics.defs.resources.webhook import WebhookResource

ROW_COUNT = "dagster/row_count"
# What a run planned and what it did, read from the run's own events: another run that started
# since (the next run of a queue, a backfill's next range) does not change this run's report.
REPORTED_EVENTS = {
    dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
    dg.DagsterEventType.ASSET_MATERIALIZATION,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION,
}


def run_events(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[dg.EventLogRecord]:
    return list(instance.get_records_for_run(run.run_id, of_type=REPORTED_EVENTS).records)


def mart_rows(
    records: Sequence[dg.EventLogRecord], marts: Sequence[dg.AssetKey]
) -> dict[str, int | None]:
    """Rows of each mart the run planned, summed over the run's partitions of a daily mart (each
    holds its day's rows) or the table's rows for a mart rebuilt whole; None: planned, not built."""
    wanted = set(marts)
    planned: set[dg.AssetKey] = set()
    counts: dict[dg.AssetKey, dict[str | None, int]] = {}
    for record in records:
        event = record.event_log_entry.get_dagster_event()
        if event.asset_key not in wanted:
            continue
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED:
            planned.add(event.asset_key)
        elif record.asset_materialization is not None:
            value = record.asset_materialization.metadata.get(ROW_COUNT)
            if isinstance(value, dg.IntMetadataValue):
                counts.setdefault(event.asset_key, {})[event.partition] = value.value
    rows: dict[str, int | None] = {}
    for key in sorted(planned | set(counts), key=lambda key: key.path[-1]):
        per_partition = counts.get(key)
        if not per_partition:
            rows[key.path[-1]] = None
            continue
        distinct = set(per_partition.values())
        # Every partition of a mart rebuilt whole carries the table's rows.
        rows[key.path[-1]] = distinct.pop() if len(distinct) == 1 else sum(per_partition.values())
    return rows


def check_outcomes(
    records: Sequence[dg.EventLogRecord], check_keys: Sequence[dg.AssetCheckKey]
) -> tuple[list[CheckOutcome], int]:
    """The run's check results, and how many checks it planned but never evaluated (their asset
    failed or a blocking check stopped the run first)."""
    wanted = set(check_keys)
    planned: set[dg.AssetCheckKey] = set()
    outcomes: dict[dg.AssetCheckKey, CheckOutcome] = {}
    for record in records:
        event = record.event_log_entry.get_dagster_event()
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED:
            planned_check = event.asset_check_planned_data
            planned.add(dg.AssetCheckKey(planned_check.asset_key, planned_check.check_name))
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.asset_check_evaluation_data
            key = dg.AssetCheckKey(evaluation.asset_key, evaluation.check_name)
            outcomes[key] = CheckOutcome(
                asset=evaluation.asset_key.to_user_string(),
                name=evaluation.check_name,
                passed=evaluation.passed,
                severity=evaluation.severity.value,
            )
    reported = sorted(
        (outcome for key, outcome in outcomes.items() if key in wanted),
        key=lambda check: (check.passed, check.asset, check.name),
    )
    return reported, len((planned & wanted) - set(outcomes))


def root_error(error: Any) -> str:
    """An error (Dagster's SerializableErrorInfo) as "ValueError: ...": the first error under
    Dagster's wrappers, which says what went wrong where the wrappers only say which step."""
    while error.cause is not None and (error.cls_name or "").startswith("Dagster"):
        error = error.cause
    return re.sub(r"^[\w.]+\.(\w+: )", r"\1", error.message.strip())


def failure_message(event: dg.DagsterEvent) -> str:
    """What went wrong in a failed step or run: the error raised under Dagster's wrappers, else
    the event's message."""
    data = event.step_failure_data if event.is_step_failure else event.job_failure_data
    error = data.error if data is not None else None
    if error is None:
        return event.message or "failed"
    return root_error(error)


def run_report(
    context: dg.RunStatusSensorContext,
    ui_url: str,
    marts: Sequence[dg.AssetKey],
    check_keys: Sequence[dg.AssetCheckKey],
) -> RunReport:
    """The facts of a finished run: its record, the marts' and checks' results it wrote, and
    for a failed run the failed steps with their error."""
    run = context.dagster_run
    record = context.instance.get_run_record_by_id(run.run_id)
    duration = (
        record.end_time - record.start_time
        if record is not None and record.start_time and record.end_time
        else None
    )
    failed_steps: list[str] = []
    error = None
    if isinstance(context, dg.RunFailureSensorContext):
        for event in context.get_step_failure_events():
            failed_steps.append(event.step_key or "?")
            error = error or failure_message(event)
        error = error or failure_message(context.failure_event)
    records = run_events(context.instance, run)
    checks, checks_not_run = check_outcomes(records, check_keys)
    return RunReport(
        job_name=run.job_name,
        run_id=run.run_id,
        succeeded=not isinstance(context, dg.RunFailureSensorContext),
        duration_seconds=duration,
        run_url=run_url(ui_url, run.run_id),
        mart_rows=mart_rows(records, marts),
        checks=checks,
        checks_not_run=checks_not_run,
        failed_steps=failed_steps,
        error=error,
    )


def build_run_alert_sensors(
    ui_url: str, marts: Sequence[dg.AssetKey], check_keys: Sequence[dg.AssetCheckKey]
) -> list[dg.SensorDefinition]:
    """Sensors that send the completion alert of every run of the code location — the jobs,
    "Materialize all", backfills, the schedule's runs — with links into the UI at `ui_url`."""

    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS,
        name="run_succeeded_alert",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Sends the completion alert of each successful run.",
    )
    def run_succeeded_alert(context: dg.RunStatusSensorContext, webhook: WebhookResource) -> None:
        webhook.post(alert_payload(run_report(context, ui_url, marts, check_keys)), context.log)

    @dg.run_failure_sensor(
        name="run_failed_alert",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Sends the alert of each failed run, naming what failed.",
    )
    def run_failed_alert(context: dg.RunFailureSensorContext, webhook: WebhookResource) -> None:
        webhook.post(alert_payload(run_report(context, ui_url, marts, check_keys)), context.log)

    return [run_succeeded_alert, run_failed_alert]
