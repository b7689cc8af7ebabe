"""How each dbt node appears in Dagster: group by layer, owners and freshness of the marts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtProject

LAYER_GROUPS = ("staging", "marts")
DEFAULT_OWNERS = ["team:analytics-engineering"]


def layer_group(fqn: list[str]) -> str | None:
    """The model's folder under models/ (staging, marts) is its Dagster group."""
    return next((part for part in fqn[1:-1] if part in LAYER_GROUPS), None)


class SalesDbtTranslator(DagsterDbtTranslator):
    """Models grouped by layer; owners from the model's `meta.dagster.owners` (dbt_project.yml
    or its YAML) else the analytics team; the marts fail their freshness policy when not rebuilt
    within `freshness` (the same threshold as `dbt source freshness` on the raw sources)."""

    def __init__(self, freshness: timedelta):
        super().__init__()
        self.freshness = freshness

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] != "model":
            return spec
        group = layer_group(props.get("fqn", [])) or spec.group_name
        spec = spec.replace_attributes(
            group_name=group,
            owners=spec.owners or DEFAULT_OWNERS,
            metadata={
                **spec.metadata,
                # A table's name in the warehouse, not the file that holds it.
                "dagster/table_name": f"{props['schema']}.{props['alias']}",
            },
        ).merge_attributes(kinds={"duckdb"})
        if group == "marts":
            spec = spec.replace_attributes(
                freshness_policy=dg.FreshnessPolicy.time_window(fail_window=self.freshness)
            )
        return spec
