"""The job that rebuilds the warehouse, and the run config every launcher builds the same way."""

from __future__ import annotations

from datetime import date
from typing import Any

import dagster as dg

SALES_ANALYTICS_JOB = "sales_analytics_job"
DBT_OP = "sales_analytics_dbt_assets"
NIGHTLY_JOB = "nightly_job"

# Partitioned by day (its partitioned assets are): a run targets one day or a range of days and
# materializes the unpartitioned assets (customers, products, staging, dimensions) whole.
sales_analytics_job = dg.define_asset_job(
    SALES_ANALYTICS_JOB,
    selection=dg.AssetSelection.all(),
    description=(
        "Raw customers and products, the run's days of raw transactions, then dbt build (models"
        " and tests; fct_transactions incremental over the run's days)."
    ),
)

# What a night adds: the catalog (it prices the day's transactions), one day of transactions and
# everything downstream. Customers are not regenerated: they do not change from day to day, and
# at scale (millions) they would cost more than the day itself.
nightly_job = dg.define_asset_job(
    NIGHTLY_JOB,
    selection=dg.AssetSelection.assets(
        dg.AssetKey(["raw", "products"]), dg.AssetKey(["raw", "transactions"])
    ).downstream(),
    description=(
        "Raw products, one day of raw transactions, and everything downstream: staging,"
        " dimensions rebuilt, fct_transactions incremental, their checks."
    ),
)


def warehouse_run_config(
    *,
    as_of: date | None = None,
    customers: int | None = None,
    transactions: int | None = None,
    days: int | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """Run config for the job; options left as None keep the assets' defaults. `transactions`
    every `days` days is the daily volume (so `days` days of history hold `transactions`)."""
    as_of_date = as_of.isoformat() if as_of else None
    ops = {
        "raw__customers": {"seed": seed, "as_of_date": as_of_date, "count": customers},
        "raw__transactions": {"seed": seed, "count": transactions, "days": days},
        DBT_OP: {"as_of_date": as_of_date},
    }
    return {
        "ops": {
            op: {"config": {key: value for key, value in config.items() if value is not None}}
            for op, config in ops.items()
        }
    }


def nightly_run_config(*, as_of: date, transactions_per_day: int | None = None) -> dict[str, Any]:
    """Run config for the nightly job: the as-of date, and the daily volume when it is set."""
    volume = {"count": transactions_per_day, "days": 1} if transactions_per_day else {}
    return {
        "ops": {
            "raw__transactions": {"config": volume},
            DBT_OP: {"config": {"as_of_date": as_of.isoformat()}},
        }
    }
