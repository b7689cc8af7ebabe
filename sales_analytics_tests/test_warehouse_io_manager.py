"""The warehouse IO manager on a real DuckDB file: partition windows replaced, other assets
replaced whole, one transaction per output, the warehouse's SQL types as metadata, inputs read
back as Polars (the input path that DuckDB 2 broke in dagster-duckdb-polars: DESIGN's pin)."""

from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from sales_analytics.defs.resources.warehouse import FrameBatches, WarehouseIOManager

DAYS = dg.DailyPartitionsDefinition(start_date="2026-03-01", end_date="2026-03-10")
SCHEMA = pl.Schema({"event_id": pl.Int64, "event_date": pl.Datetime("us"), "label": pl.String})


def day_rows(day: date, count: int, label: str) -> pl.DataFrame:
    """`count` rows of `day`, spread over its hours; ids unique across days."""
    start = datetime.combine(day, datetime.min.time())
    return pl.DataFrame(
        {
            "event_id": [day.toordinal() * 100 + i for i in range(count)],
            "event_date": [start + timedelta(hours=i % 24) for i in range(count)],
            "label": [label] * count,
        },
        schema=SCHEMA,
    )


def window_days(context: dg.AssetExecutionContext) -> list[date]:
    window = context.partition_time_window
    days = (window.end - window.start).days
    return [window.start.date() + timedelta(days=i) for i in range(days)]


def build_assets(label: str, rows_per_day: int = 3, extra_row: pl.DataFrame | None = None):
    @dg.asset(
        key_prefix="raw",
        partitions_def=DAYS,
        metadata={"partition_expr": "event_date"},
    )
    def events(context: dg.AssetExecutionContext) -> FrameBatches:
        batches = [day_rows(day, rows_per_day, label) for day in window_days(context)]
        if extra_row is not None:
            batches.append(extra_row)
        return FrameBatches(batches=iter(batches), schema=SCHEMA)

    # Partitioned like every asset of the project, but with no partition_expr: replaced whole.
    @dg.asset(
        key_prefix="raw",
        partitions_def=DAYS,
        metadata={
            "dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn("code", "str", description="The lookup's code.")]
            )
        },
    )
    def lookup() -> pl.DataFrame:
        return pl.DataFrame({"code": [label, label.upper()], "weight": [1.5, 2.5]})

    return events, lookup


def materialize(database: Path, assets, partition_key=None, tags=None, **kwargs):
    return dg.materialize(
        assets,
        resources={"io_manager": WarehouseIOManager(database=str(database))},
        partition_key=partition_key,
        tags=tags,
        **kwargs,
    )


def range_tags(first: str, last: str) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }


