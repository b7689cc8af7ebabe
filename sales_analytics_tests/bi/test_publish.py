"""sales_analytics.core.publish without Dagster: type normalization, the swap, and what happens when
the serving copy is in use. Sources are small hand-made warehouses with awkward types."""

from __future__ import annotations

import errno
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from sales_analytics.core.publish import (
    MART_TABLES,
    PublishVerificationFailed,
    UnsupportedColumnType,
    export_parquet,
    is_powerbi_type,
    powerbi_type,
    publish_serving_copy,
    verified_table,
)
from sales_analytics_tests.bi.conftest import DuckdbClient


def make_warehouse(path: Path, fct_rows: int = 5) -> Path:
    """Marts whose columns use the types Power BI misreads."""
    with duckdb.connect(str(path)) as connection:
        connection.execute("set timezone = 'UTC'")
        connection.execute("create schema marts")
        connection.execute(
            "create table marts.dim_customers as select"
            " 'CUST-000001' as customer_id,"
            " cast(7 as hugeint) as total_orders,"
            " cast(12.5 as decimal(38, 2)) as lifetime_value,"
            " cast('00000000-0000-0000-0000-000000000001' as uuid) as customer_uuid,"
            " cast('2026-01-01 12:00:00+02' as timestamptz) as loaded_at,"
            " cast('2025-12-31' as date) as first_order_date"
        )
        connection.execute(
            "create table marts.dim_products as select"
            " cast(1 as utinyint) as product_id,"
            " cast(9.99 as decimal(10, 2)) as unit_price,"
            " cast(3 as uinteger) as rating_count"
        )
        connection.execute(
            "create table marts.fct_transactions as select"
            " cast(range as ubigint) as transaction_number,"
            " cast('2026-01-02 03:04:05.123456789' as timestamp_ns) as transaction_timestamp,"
            " cast(range * 1.25 as decimal(18, 2)) as total_amount"
            " from range(?)",
            [fct_rows],
        )
    return path


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith((".tmp", ".wal")))


def serving_counts(path: Path) -> list[int]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return [
            connection.execute(f"select count(*) from marts.{table}").fetchone()[0]
            for table in MART_TABLES
        ]


@pytest.mark.parametrize(
    ("duckdb_type", "expected"),
    [
        ("HUGEINT", "BIGINT"),
        ("UBIGINT", "BIGINT"),
        ("UINTEGER", "BIGINT"),
        ("USMALLINT", "INTEGER"),
        ("UTINYINT", "SMALLINT"),
        ("UUID", "VARCHAR"),
        ("TIMESTAMP WITH TIME ZONE", "TIMESTAMP"),
        ("TIMESTAMP_NS", "TIMESTAMP"),
        ("DECIMAL(38,2)", "DECIMAL(18,2)"),
        ("DECIMAL(10,2)", "DECIMAL(18,2)"),
        ("ENUM('a', 'b')", "VARCHAR"),
        ("BIGINT", "BIGINT"),
        ("DATE", "DATE"),
        ("VARCHAR", "VARCHAR"),
    ],
)
def test_powerbi_type_replaces_what_power_bi_misreads(duckdb_type: str, expected: str) -> None:
    assert powerbi_type(duckdb_type) == expected
    assert is_powerbi_type(expected)


@pytest.mark.parametrize(
    "duckdb_type", ["HUGEINT", "UBIGINT", "UUID", "DECIMAL(38,2)", "INTEGER[]"]
)
def test_is_powerbi_type_rejects_the_awkward_types(duckdb_type: str) -> None:
    assert not is_powerbi_type(duckdb_type)


@pytest.mark.parametrize("duckdb_type", ["INTEGER[]", "STRUCT(a INTEGER)", "BLOB", "INTERVAL"])
def test_types_without_a_power_bi_equivalent_are_refused(duckdb_type: str) -> None:
    with pytest.raises(UnsupportedColumnType, match="no Power BI equivalent"):
        powerbi_type(duckdb_type)


