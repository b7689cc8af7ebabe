"""The jobs: the whole graph, and what a night adds. Both are partitioned by day, as their assets
are: a run targets one day or a range of days."""

from __future__ import annotations

from functools import cache
from typing import Any

import dagster as dg

from sales_analytics.defs.raw.config import TRANSACTIONS_OP

SALES_ANALYTICS_JOB = "sales_analytics_job"
NIGHTLY_JOB = "nightly_job"


def nightly_config(transactions_per_day: int | None) -> dict[str, Any] | None:
    """The nightly volume, when SALES_ANALYTICS_TRANSACTIONS_PER_DAY sets one."""
    if transactions_per_day is None:
        return None
    return {"ops": {TRANSACTIONS_OP: {"config": {"count": transactions_per_day, "days": 1}}}}


@cache
def build_jobs(transactions_per_day: int | None) -> tuple[Any, Any]:
    sales_analytics_job = dg.define_asset_job(
        SALES_ANALYTICS_JOB,
        selection=dg.AssetSelection.all(),
        description=(
            "Everything for the run's days: customers and products rebuilt, the days' raw"
            " transactions, dbt build (fct_transactions for those days), BI."
        ),
    )
    # The catalog (it prices the day's transactions), the day's transactions and everything
    # downstream. Customers are not regenerated: they do not change from day to day, and at scale
    # (millions) they would cost more than the day itself.
    nightly_job = dg.define_asset_job(
        NIGHTLY_JOB,
        selection=dg.AssetSelection.assets(
            dg.AssetKey(["raw", "products"]), dg.AssetKey(["raw", "transactions"])
        ).downstream(),
        config=nightly_config(transactions_per_day),
        description=(
            "Raw products, the day's raw transactions and everything downstream: staging,"
            " dimensions rebuilt, fct_transactions for the day, BI, their checks."
        ),
    )
    return sales_analytics_job, nightly_job
