"""Resources of the project, configured from Settings."""

from __future__ import annotations

import json
from typing import Any

import dagster as dg

from sales_analytics.core.lake import READABLE_MODEL_SCHEMAS
from sales_analytics.core.settings import WEBHOOK_URL, Settings
from sales_analytics.defs.dbt.project import dbt_resource, dbt_target, prepare_manifest
from sales_analytics.defs.resources.bi import BiOutputs
from sales_analytics.defs.resources.calendar import RunCalendar
from sales_analytics.defs.resources.fakestore import FakeStoreResource
from sales_analytics.defs.resources.lake import LakeIOManager, LakeWarehouse
from sales_analytics.defs.resources.warehouse import Warehouse, WarehouseIOManager
from sales_analytics.defs.resources.webhook import WebhookResource


def contracted_model_columns(target: str) -> dict[str, dict[str, list[str]]]:
    """schema -> model -> columns in the YAML's order, for the models other readers see whose
    contract lists every column (the marts): Spark stores partition columns last."""
    manifest = json.loads(prepare_manifest(target).read_text())
    columns: dict[str, dict[str, list[str]]] = {schema: {} for schema in READABLE_MODEL_SCHEMAS}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or node["schema"] not in columns:
            continue
        enforced = ((node.get("config") or {}).get("contract") or {}).get("enforced")
        columns[node["schema"]][node["alias"]] = list(node["columns"]) if enforced else []
    return columns


def storage_resources(settings: Settings) -> dict[str, Any]:
    """Where raw assets land and what the checks, dbt step and BI read: the DuckDB file, or on
    Spark the lake folder (swapped by engine, as hooli-data-eng-pipelines swaps its IO manager)."""
    if settings.on_spark:
        lake = str(settings.lake_path)
        return {
            "io_manager": LakeIOManager(lake_path=lake),
            "warehouse": LakeWarehouse(
                path=lake, model_columns=contracted_model_columns(dbt_target(settings))
            ),
        }
    return {
        "io_manager": WarehouseIOManager(
            database=str(settings.duckdb_path), lock_timeout_seconds=settings.lock_timeout_seconds
        ),
        "warehouse": Warehouse(
            path=str(settings.duckdb_path), lock_timeout_seconds=settings.lock_timeout_seconds
        ),
    }


def build_resources(settings: Settings) -> dict[str, Any]:
    return {
        **storage_resources(settings),
        "dbt": dbt_resource(dbt_target(settings)),
        "fakestore": FakeStoreResource(base_url=settings.products_url, offline=settings.offline),
        "calendar": RunCalendar(timezone=settings.timezone),
        "bi": BiOutputs(
            serving_path=str(settings.bi_path),
            parquet_dir=str(settings.parquet_dir),
            dashboard_path=str(settings.dashboard_path),
        ),
        # Through EnvVar, Dagster keeps the variable's name in its storage, never the secret URL.
        "webhook": (
            WebhookResource(url=dg.EnvVar(WEBHOOK_URL))
            if settings.webhook_configured
            else WebhookResource()
        ),
    }
