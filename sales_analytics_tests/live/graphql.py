"""A small client for the Dagster webserver's GraphQL API: the queries and mutations the UI sends
for what the live tests do (launch a backfill or a run, read runs, events, schedules, sensors)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

FINISHED_RUN_STATUSES = {"SUCCESS", "FAILURE", "CANCELED"}
# What a backfill's status is once it will launch nothing more.
FINISHED_BACKFILL_STATUSES = {
    "COMPLETED",
    "COMPLETED_SUCCESS",
    "COMPLETED_FAILED",
    "FAILED",
    "CANCELED",
}

# What an "...OrError" union answers when it is not the result (every one includes PythonError).
ERROR_FIELDS = """
  __typename
  ... on Error { message }
  ... on PythonError { stack }
"""
# The launch results' unions have three error members of their own.
LAUNCH_ERROR_FIELDS = (
    ERROR_FIELDS
    + """
  ... on RunConfigValidationInvalid { errors { message } }
  ... on InvalidStepError { invalidStepKey }
  ... on InvalidOutputError { stepKey invalidOutputName }
"""
)

RUN_FIELDS = """
  runId status jobName creationTime startTime endTime
  tags { key value }
  assetSelection { path }
"""


class GraphQLError(RuntimeError):
    """The API answered with errors, or with an error member of a result union."""


class WaitTimeout(TimeoutError):
    """What a test waited for did not happen in time; the message says what was last seen."""


def asset_key_input(key: str | Sequence[str]) -> dict[str, list[str]]:
    """ "raw/transactions" or ["raw", "transactions"] as GraphQL's AssetKeyInput."""
    return {"path": key.split("/") if isinstance(key, str) else list(key)}


def key_string(asset_key: Mapping[str, Any]) -> str:
    return "/".join(asset_key["path"])


def tag_inputs(tags: Mapping[str, str] | None) -> list[dict[str, str]]:
    return [{"key": key, "value": value} for key, value in (tags or {}).items()]


def _check(
    result: Mapping[str, Any], expected: str | Iterable[str], what: str
) -> Mapping[str, Any]:
    """`result` when it is of type `expected`, else a GraphQLError naming what failed and why."""
    wanted = {expected} if isinstance(expected, str) else set(expected)
    if result.get("__typename") in wanted:
        return result
    details = result.get("message") or ""
    for error in result.get("errors") or []:
        details += f"\n  {error['message']}"
    if result.get("invalidStepKey"):
        details += f" invalid step {result['invalidStepKey']}"
    if result.get("stack"):
        details += "\n" + "".join(result["stack"][-5:])
    raise GraphQLError(f"{what}: {result.get('__typename')}: {details}".rstrip())


@dataclass(frozen=True)
class Run:
    run_id: str
    status: str
    job_name: str
    tags: dict[str, str]
    asset_selection: list[str] | None
    creation_time: float
    start_time: float | None
    end_time: float | None

    @classmethod
    def from_graphql(cls, run: Mapping[str, Any]) -> Run:
        selection = run.get("assetSelection")
        return cls(
            run_id=run["runId"],
            status=run["status"],
            job_name=run["jobName"],
            tags={tag["key"]: tag["value"] for tag in run["tags"]},
            asset_selection=None if selection is None else [key_string(k) for k in selection],
            creation_time=run["creationTime"],
            start_time=run.get("startTime"),
            end_time=run.get("endTime"),
        )

    @property
    def partition(self) -> str | None:
        return self.tags.get("dagster/partition")

    @property
    def partition_range(self) -> tuple[str, str] | None:
        start = self.tags.get("dagster/asset_partition_range_start")
        end = self.tags.get("dagster/asset_partition_range_end")
        return (start, end) if start and end else None


@dataclass(frozen=True)
class Materialization:
    asset_key: str
    partition: str | None
    timestamp_ms: int
    metadata: dict[str, Any]


@dataclass(frozen=True)
class CheckEvaluation:
    asset_key: str
    check_name: str
    success: bool
    severity: str
    partition: str | None


@dataclass(frozen=True)
class StepFailure:
    step_key: str | None
    message: str


