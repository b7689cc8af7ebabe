"""sales_analytics.core.publish without Dagster: the marts' own types, the swap, what happens when
the serving copy is in use, and nights that rewrite only what changed. Sources are small hand-made
warehouses."""

from __future__ import annotations

import errno
from datetime import date, timedelta
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
    ledger_fingerprints,
    ledger_path,
    month_path,
    publish_serving_copy,
    verified_table,
)
from sales_analytics_tests.bi.conftest import DuckdbClient

FIRST_DAY = date(2026, 1, 20)


def make_warehouse(path: Path, fct_rows: int = 5, days: int = 1) -> Path:
    """Marts with the types their contracts declare (narrow decimals included); fct_rows
    transactions a day over `days` days from FIRST_DAY."""
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema marts")
        connection.execute(
            "create table marts.dim_customers as select"
            " 'CUST-000001' as customer_id,"
            " cast(7 as bigint) as total_orders,"
            " cast(12.5 as decimal(18, 2)) as lifetime_value,"
            " cast('2026-01-01 10:00:00' as timestamp) as loaded_at,"
            " cast('2025-12-31' as date) as first_order_date"
        )
        connection.execute(
            "create table marts.dim_products as select"
            " cast(1 as integer) as product_id,"
            " cast(9.99 as decimal(10, 2)) as unit_price,"
            " cast(3 as integer) as rating_count"
        )
        connection.execute(
            "create table marts.fct_transactions as select"
            " 'TXN-' || day.range || '-' || n.range as transaction_id,"
            " cast(? as date) + cast(day.range as integer) as transaction_date,"
            " cast('2026-01-02 03:04:05' as timestamp) as transaction_timestamp,"
            " cast(n.range * 1.25 as decimal(18, 2)) as total_amount,"
            " cast(2.50 as decimal(10, 2)) as unit_price"
            " from range(?) as day, range(?) as n",
            [FIRST_DAY, days, fct_rows],
        )
    return path


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.rglob("*") if path.name.endswith((".tmp", ".wal")))


def serving_counts(path: Path) -> list[int]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return [
            connection.execute(f"select count(*) from marts.{table}").fetchone()[0]
            for table in MART_TABLES
        ]


