"""Spark is real here: pyspark's local mode on the machine's Java, and a Spark Connect server
started from the pyspark installation. Without Java or pyspark the Spark tests skip, naming what
to install; SALES_ANALYTICS_REQUIRE_SPARK=1 (set by .ci/run) turns that skip into a failure.

One build per engine serves every assertion (they take most of the Spark tests' time): the same
`sales-analytics run` (seed, volumes, as-of date) on DuckDB and on Spark, as two processes at
once, each in its own temporary folders and Dagster instance."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REQUIRE_SPARK = "SALES_ANALYTICS_REQUIRE_SPARK"
AS_OF = "2026-11-01"
RUN_OPTIONS = ["--customers", "80", "--transactions", "600", "--days", "4", "--seed", "11"]
RUN_TIMEOUT_SECONDS = 600


def missing_spark() -> str | None:
    """What is missing to run Spark here, None when nothing is."""
    if shutil.which("java") is None:
        return "no Java runtime (Debian: apt-get install openjdk-17-jre-headless)"
    for module, package in (("pyspark", "pyspark"), ("dbt.adapters.spark", "dbt-spark[session]")):
        if importlib.util.find_spec(module) is None:
            return f"{package} is not installed (make install installs it from requirements.txt)"
    return None


def require_spark() -> None:
    missing = missing_spark()
    if missing is None:
        return
    if os.environ.get(REQUIRE_SPARK) == "1":
        pytest.fail(f"{missing}, and {REQUIRE_SPARK}=1 requires the Spark tests to run")
    pytest.skip(missing)


def clean_environment() -> dict[str, str]:
    """This process's environment without any of the project's settings or DAGSTER_HOME (a
    developer's own must not leak into a test)."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("SALES_ANALYTICS_") and name != "DAGSTER_HOME"
    }


@dataclass(frozen=True)
class EngineBuild:
    """The folders of one `sales-analytics run` and what it printed."""

    folder: Path
    environment: dict[str, str]
    returncode: int
    output: str

    @property
    def warehouse(self) -> Path:
        return self.folder / "warehouse.duckdb"

    @property
    def lake(self) -> Path:
        return self.folder / "lake"

    @property
    def serving_copy(self) -> Path:
        return self.folder / "serving.duckdb"


def engine_environment(folder: Path, engine: str) -> dict[str, str]:
    return {
        **clean_environment(),
        "SALES_ANALYTICS_WAREHOUSE": engine,
        "SALES_ANALYTICS_DUCKDB_PATH": str(folder / "warehouse.duckdb"),
        "SALES_ANALYTICS_LAKE_PATH": str(folder / "lake"),
        "SALES_ANALYTICS_BI_PATH": str(folder / "serving.duckdb"),
        "SALES_ANALYTICS_PARQUET_DIR": str(folder / "parquet"),
        "SALES_ANALYTICS_DASHBOARD_PATH": str(folder / "dashboard" / "index.html"),
        "SALES_ANALYTICS_OFFLINE": "1",
        "SALES_ANALYTICS_RETRY_COUNT": "0",
        "DAGSTER_HOME": str(folder / "dagster_home"),
    }


def stop_group(process: subprocess.Popen, timeout: float = 30) -> None:
    """Stop a process started in its own session, and every process it started."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass
    else:
        # The leader exited; children it left in the group (a JVM) must not outlive the test.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def engine_builds(
    tmp_path_factory: pytest.TempPathFactory, spark_connect_server: ConnectServer
) -> Iterator[dict[str, EngineBuild]]:
    """The same run on DuckDB and on Spark, started together (Spark's start-up overlaps
    DuckDB's whole run) from a folder of their own, so nothing lands in the cwd unnoticed. The
    Connect server of test_spark_connect.py is started first, to boot while they run."""
    require_spark()
    command = str(Path(sys.executable).parent / "sales-analytics")
    started: dict[str, tuple[Path, dict[str, str], subprocess.Popen]] = {}
    try:
        for engine in ("spark", "duckdb"):
            folder = tmp_path_factory.mktemp(f"engine_{engine}")
            (folder / "cwd").mkdir()
            environment = engine_environment(folder, engine)
            process = subprocess.Popen(
                [command, "run", *RUN_OPTIONS, "--as-of", AS_OF],
                cwd=folder / "cwd",
                env=environment,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
            started[engine] = (folder, environment, process)
        builds = {}
        for engine, (folder, environment, process) in started.items():
            output, _ = process.communicate(timeout=RUN_TIMEOUT_SECONDS)
            builds[engine] = EngineBuild(folder, environment, process.returncode, output)
        yield builds
    finally:
        for _, _, process in started.values():
            stop_group(process)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class ConnectServer:
    url: str
    lake: Path
    log: Path
    port: int
    process: subprocess.Popen

    def stop(self) -> None:
        """Stop the server and its process group (again: a no-op)."""
        stop_group(self.process)

    def wait_until_listening(self, timeout_seconds: float = 180) -> None:
        deadline = time.monotonic() + timeout_seconds
        while True:
            if self.process.poll() is not None:
                pytest.fail(
                    f"the Spark Connect server exited ({self.process.returncode}):\n"
                    + self.log.read_text()[-3000:]
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"the Spark Connect server did not listen within {timeout_seconds:g} s:\n"
                        + self.log.read_text()[-3000:]
                    )
                time.sleep(0.5)


@pytest.fixture(scope="session")
def spark_connect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConnectServer]:
    """A Spark Connect server from the pyspark installation, on 127.0.0.1 in its own process
    group, as a cluster's would be: it owns its warehouse folder and metastore, in a lake of
    its own. Started, not awaited: a test asks for it before engine_builds, so the server
    starts while the engines build, and waits for it with wait_until_listening()."""
    require_spark()
    import pyspark

    spark_home = Path(pyspark.__file__).parent
    folder = tmp_path_factory.mktemp("spark_connect")
    lake = folder / "lake"
    lake.mkdir()
    port = free_port()
    log = folder / "server.log"
    settings = {
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(port),
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": str(lake / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={lake / 'metastore_db'};create=true"
        ),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={lake}",
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "4",
        "spark.sql.session.timeZone": "UTC",
    }
    command = [
        str(spark_home / "bin" / "spark-submit"),
        "--class",
        "org.apache.spark.sql.connect.service.SparkConnectServer",
        "--name",
        "sales-analytics-test-connect",
        "--master",
        "local[2]",
        *[
            argument
            for name, value in settings.items()
            for argument in ("--conf", f"{name}={value}")
        ],
    ]
    environment = {**clean_environment(), "SPARK_HOME": str(spark_home)}
    # spark-submit finds python and java through PATH; the venv's python first.
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}"
    with log.open("w") as log_file:
        process = subprocess.Popen(
            command,
            cwd=folder,
            env=environment,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield ConnectServer(
            url=f"sc://127.0.0.1:{port}", lake=lake, log=log, port=port, process=process
        )
    finally:
        stop_group(process)
