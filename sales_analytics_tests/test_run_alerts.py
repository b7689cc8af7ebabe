"""The completion alert, end to end: real runs on a real (temporary, on-disk) Dagster instance,
the run-status sensors evaluated against it, and a real HTTP server receiving the webhook.

The module runs the warehouse job twice: a successful run whose data breaks one warning-level
rule (so the marts are built and the alert names the failed check), and a run that a blocking
check stops (orphan transactions). The same sensors alert on runs of any job of the code
location: "Materialize all" and backfills run the implicit asset job."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from sales_analytics.cli.run import partition_range_tags, warehouse_run_config
from sales_analytics.core.days import DayWindow
from sales_analytics.core.settings import WEBHOOK_URL
from sales_analytics.definitions import defs
from sales_analytics.defs.automation.jobs import SALES_ANALYTICS_JOB
from sales_analytics.defs.partitions import AS_OF_TAG
from sales_analytics.defs.raw import assets as raw
from sales_analytics.defs.resources.webhook import WebhookResource
from sales_analytics_tests.conftest import LocalServer, json_response, raw_response

# Served on another port than the default, as `make dev` with DAGSTER_PORT does.
UI_URL = "http://dagster.test:3457"
SUCCEEDED = "run_succeeded_alert"
FAILED = "run_failed_alert"
# The webhook the definitions were loaded with when the runs ran; nothing listens there.
RUN_TIME_WEBHOOK = "http://127.0.0.1:9/services/T000/B000/run-time-secret-token"
AS_OF = date.today() - timedelta(days=3)
HISTORY = DayWindow(AS_OF - timedelta(days=90), AS_OF)


@dataclass(frozen=True)
class Runs:
    instance: dg.DagsterInstance
    home: Path
    success: dg.ExecuteInProcessResult
    failure: dg.ExecuteInProcessResult


def _break_one_email(frame: pl.DataFrame) -> pl.DataFrame:
    first = pl.int_range(pl.len()) == 0
    return frame.with_columns(email=pl.when(first).then(pl.lit("not-an-email")).otherwise("email"))


def _orphan_three_transactions(frame: pl.DataFrame) -> pl.DataFrame:
    orphaned = pl.int_range(pl.len()) < 3
    return frame.with_columns(
        customer_id=pl.when(orphaned).then(pl.lit("CUST-999999")).otherwise(pl.col("customer_id"))
    )


def run_history(
    instance: dg.DagsterInstance, tags: dict[str, str] | None = None
) -> dg.ExecuteInProcessResult:
    """One run of the warehouse job over the 90 days of history, as `make run` does."""
    return (
        defs()
        .resolve_job_def(SALES_ANALYTICS_JOB)
        .execute_in_process(
            run_config=warehouse_run_config(HISTORY),
            instance=instance,
            tags={**partition_range_tags(HISTORY), **(tags or {})},
            raise_on_error=False,
        )
    )


@pytest.fixture(scope="module")
def runs(module_warehouse_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    home = tmp_path_factory.mktemp("dagster_home")
    instance = dg.DagsterInstance.local_temp(tempdir=str(home))
    generate_customers, transaction_batches = raw.generate_customers, raw.transaction_batches
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv(WEBHOOK_URL, RUN_TIME_WEBHOOK)
        monkeypatch.setenv("SALES_ANALYTICS_UI_URL", UI_URL)
        monkeypatch.setenv("SALES_ANALYTICS_HISTORY_START", HISTORY.start.isoformat())
        monkeypatch.setattr(
            raw, "generate_customers", lambda *a, **k: _break_one_email(generate_customers(*a, **k))
        )
        success = run_history(instance)
        monkeypatch.setattr(
            raw,
            "transaction_batches",
            lambda *a, **k: (_orphan_three_transactions(b) for b in transaction_batches(*a, **k)),
        )
        failure = run_history(instance)
    yield Runs(instance=instance, home=home, success=success, failure=failure)
    instance.dispose()


@pytest.fixture
def alert_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("SALES_ANALYTICS_UI_URL", UI_URL)
    monkeypatch.setenv("SALES_ANALYTICS_HISTORY_START", HISTORY.start.isoformat())
    monkeypatch.delenv(WEBHOOK_URL, raising=False)
    return monkeypatch


def webhook_url(server: LocalServer, token: str = "test-secret-token") -> str:
    return f"{server.url}/services/T000/B000/{token}"


def evaluate(
    runs: Runs,
    sensor_name: str,
    webhook: WebhookResource | None = None,
    result: dg.ExecuteInProcessResult | None = None,
) -> dg.RunStatusSensorContext:
    """Evaluate the project's sensor on the run it reacts to (by default the module's successful
    or failed run), with the definitions' own webhook resource unless one is given."""
    definitions = defs()
    if result is None:
        result = runs.success if sensor_name == SUCCEEDED else runs.failure
    event = result.get_run_success_event() if result.success else result.get_run_failure_event()
    with dg.build_run_status_sensor_context(
        sensor_name=sensor_name,
        dagster_event=event,
        dagster_instance=runs.instance,
        dagster_run=result.dagster_run,
        resources={"webhook": webhook or definitions.resources["webhook"]},
    ) as context:
        definitions.resolve_sensor_def(sensor_name)(context)
    return context


