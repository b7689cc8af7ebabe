"""Benchmark stages that run in their own process (so each has its own peak memory):
`python -m benchmarks.stages <stage> --json ARGS`. Each prints one JSON line of timings.

generate      customers, products and the history's transactions, in memory
load          the same, then written to raw.* of a fresh warehouse (the IO manager's Arrow path)
floor-build   the floor's full build (floor.py) on the raw tables of a loaded warehouse
floor-e2e     the floor end to end in one process: generate, load, full build; then one night

The floor stages read the SQL dbt compiled (`--compiled` for the history, `--compiled-night` for
the night's window); compiling happens before, outside the measured time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from benchmarks import floor
from sales_analytics.core.catalog import offline_catalog
from sales_analytics.core.generate import (
    generate_customers,
    generate_day_transactions,
    generate_transactions,
)
from sales_analytics.core.products import products_frame

SEED = 42


@dataclass(frozen=True)
class Volume:
    """A benchmark size: `transactions` over the `days` days before `as_of`."""

    transactions: int
    customers: int
    days: int
    as_of: date

    @property
    def first_day(self) -> date:
        return self.as_of - timedelta(days=self.days)

    @property
    def per_day(self) -> int:
        """The nightly volume: the history's average day."""
        return max(1, round(self.transactions / self.days))


@dataclass(frozen=True)
class RawFrames:
    customers: pl.DataFrame
    products: pl.DataFrame
    transactions: pl.DataFrame


def generate(volume: Volume) -> RawFrames:
    """The raw tables exactly as the pipeline's raw assets generate them for this volume."""
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    customers = generate_customers(
        volume.customers, seed=SEED, as_of=volume.as_of, loaded_at=loaded_at
    )
    products = products_frame(offline_catalog(), extracted_at=loaded_at)
    transactions = generate_transactions(
        volume.first_day,
        volume.as_of,
        count=volume.transactions,
        days=volume.days,
        customer_ids=customers["customer_id"],
        products=products.select("id", "title", "category", "price"),
        seed=SEED,
        loaded_at=loaded_at,
    )
    return RawFrames(customers, products, transactions)


def write_table(connection: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Replace raw.<table> with `frame`, handed over as Arrow like the IO manager does."""
    arrow = frame.to_arrow(compat_level=pl.CompatLevel.newest())  # noqa: F841  read by name
    connection.execute("create schema if not exists raw")
    connection.execute(f"create or replace table raw.{table} as select * from arrow")


def load(connection: duckdb.DuckDBPyConnection, frames: RawFrames) -> None:
    write_table(connection, "customers", frames.customers)
    write_table(connection, "products", frames.products)
    write_table(connection, "transactions", frames.transactions)


def night_window(volume: Volume) -> tuple[date, date]:
    """The nightly run's day: the day before the as-of date."""
    return volume.as_of - timedelta(days=1), volume.as_of


def night(
    connection: duckdb.DuckDBPyConnection, volume: Volume, project: floor.CompiledProject
) -> int:
    """The floor of one nightly run: replace the catalog and yesterday's raw rows, then the
    incremental build; the number of failing tests."""
    day = volume.as_of - timedelta(days=1)
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    products = products_frame(offline_catalog(), extracted_at=loaded_at)
    customer_ids = connection.execute("select customer_id from raw.customers").pl()["customer_id"]
    rows = generate_day_transactions(
        day,
        volume.per_day,
        customer_ids=customer_ids,
        products=products.select("id", "title", "category", "price"),
        seed=SEED,
        loaded_at=loaded_at,
    )
    write_table(connection, "products", products)
    arrow = rows.to_arrow(compat_level=pl.CompatLevel.newest())  # noqa: F841  read by name
    connection.execute(
        "delete from raw.transactions where transaction_date >= ? and transaction_date < ?",
        [day, volume.as_of],
    )
    connection.execute("insert into raw.transactions select * from arrow")
    return floor.incremental_build(connection, project)


def _timed(results: dict[str, float], key: str):
    class Timer:
        def __enter__(self):
            self.start = time.perf_counter()

        def __exit__(self, *exc):
            results[key] = time.perf_counter() - self.start

    return Timer()


def run_stage(
    stage: str,
    volume: Volume,
    warehouse: Path | None,
    compiled: Path | None = None,
    compiled_night: Path | None = None,
) -> dict[str, float]:
    timings: dict[str, float] = {}
    project = floor.read_compiled(compiled / "manifest.json") if compiled else None
    if stage == "generate":
        with _timed(timings, "seconds"):
            generate(volume)
    elif stage == "load":
        frames = generate(volume)
        with duckdb.connect(str(warehouse)) as connection, _timed(timings, "seconds"):
            load(connection, frames)
    elif stage == "floor-build":
        with duckdb.connect(str(warehouse)) as connection, _timed(timings, "seconds"):
            timings["failed_tests"] = floor.full_build(connection, project)
    elif stage == "floor-e2e":
        night_project = floor.read_compiled(compiled_night / "manifest.json")
        with duckdb.connect(str(warehouse)) as connection:
            with _timed(timings, "seconds"):
                load(connection, generate(volume))
                timings["failed_tests"] = floor.full_build(connection, project)
            with _timed(timings, "night_seconds"):
                timings["night_failed_tests"] = night(connection, volume, night_project)
    else:
        raise ValueError(f"unknown stage {stage!r}")
    return timings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stages")
    parser.add_argument("stage", choices=("generate", "load", "floor-build", "floor-e2e"))
    parser.add_argument("--volume", required=True, help="JSON of a Volume")
    parser.add_argument("--warehouse", type=Path)
    parser.add_argument("--compiled", type=Path, help="target folder of the history's compile")
    parser.add_argument("--compiled-night", type=Path, help="target folder of the night's compile")
    args = parser.parse_args(argv)
    fields = json.loads(args.volume)
    volume = Volume(**{**fields, "as_of": date.fromisoformat(fields["as_of"])})
    timings = run_stage(args.stage, volume, args.warehouse, args.compiled, args.compiled_night)
    print(json.dumps(timings))
    return 0


def volume_json(volume: Volume) -> str:
    return json.dumps({**asdict(volume), "as_of": volume.as_of.isoformat()})


if __name__ == "__main__":
    sys.exit(main())
