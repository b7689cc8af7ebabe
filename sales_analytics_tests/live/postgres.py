"""A real PostgreSQL server for a test, from the installed server binaries: a cluster initialised
in a temporary folder, listening on a free port on 127.0.0.1, stopped and removed at the end."""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from sales_analytics_tests.live.processes import free_port, log_tail

REQUIRE_POSTGRES = "SALES_ANALYTICS_REQUIRE_POSTGRES"
BIN_DIR = "SALES_ANALYTICS_POSTGRES_BIN"
INSTALL_HINT = (
    "the PostgreSQL server (Debian: apt-get install postgresql; or set "
    f"{BIN_DIR} to the folder holding initdb and pg_ctl)"
)
# PostgreSQL refuses to run as root: under root the cluster belongs to this account.
SERVER_ACCOUNT = "postgres"
START_TIMEOUT_SECONDS = 60


def skip_or_fail(problem: str) -> None:
    """Skip a test that needs PostgreSQL, or fail it where CI requires it to run."""
    message = f"{problem}: install {INSTALL_HINT}"
    if os.environ.get(REQUIRE_POSTGRES) == "1":
        pytest.fail(f"{message}; {REQUIRE_POSTGRES}=1 requires the PostgreSQL tests to run")
    pytest.skip(message)


def find_server_binaries() -> Path | None:
    """The folder of initdb and pg_ctl: the setting, else PATH, else Debian's versioned folders
    (the newest version)."""
    candidates = []
    if os.environ.get(BIN_DIR):
        candidates.append(Path(os.environ[BIN_DIR]))
    if on_path := shutil.which("pg_ctl"):
        candidates.append(Path(on_path).resolve().parent)
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name or 0)
    )
    candidates.extend(Path(folder) for folder in reversed(debian))
    for folder in candidates:
        if all((folder / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    username: str
    password: str
    database: str

    @property
    def url(self) -> str:
        """What deploy/dagster.yaml assembles from the DAGSTER_PG_* variables."""
        return (
            f"postgresql+psycopg2://{self.username}:{self.password}"
            f"@{self.host}:{self.port}/{self.database}"
        )

    def dagster_environment(self) -> dict[str, str]:
        """The variables deploy/dagster.yaml reads."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USERNAME": self.username,
            "DAGSTER_PG_PASSWORD": self.password,
            "DAGSTER_PG_DB": self.database,
        }

    def connect(self):
        import psycopg2

        return psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.username,
            password=self.password,
            dbname=self.database,
        )


def _as_server_account() -> dict[str, object]:
    """Popen arguments that run the server binaries as SERVER_ACCOUNT when the tests run as
    root (PostgreSQL will not start as root), and as the current user otherwise."""
    if os.geteuid() != 0:
        return {}
    try:
        account = pwd.getpwnam(SERVER_ACCOUNT)
    except KeyError:
        skip_or_fail(f"running as root and there is no {SERVER_ACCOUNT!r} account to run as")
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def _run(args: list[str | Path], log: Path, **account: object) -> None:
    with log.open("ab") as output:
        result = subprocess.run(
            [str(arg) for arg in args],
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            timeout=START_TIMEOUT_SECONDS + 30,
            **account,
        )
    if result.returncode != 0:
        raise RuntimeError(
            f"{Path(str(args[0])).name} failed with exit code {result.returncode}:\n"
            + log_tail(log, 40)
        )


@contextmanager
def postgres_server(database: str = "dagster") -> Iterator[PostgresServer]:
    """A PostgreSQL server with a password-protected `database` (skips, or fails under
    SALES_ANALYTICS_REQUIRE_POSTGRES=1, without the server binaries or psycopg2)."""
    binaries = find_server_binaries()
    if binaries is None:
        skip_or_fail("no PostgreSQL server binaries (initdb, pg_ctl, postgres) found")
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        skip_or_fail("psycopg2 is not installed (make install installs psycopg2-binary)")
    account = _as_server_account()
    # Not under pytest's tmp_path: its folders are private to the user running the tests, and
    # the server may run as another account.
    root = Path(tempfile.mkdtemp(prefix="sales_analytics_pg_"))
    try:
        data, sockets, log = root / "data", root / "sockets", root / "server.log"
        password = secrets.token_hex(16)
        password_file = root / "password"
        password_file.write_text(password + "\n")
        if account:
            os.chown(root, account["user"], account["group"])  # type: ignore[arg-type]
            os.chown(password_file, account["user"], account["group"])  # type: ignore[arg-type]
        for folder in (data, sockets):
            folder.mkdir(mode=0o700)
            if account:
                os.chown(folder, account["user"], account["group"])  # type: ignore[arg-type]
        log.touch()
        if account:
            os.chown(log, account["user"], account["group"])  # type: ignore[arg-type]
        username = "dagster"
        _run(
            [
                binaries / "initdb", "--pgdata", data, "--username", username,
                "--pwfile", password_file, "--auth-host", "scram-sha-256",
                "--auth-local", "peer", "--encoding", "UTF8", "--no-instructions",
            ],
            log,
            **account,
        )  # fmt: skip
        port = free_port()
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        _run(
            [
                binaries / "pg_ctl", "start", "--pgdata", data, "--log", log,
                "--wait", "--timeout", str(START_TIMEOUT_SECONDS), "-o", options,
            ],
            log,
            **account,
        )  # fmt: skip
        try:
            server = PostgresServer("127.0.0.1", port, username, password, database)
            admin = PostgresServer("127.0.0.1", port, username, password, "postgres").connect()
            try:
                admin.autocommit = True  # CREATE DATABASE runs outside a transaction
                with admin.cursor() as cursor:
                    cursor.execute(f'create database "{database}"')
            finally:
                admin.close()
            yield server
        finally:
            _run(
                [binaries / "pg_ctl", "stop", "--pgdata", data, "--mode", "fast", "--wait"],
                log,
                **account,
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