def posted_payloads(server: LocalServer) -> list[dict]:
    return [json.loads(body) for method, _path, body in server.requests if method == "POST"]


def test_a_warning_does_not_stop_the_marts(runs: Runs) -> None:
    assert runs.success.success
    failed = [e for e in runs.success.get_asset_check_evaluations() if not e.passed]
    assert [(e.check_name, e.severity) for e in failed] == [
        ("customer_emails_well_formed", dg.AssetCheckSeverity.WARN)
    ]
    built = {event.asset_key.path[0] for event in runs.success.get_asset_materialization_events()}
    assert built >= {"raw", "staging", "marts"}


def test_success_alert_is_posted_to_the_webhook(
    runs: Runs, alert_env: pytest.MonkeyPatch, local_server: LocalServer
) -> None:
    local_server.respond(raw_response(b"ok", content_type="text/plain"))
    alert_env.setenv(WEBHOOK_URL, webhook_url(local_server))

    evaluate(runs, SUCCEEDED)

    ((method, path, _body),) = local_server.requests
    assert (method, path) == ("POST", "/services/T000/B000/test-secret-token")
    (payload,) = posted_payloads(local_server)
    lines = payload["text"].splitlines()
    assert lines[0].startswith(":white_check_mark: sales_analytics_job succeeded in ")
    assert "Rows per mart: dim_customers 200, dim_products 20, fct_transactions 1,000" in lines
    checks = len(runs.success.get_asset_check_evaluations())
    assert f"Checks: {checks - 1} passed, 1 failed" in lines
    assert "  failed [WARN] raw/customers: customer_emails_well_formed" in lines
    assert lines[-1] == f"Run: {UI_URL}/runs/{runs.success.run_id}"
    assert payload["blocks"]


def test_failure_alert_names_the_blocking_check(
    runs: Runs, alert_env: pytest.MonkeyPatch, local_server: LocalServer
) -> None:
    local_server.respond(raw_response(b"ok", content_type="text/plain"))
    alert_env.setenv(WEBHOOK_URL, webhook_url(local_server))

    evaluate(runs, FAILED)

    (payload,) = posted_payloads(local_server)
    lines = payload["text"].splitlines()
    assert lines[0].startswith(":x: sales_analytics_job FAILED after ")
    assert "Failed steps: raw_transactions_checks" in lines
    assert (
        "Error: DagsterAssetCheckFailedError: 1 blocking asset check failed with ERROR severity:"
        in lines
    )
    assert "  failed [ERROR] raw/transactions: transactions_reference_customers" in lines
    not_built = "dim_customers not built, dim_products not built, fct_transactions not built"
    assert f"Rows per mart: {not_built}" in lines
    checks_line = next(line for line in lines if line.startswith("Checks: "))
    assert checks_line.endswith(" not run")
    assert lines[-1] == f"Run: {UI_URL}/runs/{runs.failure.run_id}"


def test_a_run_error_is_reported_by_its_root_cause(
    runs: Runs, alert_env: pytest.MonkeyPatch, local_server: LocalServer
) -> None:
    local_server.respond(raw_response(b"ok", content_type="text/plain"))
    alert_env.setenv(WEBHOOK_URL, webhook_url(local_server))
    result = run_history(runs.instance, tags={AS_OF_TAG: "yesterday"})

    evaluate(runs, FAILED, result=result)

    (payload,) = posted_payloads(local_server)
    lines = payload["text"].splitlines()
    # The run's config and tags are checked before its first step, so no step ran or failed.
    assert not [line for line in lines if line.startswith("Failed steps:")]
    assert (
        "Error: InvalidRunConfig: the run's config is invalid, nothing was written: "
        f"tag {AS_OF_TAG}: the as-of date must be YYYY-MM-DD, got 'yesterday'"
    ) in lines


