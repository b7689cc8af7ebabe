"""`sales-analytics dev`: the Dagster UI (webserver and daemon, `dagster dev`) on 127.0.0.1, port
DAGSTER_PORT (default 3000), with the project's instance. Needs no activated virtual environment:
Dagster and dbt are found beside the Python that runs this command.

Dagster 1.13 marks `dagster dev` as superseded by `dg dev`; given a workspace file, `dg dev` runs
the same webserver and daemon without the warning, so it is used where it is installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from sales_analytics.cli.instance import prepare_dagster_home
from sales_analytics.core.settings import PROJECT_ROOT, UI_URL

DAGSTER_PORT = "DAGSTER_PORT"
DEFAULT_PORT = 3000
# Loopback only: the UI can launch runs that rewrite the warehouse, and it has no login.
HOST = "127.0.0.1"


class InvalidPort(ValueError):
    pass


def ui_port(environ: Mapping[str, str]) -> int:
    value = environ.get(DAGSTER_PORT, "").strip()
    if not value:
        return DEFAULT_PORT
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise InvalidPort(f"{DAGSTER_PORT} must be a port number from 1 to 65535, got {value!r}")
    return int(value)


def scripts_folder() -> Path:
    """Where this Python's console scripts are: bin/ in a POSIX venv, Scripts\\ on Windows."""
    return Path(sys.executable).parent


def dagster_dev() -> list[str]:
    for program in ("dg", "dagster"):
        found = shutil.which(program, path=str(scripts_folder()))
        if found:
            return [found, "dev"]
    return [sys.executable, "-m", "dagster", "dev"]


def dev_command(port: int) -> list[str]:
    return [
        *dagster_dev(),
        "--workspace",
        str(PROJECT_ROOT / "workspace.yaml"),
        "--host",
        HOST,
        "--port",
        str(port),
    ]


def dev_environment(environ: Mapping[str, str], port: int) -> dict[str, str]:
    """The environment of `dagster dev`: this Python's scripts first on PATH (for dbt and
    Dagster's own subprocesses), and the alerts' run links pointing at the address served."""
    env = dict(environ)
    env["PATH"] = os.pathsep.join(filter(None, [str(scripts_folder()), env.get("PATH")]))
    if not env.get(UI_URL, "").strip():
        env[UI_URL] = f"http://{HOST}:{port}"
    return env


def main() -> int:
    try:
        port = ui_port(os.environ)
    except InvalidPort as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    prepare_dagster_home()
    env = dev_environment(os.environ, port)
    print(f"Dagster UI: http://{HOST}:{port}", flush=True)
    process = subprocess.Popen(dev_command(port), cwd=PROJECT_ROOT, env=env)
    try:
        return process.wait()
    except KeyboardInterrupt:
        # Ctrl-C reached dagster dev too; let it stop its webserver and daemon.
        return process.wait()


if __name__ == "__main__":
    sys.exit(main())
