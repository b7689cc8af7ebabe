"""The benchmark's code path at a small size, so it cannot rot: every stage runs (make run and
make daily as a user types them), its numbers are sane, the floor runs dbt's compiled SQL, and
builds the same marts as the pipeline."""

from __future__ import annotations

import json
import os
from datetime import datetime
from zoneinfo import ZoneInfo

import duckdb
import pytest

from benchmarks import bench, floor
from benchmarks.render import find_chromium

# The dashboard's paint is measured where Chromium is installed (CI installs it).
STAGES = ["generation", "load", "dbt_build", "materialization", "daily"] + (
    ["dashboard"] if find_chromium() else []
)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> tuple:
    workdir = tmp_path_factory.mktemp("bench")
    as_of = datetime.now(ZoneInfo("UTC")).date()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SALES_ANALYTICS_TIMEZONE", "UTC")
        results = bench.bench_size(1000, workdir, as_of)
    return results, workdir / "warehouse-1000.duckdb", as_of, workdir


def test_every_stage_is_measured_with_its_floor(small_run) -> None:
    results, _, _, _ = small_run

    assert [row.stage for row in results] == STAGES
    for row in results:
        assert row.size == 1000
        assert row.seconds > 0
        assert row.peak_rss_mb > 50
    with_floor = {row.stage for row in results if row.floor_seconds}
    assert with_floor == {"dbt_build", "materialization", "daily"}
    for row in results:
        if row.floor_seconds:
            # seconds are rounded to the millisecond and the ratio to the hundredth.
            low = (row.seconds - 0.0005) / (row.floor_seconds + 0.0005) - 0.005
            high = (row.seconds + 0.0005) / (row.floor_seconds - 0.0005) + 0.005
            assert low <= row.ratio_to_floor <= high


def test_the_report_is_a_table_json_and_a_verdict(small_run, tmp_path) -> None:
    results, _, _, _ = small_run

    table = bench.format_table(results)
    verdict = bench.target_report(results)

    assert all(stage in table for stage in STAGES)
    assert verdict[0] == "Targets at 1,000 transactions:"
    # Floor ratio, memory, daily share, (dashboard size and paint,) and the default-size run.
    assert len(verdict) == (7 if "dashboard" in STAGES else 5)
    assert "make run at the defaults (1,000 transactions)" in verdict[-1]
    output = tmp_path / "latest.json"
    bench.write_results(results, output)
    written = json.loads(output.read_text())
    assert [row["stage"] for row in written] == STAGES
    assert set(written[0]) >= {
        "size",
        "stage",
        "seconds",
        "peak_rss_mb",
        "floor_seconds",
        "ratio_to_floor",
    }


def test_the_dashboard_is_measured_as_the_file_the_run_wrote(small_run) -> None:
    results, _, _, workdir = small_run
    if "dashboard" not in STAGES:
        message = "no Chromium (apt-get install chromium): the dashboard's paint is not measured"
        if os.environ.get("SALES_ANALYTICS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{message}, and SALES_ANALYTICS_REQUIRE_BROWSER=1 requires it")
        pytest.skip(message)
    [page] = [row for row in results if row.stage == "dashboard"]
    written = workdir / "outputs-1000" / "dashboard" / "index.html"
    assert page.output_mb == round(written.stat().st_size / 2**20, 2)
    assert 0 < page.seconds < 60
    assert page.floor_seconds is None


def test_make_run_and_make_daily_report_where_their_time_went(small_run) -> None:
    results, _, _, _ = small_run
    by_stage = {row.stage: row for row in results}
    for stage in ("materialization", "daily"):
        steps = by_stage[stage].steps
        assert list(steps)[0] == "start-up" and list(steps)[-1] == "summary and exit"
        assert all(seconds >= 0 for seconds in steps.values()), steps
        # The parts cover the whole make process (each rounded to 0.01 s).
        assert abs(sum(steps.values()) - by_stage[stage].seconds) < 0.01 * len(steps) + 0.05
    assert {"raw/customers", "marts/fct_transactions", "bi/serving_copy"} <= set(
        by_stage["materialization"].steps
    )
    assert "raw/customers" not in by_stage["daily"].steps, "the night does not regenerate them"
    assert "marts/fct_transactions" in by_stage["daily"].steps
    assert "materialization at 1,000 transactions" in bench.format_steps(results)


def test_the_floor_runs_the_sql_dbt_compiled(small_run) -> None:
    _, _, _, workdir = small_run
    target = workdir / "compiled-history"
    project = floor.read_compiled(target / "manifest.json")
    manifest = json.loads((target / "manifest.json").read_text())
    models = {
        node["alias"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }
    tests = [node for node in manifest["nodes"].values() if node["resource_type"] == "test"]

    assert {model.name for model in project.models} == set(models)
    assert len(project.tests) == len(tests) >= 31
    names = [model.name for model in project.models]
    assert names.index("stg_transactions") < names.index("fct_transactions")
    for model in project.models:
        compiled_file = (
            target / "compiled" / "sales_analytics" / models[model.name]["original_file_path"]
        )
        compiled = compiled_file.read_text()
        # The file dbt wrote, with relations moved to the floor's schemas and nothing else.
        renames = {}
        for name, node in models.items():
            moved = f'"{floor.floor_schema(node["schema"])}"."{name}"'
            renames[node["relation_name"]] = moved
            renames[f'"{node["schema"]}"."{name}"'] = moved
        for original in sorted(renames, key=len, reverse=True):
            compiled = compiled.replace(original, renames[original])
        assert model.sql == compiled.replace(f'"{floor.COMPILE_DATABASE}".', ""), model.name


@pytest.mark.parametrize("mart", ["fct_transactions", "dim_customers", "dim_products"])
def test_the_floor_builds_the_same_marts_as_the_pipeline(small_run, mart: str) -> None:
    _, warehouse, _, workdir = small_run
    project = floor.read_compiled(workdir / "compiled-history" / "manifest.json")
    with duckdb.connect(str(warehouse)) as connection:
        if not connection.execute(
            "select count(*) from information_schema.schemata where schema_name = ?",
            [floor.MARTS],
        ).fetchone()[0]:
            assert floor.full_build(connection, project) == 0
        pipeline_only, floor_only = (
            connection.execute(
                f"select count(*) from (select * from {a}.{mart} except all"
                f" select * from {b}.{mart})"
            ).fetchone()[0]
            for a, b in (("marts", floor.MARTS), (floor.MARTS, "marts"))
        )
        (rows,) = connection.execute(f"select count(*) from marts.{mart}").fetchone()

    assert rows > 0
    assert (pipeline_only, floor_only) == (0, 0)
