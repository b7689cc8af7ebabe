"""The assembled definitions: graph shape, groups, checks, schedule and run config."""

from datetime import date

import dagster as dg
import pytest

from sales_analytics.defs.dbt.assets import dbt_build_args, layer_group
from sales_analytics.definitions import defs
from sales_analytics.defs.automation.jobs import NIGHTLY_JOB, SALES_ANALYTICS_JOB, warehouse_run_config

RAW = ("customers", "products", "transactions")
CHAINS = [
    (["raw", "customers"], ["staging", "stg_customers"], ["marts", "dim_customers"]),
    (["raw", "products"], ["staging", "stg_products"], ["marts", "dim_products"]),
    (["raw", "transactions"], ["staging", "stg_transactions"], ["marts", "fct_transactions"]),
]


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SALES_ANALYTICS_TIMEZONE", "America/New_York")
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
        if key.asset_key.path[0] in ("staging", "marts") and key.name != "freshness_check"
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


def test_nightly_schedule_runs_at_two_in_the_configured_timezone(definitions):
    schedule = definitions.resolve_schedule_def("nightly_warehouse_rebuild")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "America/New_York"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.job_name == NIGHTLY_JOB


def test_run_config_leaves_unset_options_to_the_asset_defaults():
    config = warehouse_run_config(customers=2000, seed=7)
    assert config == {
        "ops": {
            "raw__customers": {"config": {"seed": 7, "count": 2000}},
            "raw__transactions": {"config": {"seed": 7}},
            "sales_analytics_dbt_assets": {"config": {}},
        }
    }


def test_dbt_build_args_pass_the_as_of_date_as_a_var():
    assert dbt_build_args(date(2026, 3, 31)) == ["build", "--vars", '{"as_of_date": "2026-03-31"}']


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