@dataclass
class RunEvents:
    materializations: list[Materialization] = field(default_factory=list)
    check_evaluations: list[CheckEvaluation] = field(default_factory=list)
    step_failures: list[StepFailure] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Backfill:
    backfill_id: str
    status: str
    partition_names: list[str] | None
    asset_selection: list[str] | None
    run_ids: list[str]
    error: str | None


@dataclass(frozen=True)
class Tick:
    tick_id: str
    status: str
    timestamp: float
    run_ids: list[str]
    run_keys: list[str]
    skip_reason: str | None
    error: str | None


@dataclass(frozen=True)
class RequestedRun:
    """One run request of a schedule or sensor evaluation, as the API returns it."""

    run_key: str | None
    job_name: str | None
    tags: dict[str, str]
    run_config: dict[str, Any]
    asset_selection: list[str] | None


@dataclass(frozen=True)
class TickEvaluation:
    run_requests: list[RequestedRun]
    skip_reason: str | None


def _metadata_value(entry: Mapping[str, Any]) -> Any:
    if "intRepr" in entry:
        return int(entry["intRepr"])
    for name in ("floatValue", "text", "boolValue", "path", "url", "jsonString"):
        if name in entry:
            return json.loads(entry[name]) if name == "jsonString" else entry[name]
    return None


METADATA_FIELDS = """
  metadataEntries {
    label
    ... on IntMetadataEntry { intRepr }
    ... on FloatMetadataEntry { floatValue }
    ... on TextMetadataEntry { text }
    ... on BoolMetadataEntry { boolValue }
    ... on PathMetadataEntry { path }
    ... on UrlMetadataEntry { url }
    ... on JsonMetadataEntry { jsonString }
  }
"""


