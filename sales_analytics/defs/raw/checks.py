"""The project's Python asset checks: raw-layer data rules, and freshness of the marts.

The raw rules (validation.py) run as one multi-asset check per raw table, in DuckDB against the
warehouse file. Rules whose failure would corrupt the marts (keys, references, money arithmetic)
are blocking ERROR checks, so the dbt models do not run on bad raw data in the same run; the rest
warn.
"""

import warnings
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from sales_analytics.defs.raw.assets import AS_OF_DATE, REQUESTED_COUNT, WINDOW_END, WINDOW_START
from sales_analytics.defs.resources.calendar import RunCalendar
from sales_analytics.defs.resources.warehouse import Warehouse
from sales_analytics.core.validation import (
    RULES_BY_TABLE,
    TABLES,
    Expectations,
    Rule,
    Violations,
    expectations_for,
    raw_relations,
)

RAW_KEYS = {table: dg.AssetKey(["raw", table]) for table in TABLES}


def _latest_metadata(instance: dg.DagsterInstance, key: dg.AssetKey) -> dict[str, object]:
    event = instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return {}
    return {name: value.value for name, value in event.asset_materialization.metadata.items()}


def _date(metadata: dict[str, object], name: str) -> date | None:
    value = metadata.get(name)
    return date.fromisoformat(value) if isinstance(value, str) else None


def run_expectations(
    instance: dg.DagsterInstance, calendar: RunCalendar, history_start: date | None
) -> Expectations:
    """What the latest materializations of the raw assets asked for (counts, the customers'
    as-of date, the days of the latest transactions write), with today where customers did not
    record their as-of date; `history_start` is the first daily partition of transactions."""
    now = datetime.now(ZoneInfo(calendar.timezone)).replace(tzinfo=None)
    customers = _latest_metadata(instance, RAW_KEYS["customers"])
    transactions = _latest_metadata(instance, RAW_KEYS["transactions"])
    written_from, written_before = (
        _date(transactions, WINDOW_START),
        _date(transactions, WINDOW_END),
    )
    return expectations_for(
        now=now,
        customers_as_of=_date(customers, AS_OF_DATE) or now.date(),
        history_start=history_start,
        written_days=(written_from, written_before) if written_from and written_before else None,
        customers_requested=_int_or_none(customers.get(REQUESTED_COUNT)),
        transactions_requested=_int_or_none(transactions.get(REQUESTED_COUNT)),
    )


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) else None


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


def build_raw_table_checks(table: str, history_start: date | None) -> dg.AssetChecksDefinition:
    """One op evaluates every rule of `table` on one read-only connection; each rule is its own
    check in the UI and can be run alone. `history_start` is the first daily partition of
    transactions (None: any date)."""
    rules = RULES_BY_TABLE[table]

    @dg.multi_asset_check(
        name=f"raw_{table}_checks",
        specs=[check_spec(rule) for rule in rules],
        can_subset=True,
        description=f"Data rules on raw.{table}, evaluated in DuckDB.",
    )
    def raw_table_checks(
        context: dg.AssetCheckExecutionContext, warehouse: Warehouse, calendar: RunCalendar
    ) -> Iterator[dg.AssetCheckResult]:
        selected = {key.name for key in context.selected_asset_check_keys}
        expectations = run_expectations(context.instance, calendar, history_start)
        relations = raw_relations()
        with warehouse.connect() as connection:
            for rule in rules:
                if rule.name in selected:
                    yield check_result(rule, rule.evaluate(connection, relations, expectations))

    return raw_table_checks


def build_raw_checks(history_start: date | None) -> list[dg.AssetChecksDefinition]:
    return [build_raw_table_checks(table, history_start) for table in TABLES]


def mart_keys(dbt_assets: dg.AssetsDefinition) -> list[dg.AssetKey]:
    return sorted(spec.key for spec in dbt_assets.specs if spec.group_name == "marts")


def build_freshness_checks(
    keys: Sequence[dg.AssetKey], max_age: timedelta
) -> Sequence[dg.AssetChecksDefinition]:
    """A `freshness_check` per mart that fails (ERROR, so it shows red) when the mart's last
    materialization is older than `max_age`. It runs after the marts in every warehouse run, and
    on its own through the freshness sensor once `max_age` has passed without one."""
    # Dagster 1.13 marks these checks superseded by FreshnessPolicy, which only the daemon
    # evaluates: it yields no check result that a run summary, an alert or a test can read.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=dg.SupersessionWarning)
        return dg.build_last_update_freshness_checks(
            assets=list(keys),
            lower_bound_delta=max_age,
            severity=dg.AssetCheckSeverity.ERROR,
        )