def test_without_a_webhook_the_alert_goes_to_the_log(
    runs: Runs, alert_env: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    evaluate(runs, FAILED)

    logged = capfd.readouterr().err
    assert "Run alert (no webhook configured)" in logged
    assert "transactions_reference_customers" in logged


def test_a_webhook_answering_500_is_logged_and_does_not_raise(
    runs: Runs,
    alert_env: pytest.MonkeyPatch,
    local_server: LocalServer,
    capfd: pytest.CaptureFixture[str],
) -> None:
    local_server.respond(json_response({"error": "down"}, status=500))
    alert_env.setenv(WEBHOOK_URL, webhook_url(local_server))

    evaluate(runs, SUCCEEDED)

    logged = capfd.readouterr().err
    assert len(local_server.requests) == 1
    assert "Run alert not delivered: the webhook answered HTTP 500" in logged
    assert "sales_analytics_job succeeded" in logged


def _hang(seconds: float):
    def handle(request: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        raw_response(b"too late")(request)

    return handle


def test_a_hanging_webhook_times_out_quickly(
    runs: Runs,
    alert_env: pytest.MonkeyPatch,
    local_server: LocalServer,
    capfd: pytest.CaptureFixture[str],
) -> None:
    local_server.respond(_hang(2.0))
    alert_env.setenv(WEBHOOK_URL, webhook_url(local_server))
    webhook = WebhookResource(url=dg.EnvVar(WEBHOOK_URL), timeout_seconds=0.3)

    started = time.monotonic()
    evaluate(runs, FAILED, webhook)
    elapsed = time.monotonic() - started

    assert elapsed < 1.5
    assert "could not be reached (ReadTimeout" in capfd.readouterr().err


def test_an_unreachable_webhook_is_logged_and_does_not_raise(
    runs: Runs, alert_env: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    alert_env.setenv(WEBHOOK_URL, "http://127.0.0.1:9/services/T000/B000/nobody-listens")

    evaluate(runs, SUCCEEDED)

    assert "could not be reached (ConnectError" in capfd.readouterr().err


def _stored_text(runs: Runs) -> str:
    """Everything the instance stored about its runs, as text: runs with their config and tags,
    job snapshots, every event."""
    parts = []
    for run in runs.instance.get_runs():
        parts.append(dg.serialize_value(run))
        parts.append(dg.serialize_value(runs.instance.get_job_snapshot(run.job_snapshot_id)))
        parts.extend(dg.serialize_value(entry) for entry in runs.instance.all_logs(run.run_id))
    return "\n".join(parts)


def test_the_webhook_url_is_never_logged_or_stored(
    runs: Runs,
    alert_env: pytest.MonkeyPatch,
    local_server: LocalServer,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = webhook_url(local_server, token="never-show-this-token")
    alert_env.setenv(WEBHOOK_URL, secret)
    local_server.respond(
        raw_response(b"ok", content_type="text/plain"), json_response({}, status=500)
    )

    evaluate(runs, SUCCEEDED)
    evaluate(runs, FAILED)

    assert len(local_server.requests) == 2
    output = capfd.readouterr()
    for text in (output.out, output.err, caplog.text):
        assert "never-show-this-token" not in text
    stored = _stored_text(runs)
    # The definitions the runs loaded had a webhook: the snapshots name its variable, not its value.
    assert WEBHOOK_URL in stored
    assert "run-time-secret-token" not in stored
    for path in runs.home.rglob("*"):
        if path.is_file():
            assert b"run-time-secret-token" not in path.read_bytes(), path


def test_alert_sensors_are_on_by_default(alert_env: pytest.MonkeyPatch) -> None:
    definitions = defs()

    for name in (SUCCEEDED, FAILED):
        assert definitions.resolve_sensor_def(name).default_status == dg.DefaultSensorStatus.RUNNING


def test_a_run_of_the_implicit_asset_job_alerts_too(
    runs: Runs, alert_env: pytest.MonkeyPatch, local_server: LocalServer
) -> None:
    # "Materialize all" and backfills from the UI run the implicit asset job, not a named one:
    # here a backfill of the history (which also replaces the failed run's orphans) of the
    # dimension of customers and what it needs.
    local_server.respond(raw_response(b"ok", content_type="text/plain"))
    alert_env.setenv(WEBHOOK_URL, webhook_url(local_server))
    definitions = defs()
    implicit = definitions.resolve_implicit_global_asset_job_def()
    selection = [
        dg.AssetKey(["raw", "customers"]),
        dg.AssetKey(["raw", "products"]),
        dg.AssetKey(["raw", "transactions"]),
        dg.AssetKey(["staging", "stg_customers"]),
        dg.AssetKey(["staging", "stg_transactions"]),
        dg.AssetKey(["marts", "dim_customers"]),
    ]
    result = implicit.execute_in_process(
        instance=runs.instance,
        asset_selection=selection,
        tags=partition_range_tags(HISTORY),
        raise_on_error=False,
    )
    assert result.success
    assert result.dagster_run.job_name != SALES_ANALYTICS_JOB

    evaluate(runs, SUCCEEDED, result=result)

    (payload,) = posted_payloads(local_server)
    lines = payload["text"].splitlines()
    assert lines[0].startswith(f":white_check_mark: {result.dagster_run.job_name} succeeded in ")
    # The run built one mart, and the alert names only the marts the run was asked for.
    assert "Rows per mart: dim_customers 200" in lines
    checks = result.get_asset_check_evaluations()
    assert checks
    failed = [e for e in checks if not e.passed]
    assert f"Checks: {len(checks) - len(failed)} passed, {len(failed)} failed" in lines
    assert lines[-1] == f"Run: {UI_URL}/runs/{result.run_id}"
