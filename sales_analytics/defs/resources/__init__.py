"""Resources of the project, configured from Settings."""

from __future__ import annotations

from typing import Any

import dagster as dg

from sales_analytics.core.settings import WEBHOOK_URL, Settings
from sales_analytics.defs.dbt.project import dbt_resource
from sales_analytics.defs.resources.bi import BiOutputs
from sales_analytics.defs.resources.calendar import RunCalendar
from sales_analytics.defs.resources.fakestore import FakeStoreResource
from sales_analytics.defs.resources.warehouse import Warehouse, WarehouseIOManager
from sales_analytics.defs.resources.webhook import WebhookResource


def build_resources(settings: Settings) -> dict[str, Any]:
    return {
        "io_manager": WarehouseIOManager(
            database=str(settings.duckdb_path), lock_timeout_seconds=settings.lock_timeout_seconds
        ),
        "warehouse": Warehouse(
            path=str(settings.duckdb_path), lock_timeout_seconds=settings.lock_timeout_seconds
        ),
        "dbt": dbt_resource(),
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