def test_serving_copy_has_power_bi_types_and_the_same_rows(tmp_path: Path) -> None:
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb")
    target = tmp_path / "serving" / "bi.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as source:
        outcome = publish_serving_copy(source, target)

    assert outcome.replaced
    assert [table.row_count for table in outcome.tables] == [1, 1, 5]
    with duckdb.connect(str(target), read_only=True) as copy:
        types = dict(
            copy.execute(
                "select table_name || '.' || column_name, data_type from information_schema.columns"
                " where table_schema = 'marts'"
            ).fetchall()
        )
        loaded_at, customer_uuid = copy.execute(
            "select loaded_at, customer_uuid from marts.dim_customers"
        ).fetchone()
        (storage,) = copy.execute(
            "select tags['storage_version'] from duckdb_databases() where database_name = 'bi'"
        ).fetchone()
    assert types == {
        "dim_customers.customer_id": "VARCHAR",
        "dim_customers.total_orders": "BIGINT",
        "dim_customers.lifetime_value": "DECIMAL(18,2)",
        "dim_customers.customer_uuid": "VARCHAR",
        "dim_customers.loaded_at": "TIMESTAMP",
        "dim_customers.first_order_date": "DATE",
        "dim_products.product_id": "SMALLINT",
        "dim_products.unit_price": "DECIMAL(18,2)",
        "dim_products.rating_count": "BIGINT",
        "fct_transactions.transaction_number": "BIGINT",
        "fct_transactions.transaction_timestamp": "TIMESTAMP",
        "fct_transactions.total_amount": "DECIMAL(18,2)",
    }
    # Instants become UTC wall-clock time, not the publishing machine's local time.
    assert loaded_at == datetime(2026, 1, 1, 10, 0, 0)
    assert customer_uuid == "00000000-0000-0000-0000-000000000001"
    assert storage == "v1.4.0+"
    assert leftovers(target.parent) == []


def test_publishing_over_the_warehouse_itself_is_refused(tmp_path: Path) -> None:
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb")
    with (
        duckdb.connect(str(warehouse), read_only=True) as source,
        pytest.raises(ValueError, match="never hold the file the pipeline writes"),
    ):
        publish_serving_copy(source, warehouse)


def test_a_read_only_reader_keeps_the_old_copy_and_does_not_block_the_swap(
    tmp_path: Path,
) -> None:
    target = tmp_path / "bi.duckdb"
    with duckdb.connect(str(make_warehouse(tmp_path / "old.duckdb", fct_rows=2))) as old:
        publish_serving_copy(old, target)
    new_warehouse = make_warehouse(tmp_path / "new.duckdb", fct_rows=9)

    with DuckdbClient("hold", str(target)) as reader:
        assert reader.read()["counts"] == [1, 1, 2]
        with duckdb.connect(str(new_warehouse), read_only=True) as source:
            outcome = publish_serving_copy(source, target, attempts=1)
        reader.send_line()
        assert reader.read()["counts"] == [1, 1, 2], "the reader keeps the copy it opened"

    assert outcome.replaced
    assert serving_counts(target) == [1, 1, 9]


@pytest.mark.parametrize(
    ("client_command", "reason"),
    [("write", "write-ahead log"), ("open-rw", "read-write connection holds it open")],
)
def test_a_read_write_connection_defers_the_swap_and_leaves_the_copy_whole(
    tmp_path: Path, client_command: str, reason: str
) -> None:
    target = tmp_path / "bi.duckdb"
    with duckdb.connect(str(make_warehouse(tmp_path / "old.duckdb", fct_rows=2))) as old:
        publish_serving_copy(old, target)
    waits: list[float] = []

    with DuckdbClient(client_command, str(target)) as writer:
        assert writer.read() == {"ready": True}
        with duckdb.connect(str(make_warehouse(tmp_path / "new.duckdb", fct_rows=9))) as source:
            outcome = publish_serving_copy(
                source, target, attempts=3, retry_wait_seconds=0.5, sleep=waits.append
            )

    assert not outcome.replaced
    (swap,) = outcome.not_replaced
    assert reason in swap.in_use_reason
    assert swap.attempts == 3
    assert waits == [0.5, 1.0]
    assert serving_counts(target) == [1, 1, 2], "the old copy is untouched"
    assert leftovers(tmp_path) == [], "the new copy was discarded, nothing half-written"


