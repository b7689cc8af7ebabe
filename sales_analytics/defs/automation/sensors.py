"""The completion alert of every run of the project, on success and on failure."""

from collections.abc import Sequence

import dagster as dg

from sales_analytics.core.alerts import CheckOutcome, RunReport, alert_payload, run_url
from sales_analytics.defs.resources.webhook import WebhookResource

ROW_COUNT = "dagster/row_count"
# Materializations of a run are among the latest few of each mart (one per partition of the run).
MATERIALIZATIONS_READ = 400


def mart_rows(
    instance: dg.DagsterInstance, run: dg.DagsterRun, marts: Sequence[dg.AssetKey]
) -> dict[str, int | None]:
    """Rows of each mart the run materialized, summed over the run's partitions of a daily mart
    (each holds its day's rows) or the table's rows for a mart rebuilt whole; None: not built."""
    rows: dict[str, int | None] = {}
    for key in marts:
        records = instance.fetch_materializations(key, limit=MATERIALIZATIONS_READ).records
        counts = {}
        for record in records:
            if record.run_id != run.run_id or record.asset_materialization is None:
                continue
            value = record.asset_materialization.metadata.get(ROW_COUNT)
            if isinstance(value, dg.IntMetadataValue):
                counts[record.asset_materialization.partition] = value.value
        if counts:
            distinct = set(counts.values())
            # Every partition of a mart rebuilt whole carries the table's rows.
            rows[key.path[-1]] = distinct.pop() if len(distinct) == 1 else sum(counts.values())
    return rows


def check_outcomes(
    instance: dg.DagsterInstance, run: dg.DagsterRun, check_keys: Sequence[dg.AssetCheckKey]
) -> list[CheckOutcome]:
    outcomes = []
    for key in check_keys:
        record = instance.get_latest_asset_check_evaluation_record(key)
        if record is None or record.run_id != run.run_id or record.evaluation is None:
            continue
        outcomes.append(
            CheckOutcome(
                asset=key.asset_key.to_user_string(),
                name=key.name,
                passed=record.evaluation.passed,
                severity=record.evaluation.severity.value,
            )
        )
    return sorted(outcomes, key=lambda check: (check.passed, check.asset, check.name))


def failure_message(event: dg.DagsterEvent) -> str:
    """What went wrong in a failed step: the error it raised (under Dagster's own wrapper, when
    the step's code raised it), else the event's message."""
    data = event.step_failure_data
    error = data.error if data is not None else None
    if error is None:
        return event.message or "step failed"
    raised = error.cause if error.cause is not None else error
    return raised.message.strip()


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
        error = error or context.failure_event.message
    return RunReport(
        job_name=run.job_name,
        run_id=run.run_id,
        succeeded=not isinstance(context, dg.RunFailureSensorContext),
        duration_seconds=duration,
        run_url=run_url(ui_url, run.run_id),
        mart_rows=mart_rows(context.instance, run, marts),
        checks=check_outcomes(context.instance, run, check_keys),
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
