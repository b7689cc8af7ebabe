"""Raw-layer data rules as asset checks: one multi-asset check per raw table.

The rules (core/validation.py) run in DuckDB against the warehouse file right after the raw asset,
in every run that writes it. Rules whose failure would corrupt the marts (keys, references, money
arithmetic) are blocking ERROR checks, so the dbt models do not run on bad raw data in the same
run; the rest warn. What a rule compares with (the requested volumes, the days written, the as-of
date) comes from the run itself: its partition window, its run config and its tags.
"""

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

import dagster as dg

from sales_analytics.core.days import DayWindow, as_of_date
from sales_analytics.core.generate import range_volume
from sales_analytics.core.validation import (
    RULES_BY_TABLE,
    TABLES,
    Expectations,
    Rule,
    Violations,
    expectations_for,
    raw_relations,
)
from sales_analytics.defs.partitions import AS_OF_TAG, daily_partitions
from sales_analytics.defs.raw.config import customers_config, transactions_config
from sales_analytics.defs.resources.warehouse import Warehouse

RAW_KEYS = {table: dg.AssetKey(["raw", table]) for table in TABLES}
# The tags Dagster puts on a run of one partition, or of a range of partitions.
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def window_of_run(
    tags: Mapping[str, str], partitions_def: dg.TimeWindowPartitionsDefinition
) -> DayWindow:
    """The days of a run from its partition tags (one partition, or a range)."""
    first = tags.get(RANGE_START_TAG) or tags.get(PARTITION_TAG)
    last = tags.get(RANGE_END_TAG) or tags.get(PARTITION_TAG)
    if first is None or last is None:
        raise dg.Failure(
            "the raw checks run in a run of the daily partitions, and this run has none: "
            "launch them with a partition or a range of partitions"
        )
    start = partitions_def.time_window_for_partition_key(first).start
    end = partitions_def.time_window_for_partition_key(last).end
    return DayWindow(start.date(), end.date())


def run_expectations(
    run: dg.DagsterRun, partitions_def: dg.DailyPartitionsDefinition, history_start: date | None
) -> Expectations:
    """What the run asked for: the customers and transactions its config requested, its days,
    its as-of date; `history_start` is the configured start of the history (None: none)."""
    window = window_of_run(run.tags, partitions_def)
    customers = customers_config(run.run_config)
    transactions = transactions_config(run.run_config)
    now = datetime.now(ZoneInfo(partitions_def.timezone)).replace(tzinfo=None)
    return expectations_for(
        now=now,
        customers_as_of=as_of_date(window, run.tags.get(AS_OF_TAG)),
        history_start=history_start,
        written_days=(window.start, window.end),
        customers_requested=customers.count,
        transactions_requested=range_volume(
            window.start, window.end, transactions.count, transactions.days
        ),
    )


def check_severity(rule: Rule) -> dg.AssetCheckSeverity:
    return dg.AssetCheckSeverity.ERROR if rule.blocking else dg.AssetCheckSeverity.WARN


def check_result(rule: Rule, violations: Violations) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=RAW_KEYS[rule.table],
        check_name=rule.name,
        passed=violations.passed,
        severity=check_severity(rule),
        metadata={
            "offending_rows": dg.MetadataValue.int(violations.offending_rows),
            "offending_keys": dg.MetadataValue.json(list(violations.offending_keys)),
            **{name: dg.MetadataValue.int(value) for name, value in violations.details.items()},
        },
    )


def check_spec(rule: Rule) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        rule.name,
        asset=RAW_KEYS[rule.table],
        description=rule.description,
        blocking=rule.blocking,
        additional_deps=[RAW_KEYS[table] for table in rule.references],
    )


def build_raw_table_checks(
    table: str, partitions_def: dg.DailyPartitionsDefinition, history_start: date | None
) -> dg.AssetChecksDefinition:
    """One op evaluates every rule of `table` on one read-only connection; each rule is its own
    check in the UI and can be run alone."""
    rules = RULES_BY_TABLE[table]

    @dg.multi_asset_check(
        name=f"raw_{table}_checks",
        specs=[check_spec(rule) for rule in rules],
        can_subset=True,
        description=f"Data rules on raw.{table}, evaluated in DuckDB.",
    )
    def raw_table_checks(
        context: dg.AssetCheckExecutionContext, warehouse: Warehouse
    ) -> Iterator[dg.AssetCheckResult]:
        selected = {key.name for key in context.selected_asset_check_keys}
        expectations = run_expectations(context.run, partitions_def, history_start)
        relations = raw_relations()
        with warehouse.connect() as connection:
            for rule in rules:
                if rule.name in selected:
                    yield check_result(rule, rule.evaluate(connection, relations, expectations))

    return raw_table_checks


@cache
def build_raw_checks(
    first_day: date, timezone: str, history_start: date | None
) -> list[dg.AssetChecksDefinition]:
    """Checks on the partitions from `first_day`. Transactions dated before `history_start`
    fail a rule only when a start is configured: the default history is the 90 days before
    the day the definitions load, so it moves on every day while the warehouse keeps the days
    it already holds, which are no error."""
    partitions_def = daily_partitions(first_day, timezone)
    return [build_raw_table_checks(table, partitions_def, history_start) for table in TABLES]
