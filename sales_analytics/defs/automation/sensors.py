"""Sensors: the completion alert of warehouse runs, and the evaluation of the marts' freshness."""

import re
import warnings
from collections.abc import Sequence
from typing import Any

import dagster as dg

from sales_analytics.core.alerts import CheckOutcome, RunReport, alert_payload, run_url
from sales_analytics.defs.resources.webhook import WebhookResource

MART_GROUP_PREFIX = "marts"
ROW_COUNT = "dagster/row_count"
# How often the freshness sensor looks: a stale mart turns red at most this long after its
# deadline, and a tick is a few cheap queries.
FRESHNESS_SENSOR_INTERVAL_SECONDS = 300

_REPORT_EVENTS = {
    dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
    dg.DagsterEventType.ASSET_MATERIALIZATION,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION,
    dg.DagsterEventType.STEP_FAILURE,
}


def error_summary(error: Any) -> str:
    """A step's error (Dagster's SerializableErrorInfo) as "ValueError: ...": the first error under
    Dagster's wrappers, which says what went wrong where the wrappers only say which step."""
    while error.cause is not None and (error.cls_name or "").startswith("Dagster"):
        error = error.cause
    return re.sub(r"^[\w.]+\.(\w+: )", r"\1", error.message.strip())


def run_report(
    instance: dg.DagsterInstance, run: dg.DagsterRun, ui_url: str, run_error: str | None = None
) -> RunReport:
    """The facts of a finished run, read from the instance's run and event storage."""
    record = instance.get_run_record_by_id(run.run_id)
    duration = (
        record.end_time - record.start_time
        if record is not None and record.start_time and record.end_time
        else None
    )
    mart_rows: dict[str, int | None] = {}
    planned_checks: set[tuple[str, str]] = set()
    checks: list[CheckOutcome] = []
    failed_steps: list[str] = []
    step_error: str | None = None
    for entry in instance.all_logs(run.run_id, of_type=_REPORT_EVENTS):
        event = entry.dagster_event
        if event is None:
            continue
        data = event.event_specific_data
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED:
            key = event.asset_key
            if key is not None and key.path[0] == MART_GROUP_PREFIX:
                mart_rows.setdefault(key.path[-1], None)
        elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = entry.asset_materialization
            if (
                materialization is not None
                and materialization.asset_key.path[0] == MART_GROUP_PREFIX
            ):
                rows = materialization.metadata.get(ROW_COUNT)
                mart_rows[materialization.asset_key.path[-1]] = (
                    rows.value if isinstance(rows, dg.IntMetadataValue) else None
                )
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED:
            planned_checks.add((data.asset_key.to_user_string(), data.check_name))
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            checks.append(
                CheckOutcome(
                    asset=data.asset_key.to_user_string(),
                    name=data.check_name,
                    passed=data.passed,
                    severity=data.severity.value,
                )
            )
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
            failed_steps.append(event.step_key or "?")
            if step_error is None and data is not None and data.error is not None:
                step_error = error_summary(data.error)
    evaluated = {(check.asset, check.name) for check in checks}
    return RunReport(
        job_name=run.job_name,
        run_id=run.run_id,
        # The run as stored now: the sensor's copy may predate its final status.
        succeeded=(record.dagster_run if record is not None else run).status
        == dg.DagsterRunStatus.SUCCESS,
        duration_seconds=duration,
        run_url=run_url(ui_url, run.run_id),
        mart_rows=mart_rows,
        checks=sorted(checks, key=lambda check: (check.passed, check.asset, check.name)),
        checks_not_run=len(planned_checks - evaluated),
        failed_steps=failed_steps,
        error=step_error or run_error,
    )


def send_alert(context: dg.RunStatusSensorContext, webhook: WebhookResource, ui_url: str) -> None:
    run_error = None
    if isinstance(context, dg.RunFailureSensorContext):
        failure = context.failure_event
        error = getattr(failure.event_specific_data, "error", None)
        run_error = error_summary(error) if error is not None else failure.message
    report = run_report(context.instance, context.dagster_run, ui_url, run_error)
    webhook.post(alert_payload(report), context.log)


def build_run_alert_sensors(jobs: Sequence[Any], ui_url: str) -> list[dg.SensorDefinition]:
    """Sensors that send the completion alert of each run of `jobs` (as define_asset_job returns
    them), on success and on failure, with links into the UI at `ui_url`. Other runs of the
    project, such as the freshness sensor's, send none."""

    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS,
        name="warehouse_run_succeeded_alert",
        monitored_jobs=list(jobs),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Sends the completion alert of each successful warehouse run.",
    )
    def warehouse_run_succeeded_alert(
        context: dg.RunStatusSensorContext, webhook: WebhookResource
    ) -> None:
        send_alert(context, webhook, ui_url)

    @dg.run_failure_sensor(
        name="warehouse_run_failed_alert",
        monitored_jobs=list(jobs),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Sends the alert of each failed warehouse run, naming what failed.",
    )
    def warehouse_run_failed_alert(
        context: dg.RunFailureSensorContext, webhook: WebhookResource
    ) -> None:
        send_alert(context, webhook, ui_url)

    return [warehouse_run_succeeded_alert, warehouse_run_failed_alert]


def build_freshness_sensor(
    freshness_checks: Sequence[dg.AssetChecksDefinition],
) -> dg.SensorDefinition:
    """Launches the freshness checks once they can have gone stale, so a missed nightly run turns
    them red with nobody running anything; on by default."""
    # Superseded in Dagster 1.13 together with the checks themselves (see checks.py).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=dg.SupersessionWarning)
        return dg.build_sensor_for_freshness_checks(
            freshness_checks=freshness_checks,
            name="marts_freshness_sensor",
            minimum_interval_seconds=FRESHNESS_SENSOR_INTERVAL_SECONDS,
            default_status=dg.DefaultSensorStatus.RUNNING,
        )