def column_types(connection: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(
        connection.execute(
            "select table_name || '.' || column_name, data_type from information_schema.columns"
            " where table_catalog = current_database() and table_schema = 'marts'"
        ).fetchall()
    )


def differences(left: duckdb.DuckDBPyConnection, right_path: Path, table: str) -> int:
    """Rows of `table` in one database and not the other, both ways."""
    left.execute(f"attach '{right_path}' as other (read_only)")
    try:
        (count,) = left.execute(
            f"select (select count(*) from (select * from marts.{table}"
            f" except all select * from other.marts.{table}))"
            f" + (select count(*) from (select * from other.marts.{table}"
            f" except all select * from marts.{table}))"
        ).fetchone()
    finally:
        left.execute("detach other")
    return count


@pytest.mark.parametrize(
    "duckdb_type", ["BIGINT", "INTEGER", "DECIMAL(10,2)", "DECIMAL(18,2)", "DATE", "TIMESTAMP"]
)
def test_plain_types_are_what_power_bi_reads(duckdb_type: str) -> None:
    assert is_powerbi_type(duckdb_type)


@pytest.mark.parametrize(
    "duckdb_type",
    ["HUGEINT", "UBIGINT", "UUID", "DECIMAL(38,2)", "INTEGER[]", "TIMESTAMP WITH TIME ZONE"],
)
def test_is_powerbi_type_rejects_the_awkward_types(duckdb_type: str) -> None:
    assert not is_powerbi_type(duckdb_type)


def test_a_mart_type_power_bi_cannot_read_is_refused_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("alter table marts.dim_customers add column big hugeint")
    serving = tmp_path / "serving"
    with duckdb.connect(str(warehouse), read_only=True) as source:
        with pytest.raises(UnsupportedColumnType, match="dim_customers: .*big HUGEINT.*contract"):
            publish_serving_copy(source, serving / "bi.duckdb")
        with pytest.raises(UnsupportedColumnType, match="big HUGEINT"):
            export_parquet(source, tmp_path / "parquet")
    assert not serving.exists() or list(serving.iterdir()) == []
    assert not (tmp_path / "parquet").exists() or leftovers(tmp_path / "parquet") == []


def test_serving_copy_carries_the_marts_types_and_rows(tmp_path: Path) -> None:
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb")
    target = tmp_path / "serving" / "bi.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as source:
        outcome = publish_serving_copy(source, target)
        expected_types = column_types(source)

    assert outcome.replaced
    assert outcome.mode == "full"
    assert [table.row_count for table in outcome.tables] == [1, 1, 5]
    with duckdb.connect(str(target), read_only=True) as copy:
        assert column_types(copy) == expected_types
        assert column_types(copy)["dim_products.unit_price"] == "DECIMAL(10,2)"
        (storage,) = copy.execute(
            "select tags['storage_version'] from duckdb_databases() where database_name = 'bi'"
        ).fetchone()
        for table in MART_TABLES:
            assert differences(copy, warehouse, table) == 0
    assert storage == "v1.4.0+"
    assert leftovers(target.parent) == []


def test_publishing_over_the_warehouse_itself_is_refused(tmp_path: Path) -> None:
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb")
    with (
        duckdb.connect(str(warehouse), read_only=True) as source,
        pytest.raises(ValueError, match="never hold the file the pipeline writes"),
    ):
        publish_serving_copy(source, warehouse)


def change_days(warehouse: Path, days: list[date], amount: str = "99.99") -> None:
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute(
            "update marts.fct_transactions set total_amount = cast(? as decimal(18, 2))"
            " where transaction_date in (select unnest(cast(? as date[])))",
            [amount, days],
        )
        connection.execute("update marts.dim_customers set total_orders = total_orders + 1")


def test_a_night_updates_the_copy_with_its_days_and_any_day_the_copy_missed(
    tmp_path: Path,
) -> None:
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb", fct_rows=3, days=20)
    target = tmp_path / "serving" / "bi.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as source:
        publish_serving_copy(source, target)
    last_night = FIRST_DAY + timedelta(days=18)  # a night whose publish never landed
    tonight = FIRST_DAY + timedelta(days=19)
    change_days(warehouse, [last_night, tonight])

    with duckdb.connect(str(warehouse), read_only=True) as source:
        outcome = publish_serving_copy(source, target, window=(tonight, tonight + timedelta(1)))

    assert outcome.replaced
    assert outcome.mode == "incremental"
    assert outcome.rewritten == (last_night.isoformat(), tonight.isoformat())
    with duckdb.connect(str(target), read_only=True) as copy:
        for table in MART_TABLES:
            assert differences(copy, warehouse, table) == 0, table
    assert leftovers(target.parent) == []


def test_the_fingerprints_of_the_published_copy_are_kept_beside_it_until_it_changes(
    tmp_path: Path,
) -> None:
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb", fct_rows=3, days=5)
    target = tmp_path / "serving" / "bi.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as source:
        publish_serving_copy(source, target)
    ledger = ledger_path(target)
    recorded = ledger_fingerprints(target, "fct_transactions")
    assert sorted(recorded) == [FIRST_DAY + timedelta(days=day) for day in range(5)]

    # Someone writes to the copy: the ledger no longer describes it and is not trusted.
    with duckdb.connect(str(target)) as copy:
        copy.execute("delete from marts.fct_transactions where transaction_date = ?", [FIRST_DAY])
    assert ledger.exists() and ledger_fingerprints(target, "fct_transactions") is None
    tonight = FIRST_DAY + timedelta(days=4)
    with duckdb.connect(str(warehouse), read_only=True) as source:
        outcome = publish_serving_copy(source, target, window=(tonight, tonight + timedelta(1)))

    assert outcome.rewritten == (FIRST_DAY.isoformat(), tonight.isoformat())
    assert ledger_fingerprints(target, "fct_transactions") == recorded
    with duckdb.connect(str(target), read_only=True) as copy:
        assert differences(copy, warehouse, "fct_transactions") == 0


def test_a_copy_with_other_columns_is_rebuilt_whole(tmp_path: Path) -> None:
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb", days=3)
    target = tmp_path / "bi.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as source:
        publish_serving_copy(source, target)
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("alter table marts.fct_transactions add column note varchar")

    with duckdb.connect(str(warehouse), read_only=True) as source:
        outcome = publish_serving_copy(
            source, target, window=(FIRST_DAY, FIRST_DAY + timedelta(days=1))
        )

    assert outcome.mode == "full"
    with duckdb.connect(str(target), read_only=True) as copy:
        assert "fct_transactions.note" in column_types(copy)
        assert differences(copy, warehouse, "fct_transactions") == 0


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
            outcome = publish_serving_copy(
                source, target, attempts=1, window=(FIRST_DAY, FIRST_DAY + timedelta(days=1))
            )
        reader.send_line()
        assert reader.read()["counts"] == [1, 1, 2], "the reader keeps the copy it opened"

    assert outcome.replaced
    assert outcome.mode == "incremental"
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
        copy.execute(
            "create table marts.dim_products as select cast(1 as integer) as product_id,"
            " cast(9.99 as decimal(10, 2)) as unit_price, cast(3 as integer) as rating_count"
        )
        with pytest.raises(PublishVerificationFailed, match="copied 0 rows"):
            copy.execute("delete from marts.dim_products")
            verified_table(source, copy, "dim_products")
        copy.execute("alter table marts.dim_products alter unit_price type decimal(18, 2)")
        with pytest.raises(PublishVerificationFailed, match="copied columns"):
            verified_table(source, copy, "dim_products")


def month_files(folder: Path) -> dict[str, int]:
    """Each monthly fact file (by its folder name) and its inode, to see which were replaced."""
    return {
        path.parent.name: path.stat().st_ino
        for path in (folder / "fct_transactions").glob("*/fct_transactions.parquet")
    }


def test_parquet_carries_the_marts_types_a_file_per_dimension_and_a_folder_per_month(
    tmp_path: Path,
) -> None:
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb", fct_rows=2, days=20)
    folder = tmp_path / "parquet"
    (folder / "fct_transactions.parquet").parent.mkdir(parents=True)
    (folder / "fct_transactions.parquet").write_bytes(b"the single file of the old layout")
    with duckdb.connect(str(warehouse), read_only=True) as source:
        outcome = export_parquet(source, folder)
        dataset = source.sql(f"select * from read_parquet('{folder}/fct_transactions/*/*.parquet')")
        published_types = dict(zip(dataset.columns, map(str, dataset.types), strict=True))
        warehouse_types = {
            name: kind
            for name, kind in source.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_name = 'fct_transactions'"
            ).fetchall()
        }
        (missing,) = source.execute(
            f"select count(*) from (select * from marts.fct_transactions except all"
            f" select * exclude (transaction_month)"
            f" from read_parquet('{folder}/fct_transactions/*/*.parquet'))"
        ).fetchone()

    assert outcome.replaced
    assert sorted(path.name for path in folder.iterdir()) == [
        "dim_customers.parquet",
        "dim_products.parquet",
        "fct_transactions",
    ]
    assert sorted(month_files(folder)) == [
        "transaction_month=2026-01-01",
        "transaction_month=2026-02-01",
    ]
    # Read as a hive-partitioned dataset, the fact table has its own types plus the month key.
    assert published_types == warehouse_types | {"transaction_month": "DATE"}
    assert missing == 0
    products = pq.read_table(folder / "dim_products.parquet")
    assert str(products.schema.field("unit_price").type) == "decimal128(10, 2)"
    assert str(products.schema.field("product_id").type) == "int32"
    customers = pq.read_table(folder / "dim_customers.parquet")
    assert customers.column("lifetime_value").to_pylist() == [Decimal("12.50")]
    assert str(customers.schema.field("loaded_at").type) == "timestamp[us]"