class DagsterGraphQL:
    """The webserver at `url` (http://127.0.0.1:PORT); `on_timeout` adds the servers' logs to
    a timeout's message."""

    def __init__(self, url: str, on_timeout: Callable[[], str] = lambda: "") -> None:
        self.url = url.rstrip("/")
        self.on_timeout = on_timeout
        self._location: tuple[str, str] | None = None

    # -- transport ------------------------------------------------------------------------

    def execute(
        self, query: str, variables: Mapping[str, Any] | None = None, timeout: float = 60
    ) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                payload = json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise GraphQLError(
                f"HTTP {error.code} from {self.url}/graphql: {error.read()[:2000]!r}"
            ) from error
        if payload.get("errors"):
            messages = "; ".join(error.get("message", "") for error in payload["errors"])
            raise GraphQLError(f"GraphQL errors: {messages}")
        return payload["data"]

    def wait_for(
        self, what: str, poll: Callable[[], Any], timeout: float, interval: float = 1.0
    ) -> Any:
        """`poll()`'s first truthy answer; WaitTimeout (with the servers' logs) after `timeout`."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while True:
            last = poll()
            if last:
                return last
            if time.monotonic() >= deadline:
                raise WaitTimeout(
                    f"{what}: not done after {timeout:.0f} s\n{self.on_timeout()}".rstrip()
                )
            time.sleep(interval)

    # -- code location ----------------------------------------------------------------------

    def location_statuses(self) -> dict[str, str]:
        data = self.execute(
            """{ workspaceOrError { __typename ... on Workspace { locationEntries {
                   name loadStatus
                   locationOrLoadError { __typename ... on PythonError { message stack } }
            } } } }"""
        )
        workspace = _check(data["workspaceOrError"], "Workspace", "workspace")
        statuses = {}
        for entry in workspace["locationEntries"]:
            loaded = entry["locationOrLoadError"]
            if loaded and loaded["__typename"] == "PythonError":
                raise GraphQLError(
                    f"code location {entry['name']} failed to load: {loaded['message']}\n"
                    + "".join(loaded["stack"][-8:])
                )
            statuses[entry["name"]] = entry["loadStatus"] if loaded else "LOADING"
        return statuses

    def code_location_if_loaded(self) -> tuple[str, str] | None:
        """(location name, repository name) once every location loaded, else None; a location
        that failed to load raises GraphQLError with its error."""
        statuses = self.location_statuses()
        if not statuses or any(status != "LOADED" for status in statuses.values()):
            return None
        self._location = self._repository()
        return self._location

    def _repository(self) -> tuple[str, str] | None:
        data = self.execute(
            """{ repositoriesOrError { __typename ... on RepositoryConnection {
                   nodes { name location { name } } } } }"""
        )
        nodes = data["repositoriesOrError"].get("nodes") or []
        if len(nodes) != 1:
            return None
        return nodes[0]["location"]["name"], nodes[0]["name"]

    @property
    def location(self) -> tuple[str, str]:
        if self._location is None:
            self._location = self.wait_for("a repository", self._repository, timeout=30)
        return self._location

    def repository_selector(self) -> dict[str, str]:
        location, repository = self.location
        return {"repositoryLocationName": location, "repositoryName": repository}

    def asset_keys(self) -> list[str]:
        data = self.execute("{ assetNodes { assetKey { path } } }")
        return sorted(key_string(node["assetKey"]) for node in data["assetNodes"])

    def asset_checks(self) -> dict[str, list[str]]:
        """Check names by asset key, for assets that have checks."""
        data = self.execute(
            """{ assetNodes { assetKey { path } assetChecksOrError {
                   __typename ... on AssetChecks { checks { name } } } } }"""
        )
        checks = {}
        for node in data["assetNodes"]:
            names = [check["name"] for check in node["assetChecksOrError"].get("checks") or []]
            if names:
                checks[key_string(node["assetKey"])] = sorted(names)
        return checks

    def partition_keys(self, asset_key: str) -> list[str]:
        data = self.execute(
            """query($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) {
                   __typename ... on AssetNode { partitionKeys } ... on Error { message } } }""",
            {"key": asset_key_input(asset_key)},
        )
        return _check(data["assetNodeOrError"], "AssetNode", asset_key)["partitionKeys"]

    def daemon_statuses(self) -> dict[str, bool | None]:
        data = self.execute(
            "{ instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } } }"
        )
        return {
            status["daemonType"]: status["healthy"]
            for status in data["instance"]["daemonHealth"]["allDaemonStatuses"]
            if status["required"]
        }

    def wait_for_daemons(self, timeout: float) -> None:
        """Every required daemon has sent a healthy heartbeat."""
        self.wait_for(
            "daemons to report healthy",
            lambda: (statuses := self.daemon_statuses()) and all(statuses.values()),
            timeout,
        )

    # -- launching --------------------------------------------------------------------------

    def launch_backfill(
        self,
        *,
        partition_names: Sequence[str] | None = None,
        asset_selection: Sequence[str] | None = None,
        all_partitions: bool = False,
        tags: Mapping[str, str] | None = None,
        title: str | None = None,
    ) -> str:
        """What the UI's launch dialog sends for a range of partitions (or all of them) of an
        asset selection; every asset of the graph when `asset_selection` is None ("Materialize
        all"). Returns the backfill's id."""
        if (partition_names is None) == (not all_partitions):
            raise ValueError("give partition_names or all_partitions=True, not both")
        keys = self.asset_keys() if asset_selection is None else list(asset_selection)
        params: dict[str, Any] = {
            "assetSelection": [asset_key_input(key) for key in keys],
            "tags": tag_inputs(tags),
            "fromFailure": False,
        }
        if all_partitions:
            params["allPartitions"] = True
        else:
            params["partitionNames"] = list(partition_names or [])
        if title:
            params["title"] = title
        data = self.execute(
            f"""mutation($params: LaunchBackfillParams!) {{
                  launchPartitionBackfill(backfillParams: $params) {{
                    ... on LaunchBackfillSuccess {{ backfillId }}
                    {LAUNCH_ERROR_FIELDS} }} }}""",
            {"params": params},
        )
        result = _check(data["launchPartitionBackfill"], "LaunchBackfillSuccess", "backfill")
        return result["backfillId"]

    def launch_run(
        self,
        job_name: str,
        *,
        partition_key: str | None = None,
        run_config: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        asset_selection: Sequence[str] | None = None,
    ) -> str:
        """What the launchpad sends: a run of `job_name` (for one partition, as the partition
        picker tags it). Returns the run's id."""
        all_tags = dict(tags or {})
        if partition_key is not None:
            all_tags["dagster/partition"] = partition_key
        selector: dict[str, Any] = {"jobName": job_name, **self.repository_selector()}
        if asset_selection is not None:
            selector["assetSelection"] = [asset_key_input(key) for key in asset_selection]
        data = self.execute(
            f"""mutation($params: ExecutionParams!) {{
                  launchRun(executionParams: $params) {{
                    ... on LaunchRunSuccess {{ run {{ runId }} }}
                    {LAUNCH_ERROR_FIELDS} }} }}""",
            {
                "params": {
                    "selector": selector,
                    "runConfigData": dict(run_config or {}),
                    "executionMetadata": {"tags": tag_inputs(all_tags)},
                }
            },
        )
        return _check(data["launchRun"], "LaunchRunSuccess", f"launch {job_name}")["run"]["runId"]

    def launch_requested_run(
        self,
        request: RequestedRun,
        *,
        default_job: str | None = None,
        extra_tags: Mapping[str, str] | None = None,
    ) -> str:
        """Launch what a schedule or sensor evaluation asked for, as the daemon would: the
        request's job, else `default_job` (the schedule's: a request of a schedule with a job
        names none), its run config and tags plus `extra_tags`."""
        job_name = request.job_name or default_job
        if job_name is None:
            raise ValueError(f"run request {request.run_key} names no job and no default_job")
        return self.launch_run(
            job_name,
            run_config=request.run_config,
            tags={**request.tags, **(extra_tags or {})},
            asset_selection=request.asset_selection,
        )

    # -- runs and backfills -----------------------------------------------------------------

    def run(self, run_id: str) -> Run:
        data = self.execute(
            f"""query($id: ID!) {{ runOrError(runId: $id) {{
                  ... on Run {{ {RUN_FIELDS} }} {ERROR_FIELDS} }} }}""",
            {"id": run_id},
        )
        return Run.from_graphql(_check(data["runOrError"], "Run", f"run {run_id}"))

    def runs(
        self,
        *,
        tags: Mapping[str, str] | None = None,
        statuses: Sequence[str] | None = None,
        job_name: str | None = None,
        limit: int = 500,
    ) -> list[Run]:
        """Runs matching every filter given, newest first."""
        run_filter: dict[str, Any] = {}
        if tags:
            run_filter["tags"] = tag_inputs(tags)
        if statuses:
            run_filter["statuses"] = list(statuses)
        if job_name:
            run_filter["pipelineName"] = job_name
        data = self.execute(
            f"""query($filter: RunsFilter, $limit: Int) {{
                  runsOrError(filter: $filter, limit: $limit) {{
                    ... on Runs {{ results {{ {RUN_FIELDS} }} }} {ERROR_FIELDS} }} }}""",
            {"filter": run_filter, "limit": limit},
        )
        results = _check(data["runsOrError"], "Runs", "runs")["results"]
        return [Run.from_graphql(run) for run in results]

    def wait_for_run(self, run_id: str, timeout: float) -> Run:
        """The run once it finished (whatever its outcome)."""

        def finished() -> Run | None:
            run = self.run(run_id)
            return run if run.status in FINISHED_RUN_STATUSES else None

        return self.wait_for(f"run {run_id} to finish", finished, timeout)

    def wait_for_runs(self, count: int, timeout: float, **filters: Any) -> list[Run]:
        """At least `count` runs matching `filters` (see runs()), all finished."""

        def finished() -> list[Run] | None:
            runs = self.runs(**filters)
            done = len(runs) >= count and all(r.status in FINISHED_RUN_STATUSES for r in runs)
            return runs if done else None

        return self.wait_for(f"{count} finished runs with {filters}", finished, timeout)

    def backfill(self, backfill_id: str) -> Backfill:
        data = self.execute(
            f"""query($id: String!) {{ partitionBackfillOrError(backfillId: $id) {{
                  ... on PartitionBackfill {{
                    id status partitionNames assetSelection {{ path }}
                    runs {{ runId }} error {{ message }}
                  }}
                  {ERROR_FIELDS} }} }}""",
            {"id": backfill_id},
        )
        backfill = _check(
            data["partitionBackfillOrError"], "PartitionBackfill", f"backfill {backfill_id}"
        )
        selection = backfill.get("assetSelection")
        return Backfill(
            backfill_id=backfill["id"],
            status=backfill["status"],
            partition_names=backfill.get("partitionNames"),
            asset_selection=None if selection is None else [key_string(k) for k in selection],
            run_ids=[run["runId"] for run in backfill["runs"]],
            error=(backfill.get("error") or {}).get("message"),
        )

    def wait_for_backfill(self, backfill_id: str, timeout: float) -> tuple[Backfill, list[Run]]:
        """The backfill once it launched everything and all its runs finished, with its runs.
        (The backfill daemon looks every 30 s: allow a minute more than the runs take.)"""

        def finished() -> tuple[Backfill, list[Run]] | None:
            backfill = self.backfill(backfill_id)
            if backfill.status not in FINISHED_BACKFILL_STATUSES:
                return None
            runs = self.runs(tags={"dagster/backfill": backfill_id})
            if any(run.status not in FINISHED_RUN_STATUSES for run in runs):
                return None
            return backfill, runs

        return self.wait_for(f"backfill {backfill_id} to finish", finished, timeout, interval=2)

    def run_events(self, run_id: str) -> RunEvents:
        """Materializations (with their partition and metadata), check evaluations and step
        failures of a run, from its event log."""
        events = RunEvents()
        cursor: str | None = None
        while True:
            data = self.execute(
                f"""query($id: ID!, $cursor: String) {{
                      logsForRun(runId: $id, afterCursor: $cursor, limit: 1000) {{
                        ... on EventConnection {{
                          cursor hasMore
                          events {{
                            __typename
                            ... on MessageEvent {{ message }}
                            ... on MaterializationEvent {{
                              assetKey {{ path }} partition timestamp {METADATA_FIELDS}
                            }}
                            ... on AssetCheckEvaluationEvent {{ evaluation {{
                              checkName assetKey {{ path }} success severity partition
                            }} }}
                            ... on ExecutionStepFailureEvent {{
                              stepKey error {{ message }}
                            }}
                          }}
                        }}
                        {ERROR_FIELDS} }} }}""",
                {"id": run_id, "cursor": cursor},
            )
            connection = _check(data["logsForRun"], "EventConnection", f"events of run {run_id}")
            for event in connection["events"]:
                kind = event["__typename"]
                if kind == "MaterializationEvent":
                    events.materializations.append(
                        Materialization(
                            asset_key=key_string(event["assetKey"]),
                            partition=event.get("partition"),
                            timestamp_ms=int(event["timestamp"]),
                            metadata={
                                entry["label"]: _metadata_value(entry)
                                for entry in event["metadataEntries"]
                            },
                        )
                    )
                elif kind == "AssetCheckEvaluationEvent":
                    evaluation = event["evaluation"]
                    events.check_evaluations.append(
                        CheckEvaluation(
                            asset_key=key_string(evaluation["assetKey"]),
                            check_name=evaluation["checkName"],
                            success=evaluation["success"],
                            severity=evaluation["severity"],
                            partition=evaluation.get("partition"),
                        )
                    )
                elif kind == "ExecutionStepFailureEvent":
                    error = (event.get("error") or {}).get("message") or event.get("message", "")
                    events.step_failures.append(StepFailure(event.get("stepKey"), error))
                if event.get("message"):
                    events.messages.append(event["message"])
            cursor = connection["cursor"]
            if not connection["hasMore"]:
                return events

    # -- schedules and sensors --------------------------------------------------------------

    def _instigator_selector(self, kind: str, name: str) -> dict[str, str]:
        return {**self.repository_selector(), f"{kind}Name": name}

    def schedule_status(self, name: str) -> str:
        data = self.execute(
            f"""query($selector: ScheduleSelector!) {{
                  scheduleOrError(scheduleSelector: $selector) {{
                  ... on Schedule {{ scheduleState {{ status }} }} {ERROR_FIELDS} }} }}""",
            {"selector": self._instigator_selector("schedule", name)},
        )
        return _check(data["scheduleOrError"], "Schedule", name)["scheduleState"]["status"]

    def start_schedule(self, name: str) -> None:
        data = self.execute(
            f"""mutation($selector: ScheduleSelector!) {{
                  startSchedule(scheduleSelector: $selector) {{
                    ... on ScheduleStateResult {{ scheduleState {{ status }} }}
                    {ERROR_FIELDS} }} }}""",
            {"selector": self._instigator_selector("schedule", name)},
        )
        _check(data["startSchedule"], "ScheduleStateResult", f"start schedule {name}")

    def schedule_job_name(self, name: str) -> str:
        data = self.execute(
            f"""query($selector: ScheduleSelector!) {{
                  scheduleOrError(scheduleSelector: $selector) {{
                    ... on Schedule {{ pipelineName }} {ERROR_FIELDS} }} }}""",
            {"selector": self._instigator_selector("schedule", name)},
        )
        return _check(data["scheduleOrError"], "Schedule", name)["pipelineName"]

    def schedule_tick_timestamps(
        self, name: str, after: float | None = None, limit: int = 1
    ) -> list[float]:
        """The schedule's tick times (Unix) after `after` (default: now), per its cron and
        timezone, as the UI lists them."""
        data = self.execute(
            f"""query($selector: ScheduleSelector!, $after: Float, $limit: Int) {{
                  scheduleOrError(scheduleSelector: $selector) {{
                    ... on Schedule {{
                      futureTicks(cursor: $after, limit: $limit) {{ results {{ timestamp }} }}
                    }}
                    {ERROR_FIELDS} }} }}""",
            {
                "selector": self._instigator_selector("schedule", name),
                "after": after,
                "limit": limit,
            },
        )
        schedule = _check(data["scheduleOrError"], "Schedule", name)
        return [tick["timestamp"] for tick in schedule["futureTicks"]["results"]]

    def schedule_dry_run(self, name: str, timestamp: float) -> TickEvaluation:
        """The schedule evaluated in its code location for a tick at `timestamp` (the UI's
        "Test schedule"): what the daemon would launch then. Launches nothing."""
        data = self.execute(
            f"""mutation($selector: ScheduleSelector!, $timestamp: Float) {{
                  scheduleDryRun(selectorData: $selector, timestamp: $timestamp) {{
                    ... on DryRunInstigationTick {{ evaluationResult {{
                      skipReason error {{ message stack }}
                      runRequests {{ runKey jobName runConfigYaml tags {{ key value }}
                                     assetSelection {{ path }} }}
                    }} }}
                    {ERROR_FIELDS} }} }}""",
            {"selector": self._instigator_selector("schedule", name), "timestamp": timestamp},
        )
        tick = _check(data["scheduleDryRun"], "DryRunInstigationTick", f"dry run of {name}")
        return _tick_evaluation(tick["evaluationResult"], name)

    def schedule_ticks(self, name: str, limit: int = 20) -> list[Tick]:
        data = self.execute(
            f"""query($selector: ScheduleSelector!, $limit: Int) {{
                  scheduleOrError(scheduleSelector: $selector) {{
                    ... on Schedule {{ scheduleState {{
                      ticks(limit: $limit) {{ {TICK_FIELDS} }} }} }}
                    {ERROR_FIELDS} }} }}""",
            {"selector": self._instigator_selector("schedule", name), "limit": limit},
        )
        schedule = _check(data["scheduleOrError"], "Schedule", name)
        return [_tick(tick) for tick in schedule["scheduleState"]["ticks"]]

    def schedule_names(self) -> list[str]:
        data = self.execute(
            f"""query($selector: RepositorySelector!) {{
                  schedulesOrError(repositorySelector: $selector) {{
                    ... on Schedules {{ results {{ name }} }} {ERROR_FIELDS} }} }}""",
            {"selector": self.repository_selector()},
        )
        schedules = _check(data["schedulesOrError"], "Schedules", "schedules")["results"]
        return sorted(schedule["name"] for schedule in schedules)

    def sensor_status(self, name: str) -> str:
        data = self.execute(
            f"""query($selector: SensorSelector!) {{ sensorOrError(sensorSelector: $selector) {{
                  ... on Sensor {{ sensorState {{ status }} }} {ERROR_FIELDS} }} }}""",
            {"selector": self._instigator_selector("sensor", name)},
        )
        return _check(data["sensorOrError"], "Sensor", name)["sensorState"]["status"]

    def sensor_names(self) -> list[str]:
        data = self.execute(
            f"""query($selector: RepositorySelector!) {{
                  sensorsOrError(repositorySelector: $selector) {{
                    ... on Sensors {{ results {{ name }} }} {ERROR_FIELDS} }} }}""",
            {"selector": self.repository_selector()},
        )
        sensors = _check(data["sensorsOrError"], "Sensors", "sensors")["results"]
        return sorted(sensor["name"] for sensor in sensors)

    def start_sensor(self, name: str) -> None:
        data = self.execute(
            f"""mutation($selector: SensorSelector!) {{ startSensor(sensorSelector: $selector) {{
                  ... on Sensor {{ sensorState {{ status }} }} {ERROR_FIELDS} }} }}""",
            {"selector": self._instigator_selector("sensor", name)},
        )
        _check(data["startSensor"], "Sensor", f"start sensor {name}")

    def sensor_ticks(self, name: str, limit: int = 20) -> list[Tick]:
        data = self.execute(
            f"""query($selector: SensorSelector!, $limit: Int) {{
                  sensorOrError(sensorSelector: $selector) {{
                    ... on Sensor {{ sensorState {{ ticks(limit: $limit) {{ {TICK_FIELDS} }} }} }}
                    {ERROR_FIELDS} }} }}""",
            {"selector": self._instigator_selector("sensor", name), "limit": limit},
        )
        sensor = _check(data["sensorOrError"], "Sensor", name)
        return [_tick(tick) for tick in sensor["sensorState"]["ticks"]]

    def wait_for_tick(
        self, kind: str, name: str, timeout: float, after: float = 0.0, finished: bool = True
    ) -> Tick:
        """The newest tick of schedule or sensor `name` (kind "schedule" / "sensor") stamped
        after `after` (a Unix time), once it finished (not STARTED) when `finished`."""
        ticks = self.schedule_ticks if kind == "schedule" else self.sensor_ticks

        def newest() -> Tick | None:
            for tick in ticks(name):
                if tick.timestamp > after and (not finished or tick.status != "STARTED"):
                    return tick
            return None

        return self.wait_for(f"a tick of {kind} {name}", newest, timeout, interval=2)


TICK_FIELDS = "tickId status timestamp runIds runKeys skipReason error { message }"


def _tick(tick: Mapping[str, Any]) -> Tick:
    return Tick(
        tick_id=tick["tickId"],
        status=tick["status"],
        timestamp=tick["timestamp"],
        run_ids=list(tick["runIds"]),
        run_keys=list(tick["runKeys"]),
        skip_reason=tick.get("skipReason"),
        error=(tick.get("error") or {}).get("message"),
    )


class _RunConfigLoader(yaml.SafeLoader):
    """YAML as Dagster's run config means it: a date stays the string the config schema
    expects, not a datetime.date."""


_RunConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _tick_evaluation(result: Mapping[str, Any] | None, name: str) -> TickEvaluation:
    if result is None:
        raise GraphQLError(f"{name}: the evaluation returned nothing")
    if result.get("error"):
        error = result["error"]
        raise GraphQLError(
            f"{name} raised during evaluation: {error['message']}\n" + "".join(error["stack"][-5:])
        )
    requests = [
        RequestedRun(
            run_key=request.get("runKey"),
            job_name=request.get("jobName"),
            tags={tag["key"]: tag["value"] for tag in request["tags"]},
            run_config=yaml.load(request["runConfigYaml"], Loader=_RunConfigLoader) or {},
            asset_selection=(
                None
                if request.get("assetSelection") is None
                else [key_string(key) for key in request["assetSelection"]]
            ),
        )
        for request in result.get("runRequests") or []
    ]
    return TickEvaluation(run_requests=requests, skip_reason=result.get("skipReason"))
