"""The same seed, volumes and as-of date built by `sales-analytics run` on DuckDB and on Spark
give the same marts, row for row and to the cent, and the same files for BI readers.

The expected side is DuckDB's warehouse file; Spark's marts are read straight from the Parquet
files Spark wrote in the lake (not through the project's own lake views), so the comparison does
not trust the code under test to read them."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from sales_analytics.core.settings import PROJECT_ROOT
from sales_analytics_tests.spark.conftest import EngineBuild

MARTS = ("dim_customers", "dim_products", "fct_transactions")
DBT_DIR = PROJECT_ROOT / "sales_analytics_dbt"


def spark_mart(lake: Path, table: str) -> str:
    """A DuckDB expression over the Parquet files of Spark's managed table marts.<table>."""
    folder = lake / "warehouse" / "marts.db" / table
    files = [path for path in folder.rglob("*.parquet") if "_temporary" not in path.parts]
    assert files, f"Spark wrote no Parquet files for marts.{table} under {folder}"
    return f"read_parquet('{folder}/**/*.parquet', hive_partitioning = true)"


def columns_of(connection: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    return {
        name: kind
        for name, kind, *_ in connection.execute(f"describe select * from {relation}").fetchall()
    }


def differing_rows(
    connection: duckdb.DuckDBPyConnection, left: str, right: str, columns: list[str]
) -> int:
    selection = ", ".join(f'"{name}"' for name in columns)
    (count,) = connection.execute(
        f"select count(*) from (select {selection} from {left} except all"
        f" select {selection} from {right})"
    ).fetchone()
    return count


@pytest.fixture(scope="module")
def builds(engine_builds: dict[str, EngineBuild]) -> dict[str, EngineBuild]:
    for engine, build in engine_builds.items():
        assert build.returncode == 0, f"{engine} run failed:\n{build.output[-4000:]}"
        assert "Run: succeeded" in build.output, build.output[-4000:]
    return engine_builds


@pytest.mark.parametrize("table", MARTS)
def test_marts_equal_row_for_row_and_to_the_cent(builds, table):
    duckdb_build, spark_build = builds["duckdb"], builds["spark"]
    with duckdb.connect() as connection:
        connection.execute(f"attach '{duckdb_build.warehouse}' as expected (read_only)")
        expected = f"expected.marts.{table}"
        actual = spark_mart(spark_build.lake, table)
        expected_columns = columns_of(connection, expected)
        actual_columns = columns_of(connection, actual)
        # The contracts hold on both engines: the same names and the same types, read back.
        assert actual_columns == expected_columns
        names = list(expected_columns)
        (rows,) = connection.execute(f"select count(*) from {expected}").fetchone()
        assert rows > 0
        assert connection.execute(f"select count(*) from {actual}").fetchone() == (rows,)
        assert differing_rows(connection, expected, actual, names) == 0
        assert differing_rows(connection, actual, expected, names) == 0


def test_money_totals_agree_to_the_cent_with_the_raw_rows(builds):
    """Money recomputed from each engine's raw rows (not from the marts) matches both marts."""
    duckdb_build, spark_build = builds["duckdb"], builds["spark"]
    raw_files = f"'{spark_build.lake}/raw/transactions/*/*.parquet'"
    with duckdb.connect() as connection:
        connection.execute(f"attach '{duckdb_build.warehouse}' as expected (read_only)")
        from_raw = connection.execute(
            "select count(*), sum(cast(total_amount as decimal(18, 2)))"
            " from expected.raw.transactions"
        ).fetchone()
        from_lake_raw = connection.execute(
            f"select count(*), sum(cast(total_amount as decimal(18, 2))) from {raw_files}"
        ).fetchone()
        assert from_lake_raw == from_raw
        for marts in ("expected.marts.fct_transactions", spark_mart(spark_build.lake, MARTS[2])):
            assert (
                connection.execute(f"select count(*), sum(total_amount) from {marts}").fetchone()
                == from_raw
            )
        lifetime = "select sum(lifetime_value), sum(total_orders) from {}"
        assert (
            connection.execute(lifetime.format("expected.marts.dim_customers")).fetchone()
            == connection.execute(
                lifetime.format(spark_mart(spark_build.lake, "dim_customers"))
            ).fetchone()
            == (from_raw[1], from_raw[0])
        )


def test_bi_readers_get_the_same_serving_copy(builds):
    """BI publishing read the marts back from the lake: the serving copies are equal."""
    with duckdb.connect() as connection:
        connection.execute(f"attach '{builds['duckdb'].serving_copy}' as duck (read_only)")
        connection.execute(f"attach '{builds['spark'].serving_copy}' as spark (read_only)")
        for table in MARTS:
            duck, spark = f"duck.marts.{table}", f"spark.marts.{table}"
            assert columns_of(connection, duck) == columns_of(connection, spark)
            names = list(columns_of(connection, duck))
            assert differing_rows(connection, duck, spark, names) == 0
            assert differing_rows(connection, spark, duck, names) == 0
    dashboards = [build.folder / "dashboard" / "index.html" for build in builds.values()]
    assert all(path.stat().st_size > 0 for path in dashboards)


def test_raw_lands_as_one_parquet_file_per_day_folder(builds):
    spark_build = builds["spark"]
    days = sorted((spark_build.lake / "raw" / "transactions").iterdir())
    # --days 4 before the as-of date: four day folders, hive-style, one data file each.
    assert [day.name for day in days] == [
        f"transaction_day=2026-10-{day:02d}" for day in (28, 29, 30, 31)
    ]
    for day in days:
        assert [path.name for path in day.iterdir()] == ["part-0.parquet"]
    for table in ("customers", "products"):
        folder = spark_build.lake / "raw" / table
        assert [path.name for path in folder.iterdir()] == ["part-0.parquet"]
    # The Spark run wrote no DuckDB warehouse, and the DuckDB run no lake.
    assert not spark_build.warehouse.exists()
    assert not builds["duckdb"].lake.exists()


def test_spark_keeps_its_metastore_in_the_lake_and_its_own_manifest(builds):
    spark_build = builds["spark"]
    assert (spark_build.lake / "metastore_db").is_dir()
    # Nothing Spark or Derby writes landed in the folder the run was started from.
    assert list((spark_build.folder / "cwd").iterdir()) == []
    manifests = {
        "duckdb": DBT_DIR / "target" / "manifest.json",
        "spark": DBT_DIR / "target" / "spark" / "manifest.json",
    }
    for adapter, path in manifests.items():
        assert json.loads(path.read_text())["metadata"]["adapter_type"] == adapter


def summary_counts(output: str) -> dict[str, str]:
    """The "Rows per table" block of a run's summary: table -> count as printed."""
    lines = output[output.index("Rows per table:") :].splitlines()[1:]
    rows = [line.split() for line in lines if line.startswith("  ") and "." in line.split()[0]]
    return {table: count for table, count in rows}


def test_the_summary_counts_what_each_engine_holds(builds):
    """Spark's summary lists the lake's tables with DuckDB's counts; its staging views live
    only in Spark's catalog, so they are not listed (rather than shown as missing)."""
    on_duckdb = summary_counts(builds["duckdb"].output)
    on_spark = summary_counts(builds["spark"].output)
    with duckdb.connect(str(builds["duckdb"].warehouse), read_only=True) as connection:
        for table, count in on_duckdb.items():
            (expected,) = connection.execute(f"select count(*) from {table}").fetchone()
            assert count == f"{expected:,}", table
    assert on_spark == {t: c for t, c in on_duckdb.items() if not t.startswith("staging.")}
    assert "missing" not in builds["spark"].output