def test_a_night_rewrites_the_months_of_its_days_and_any_month_that_changed(
    tmp_path: Path,
) -> None:
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb", fct_rows=2, days=50)
    folder = tmp_path / "parquet"
    with duckdb.connect(str(warehouse), read_only=True) as source:
        export_parquet(source, folder)
    before = month_files(folder)
    assert len(before) == 3  # January, February, March
    tonight = FIRST_DAY + timedelta(days=49)  # in March
    missed = FIRST_DAY  # January: a night whose export never landed
    change_days(warehouse, [missed, tonight])

    with duckdb.connect(str(warehouse), read_only=True) as source:
        outcome = export_parquet(
            folder=folder, source=source, window=(tonight, tonight + timedelta(1))
        )
        (missing,) = source.execute(
            f"select count(*) from (select * from marts.fct_transactions except all"
            f" select * exclude (transaction_month)"
            f" from read_parquet('{folder}/fct_transactions/*/*.parquet'))"
        ).fetchone()

    after = month_files(folder)
    assert outcome.rewritten == ("2026-01", "2026-03")
    assert after["transaction_month=2026-02-01"] == before["transaction_month=2026-02-01"]
    assert after["transaction_month=2026-01-01"] != before["transaction_month=2026-01-01"]
    assert after["transaction_month=2026-03-01"] != before["transaction_month=2026-03-01"]
    assert missing == 0
    assert leftovers(folder) == []


def test_a_month_the_warehouse_no_longer_has_is_removed(tmp_path: Path) -> None:
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb", fct_rows=2, days=20)
    folder = tmp_path / "parquet"
    with duckdb.connect(str(warehouse), read_only=True) as source:
        export_parquet(source, folder)
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute(
            "delete from marts.fct_transactions where transaction_date >= '2026-02-01'"
        )

    with duckdb.connect(str(warehouse), read_only=True) as source:
        export_parquet(source, folder, window=(FIRST_DAY, FIRST_DAY + timedelta(days=1)))

    assert sorted(month_files(folder)) == ["transaction_month=2026-01-01"]
    assert sorted(path.name for path in (folder / "fct_transactions").iterdir()) == [
        "transaction_month=2026-01-01"
    ]


def test_a_parquet_file_in_use_keeps_its_old_version(tmp_path: Path) -> None:
    folder = tmp_path / "parquet"
    with duckdb.connect(str(make_warehouse(tmp_path / "old.duckdb", fct_rows=2))) as old:
        export_parquet(old, folder)
    january = month_path(folder, "fct_transactions", date(2026, 1, 1))

    def refuse_facts(source: Path, destination: Path) -> None:
        if destination == january:
            raise PermissionError(errno.EACCES, "in use", str(destination))
        source.replace(destination)

    with duckdb.connect(str(make_warehouse(tmp_path / "new.duckdb", fct_rows=9))) as source:
        outcome = export_parquet(
            source, folder, attempts=1, replace=refuse_facts, sleep=lambda seconds: None
        )

    assert [swap.path for swap in outcome.not_replaced] == [january]
    assert pq.read_metadata(january).num_rows == 2
    assert leftovers(folder) == []
