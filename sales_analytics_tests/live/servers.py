"""Dagster's servers as a deployment runs them, started by a test and stopped with all their
children: `dagster dev` (webserver and daemon under one command), or the webserver and the
daemon as separate processes (as in production), optionally with a separate code server."""

from __future__ import annotations

import subprocess
import time
import urllib.error
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sales_analytics.core.settings import PROJECT_ROOT
from sales_analytics_tests.live.graphql import DagsterGraphQL, GraphQLError
from sales_analytics_tests.live.instance import VENV_BIN, server_environment, write_instance
from sales_analytics_tests.live.processes import (
    free_port,
    kill_marked_processes,
    log_tail,
    start_process,
    stop_process_group,
)

WORKSPACE = PROJECT_ROOT / "workspace.yaml"
# Loading the code location imports dagster, dagster-dbt and the manifest: ~15 s on an idle
# machine, several times that on a busy one.
LOAD_TIMEOUT_SECONDS = 240.0


@dataclass
class DagsterServers:
    """Running servers: the webserver's GraphQL `client`, the instance's `home`, the folder the
    runs' warehouse lives in, and each process's log."""

    url: str
    home: Path
    folder: Path
    env: dict[str, str]
    logs: dict[str, Path] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    client: DagsterGraphQL = field(init=False)

    def __post_init__(self) -> None:
        self.client = DagsterGraphQL(self.url, on_timeout=self.log_tails)

    def log_tails(self, lines: int = 60) -> str:
        parts = []
        for name, process in self.processes.items():
            state = "running" if process.poll() is None else f"exited {process.returncode}"
            parts.append(f"--- {name} ({state}), last lines of {self.logs[name]}:")
            parts.append(log_tail(self.logs[name], lines))
        return "\n".join(parts)

    def start(self, name: str, args: list[str | Path]) -> None:
        log = self.folder / "logs" / f"{name}.log"
        self.logs[name] = log
        self.processes[name] = start_process(args, env=self.env, cwd=PROJECT_ROOT, log_path=log)

    def stop(self) -> None:
        # The last started first: the webserver and daemon before the code server they call;
        # each gets its graceful stop before anything left over is killed.
        for name in reversed(list(self.processes)):
            stop_process_group(self.processes[name])
        kill_marked_processes("DAGSTER_HOME", str(self.home))

    def wait_until_loaded(self, timeout: float = LOAD_TIMEOUT_SECONDS) -> tuple[str, str]:
        """(location, repository) once the webserver serves the loaded code location; fails at
        once, with the logs, if a server exits or the location fails to load."""
        deadline = time.monotonic() + timeout
        while True:
            if exited := [n for n, p in self.processes.items() if p.poll() is not None]:
                raise ServerError(f"{', '.join(exited)} exited during start-up", self.log_tails())
            try:
                location = self.client.code_location_if_loaded()
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                location = None  # the webserver is not listening yet
            except GraphQLError as error:
                raise ServerError(str(error), self.log_tails()) from error
            if location is not None:
                return location
            if time.monotonic() >= deadline:
                problem = f"code location not loaded after {timeout:.0f} s"
                raise ServerError(problem, self.log_tails())
            time.sleep(1)

    def wait_for_code_server(self, port: int, timeout: float = LOAD_TIMEOUT_SECONDS) -> None:
        """Until the gRPC code server on 127.0.0.1:`port` answers Dagster's health check."""
        deadline = time.monotonic() + timeout
        check = [VENV_BIN / "dagster", "api", "grpc-health-check", "-h", "127.0.0.1", "-p", port]
        while True:
            if self.processes["code-server"].poll() is not None:
                raise ServerError("the code server exited during start-up", self.log_tails())
            answer = subprocess.run(
                [str(arg) for arg in check], env=self.env, capture_output=True, timeout=60
            )
            if answer.returncode == 0:
                return
            if time.monotonic() >= deadline:
                problem = f"the code server is not serving after {timeout:.0f} s"
                raise ServerError(problem, self.log_tails())
            time.sleep(1)


class ServerError(RuntimeError):
    def __init__(self, problem: str, logs: str) -> None:
        super().__init__(f"{problem}\n{logs}")


