"""The marts' freshness checks and the sensor that evaluates them with nobody running anything:
fresh marts pass, and once the allowed age has passed without a new build the sensor launches the
checks again and they fail red (ERROR)."""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import pytest

from sales_analytics.definitions import defs

MARTS = [
    dg.AssetKey(["marts", name]) for name in ("dim_customers", "dim_products", "fct_transactions")
]
FRESHNESS_KEYS = {dg.AssetCheckKey(key, "freshness_check") for key in MARTS}
SENSOR = "marts_freshness_sensor"
# Small enough for a test to outwait.
MAX_AGE_SECONDS = 2


def test_each_mart_and_nothing_else_has_a_freshness_check(warehouse_path: Path) -> None:
    graph = defs().resolve_asset_graph()

    freshness = {key for key in graph.asset_check_keys if key.name == "freshness_check"}
    assert freshness == FRESHNESS_KEYS


def test_freshness_sensor_is_on_by_default(warehouse_path: Path) -> None:
    sensor = defs().resolve_sensor_def(SENSOR)

    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def _evaluate_sensor(
    definitions: dg.Definitions, instance: dg.DagsterInstance
) -> dg.RunRequest | dg.SkipReason:
    sensor = definitions.resolve_sensor_def(SENSOR)
    with dg.build_sensor_context(instance=instance, definitions=definitions) as context:
        result = sensor(context)
    return result


def _run_checks(
    definitions: dg.Definitions, instance: dg.DagsterInstance, keys: set[dg.AssetCheckKey]
) -> dict[dg.AssetKey, dg.AssetCheckEvaluation]:
    job = dg.define_asset_job("freshness_checks_only", selection=dg.AssetSelection.checks(*keys))
    merged = dg.Definitions.merge(definitions, dg.Definitions(jobs=[job]))
    result = merged.resolve_job_def("freshness_checks_only").execute_in_process(instance=instance)
    return {evaluation.asset_key: evaluation for evaluation in result.get_asset_check_evaluations()}


def test_stale_marts_turn_red_through_the_sensor(
    warehouse_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALES_ANALYTICS_FRESHNESS_HOURS", str(MAX_AGE_SECONDS / 3600))
    definitions = defs()
    instance = dg.DagsterInstance.ephemeral()
    for key in MARTS:
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key))

    first = _evaluate_sensor(definitions, instance)
    assert isinstance(first, dg.RunRequest)
    assert set(first.asset_check_keys) == FRESHNESS_KEYS
    fresh = _run_checks(definitions, instance, set(first.asset_check_keys))
    assert all(evaluation.passed for evaluation in fresh.values())

    assert isinstance(_evaluate_sensor(definitions, instance), dg.SkipReason)

    time.sleep(MAX_AGE_SECONDS + 0.5)
    overdue = _evaluate_sensor(definitions, instance)
    assert isinstance(overdue, dg.RunRequest)
    stale = _run_checks(definitions, instance, set(overdue.asset_check_keys))

    assert set(stale) == set(MARTS)
    for evaluation in stale.values():
        assert not evaluation.passed
        assert evaluation.severity == dg.AssetCheckSeverity.ERROR
        assert "overdue" in (evaluation.description or "")
