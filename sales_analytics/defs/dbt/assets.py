"""The dbt project's models as assets downstream of the raw assets; its tests as asset checks."""

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from sales_analytics.defs.partitions import DayWindow, run_window
from sales_analytics.defs.dbt.project import dbt_project
from sales_analytics.defs.resources.calendar import RunCalendar
from sales_analytics.defs.resources.warehouse import Warehouse, relation_metadata

LAYER_GROUPS = ("staging", "marts")
MATERIALIZATION = "dagster-dbt/materialization_type"


class DbtBuildConfig(dg.Config):
    as_of_date: str | None = None
    """Date customer_status is measured from (YYYY-MM-DD); default today in the schedule's zone."""


def dbt_build_args(as_of: date, window: DayWindow | None = None) -> list[str]:
    """`dbt build` with the as-of date and, for a partitioned run, its days: incremental models
    replace those days and the data tests on transactions look at those days only."""
    dbt_vars = {"as_of_date": as_of.isoformat(), **(window.dbt_vars() if window else {})}
    return ["build", "--vars", json.dumps(dbt_vars)]


def layer_group(fqn: list[str]) -> str | None:
    """The model's folder under models/ (staging, marts) is its Dagster group."""
    return next((part for part in fqn[1:-1] if part in LAYER_GROUPS), None)


def with_relation_metadata(
    events: Iterable[Any], manifest: Mapping[str, Any], connection: duckdb.DuckDBPyConnection
) -> Iterator[Any]:
    """The events, with row count and column schema added to each model's Output."""
    for event in events:
        unique_id = event.metadata.get("unique_id") if isinstance(event, dg.Output) else None
        node = manifest["nodes"].get(unique_id.value) if unique_id is not None else None
        if node is None:
            yield event
        else:
            yield event.with_metadata(
                {**event.metadata, **relation_metadata(connection, node["schema"], node["alias"])}
            )


class SalesDbtTranslator(DagsterDbtTranslator):
    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        group = layer_group(props.get("fqn", []))
        if props["resource_type"] != "model" or group is None:
            return spec
        return spec.replace_attributes(
            group_name=group,
            owners=["team:analytics-engineering"],
        ).merge_attributes(kinds={"duckdb"})


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=SalesDbtTranslator(),
    # Incremental models get daily partitions at load time (with_daily_models); a backfill of
    # any range is then one run and one `dbt build` over its days.
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def sales_analytics_dbt_assets(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    calendar: RunCalendar,
    warehouse: Warehouse,
    config: DbtBuildConfig,
):
    """`dbt build` of the step's models and tests. In a partitioned run dbt gets the run's days:
    incremental models replace those days, and the tests on transactions look at them only."""
    args = dbt_build_args(calendar.as_of(config.as_of_date), run_window(context))
    # dbt-duckdb fails at once on a lock; wait a bounded time and explain instead.
    warehouse.wait_until_writable()
    invocation = dbt.cli(args, context=context)
    # dbt holds the DuckDB file until it exits, so sizes are read once the build is over.
    events = list(invocation.stream())
    with warehouse.connect() as connection:
        yield from with_relation_metadata(events, invocation.manifest, connection)


def with_daily_models(
    assets_def: dg.AssetsDefinition, partitions_def: dg.PartitionsDefinition
) -> dg.AssetsDefinition:
    """The dbt assets with the incremental models partitioned by `partitions_def` and every other
    model unpartitioned (rebuilt whole).

    One @dbt_assets holds both: Dagster lets a subsettable multi-asset (as @dbt_assets are) mix
    partitioned and unpartitioned assets, and a partitioned run materializes the partitioned ones
    for its days and the others whole. Two @dbt_assets split by partitioning would start dbt
    twice in every run (seen here: +3 to 4 s of a nightly run).
    """
    return assets_def.map_asset_specs(
        lambda spec: (
            spec.replace_attributes(partitions_def=partitions_def)
            if spec.metadata.get(MATERIALIZATION) == "incremental"
            else spec
        )
    )
