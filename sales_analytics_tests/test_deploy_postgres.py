"""Dagster's production deployment as deploy/ describes it, run for real: a PostgreSQL server
started from the installed binaries holds the instance of deploy/dagster.yaml; the code location
runs as its own gRPC server (the Dockerfile's command), reached through deploy/workspace.yaml by a
webserver and a daemon in two more processes. The daemon launches the nightly schedule's run and
a 3-day backfill from the run queue; the webserver's GraphQL API shows both runs and their checks,
and PostgreSQL holds them.

Skips without the PostgreSQL server, unless SALES_ANALYTICS_REQUIRE_POSTGRES=1 (set by .ci/run)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from sales_analytics.core.settings import DEFAULT_TIMEZONE, PROJECT_ROOT
from sales_analytics_tests.live.graphql import DagsterGraphQL, Run
from sales_analytics_tests.live.postgres import PostgresServer, postgres_server
from sales_analytics_tests.live.servers import DagsterServers, webserver_and_daemon

DEPLOY = PROJECT_ROOT / "deploy"
# A queued run: the launch writes ENQUEUED, the daemon's queue writes STARTING as it takes the run
# off the queue and hands it to the run launcher.
ENQUEUED = dg.DagsterEventType.RUN_ENQUEUED.value
STARTING = dg.DagsterEventType.RUN_STARTING.value
CHECK_EVALUATION = dg.DagsterEventType.ASSET_CHECK_EVALUATION.value
SCHEDULE = "nightly_warehouse_rebuild"
DAYS = 3
# Runs of a small warehouse take ~10-30 s each here; the backfill daemon looks every 30 s.
RUN_TIMEOUT_SECONDS = 600


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="module")
def deployment(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DagsterServers]:
    with webserver_and_daemon(
        tmp_path_factory.mktemp("deploy"),
        instance_config=DEPLOY / "dagster.yaml",
        env_overrides=postgres.dagster_environment(),
        code_server_module="sales_analytics.definitions",
        workspace=DEPLOY / "workspace.yaml",
    ) as servers:
        servers.client.wait_for_daemons(timeout=180)
        yield servers


def latest_tick(client: DagsterGraphQL, now: float) -> float:
    """The schedule's most recent tick time at `now`, from its cron as the server reports it."""
    (tick,) = client.schedule_tick_timestamps(SCHEDULE, after=now - 86400, limit=1)
    assert tick <= now
    return tick


@pytest.fixture(scope="module")
def launched(deployment: DagsterServers) -> dict[str, object]:
    """A "Materialize all" backfill of the last 3 days (the history a deployment starts from),
    then the schedule's run (it reads the customers the backfill writes): its last tick evaluated
    by the code server as the daemon evaluates it, launched into the queue with the tick's tags.
    Both finished."""
    client = deployment.client
    days = client.partition_keys("raw/transactions")[-DAYS:]
    every_asset = set(client.asset_keys())
    backfill_id = client.launch_backfill(partition_names=days, title="deploy test")
    # The queue is first in, first out: once the backfill daemon enqueued the runs of every
    # asset, the schedule's run queues behind them and needs no wait for the backfill's end. A
    # run the daemon created but has not submitted yet (NOT_STARTED) is not in the queue: on a
    # busy machine the schedule's run would overtake it and find no customers.
    client.wait_for(
        "the backfill's runs of every asset in the queue",
        lambda: (
            every_asset
            <= {
                key
                for run in client.runs(tags={"dagster/backfill": backfill_id})
                if run.status != "NOT_STARTED"
                for key in run.asset_selection or []
            }
        ),
        RUN_TIMEOUT_SECONDS,
        interval=2,
    )

    tick = latest_tick(client, time.time())
    evaluation = client.schedule_dry_run(SCHEDULE, tick)
    assert evaluation.skip_reason is None
    (request,) = evaluation.run_requests
    schedule_run_id = client.launch_requested_run(
        request, default_job=client.schedule_job_name(SCHEDULE)
    )
    schedule_run = client.wait_for_run(schedule_run_id, RUN_TIMEOUT_SECONDS)
    backfill, backfill_runs = client.wait_for_backfill(backfill_id, RUN_TIMEOUT_SECONDS)
    return {
        "tick": tick,
        "schedule_run": schedule_run,
        "days": days,
        "backfill": backfill,
        "backfill_runs": backfill_runs,
    }


def failures(client: DagsterGraphQL, runs: list[Run]) -> str:
    lines = []
    for run in runs:
        if run.status != "SUCCESS":
            events = client.run_events(run.run_id)
            lines.append(f"{run.run_id} {run.status}: {events.step_failures}")
    return "\n".join(lines)