def test_a_replace_refused_by_the_file_system_is_reported_not_raised(tmp_path: Path) -> None:
    target = tmp_path / "bi.duckdb"
    with duckdb.connect(str(make_warehouse(tmp_path / "old.duckdb", fct_rows=2))) as old:
        publish_serving_copy(old, target)

    def windows_replace(source: Path, destination: Path) -> None:
        raise PermissionError(errno.EACCES, "The process cannot access the file", str(destination))

    with duckdb.connect(str(make_warehouse(tmp_path / "new.duckdb", fct_rows=9))) as source:
        outcome = publish_serving_copy(
            source, target, attempts=2, replace=windows_replace, sleep=lambda seconds: None
        )

    assert not outcome.replaced
    assert "refused to replace it" in outcome.not_replaced[0].in_use_reason
    assert serving_counts(target) == [1, 1, 2]
    assert leftovers(tmp_path) == []


def test_other_replace_errors_fail_the_publish_and_leave_no_temp_file(tmp_path: Path) -> None:
    def full_disk(source: Path, destination: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with (
        duckdb.connect(str(make_warehouse(tmp_path / "warehouse.duckdb"))) as source,
        pytest.raises(OSError, match="No space left"),
    ):
        publish_serving_copy(source, tmp_path / "serving" / "bi.duckdb", replace=full_disk)
    assert leftovers(tmp_path / "serving") == []


def test_a_copy_that_differs_from_the_warehouse_fails_verification(tmp_path: Path) -> None:
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(warehouse), read_only=True) as source, duckdb.connect() as copy:
        copy.execute("create schema marts")
        copy.execute("create table marts.dim_customers as select 1 as customer_id limit 0")
        with pytest.raises(PublishVerificationFailed, match="copied 0 rows"):
            verified_table(source, copy, "dim_customers")


def test_parquet_exports_have_power_bi_types_and_the_same_rows(tmp_path: Path) -> None:
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb", fct_rows=7)
    folder = tmp_path / "parquet"
    with duckdb.connect(str(warehouse), read_only=True) as source:
        outcome = export_parquet(source, folder)

    assert outcome.replaced
    assert sorted(path.name for path in folder.iterdir()) == [
        "dim_customers.parquet",
        "dim_products.parquet",
        "fct_transactions.parquet",
    ]
    customers = pq.read_table(folder / "dim_customers.parquet")
    assert str(customers.schema.field("total_orders").type) == "int64"
    assert str(customers.schema.field("lifetime_value").type) == "decimal128(18, 2)"
    assert str(customers.schema.field("loaded_at").type) == "timestamp[us]"
    assert str(customers.schema.field("first_order_date").type) == "date32[day]"
    assert customers.column("lifetime_value").to_pylist() == [Decimal("12.50")]
    assert pq.read_metadata(folder / "fct_transactions.parquet").num_rows == 7


def test_a_parquet_file_in_use_keeps_its_old_version(tmp_path: Path) -> None:
    folder = tmp_path / "parquet"
    with duckdb.connect(str(make_warehouse(tmp_path / "old.duckdb", fct_rows=2))) as old:
        export_parquet(old, folder)

    def refuse_facts(source: Path, destination: Path) -> None:
        if destination.name == "fct_transactions.parquet":
            raise PermissionError(errno.EACCES, "in use", str(destination))
        source.replace(destination)

    with duckdb.connect(str(make_warehouse(tmp_path / "new.duckdb", fct_rows=9))) as source:
        outcome = export_parquet(
            source, folder, attempts=1, replace=refuse_facts, sleep=lambda seconds: None
        )

    assert [swap.path.name for swap in outcome.not_replaced] == ["fct_transactions.parquet"]
    assert pq.read_metadata(folder / "fct_transactions.parquet").num_rows == 2
    assert leftovers(folder) == []
