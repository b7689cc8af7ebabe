"""The dbt step reaches a Spark server in another process (Spark Connect, started from the
pyspark installation on 127.0.0.1) through the profile's cluster output, as it would a cluster.

The server gets its own lake, holding only the raw files of the Spark engine build; the fact
table it builds there must equal the DuckDB engine's."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import duckdb

from sales_analytics.core.days import DayWindow
from sales_analytics.core.settings import Settings
from sales_analytics.defs.dbt.assets import dbt_run_environment, environment
from sales_analytics.defs.dbt.project import (
    SPARK_CONNECT_TARGET,
    dbt_resource,
    dbt_target,
    run_target_path,
)
from sales_analytics_tests.spark.conftest import AS_OF, ConnectServer, EngineBuild
from sales_analytics_tests.spark.test_engines_equal import (
    columns_of,
    differing_rows,
    spark_mart,
)

FACT = "fct_transactions"


def test_dbt_builds_the_marts_on_a_spark_connect_server(
    spark_connect_server: ConnectServer, engine_builds: dict[str, EngineBuild]
):
    spark_build, duckdb_build = engine_builds["spark"], engine_builds["duckdb"]
    assert spark_build.returncode == 0, spark_build.output[-4000:]
    lake = spark_connect_server.lake
    shutil.copytree(spark_build.lake / "raw", lake / "raw")
    settings = Settings.from_env(
        {
            "SALES_ANALYTICS_WAREHOUSE": "spark",
            "SALES_ANALYTICS_SPARK_REMOTE": spark_connect_server.url,
            "SALES_ANALYTICS_LAKE_PATH": str(lake),
        }
    )
    assert dbt_target(settings) == SPARK_CONNECT_TARGET
    spark_connect_server.wait_until_listening()
    try:
        # The engine build's days: the four before the as-of date.
        as_of = date.fromisoformat(AS_OF)
        window = DayWindow(as_of - timedelta(days=4), as_of)
        variables = {
            **dbt_run_environment(window, as_of),
            "SALES_ANALYTICS_SPARK_REMOTE": spark_connect_server.url,
            "SALES_ANALYTICS_LAKE_PATH": str(lake),
        }
        with environment(variables):
            # The fact table and what it is built from, models only: the whole project and its
            # tests ran on Spark in the engine build already, and each statement costs a round trip.
            invocation = dbt_resource(SPARK_CONNECT_TARGET).cli(
                ["run", "--select", f"+{FACT}"],
                target_path=run_target_path(SPARK_CONNECT_TARGET),
                raise_on_error=False,
            )
            invocation.wait()
        assert invocation.is_successful(), spark_connect_server.log.read_text()[-3000:]

        # The server, not the test's process, wrote the tables: into the lake it was started on.
        with duckdb.connect() as connection:
            connection.execute(f"attach '{duckdb_build.warehouse}' as expected (read_only)")
            expected, actual = f"expected.marts.{FACT}", spark_mart(lake, FACT)
            assert columns_of(connection, actual) == columns_of(connection, expected)
            names = list(columns_of(connection, expected))
            assert connection.execute(f"select count(*) from {actual}").fetchone()[0] > 0
            assert differing_rows(connection, expected, actual, names) == 0
            assert differing_rows(connection, actual, expected, names) == 0
        assert (lake / "metastore_db").is_dir()
    finally:
        # The session's other tests do not need it: its JVM's memory goes back now.
        spark_connect_server.stop()
