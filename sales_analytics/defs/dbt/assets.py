"""The dbt project's models as daily-partitioned assets downstream of the raw assets; its data
tests as asset checks. One @dbt_assets, so a run of any range of days is one `dbt build`."""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, timedelta
from functools import cache
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from sales_analytics.core.days import DayWindow
from sales_analytics.defs.dbt.metadata import relation_metadata, rows_per_day
from sales_analytics.defs.dbt.project import DUCKDB_TARGET, prepare_manifest, run_target_path
from sales_analytics.defs.dbt.translator import SalesDbtTranslator
from sales_analytics.defs.partitions import daily_partitions, run_as_of, run_window
from sales_analytics.defs.resources.warehouse import Warehouse

# How the run's days and as-of date reach dbt (macros/run_window.sql reads them). Environment
# variables, not --vars: a change of --vars makes dbt parse the whole project again (measured
# here: 4.1 s against 2.7 s for a partial parse), and they change every night.
WINDOW_START_ENV = "SALES_ANALYTICS_RUN_WINDOW_START"
WINDOW_END_ENV = "SALES_ANALYTICS_RUN_WINDOW_END"
AS_OF_ENV = "SALES_ANALYTICS_RUN_AS_OF"
# The models' meta key this project reads (dbt config `meta: sales_analytics: ...`).
META_KEY = "sales_analytics"


def dbt_run_environment(window: DayWindow, as_of: date) -> dict[str, str]:
    return {
        WINDOW_START_ENV: window.start.isoformat(),
        WINDOW_END_ENV: window.end.isoformat(),
        AS_OF_ENV: as_of.isoformat(),
    }


@contextmanager
def environment(variables: Mapping[str, str]) -> Iterator[None]:
    """`variables` set in this process while the block runs (the dbt process started inside it
    inherits them), then restored."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def output_unique_id(event: Any) -> str | None:
    """The dbt unique id of a model's Output event, None for any other event."""
    if not isinstance(event, dg.Output):
        return None
    unique_id = event.metadata.get("unique_id")
    return unique_id.value if unique_id is not None else None


def daily_model_ids(manifest: Mapping[str, Any]) -> dict[str, str]:
    """The models that hold rows by day, replaced day by day (their config's
    `meta.sales_analytics.day_column` names the column that holds a row's day)."""
    daily = {}
    for unique_id, node in manifest["nodes"].items():
        meta = (node.get("config") or {}).get("meta") or {}
        day_column = (meta.get(META_KEY) or {}).get("day_column")
        if node["resource_type"] == "model" and day_column:
            daily[unique_id] = day_column
    return daily


# dbt's unit tests check model logic on fixed fixtures, not the night's data: they run in
# `make test` (a plain `dbt build` there) and would cost every run about 0.7 s (3 unit tests,
# measured at 10M) for an answer that cannot change between nights.
BUILD_ARGS = ("build", "--exclude-resource-type", "unit_test")


@cache
def build_dbt_assets(
    first_day: date, timezone: str, freshness_hours: float, dbt_target: str = DUCKDB_TARGET
) -> dg.AssetsDefinition:
    """Every model daily-partitioned from `first_day`; a range of days is one `dbt build` with
    the profile's output `dbt_target` (the engine's)."""
    days = daily_partitions(first_day, timezone)
    translator = SalesDbtTranslator(freshness=timedelta(hours=freshness_hours))

    @dbt_assets(
        name="dbt_build",
        manifest=prepare_manifest(dbt_target),
        dagster_dbt_translator=translator,
        partitions_def=days,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def dbt_build(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse):
        """`dbt build` of the selected models and their tests over the run's days: incremental
        models replace those days, the tests on transactions look at those days, the other
        models are rebuilt whole as of the run's as-of date."""
        window = run_window(context)
        as_of = run_as_of(context)
        context.log.info(f"dbt build: days {window.start} to {window.last_day}, as of {as_of}")
        # dbt-duckdb fails at once on a lock; wait a bounded time and explain instead.
        warehouse.wait_until_writable()
        with environment(dbt_run_environment(window, as_of)):
            invocation = dbt.cli(
                list(BUILD_ARGS), context=context, target_path=run_target_path(dbt_target)
            )
        # dbt holds the DuckDB file until it exits, so sizes are read once the build is over.
        events = list(invocation.stream())
        manifest = invocation.manifest
        daily = daily_model_ids(manifest)
        with warehouse.connect() as connection:
            for event in events:
                unique_id = output_unique_id(event)
                node = manifest["nodes"].get(unique_id) if unique_id else None
                if node is None:
                    yield event
                    continue
                day_column = daily.get(unique_id)
                if day_column:
                    # Each day's own rows on its partition; set before the output is handled.
                    key = translator.get_asset_spec(manifest, unique_id, None).key
                    for day, rows in rows_per_day(connection, node, day_column, window).items():
                        context.add_asset_metadata(
                            {"dagster/row_count": rows}, asset_key=key, partition_key=day
                        )
                # A daily model holds the run's days only: its table's rows are not the day's.
                extra = relation_metadata(connection, node, whole_table=day_column is None)
                yield event.with_metadata({**event.metadata, **extra})

    return dbt_build
