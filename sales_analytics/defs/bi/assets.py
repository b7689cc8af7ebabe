"""BI publishing downstream of the marts: the serving copy and Parquet files for Power BI, and the
HTML dashboard. They read the warehouse read-only and write only their own files.

Built at load time by build_bi_assets, with the run's partitions: a run's partition window is the
days it rebuilt, and the serving copy and Parquet files rewrite those days only.
"""

import inspect
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from sales_analytics.core.dashboard import build_dashboard, format_kpi
from sales_analytics.core.publish import (
    SERVING_STORAGE_VERSION,
    PublishOutcome,
    export_parquet,
    publish_serving_copy,
)
from sales_analytics.defs.automation.schedules import NIGHTLY_CRON
from sales_analytics.defs.partitions import run_window
from sales_analytics.defs.resources.bi import BiOutputs
from sales_analytics.defs.resources.calendar import RunCalendar
from sales_analytics.defs.resources.warehouse import Warehouse

OWNERS = ["team:analytics-engineering"]


def run_days(context: dg.AssetExecutionContext) -> tuple[date, date] | None:
    """The days the run rebuilt (its partition window, end excluded), None for a run without
    partitions (then everything is published)."""
    if not (context.has_partition_key or context.has_partition_key_range):
        return None
    window = run_window(context)
    return window.start, window.end


def next_nightly_run(now: datetime, timezone: str) -> datetime:
    """When the nightly schedule next fires after `now` (its cron is a daily "M H * * *")."""
    minute, hour, *rest = NIGHTLY_CRON.split()
    if rest != ["*", "*", "*"]:
        raise ValueError(f"expected a daily cron, got {NIGHTLY_CRON!r}")
    local = now.astimezone(ZoneInfo(timezone))
    fire_time = {"hour": int(hour), "minute": int(minute), "second": 0, "microsecond": 0}
    today = local.replace(**fire_time)
    return today if today > local else (local + timedelta(days=1)).replace(**fire_time)


def table_metadata(outcome: PublishOutcome) -> dict[str, dg.MetadataValue]:
    metadata: dict[str, dg.MetadataValue] = {}
    for table in outcome.tables:
        metadata[f"rows/{table.name}"] = dg.MetadataValue.int(table.row_count)
        metadata[f"columns/{table.name}"] = dg.MetadataValue.table_schema(
            dg.TableSchema(columns=[dg.TableColumn(name, kind) for name, kind in table.columns])
        )
    metadata["publish_seconds"] = dg.MetadataValue.float(round(outcome.seconds, 3))
    metadata["mode"] = dg.MetadataValue.text(outcome.mode)
    metadata["rewritten"] = dg.MetadataValue.json(list(outcome.rewritten))
    return metadata


def not_replaced_report(
    context: dg.AssetExecutionContext, outcome: PublishOutcome, calendar: RunCalendar
) -> dg.AssetObservation:
    """Log and record that some files were left as they were, why, and when the next try is."""
    retry_at = next_nightly_run(datetime.now(UTC), calendar.timezone)
    retry = (
        f"the next run of the nightly schedule ({retry_at.isoformat()}), or materialize "
        f"{context.asset_key.to_user_string()} again once the readers have disconnected"
    )
    for swap in outcome.not_replaced:
        context.log.warning(
            f"{swap.path} is in use and was NOT replaced after {swap.attempts} attempts: "
            f"{swap.in_use_reason}. Readers keep the previous complete copy; the new one was "
            f"discarded. It will be published by {retry}."
        )
    return dg.AssetObservation(
        asset_key=context.asset_key,
        metadata={
            "status": "in use: previous copy kept",
            "not_replaced": [str(swap.path) for swap in outcome.not_replaced],
            "reasons": [swap.in_use_reason or "" for swap in outcome.not_replaced],
            "replaced": [str(swap.path) for swap in outcome.swaps if swap.replaced],
            "retry": retry,
            "retry_at": dg.MetadataValue.timestamp(retry_at),
            **table_metadata(outcome),
        },
    )


