"""The assembled definitions: graph shape, groups, checks, one partitions definition, schedule
and run config."""

from datetime import date

import dagster as dg
import pytest

from sales_analytics.cli.run import warehouse_run_config
from sales_analytics.core.days import DayWindow
from sales_analytics.core.settings import Settings
from sales_analytics.definitions import defs
from sales_analytics.defs.automation.jobs import NIGHTLY_JOB, SALES_ANALYTICS_JOB
from sales_analytics.defs.dbt.assets import dbt_run_environment
from sales_analytics.defs.dbt.translator import layer_group
from sales_analytics.defs.partitions import history_partitions

RAW = ("customers", "products", "transactions")
CHAINS = [
    (["raw", "customers"], ["staging", "stg_customers"], ["marts", "dim_customers"]),
    (["raw", "products"], ["staging", "stg_products"], ["marts", "dim_products"]),
    (["raw", "transactions"], ["staging", "stg_transactions"], ["marts", "fct_transactions"]),
]
TIMEZONE = "America/New_York"


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SALES_ANALYTICS_TIMEZONE", TIMEZONE)
        return defs()


@pytest.fixture(scope="module")
def asset_graph(definitions):
    return definitions.resolve_asset_graph()


def test_definitions_load_and_validate(definitions):
    dg.Definitions.validate_loadable(definitions)
    assert definitions.resolve_job_def(SALES_ANALYTICS_JOB) is not None


@pytest.mark.parametrize(("raw", "staging", "mart"), CHAINS)
def test_each_chain_runs_raw_to_staging_to_mart(asset_graph, raw, staging, mart):
    raw_key, staging_key, mart_key = map(dg.AssetKey, (raw, staging, mart))
    assert raw_key in asset_graph.get(staging_key).parent_keys
    assert staging_key in asset_graph.get(mart_key).parent_keys


def test_transactions_depend_on_customers_and_products(asset_graph):
    parents = asset_graph.get(dg.AssetKey(["raw", "transactions"])).parent_keys
    assert parents == {dg.AssetKey(["raw", "customers"]), dg.AssetKey(["raw", "products"])}


def test_fct_transactions_joins_all_three_staging_models(asset_graph):
    parents = asset_graph.get(dg.AssetKey(["marts", "fct_transactions"])).parent_keys
    assert parents == {dg.AssetKey(["staging", f"stg_{name}"]) for name in RAW}


def test_groups_follow_the_layers(asset_graph):
    for raw, staging, mart in CHAINS:
        assert asset_graph.get(dg.AssetKey(raw)).group_name == "raw"
        assert asset_graph.get(dg.AssetKey(staging)).group_name == "staging"
        assert asset_graph.get(dg.AssetKey(mart)).group_name == "marts"


def test_every_seed_test_is_an_asset_check_on_its_model(asset_graph):
    dbt_checks = [
        key.asset_key.to_user_string()
        for key in asset_graph.asset_check_keys
        if key.asset_key.path[0] in ("staging", "marts")
    ]
    assert {asset: dbt_checks.count(asset) for asset in dbt_checks} == {
        "staging/stg_products": 5,
        "staging/stg_customers": 4,
        "staging/stg_transactions": 10,
        "marts/dim_customers": 4,
        "marts/dim_products": 4,
        "marts/fct_transactions": 6,
    }


def test_dbt_models_carry_their_yaml_descriptions(asset_graph):
    description = asset_graph.get(dg.AssetKey(["marts", "dim_customers"])).description
    assert description.startswith("One row per customer")


def test_every_asset_is_partitioned_by_the_one_daily_definition_and_backfills_in_one_run(
    definitions,
):
    expected = history_partitions(Settings.from_env({"SALES_ANALYTICS_TIMEZONE": TIMEZONE}))
    assert isinstance(expected, dg.DailyPartitionsDefinition)
    assert expected.timezone == TIMEZONE

    specs = 0
    for assets_def in definitions.assets:
        # A range of days is one run of each definition (one dbt build for all the models).
        assert assets_def.backfill_policy == dg.BackfillPolicy.single_run(), (
            assets_def.node_def.name
        )
        for spec in assets_def.specs:
            assert spec.partitions_def == expected, spec.key.to_user_string()
            specs += 1
    graph = definitions.resolve_asset_graph()
    # Every asset of the graph was seen: none is defined outside the definitions' asset list.
    assert specs == len(graph.get_all_asset_keys())
    assert {graph.get(key).partitions_def for key in graph.get_all_asset_keys()} == {expected}


def test_nightly_schedule_runs_at_two_in_the_configured_timezone(definitions):
    schedule = definitions.resolve_schedule_def("nightly_warehouse_rebuild")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == TIMEZONE
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.job_name == NIGHTLY_JOB


def test_run_config_leaves_unset_options_to_the_asset_defaults():
    window = DayWindow(date(2026, 3, 1), date(2026, 3, 31))

    config = warehouse_run_config(window, customers=2000, seed=7)

    assert config["ops"] == {
        "raw__customers": {"config": {"seed": 7, "count": 2000}},
        "raw__transactions": {"config": {"seed": 7}},
    }
    # No as-of date in the config: a run's as-of date is its window's end (or its tag).
    assert "as_of_date" not in repr(config)


def test_run_config_spreads_a_total_over_the_window_or_uses_the_nightly_rate():
    window = DayWindow(date(2026, 3, 1), date(2026, 3, 31))

    total = warehouse_run_config(window, transactions=600, transactions_per_day=50)
    nightly = warehouse_run_config(window, transactions_per_day=50)

    assert total["ops"]["raw__transactions"]["config"] == {"count": 600, "days": 30}
    assert nightly["ops"]["raw__transactions"]["config"] == {"count": 50, "days": 1}


def test_the_run_window_and_as_of_date_reach_dbt_through_its_environment():
    window = DayWindow(date(2026, 3, 29), date(2026, 3, 31))

    assert dbt_run_environment(window, date(2026, 3, 31)) == {
        "SALES_ANALYTICS_RUN_WINDOW_START": "2026-03-29",
        "SALES_ANALYTICS_RUN_WINDOW_END": "2026-03-31",
        "SALES_ANALYTICS_RUN_AS_OF": "2026-03-31",
    }


@pytest.mark.parametrize(
    ("fqn", "group"),
    [
        (["sales_analytics", "staging", "stg_customers"], "staging"),
        (["sales_analytics", "marts", "dim_customers"], "marts"),
        (["sales_analytics", "other", "model"], None),
    ],
)
def test_layer_group_is_the_model_folder(fqn, group):
    assert layer_group(fqn) == group