def test_the_instance_keeps_its_state_in_postgresql(
    deployment: DagsterServers, postgres: PostgresServer
) -> None:
    with postgres.connect() as connection, connection.cursor() as cursor:
        cursor.execute("select table_name from information_schema.tables")
        tables = {row[0] for row in cursor.fetchall()}
    # Run, event-log and schedule storage.
    assert {"runs", "event_logs", "instigators", "job_ticks"} <= tables
    # Nothing fell back to SQLite under DAGSTER_HOME.
    assert list(deployment.home.rglob("*.db")) == []
    # The webserver, the daemon and the code location are three processes.
    assert set(deployment.processes) == {"code-server", "daemon", "webserver"}
    assert all(process.poll() is None for process in deployment.processes.values())


def test_the_daemon_runs_the_schedules_tick(
    deployment: DagsterServers, launched: dict[str, object]
) -> None:
    client = deployment.client
    run: Run = launched["schedule_run"]  # type: ignore[assignment]
    assert run.status == "SUCCESS", failures(client, [run])
    assert run.tags["dagster/schedule_name"] == SCHEDULE
    # The tick's run is the day before the tick, in the schedule's timezone (UTC here).
    tick_time = datetime.fromtimestamp(launched["tick"], tz=ZoneInfo(DEFAULT_TIMEZONE))  # type: ignore[arg-type]
    assert run.partition == (tick_time.date() - timedelta(days=1)).isoformat()

    events = client.run_events(run.run_id)
    materialized = {(m.asset_key, m.partition) for m in events.materializations}
    assert ("raw/transactions", run.partition) in materialized
    assert any(key == "marts/fct_transactions" for key, _ in materialized)
    checked = {(e.asset_key, e.check_name) for e in events.check_evaluations}
    expected_raw_checks = {
        ("raw/transactions", name) for name in client.asset_checks()["raw/transactions"]
    }
    assert expected_raw_checks <= checked
    assert all(e.success for e in events.check_evaluations), events.check_evaluations


def test_the_daemon_runs_a_three_day_backfill(
    deployment: DagsterServers, launched: dict[str, object]
) -> None:
    client = deployment.client
    runs: list[Run] = launched["backfill_runs"]  # type: ignore[assignment]
    days: list[str] = launched["days"]  # type: ignore[assignment]
    assert runs and all(run.status == "SUCCESS" for run in runs), failures(client, runs)
    assert launched["backfill"].status == "COMPLETED_SUCCESS"  # type: ignore[attr-defined]

    partitioned = {key for key in client.asset_keys() if client.partition_keys(key)}
    by_asset: dict[str, set[str | None]] = {}
    checks = []
    for run in runs:
        events = client.run_events(run.run_id)
        for materialization in events.materializations:
            by_asset.setdefault(materialization.asset_key, set()).add(materialization.partition)
        checks.extend(events.check_evaluations)
    # Every asset of the graph, the partitioned ones for exactly the 3 days.
    assert set(by_asset) == set(client.asset_keys())
    for key in partitioned:
        assert by_asset[key] == set(days), key
    assert {c.asset_key for c in checks} >= {"raw/transactions", "marts/fct_transactions"}
    assert all(c.success for c in checks), [c for c in checks if not c.success]


def test_postgresql_holds_what_graphql_shows(
    deployment: DagsterServers, postgres: PostgresServer, launched: dict[str, object]
) -> None:
    client = deployment.client
    runs: list[Run] = [launched["schedule_run"], *launched["backfill_runs"]]  # type: ignore[list-item]
    shown = {run.run_id: run.status for run in client.runs()}
    with postgres.connect() as connection, connection.cursor() as cursor:
        cursor.execute("select run_id, status from runs")
        stored = dict(cursor.fetchall())
        # The event types as Dagster stores them (RUN_ENQUEUED is PIPELINE_ENQUEUED).
        cursor.execute(
            "select run_id, dagster_event_type, count(*) from event_logs"
            " where dagster_event_type in (%s, %s, %s) group by run_id, dagster_event_type",
            (ENQUEUED, STARTING, CHECK_EVALUATION),
        )
        counts = {(run_id, kind): count for run_id, kind, count in cursor.fetchall()}
    for run in runs:
        assert stored[run.run_id] == shown[run.run_id] == run.status
        # Queued by the launch, taken off the queue by the daemon.
        assert counts[(run.run_id, ENQUEUED)] == counts[(run.run_id, STARTING)] == 1
        assert counts.get((run.run_id, CHECK_EVALUATION), 0) == len(
            client.run_events(run.run_id).check_evaluations
        )


def test_the_queue_runs_one_run_at_a_time(
    deployment: DagsterServers, launched: dict[str, object]
) -> None:
    """max_concurrent_runs 1: the DuckDB warehouse never has two writing runs."""
    runs: list[Run] = [launched["schedule_run"], *launched["backfill_runs"]]  # type: ignore[list-item]
    finished = [deployment.client.run(run.run_id) for run in runs]
    spans = sorted((run.start_time, run.end_time) for run in finished)
    assert all(start is not None and end is not None for start, end in spans), spans
    for (_, first_end), (second_start, _) in zip(spans, spans[1:], strict=False):
        assert first_end <= second_start, spans