def rows(database: Path, query: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(query).fetchall()


def per_day(database: Path) -> dict[tuple[date, str], int]:
    return {
        (day, label): count
        for day, label, count in rows(
            database,
            "select event_date::date, label, count(*) from raw.events group by all order by all",
        )
    }


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "new_folder" / "warehouse.duckdb"


def test_a_partition_run_replaces_its_days_and_keeps_the_others(database):
    first = materialize(
        database, list(build_assets("a")), tags=range_tags("2026-03-01", "2026-03-04")
    )
    assert first.success
    second = materialize(
        database, list(build_assets("b", rows_per_day=5)), partition_key="2026-03-02"
    )
    assert second.success

    expected = {(date(2026, 3, d), "a"): 3 for d in (1, 3, 4)} | {(date(2026, 3, 2), "b"): 5}
    assert per_day(database) == expected


def test_an_asset_without_partition_expr_is_replaced_whole(database):
    assert materialize(database, list(build_assets("a")), partition_key="2026-03-01").success
    assert materialize(database, list(build_assets("b")), partition_key="2026-03-05").success
    assert rows(database, "select code, weight from raw.lookup order by code") == [
        ("B", 2.5),
        ("b", 1.5),
    ]


def test_metadata_names_the_table_and_its_sql_types(database):
    result = materialize(database, list(build_assets("a")), partition_key="2026-03-01")
    by_asset = {
        event.asset_key.to_user_string(): event.materialization.metadata
        for event in result.get_asset_materialization_events()
    }
    assert by_asset["raw/events"]["dagster/table_name"].value == "raw.events"
    columns = by_asset["raw/events"]["dagster/column_schema"].value.columns
    assert [(c.name, c.type) for c in columns] == [
        ("event_id", "BIGINT"),
        ("event_date", "TIMESTAMP"),
        ("label", "VARCHAR"),
    ]
    lookup = by_asset["raw/lookup"]["dagster/column_schema"].value.columns
    assert [(c.name, c.type, c.description) for c in lookup] == [
        ("code", "VARCHAR", "The lookup's code."),
        ("weight", "DOUBLE", None),
    ]
    # No machine path in what the UI shows as the table's name.
    assert str(database) not in str(by_asset["raw/events"])


def test_rows_outside_the_partition_fail_the_output_and_write_nothing(database):
    assert materialize(database, list(build_assets("a")), partition_key="2026-03-01").success
    before = per_day(database)
    stray = day_rows(date(2026, 3, 7), 1, "stray")
    result = materialize(
        database,
        list(build_assets("b", extra_row=stray)),
        partition_key="2026-03-01",
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    assert "1 rows for raw.events have event_date outside the run's partitions" in (
        failure.step_failure_data.error.to_string()
    )
    assert per_day(database) == before


def test_a_write_that_fails_midway_leaves_the_table_as_it_was(database):
    assert materialize(
        database, list(build_assets("a")), tags=range_tags("2026-03-01", "2026-03-03")
    ).success
    before = per_day(database)

    @dg.asset(
        key_prefix="raw",
        partitions_def=DAYS,
        metadata={"partition_expr": "event_date"},
    )
    def events(context: dg.AssetExecutionContext) -> FrameBatches:
        def batches():
            yield day_rows(date(2026, 3, 1), 4, "b")
            raise RuntimeError("the source went away after the first day")

        return FrameBatches(batches=batches(), schema=SCHEMA)

    result = materialize(
        database, [events], tags=range_tags("2026-03-01", "2026-03-03"), raise_on_error=False
    )
    assert not result.success
    assert per_day(database) == before


def test_a_raw_asset_loads_as_a_polars_input_with_selected_columns(database):
    events, lookup = build_assets("a")
    seen: dict[str, pl.DataFrame] = {}

    @dg.asset(
        key_prefix="raw",
        partitions_def=DAYS,
        ins={
            "events": dg.AssetIn(key=events.key, metadata={"columns": ["event_id", "label"]}),
            "lookup": dg.AssetIn(key=lookup.key),
        },
    )
    def reader(events: pl.DataFrame, lookup: pl.DataFrame) -> None:
        seen["events"], seen["lookup"] = events, lookup

    assert materialize(
        database, [events, lookup], tags=range_tags("2026-03-01", "2026-03-02")
    ).success
    result = dg.materialize(
        [reader, events, lookup],
        selection=[reader.key],
        resources={"io_manager": WarehouseIOManager(database=str(database))},
        partition_key="2026-03-02",
    )
    assert result.success
    # The upstream with a partition_expr gives the rows of the partition only.
    expected = day_rows(date(2026, 3, 2), 3, "a").select("event_id", "label")
    assert seen["events"].sort("event_id").equals(expected)
    assert sorted(seen["lookup"]["code"].to_list()) == ["A", "a"]


def test_an_input_whose_table_was_never_written_names_it(database, tmp_path):
    events, lookup = build_assets("a")

    @dg.asset(key_prefix="raw", ins={"lookup": dg.AssetIn(key=lookup.key)})
    def reader(lookup: pl.DataFrame) -> None:
        return None

    result = dg.materialize(
        [reader, lookup],
        selection=[reader.key],
        resources={"io_manager": WarehouseIOManager(database=str(database))},
        raise_on_error=False,
    )
    assert not result.success
    assert "the table raw.lookup is not in the warehouse" in str(result.all_events)
