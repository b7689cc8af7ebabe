"""The `sales-analytics` console script, run as a user runs it: a real process of the installed
script, with no virtual environment on PATH."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from sales_analytics.cli.dev import InvalidPort, dev_environment, scripts_folder, ui_port
from sales_analytics.cli.instance import INSTANCE_YAML, prepare_dagster_home

SCRIPT = scripts_folder() / ("sales-analytics.exe" if os.name == "nt" else "sales-analytics")
COMMANDS = ("run", "daily", "dev", "dashboard", "bench")


def bare_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A user's shell: no venv on PATH, the project's settings pointing into tmp_path."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SALES_ANALYTICS_", "DAGSTER_")) and key != "VIRTUAL_ENV"
    }
    env["PATH"] = os.pathsep.join(
        part for part in env.get("PATH", "").split(os.pathsep) if Path(part) != scripts_folder()
    )
    env.update(
        SALES_ANALYTICS_DUCKDB_PATH=str(tmp_path / "warehouse.duckdb"),
        SALES_ANALYTICS_DASHBOARD_PATH=str(tmp_path / "dashboard" / "index.html"),
        SALES_ANALYTICS_OFFLINE="1",
        DAGSTER_HOME=str(tmp_path / "dagster_home"),
        **extra,
    )
    return env


def cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    assert SCRIPT.exists(), f"{SCRIPT} is not installed: `make install` declares it"
    return subprocess.run(
        [str(SCRIPT), *args],
        cwd=tmp_path,
        env=bare_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_names_every_command(tmp_path):
    result = cli(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    for command in COMMANDS:
        assert f"\n    {command} " in result.stdout or f"\n    {command}\n" in result.stdout


def test_run_help_shows_the_run_options(tmp_path):
    result = cli(tmp_path, "run", "--help")
    assert result.returncode == 0, result.stderr
    for option in ("--customers", "--transactions", "--days", "--seed", "--as-of"):
        assert option in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--customers", "0"], "argument --customers: must be at least 1, got 0"),
        (["run", "--as-of", "31/03/2026"], "argument --as-of: expected YYYY-MM-DD"),
        (["daily", "--customers", "5"], "unrecognized arguments for daily: --customers 5"),
        (["bench", "--sizes", "many"], "expected sizes like 1000,100000, got 'many'"),
        (["rebuild"], "invalid choice: 'rebuild'"),
        ([], "the following arguments are required: command"),
    ],
)
def test_a_bad_option_exits_2_naming_it_and_writes_nothing(tmp_path, args, message):
    result = cli(tmp_path, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_dev_with_a_bad_port_exits_2(tmp_path):
    result = cli(tmp_path, "dev", DAGSTER_PORT="80000")
    assert result.returncode == 2
    assert "DAGSTER_PORT must be a port number from 1 to 65535, got '80000'" in result.stderr


def test_dashboard_before_any_run_says_how_to_build_it(tmp_path):
    result = cli(tmp_path, "dashboard")
    assert result.returncode == 1
    assert f"No dashboard at {tmp_path / 'dashboard' / 'index.html'} yet" in result.stderr


def test_the_dagster_home_defaults_to_the_project_and_keeps_an_existing_instance(tmp_path):
    environ: dict[str, str] = {}
    home = prepare_dagster_home(environ, project_root=tmp_path)
    assert home == tmp_path / ".dagster"
    assert environ["DAGSTER_HOME"] == str(home)
    assert (home / "dagster.yaml").read_text() == INSTANCE_YAML

    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    assert prepare_dagster_home({"DAGSTER_HOME": str(custom)}) == custom
    assert (custom / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"


def test_the_ui_link_follows_the_port_unless_set():
    assert dev_environment({}, 3457)["SALES_ANALYTICS_UI_URL"] == "http://127.0.0.1:3457"
    chosen = {"SALES_ANALYTICS_UI_URL": "https://dagster.example.org"}
    assert (
        dev_environment(chosen, 3457)["SALES_ANALYTICS_UI_URL"] == chosen["SALES_ANALYTICS_UI_URL"]
    )
    path = dev_environment({"PATH": "/usr/bin"}, 3000)["PATH"].split(os.pathsep)
    assert path == [str(scripts_folder()), "/usr/bin"]


@pytest.mark.parametrize("value", ["0", "65536", "http", "-1"])
def test_a_port_out_of_range_is_refused(value):
    with pytest.raises(InvalidPort):
        ui_port({"DAGSTER_PORT": value})
    assert ui_port({}) == 3000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM to the whole group (dagster dev's webserver, daemon and code server), then
    SIGKILL whatever is left after 30 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


LOCATIONS_QUERY = """{ workspaceOrError { ... on Workspace { locationEntries {
  name loadStatus locationOrLoadError { __typename } } } } }"""


def code_locations(port: int) -> dict[str, str]:
    """Each code location's name: "LOADING", else what loading it gave (RepositoryLocation or
    PythonError), through the webserver's GraphQL API."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": LOCATIONS_QUERY}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        entries = json.load(answer)["data"]["workspaceOrError"]["locationEntries"]
    return {
        entry["name"]: "LOADING"
        if entry["loadStatus"] == "LOADING"
        else (entry["locationOrLoadError"] or {}).get("__typename", "LOADING")
        for entry in entries
    }


def server_info(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as answer:
            return answer.status
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def test_dev_serves_the_ui_on_loopback_with_a_new_instance(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [str(SCRIPT), "dev"],
        cwd=tmp_path,
        env=bare_env(tmp_path, DAGSTER_PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while server_info(port) != 200:
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "the UI never answered"
            time.sleep(1)
        while (locations := code_locations(port)) and "LOADING" in locations.values():
            assert time.monotonic() < deadline, "the code location never finished loading"
            time.sleep(1)
        # Loaded without the venv on PATH (dbt is found beside the Python).
        assert locations and set(locations.values()) == {"RepositoryLocation"}, locations
        instance_yaml = tmp_path / "dagster_home" / "dagster.yaml"
        assert "max_concurrent_runs: 1" in instance_yaml.read_text()
        # Only loopback: no other address of this machine accepts connections on the port.
        for address in {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}:
            if address.startswith("127.") or address == "::1" or ":" in address:
                continue
            with socket.socket() as probe:
                probe.settimeout(2)
                assert probe.connect_ex((address, port)) != 0, f"the UI answers on {address}"
    finally:
        stop_group(process)
    output = process.stdout.read()
    assert f"Dagster UI: http://127.0.0.1:{port}" in output
    assert "SupersessionWarning" not in output