def _prepare(
    folder: Path,
    instance_config: Mapping[str, Any] | Path | None,
    env_overrides: Mapping[str, str | None] | None,
) -> DagsterServers:
    home = folder / "dagster_home"
    write_instance(home, instance_config)
    port = free_port()
    return DagsterServers(
        url=f"http://127.0.0.1:{port}",
        home=home,
        folder=folder,
        env=server_environment(folder, home, env_overrides),
    )


@contextmanager
def _running(servers: DagsterServers, wait: bool) -> Iterator[DagsterServers]:
    with ExitStack() as stack:
        stack.callback(servers.stop)
        if wait:
            servers.wait_until_loaded()
        yield servers


@contextmanager
def dagster_dev(
    folder: Path,
    *,
    instance_config: Mapping[str, Any] | Path | None = None,
    env_overrides: Mapping[str, str | None] | None = None,
    workspace: Path = WORKSPACE,
    wait: bool = True,
) -> Iterator[DagsterServers]:
    """`dagster dev -w workspace.yaml` from the project root on a free port, its instance and
    warehouse under `folder`; yields once the code location loaded (when `wait`)."""
    servers = _prepare(folder, instance_config, env_overrides)
    port = servers.url.rsplit(":", 1)[1]
    servers.start(
        "dagster-dev",
        [VENV_BIN / "dagster", "dev", "-w", workspace, "--host", "127.0.0.1", "--port", port],
    )
    with _running(servers, wait) as running:
        yield running


# Where deploy/workspace.yaml looks for the code server.
CODE_SERVER_HOST = "SALES_ANALYTICS_CODE_SERVER_HOST"
CODE_SERVER_PORT = "SALES_ANALYTICS_CODE_SERVER_PORT"


def grpc_workspace(folder: Path, location_name: str) -> Path:
    """A workspace.yaml that reaches the code server at CODE_SERVER_HOST:CODE_SERVER_PORT."""
    path = folder / "workspace_grpc.yaml"
    path.write_text(
        "load_from:\n"
        "  - grpc_server:\n"
        f"      host: {{env: {CODE_SERVER_HOST}}}\n"
        f"      port: {{env: {CODE_SERVER_PORT}}}\n"
        f"      location_name: {location_name}\n"
    )
    return path


@contextmanager
def webserver_and_daemon(
    folder: Path,
    *,
    instance_config: Mapping[str, Any] | Path | None = None,
    env_overrides: Mapping[str, str | None] | None = None,
    code_server_module: str | None = None,
    location_name: str = "sales_analytics",
    workspace: Path | None = None,
    wait: bool = True,
) -> Iterator[DagsterServers]:
    """`dagster-webserver` and `dagster-daemon run` as two processes sharing one instance
    (`workspace` defaults to the project's workspace.yaml). With `code_server_module`, a third
    process serves that module's definitions over gRPC (`dagster code-server start`) on
    127.0.0.1:CODE_SERVER_PORT, and `workspace` defaults to one that reaches it there, as in a
    deployment where the code location runs in its own container."""
    servers = _prepare(folder, instance_config, env_overrides)
    port = servers.url.rsplit(":", 1)[1]
    if code_server_module is not None:
        grpc_port = free_port()
        servers.env[CODE_SERVER_HOST] = "127.0.0.1"
        servers.env[CODE_SERVER_PORT] = str(grpc_port)
        servers.start(
            "code-server",
            [
                VENV_BIN / "dagster", "code-server", "start",
                "--host", "127.0.0.1", "--port", str(grpc_port),
                "--module-name", code_server_module, "--location-name", location_name,
            ],
        )  # fmt: skip
        # The webserver and daemon try the code server once at start-up.
        servers.wait_for_code_server(grpc_port)
        workspace = workspace or grpc_workspace(folder, location_name)
    workspace = workspace or WORKSPACE
    servers.start("daemon", [VENV_BIN / "dagster-daemon", "run", "-w", workspace])
    servers.start(
        "webserver",
        [VENV_BIN / "dagster-webserver", "-w", workspace, "-h", "127.0.0.1", "-p", port],
    )
    with _running(servers, wait) as running:
        yield running
