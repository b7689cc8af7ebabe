"""Environment settings: names, defaults and validation in one place, with no Dagster import."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parents[2]

DUCKDB_PATH = "SALES_ANALYTICS_DUCKDB_PATH"
PRODUCTS_URL = "SALES_ANALYTICS_PRODUCTS_URL"
OFFLINE = "SALES_ANALYTICS_OFFLINE"
WEBHOOK_URL = "SALES_ANALYTICS_WEBHOOK_URL"
TIMEZONE = "SALES_ANALYTICS_TIMEZONE"
BI_PATH = "SALES_ANALYTICS_BI_PATH"
PARQUET_DIR = "SALES_ANALYTICS_PARQUET_DIR"
DASHBOARD_PATH = "SALES_ANALYTICS_DASHBOARD_PATH"
HISTORY_START = "SALES_ANALYTICS_HISTORY_START"
TRANSACTIONS_PER_DAY = "SALES_ANALYTICS_TRANSACTIONS_PER_DAY"
UI_URL = "SALES_ANALYTICS_UI_URL"
RETRY_COUNT = "SALES_ANALYTICS_RETRY_COUNT"
RETRY_DELAY_SECONDS = "SALES_ANALYTICS_RETRY_DELAY_SECONDS"
FRESHNESS_HOURS = "SALES_ANALYTICS_FRESHNESS_HOURS"
LOCK_TIMEOUT_SECONDS = "SALES_ANALYTICS_LOCK_TIMEOUT_SECONDS"
WAREHOUSE = "SALES_ANALYTICS_WAREHOUSE"
LAKE_PATH = "SALES_ANALYTICS_LAKE_PATH"
SPARK_REMOTE = "SALES_ANALYTICS_SPARK_REMOTE"

DEFAULT_DUCKDB_PATH = "data/sales_analytics.duckdb"
# The engines a run can build the warehouse with; the first is the default.
WAREHOUSE_ENGINES = ("duckdb", "spark")
DEFAULT_LAKE_PATH = "data/lake"
DEFAULT_PRODUCTS_URL = "https://fakestoreapi.com"
DEFAULT_TIMEZONE = "UTC"
DEFAULT_BI_PATH = "data/sales_analytics_bi.duckdb"
DEFAULT_PARQUET_DIR = "data/bi"
DEFAULT_DASHBOARD_PATH = "data/dashboard/index.html"
# Days of history before today when SALES_ANALYTICS_HISTORY_START is unset (the seed's 90 days).
DEFAULT_HISTORY_DAYS = 90
DEFAULT_UI_URL = "http://127.0.0.1:3000"
# The Airflow pipeline this replaces retried each task once after five minutes.
DEFAULT_RETRY_COUNT = 1
DEFAULT_RETRY_DELAY_SECONDS = 300.0
# The nightly run lands around 02:00; two hours of slack before the marts count as stale.
DEFAULT_FRESHNESS_HOURS = 26.0
# How long a run waits for another process to release the warehouse file before it fails.
DEFAULT_LOCK_TIMEOUT_SECONDS = 30.0


class SettingsError(ValueError):
    """A setting has a value the project cannot use; the message names the setting."""


@dataclass(frozen=True)
class Settings:
    duckdb_path: Path
    products_url: str
    offline: bool
    timezone: str
    bi_path: Path
    parquet_dir: Path
    dashboard_path: Path
    history_start: date | None = None
    """First day of transactions (the first daily partition); None: DEFAULT_HISTORY_DAYS ago."""
    transactions_per_day: int | None = None
    """Transactions a day for the nightly run; None: the assets' default rate (1,000 / 90 days)."""
    # Whether SALES_ANALYTICS_WEBHOOK_URL is set; the URL itself is a secret that only the webhook
    # resource reads (through dg.EnvVar), so it never sits in an object that may be printed.
    webhook_configured: bool = False
    ui_url: str = DEFAULT_UI_URL
    retry_count: int = DEFAULT_RETRY_COUNT
    retry_delay_seconds: float = DEFAULT_RETRY_DELAY_SECONDS
    freshness_hours: float = DEFAULT_FRESHNESS_HOURS
    lock_timeout_seconds: float = DEFAULT_LOCK_TIMEOUT_SECONDS
    warehouse: str = WAREHOUSE_ENGINES[0]
    """The engine: duckdb (one file, one process) or spark (Parquet lake, dbt-spark)."""
    lake_path: Path = PROJECT_ROOT / DEFAULT_LAKE_PATH
    """The Spark lake folder: raw Parquet by day, the Spark metastore and the marts' files."""
    spark_remote: str | None = None
    """A Spark Connect server (sc://host:port) for dbt; None: Spark in the dbt process."""

    @property
    def on_spark(self) -> bool:
        return self.warehouse == "spark"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        duckdb_path = resolve_path(env.get(DUCKDB_PATH) or DEFAULT_DUCKDB_PATH)
        return cls(
            duckdb_path=duckdb_path,
            products_url=parse_products_url(env.get(PRODUCTS_URL) or DEFAULT_PRODUCTS_URL),
            offline=parse_flag(OFFLINE, env.get(OFFLINE, "")),
            timezone=parse_timezone(env.get(TIMEZONE) or DEFAULT_TIMEZONE),
            bi_path=parse_bi_path(env.get(BI_PATH) or DEFAULT_BI_PATH, duckdb_path),
            parquet_dir=resolve_path(env.get(PARQUET_DIR) or DEFAULT_PARQUET_DIR),
            dashboard_path=resolve_path(env.get(DASHBOARD_PATH) or DEFAULT_DASHBOARD_PATH),
            history_start=parse_history_start(env.get(HISTORY_START, "")),
            transactions_per_day=parse_count(
                TRANSACTIONS_PER_DAY, env.get(TRANSACTIONS_PER_DAY, "")
            ),
            webhook_configured=parse_webhook_configured(env.get(WEBHOOK_URL, "")),
            ui_url=parse_http_url(UI_URL, env.get(UI_URL) or DEFAULT_UI_URL),
            retry_count=parse_whole_number(RETRY_COUNT, env.get(RETRY_COUNT), DEFAULT_RETRY_COUNT),
            retry_delay_seconds=parse_number(
                RETRY_DELAY_SECONDS,
                env.get(RETRY_DELAY_SECONDS),
                DEFAULT_RETRY_DELAY_SECONDS,
                allow_zero=True,
            ),
            lock_timeout_seconds=parse_number(
                LOCK_TIMEOUT_SECONDS,
                env.get(LOCK_TIMEOUT_SECONDS),
                DEFAULT_LOCK_TIMEOUT_SECONDS,
                allow_zero=True,
            ),
            freshness_hours=parse_number(
                FRESHNESS_HOURS, env.get(FRESHNESS_HOURS), DEFAULT_FRESHNESS_HOURS, allow_zero=False
            ),
            warehouse=parse_warehouse(env.get(WAREHOUSE, "")),
            lake_path=resolve_path(env.get(LAKE_PATH) or DEFAULT_LAKE_PATH),
            spark_remote=parse_spark_remote(env.get(SPARK_REMOTE, "")),
        )


