"""The benchmark's code path at a small size, so it cannot rot: every stage runs, its numbers are
sane, and the floor's plain SQL builds the same marts as the pipeline."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import duckdb
import pytest

from benchmarks import bench, floor

STAGES = ["generation", "load", "dbt_build", "materialization", "daily"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> tuple:
    workdir = tmp_path_factory.mktemp("bench")
    as_of = datetime.now(ZoneInfo("UTC")).date()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SALES_ANALYTICS_TIMEZONE", "UTC")
        results = bench.bench_size(1000, workdir, as_of)
    return results, workdir / "warehouse-1000.duckdb", as_of


def test_every_stage_is_measured_with_its_floor(small_run) -> None:
    results, _, _ = small_run

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
    results, _, _ = small_run

    table = bench.format_table(results)
    verdict = bench.target_report(results)

    assert all(stage in table for stage in STAGES)
    assert verdict[0] == "Targets at 1,000 transactions:"
    assert len(verdict) == 4
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


@pytest.mark.parametrize("mart", ["fct_transactions", "dim_customers", "dim_products"])
def test_the_floor_builds_the_same_marts_as_the_pipeline(small_run, mart: str) -> None:
    _, warehouse, as_of = small_run
    with duckdb.connect(str(warehouse)) as connection:
        if not connection.execute(
            "select count(*) from information_schema.schemata where schema_name = ?",
            [floor.MARTS],
        ).fetchone()[0]:
            assert floor.full_build(connection, as_of) == 0
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
