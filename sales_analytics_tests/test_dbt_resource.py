"""The dbt resource skips two start-up costs through private hooks of dagster-dbt; these tests
fail when an upgrade renames or stops using them, instead of the cost coming back unseen."""

from __future__ import annotations

import inspect

import pytest
from dagster_dbt import DbtCliResource

from sales_analytics.defs.dbt.project import WarehouseDbtCliResource, dbt_resource

HOOKS = ("_cli_version", "_initialize_dbt_core_adapter")


@pytest.mark.parametrize("hook", HOOKS)
def test_dagster_dbt_still_has_the_hook_and_calls_it_from_cli(hook: str) -> None:
    assert hasattr(DbtCliResource, hook), f"dagster-dbt no longer defines {hook}"
    assert f"self.{hook}" in inspect.getsource(DbtCliResource.cli), (
        f"DbtCliResource.cli no longer uses {hook}: the override in defs/dbt/project.py is dead"
    )
    assert hook in vars(WarehouseDbtCliResource)


def test_a_dbt_command_runs_with_the_hooks_in_place() -> None:
    invocation = dbt_resource().cli(["parse", "--quiet"], target_path=None)
    invocation.wait()
    assert invocation.is_successful()
