"""The lake IO manager: raw assets as Parquet, one hive folder per day of transactions, a run
replacing only its days, each file swapped in whole. Real files, read back with DuckDB; no Spark
needed."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from sales_analytics.core.lake import DAY_PARTITION, lake_connection
from sales_analytics.defs.resources.lake import LakeIOManager


def sales(day: date, count: int, amount: float) -> pl.DataFrame:
    """`count` transactions on `day`, each of `amount`, through the day (hours 0..count-1)."""
    return pl.DataFrame(
        {
            "transaction_id": [f"TXN-{day:%Y%m%d}-{n}" for n in range(count)],
            "transaction_date": [datetime(day.year, day.month, day.day, n) for n in range(count)],
            "total_amount": [amount] * count,
        }
    )


def day_totals(lake: Path) -> dict[date, tuple[int, float]]:
    with lake_connection(lake, ["transactions"], {}) as connection:
        rows = connection.execute(
            "select cast(transaction_date as date), count(*), sum(total_amount)"
            " from raw.transactions group by 1 order by 1"
        ).fetchall()
    return {day: (count, total) for day, count, total in rows}


def test_a_run_replaces_its_days_only_and_leaves_no_temporary_file(tmp_path):
    lake = tmp_path / "lake"
    manager = LakeIOManager(lake_path=str(lake))
    first = date(2026, 3, 1)
    days = [first + timedelta(days=offset) for offset in range(3)]
    manager.write_days(
        "transactions",
        "transaction_date",
        [pl.concat([sales(days[0], 2, 10.0), sales(days[1], 3, 20.0)]), sales(days[2], 1, 5.0)],
        days[0],
        days[2] + timedelta(days=1),
    )
    assert day_totals(lake) == {days[0]: (2, 20.0), days[1]: (3, 60.0), days[2]: (1, 5.0)}

    # The second day again, with other rows: the other days keep theirs.
    manager.write_days(
        "transactions", "transaction_date", [sales(days[1], 4, 1.5)], days[1], days[2]
    )
    assert day_totals(lake) == {days[0]: (2, 20.0), days[1]: (4, 6.0), days[2]: (1, 5.0)}
    # A day of the run without rows is emptied, not left with the previous run's rows.
    manager.write_days("transactions", "transaction_date", [], days[2], days[2] + timedelta(1))
    assert days[2] not in day_totals(lake)

    folder = lake / "raw" / "transactions"
    assert sorted(path.name for path in folder.iterdir()) == [
        f"{DAY_PARTITION}={day.isoformat()}" for day in days
    ]
    assert all([f.name for f in day.iterdir()] == ["part-0.parquet"] for day in folder.iterdir())


def test_rows_outside_the_run_are_refused_before_anything_is_written(tmp_path):
    lake = tmp_path / "lake"
    manager = LakeIOManager(lake_path=str(lake))
    day = date(2026, 3, 1)
    manager.write_days(
        "transactions", "transaction_date", [sales(day, 2, 10.0)], day, day + timedelta(1)
    )
    before = {path: path.read_bytes() for path in lake.rglob("*") if path.is_file()}
    with pytest.raises(dg.DagsterInvariantViolationError, match="outside the run's days"):
        manager.write_days(
            "transactions",
            "transaction_date",
            [sales(day, 1, 99.0), sales(day + timedelta(days=5), 1, 99.0)],
            day,
            day + timedelta(days=1),
        )
    assert {path: path.read_bytes() for path in lake.rglob("*") if path.is_file()} == before


def test_whole_tables_are_replaced_and_read_back_with_their_types(tmp_path):
    lake = tmp_path / "lake"
    manager = LakeIOManager(lake_path=str(lake))
    frame = pl.DataFrame({"id": [1, 2], "price": [9.99, 0.5], "title": ["a", "b"]})
    manager.write_whole("products", [frame])
    manager.write_whole("products", [frame.head(1)])
    with lake_connection(lake, ["products"], {}) as connection:
        assert connection.execute("select id, price, title from raw.products").fetchall() == [
            (1, 9.99, "a")
        ]
        types = dict(
            connection.execute(
                "select column_name, data_type from information_schema.columns"
            ).fetchall()
        )
    assert types == {"id": "BIGINT", "price": "DOUBLE", "title": "VARCHAR"}