def build_bi_assets(
    partitions_def: dg.PartitionsDefinition | None, mart_keys: Sequence[dg.AssetKey]
) -> list[dg.AssetsDefinition]:
    """The serving copy, the Parquet files and the dashboard, downstream of `mart_keys`, with the
    run's partitions so that a range of days is one run that publishes those days once."""
    tables = [key.path[-1] for key in mart_keys]
    step = {}
    if partitions_def is not None:
        # A range of days is one run that publishes them once, like the dbt build before it
        # (multi-assets: their backfill policy is stable API).
        step = {"partitions_def": partitions_def, "backfill_policy": dg.BackfillPolicy.single_run()}

    def bi_asset(name: str, kinds: set[str], *, skippable: bool = False):
        """One BI asset named bi/<name>; its description is the function's docstring."""

        def decorate(function):
            spec = dg.AssetSpec(
                key=["bi", name],
                deps=list(mart_keys),
                description=inspect.cleandoc(function.__doc__ or ""),
                group_name="bi",
                owners=OWNERS,
                kinds=kinds,
                skippable=skippable,
            )
            return dg.multi_asset(name=f"bi__{name}", specs=[spec], **step)(function)

        return decorate

    @bi_asset("serving_copy", {"duckdb"}, skippable=True)
    def serving_copy(
        context: dg.AssetExecutionContext,
        warehouse: Warehouse,
        bi: BiOutputs,
        calendar: RunCalendar,
    ) -> Iterator[dg.MaterializeResult | dg.AssetObservation]:
        """The marts in their own DuckDB file for Power BI (ODBC) and other readers, in a storage
        version DuckDB 1.4 opens, with the marts' column types. A run updates the previous copy
        with the days it rebuilt (and the dimensions whole) aside, then swaps it in atomically;
        readers that hold the old copy keep it. A read-write connection holding the copy defers
        the swap to the next run: the step still succeeds, and records an observation instead of
        a materialization."""
        with warehouse.connect() as source:
            outcome = publish_serving_copy(
                source,
                bi.serving_file,
                tables=tables,
                window=run_days(context),
                attempts=bi.swap_attempts,
                retry_wait_seconds=bi.swap_retry_seconds,
            )
        if not outcome.replaced:
            yield not_replaced_report(context, outcome, calendar)
            return
        context.log.info(
            f"published {bi.serving_file} in {outcome.seconds:.2f}s ({outcome.mode},"
            f" {len(outcome.rewritten)} days of facts rewritten)"
        )
        yield dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(bi.serving_file)),
                "storage_version": SERVING_STORAGE_VERSION,
                **table_metadata(outcome),
            }
        )

    @bi_asset("parquet_exports", {"parquet"}, skippable=True)
    def parquet_exports(
        context: dg.AssetExecutionContext,
        warehouse: Warehouse,
        bi: BiOutputs,
        calendar: RunCalendar,
    ) -> Iterator[dg.MaterializeResult | dg.AssetObservation]:
        """The marts as Parquet for Power BI's Parquet and Folder connectors, with the marts' column
        types: one file per dimension, and the fact table in monthly hive-style folders
        (fct_transactions/transaction_month=YYYY-MM-01/) of which a run rewrites the months its
        days fall in. Each file written aside and swapped in atomically."""
        with warehouse.connect() as source:
            outcome = export_parquet(
                source,
                bi.parquet_folder,
                tables=tables,
                window=run_days(context),
                attempts=bi.swap_attempts,
                retry_wait_seconds=bi.swap_retry_seconds,
            )
        if not outcome.replaced:
            yield not_replaced_report(context, outcome, calendar)
            return
        yield dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(bi.parquet_folder)),
                "files": [str(swap.path) for swap in outcome.swaps],
                **table_metadata(outcome),
            }
        )

    @bi_asset("dashboard", {"html"})
    def dashboard(warehouse: Warehouse, bi: BiOutputs) -> dg.MaterializeResult:
        """The three-page dashboard (Sales Overview, Customer Analysis, Product Performance) as one
        self-contained HTML file that opens from disk with no network, with working slicers."""
        with warehouse.connect() as source:
            outcome = build_dashboard(source, bi.dashboard_file)
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(outcome.path)),
                "url": dg.MetadataValue.url(outcome.path.resolve().as_uri()),
                "size_kb": dg.MetadataValue.float(round(outcome.size_bytes / 1024, 1)),
                "transactions": dg.MetadataValue.int(outcome.transactions),
                "build_seconds": dg.MetadataValue.float(round(outcome.seconds, 3)),
                **{
                    f"kpi/{key}": dg.MetadataValue.text(format_kpi(key, value))
                    for key, value in outcome.kpis.items()
                },
            }
        )

    return [serving_copy, parquet_exports, dashboard]
