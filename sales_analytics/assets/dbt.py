"""The dbt project's models as assets downstream of the raw assets; its tests as asset checks."""

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from sales_analytics.project import dbt_project
from sales_analytics.resources.calendar import RunCalendar
from sales_analytics.resources.warehouse import Warehouse, relation_metadata

LAYER_GROUPS = ("staging", "marts")


class DbtBuildConfig(dg.Config):
    as_of_date: str | None = None
    """Date customer_status is measured from (YYYY-MM-DD); default today in the schedule's zone."""


def dbt_build_args(as_of: date) -> list[str]:
    return ["build", "--vars", json.dumps({"as_of_date": as_of.isoformat()})]


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
)
def sales_analytics_dbt_assets(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    calendar: RunCalendar,
    warehouse: Warehouse,
    config: DbtBuildConfig,
):
    invocation = dbt.cli(dbt_build_args(calendar.as_of(config.as_of_date)), context=context)
    # dbt holds the DuckDB file until it exits, so sizes are read once the build is over.
    events = list(invocation.stream())
    with warehouse.connect() as connection:
        yield from with_relation_metadata(events, invocation.manifest, connection)
