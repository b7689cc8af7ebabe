"""The job that rebuilds the warehouse, and the run config every launcher builds the same way."""

from __future__ import annotations

from datetime import date
from typing import Any

import dagster as dg

SALES_ANALYTICS_JOB = "sales_analytics_job"
DBT_OP = "sales_analytics_dbt_assets"

sales_analytics_job = dg.define_asset_job(
    SALES_ANALYTICS_JOB,
    selection=dg.AssetSelection.all(),
    description="Raw customers, products and transactions, then dbt build (models and tests).",
)


def warehouse_run_config(
    *,
    as_of: date | None = None,
    customers: int | None = None,
    transactions: int | None = None,
    days: int | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """Run config for the job; options left as None keep the assets' defaults."""
    shared = {"seed": seed, "as_of_date": as_of.isoformat() if as_of else None}
    ops = {
        "raw__customers": {**shared, "count": customers},
        "raw__transactions": {**shared, "count": transactions, "days": days},
        DBT_OP: {"as_of_date": shared["as_of_date"]},
    }
    return {
        "ops": {
            op: {"config": {key: value for key, value in config.items() if value is not None}}
            for op, config in ops.items()
        }
    }