def resolve_path(value: str) -> Path:
    """Relative paths are relative to the project root, never to the working directory."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def parse_bi_path(value: str, duckdb_path: Path) -> Path:
    """The serving copy's path, which must not be the warehouse: a BI reader holding the
    warehouse open would block the nightly run."""
    path = resolve_path(value)
    if path.resolve() == duckdb_path.resolve():
        raise SettingsError(
            f"{BI_PATH} must name a file other than the warehouse ({DUCKDB_PATH}), got {value!r}"
        )
    return path


def parse_products_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(
            f"{PRODUCTS_URL} must be an http:// or https:// URL with a host, got {value!r}"
        )
    return value.rstrip("/")


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def parse_http_url(name: str, value: str) -> str:
    if not _is_http_url(value):
        raise SettingsError(f"{name} must be an http:// or https:// URL with a host, got {value!r}")
    return value.rstrip("/")


def parse_webhook_configured(value: str) -> bool:
    """Whether the webhook URL is set; an unusable one is an error whose message leaves the value
    out, since it is a secret."""
    if not value.strip():
        return False
    if not _is_http_url(value.strip()):
        raise SettingsError(
            f"{WEBHOOK_URL} must be an http:// or https:// URL with a host "
            "(its value is not shown: it is a secret)"
        )
    return True


def parse_whole_number(name: str, value: str | None, default: int) -> int:
    if value is None or not value.strip():
        return default
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number of 0 or more, got {value!r}") from None
    if number < 0:
        raise SettingsError(f"{name} must be a whole number of 0 or more, got {value!r}")
    return number


def parse_number(name: str, value: str | None, default: float, *, allow_zero: bool) -> float:
    if value is None or not value.strip():
        return default
    expected = "a number of 0 or more" if allow_zero else "a number greater than 0"
    try:
        number = float(value)
    except ValueError:
        raise SettingsError(f"{name} must be {expected}, got {value!r}") from None
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        raise SettingsError(f"{name} must be {expected}, got {value!r}")
    return number


def parse_flag(name: str, value: str) -> bool:
    normalized = value.strip().lower()
    if normalized in ("", "0", "false", "no"):
        return False
    if normalized in ("1", "true", "yes"):
        return True
    raise SettingsError(f"{name} must be 1 or 0 (or true/false), got {value!r}")


def parse_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise SettingsError(
            f"{TIMEZONE} must be an IANA timezone name such as UTC or Europe/Berlin, got {value!r}"
        ) from error
    return value


def parse_history_start(value: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise SettingsError(
            f"{HISTORY_START} must be a date as YYYY-MM-DD, such as 2026-01-01, got {value!r}"
        ) from None


def parse_count(name: str, value: str) -> int | None:
    if not value.strip():
        return None
    try:
        count = int(value.strip())
    except ValueError:
        count = 0
    if count < 1:
        raise SettingsError(f"{name} must be a whole number of at least 1, got {value!r}")
    return count


def parse_warehouse(value: str) -> str:
    engine = value.strip().lower() or WAREHOUSE_ENGINES[0]
    if engine not in WAREHOUSE_ENGINES:
        allowed = " or ".join(WAREHOUSE_ENGINES)
        raise SettingsError(f"{WAREHOUSE} must be {allowed} (default duckdb), got {value!r}")
    return engine


def parse_spark_remote(value: str) -> str | None:
    if not value.strip():
        return None
    parts = urlsplit(value.strip())
    if parts.scheme != "sc" or not parts.netloc:
        raise SettingsError(
            f"{SPARK_REMOTE} must be a Spark Connect URL such as sc://spark-host:15002,"
            f" got {value!r}"
        )
    return value.strip()
