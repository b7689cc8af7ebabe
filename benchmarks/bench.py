"""`make bench`: how the pipeline scales, against a floor of plain DuckDB SQL.

For each size (transactions over 90 days; customers = size / 50 by default, the target's 200,000
for 10 million, at least 200; --transactions-per-customer changes the ratio) it measures, each
stage in a fresh process:

  generation       customers, products, transactions generated in memory (time inside the process)
  load             the raw tables written to a fresh warehouse through Arrow (time of the writes)
  dbt_build        `dbt build` (models and tests) on those raw tables, the whole dbt process
  materialization  `make run` exactly as a user types it, on a fresh warehouse, serving copy,
                   Parquet folder and dashboard: one Dagster run backfilling the 90 days
  daily            `make daily` exactly as a user types it, on top of it: the nightly tick's run
  dashboard        the dashboard `make daily` left, opened by headless Chromium and painted to a
                   screenshot (median of 3 whole browser processes; its size in MB beside it)

`make` runs with a temporary DAGSTER_HOME; after each run the benchmark reads the run and its
materializations from that instance and prints where the time went: start-up (process start to
run start), each asset (time since the previous asset's materialization), and the end (summary
and exit). Peak memory is the process tree's (make, the run, dbt).

The floor (benchmarks/floor.py) runs the SQL dbt compiled for the models and tests as plain DuckDB
in one process. dbt_build is compared with the floor's build on the same raw tables;
materialization with the floor end to end (generate, load, build); daily with the floor's night.
It prints a table and writes a list of {size, stage, seconds, peak_rss_mb, floor_seconds,
ratio_to_floor, rows, rows_per_second, customers, steps} to benchmarks/results/latest.json.

    python -m benchmarks.bench --sizes 1000,100000,1000000,10000000
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

from benchmarks import floor
from benchmarks.measure import Measurement, current_environment, run
from benchmarks.render import find_chromium, render
from benchmarks.stages import SEED, Volume, night_window, volume_json
from sales_analytics.core import settings
from sales_analytics.core.settings import PROJECT_ROOT, Settings
from sales_analytics.defs.dbt.project import dbt_executable, dbt_project

DEFAULT_SIZES = (1_000, 100_000, 1_000_000, 10_000_000)
# The target's shape: 10 million transactions by 200,000 customers over 90 days.
TRANSACTIONS_PER_CUSTOMER = 50
HISTORY_DAYS = 90
DEFAULT_OUTPUT = PROJECT_ROOT / "benchmarks" / "results" / "latest.json"
# Targets for the largest size (10M transactions on 2 cores).
MAX_RATIO_TO_FLOOR = 3.0
MAX_PEAK_RSS_MB = 4096
MAX_DAILY_SHARE = 0.25
MAX_DASHBOARD_MB = 5
MAX_RENDER_SECONDS = 3.0
# `make run` at its defaults (1,000 transactions, 200 customers, 90 days): the 1k size.
DEFAULT_SIZE = 1_000
MAX_DEFAULT_RUN_SECONDS = 10.0


@dataclass(frozen=True)
class Result:
    size: int
    stage: str
    seconds: float
    peak_rss_mb: float
    floor_seconds: float | None
    ratio_to_floor: float | None
    rows: int
    rows_per_second: float
    customers: int
    # Where a make run's time went: "start-up", each asset, "end" (seconds).
    steps: dict[str, float] = field(default_factory=dict)
    # The size of what the stage measured (the dashboard's file), where that is a target.
    output_mb: float | None = None


class StageFailed(RuntimeError):
    pass


def customers_for(size: int, transactions_per_customer: int = TRANSACTIONS_PER_CUSTOMER) -> int:
    return max(200, size // transactions_per_customer)


def result(
    volume: Volume,
    stage: str,
    seconds: float,
    peak_rss_mb: float,
    rows: int,
    floor: float | None,
    steps: dict[str, float] | None = None,
) -> Result:
    return Result(
        size=volume.transactions,
        stage=stage,
        seconds=round(seconds, 3),
        peak_rss_mb=round(peak_rss_mb, 1),
        floor_seconds=round(floor, 3) if floor is not None else None,
        ratio_to_floor=round(seconds / floor, 2) if floor else None,
        rows=rows,
        rows_per_second=round(rows / seconds) if seconds > 0 else 0,
        customers=volume.customers,
        steps=steps or {},
    )


def _checked(stage: str, measurement: Measurement) -> Measurement:
    if measurement.returncode != 0:
        tail = "\n".join((measurement.stdout + measurement.stderr).splitlines()[-30:])
        raise StageFailed(f"{stage} exited {measurement.returncode}:\n{tail}")
    return measurement


def _stage_timings(
    stage: str, volume: Volume, env: dict, warehouse: Path | None = None, compiled=()
) -> tuple[Measurement, dict]:
    command = [sys.executable, "-m", "benchmarks.stages", stage, "--volume", volume_json(volume)]
    if warehouse is not None:
        command += ["--warehouse", str(warehouse)]
    for option, path in zip(("--compiled", "--compiled-night"), compiled, strict=False):
        command += [option, str(path)]
    measurement = _checked(stage, run(command, env=env, cwd=PROJECT_ROOT))
    timings = json.loads(measurement.stdout.strip().splitlines()[-1])
    if timings.get("failed_tests") or timings.get("night_failed_tests"):
        raise StageFailed(f"{stage}: floor tests failed: {timings}")
    return measurement, timings


def compile_floor(workdir: Path, volume: Volume) -> tuple[Path, Path]:
    """The models' and tests' SQL as dbt compiles it for the history's run and for the night's
    (vars as Dagster passes them); returns the two target folders."""
    history = {
        "as_of_date": volume.as_of.isoformat(),
        "window_start": volume.first_day.isoformat(),
        "window_end": volume.as_of.isoformat(),
    }
    night_start, night_end = night_window(volume)
    night = history | {"window_start": night_start.isoformat(), "window_end": night_end.isoformat()}
    targets = workdir / "compiled-history", workdir / "compiled-night"
    full = floor.compile_project(targets[0], history)
    # The night compiles where the incremental models exist, to their incremental SQL.
    incremental = tuple(model for model in full.models if model.materialized == "incremental")
    floor.compile_project(targets[1], night, existing=incremental)
    return targets


def make_command(target: str, *variables: str) -> list[str]:
    """`make <target>` in the project, exactly as a user types it."""
    return ["make", "--no-print-directory", "-C", str(PROJECT_ROOT), target, *variables]


def run_steps(home: Path, started: float, finished: float) -> dict[str, float]:
    """Where the latest run in the instance at `home` spent its time: start-up (the process
    start to the run's start), each asset (since the previous asset's last materialization in
    the run), and the end (the run's end to the process exit). `started` and `finished` are
    wall-clock times of the make process."""
    previous_home = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        with dg.DagsterInstance.get() as instance:
            (record,) = instance.get_run_records(limit=1)
            run_id = record.dagster_run.run_id
            events = []
            for key in instance.get_asset_keys():
                latest = instance.fetch_materializations(key, limit=1).records
                if latest and latest[0].run_id == run_id:
                    events.append((latest[0].timestamp, key.to_user_string()))
    finally:
        if previous_home is None:
            os.environ.pop("DAGSTER_HOME")
        else:
            os.environ["DAGSTER_HOME"] = previous_home
    run_start = record.start_time or started
    run_end = record.end_time or finished
    steps = {"start-up": round(run_start - started, 2)}
    last = run_start
    for timestamp, asset in sorted(events):
        steps[asset] = round(timestamp - last, 2)
        last = timestamp
    steps["checks and end of run"] = round(run_end - last, 2)
    steps["summary and exit"] = round(finished - run_end, 2)
    return steps


def run_make(stage: str, command: list[str], env: dict, home: Path) -> tuple[Measurement, dict]:
    started = time.time()
    measurement = _checked(stage, run(command, env=env, cwd=PROJECT_ROOT))
    return measurement, run_steps(home, started, started + measurement.seconds)


def bench_size(
    size: int,
    workdir: Path,
    as_of: date,
    transactions_per_customer: int = TRANSACTIONS_PER_CUSTOMER,
    compiled: tuple[Path, Path] | None = None,
) -> list[Result]:
    customers = customers_for(size, transactions_per_customer)
    volume = Volume(transactions=size, customers=customers, days=HISTORY_DAYS, as_of=as_of)
    compiled = compiled or compile_floor(workdir, volume)
    raw_rows = size + volume.customers
    home = workdir / f"dagster-{size}"
    home.mkdir()
    outputs = workdir / f"outputs-{size}"
    env = current_environment(
        SALES_ANALYTICS_OFFLINE="1",
        SALES_ANALYTICS_HISTORY_START=None,
        SALES_ANALYTICS_TRANSACTIONS_PER_DAY=str(volume.per_day),
        DAGSTER_HOME=str(home),
    )
    results = []

    measured, timings = _stage_timings("generate", volume, env)
    results.append(
        result(volume, "generation", timings["seconds"], measured.peak_rss_mb, raw_rows, None)
    )

    loaded = workdir / f"load-{size}.duckdb"
    measured, timings = _stage_timings("load", volume, env, loaded)
    results.append(result(volume, "load", timings["seconds"], measured.peak_rss_mb, raw_rows, None))

    # The floor's build first, on the same raw tables, in its own schemas.
    _, floor_build = _stage_timings("floor-build", volume, env, loaded, compiled)
    dbt_env = {**env, settings.DUCKDB_PATH: str(loaded)}
    dbt_command = [dbt_executable(), "build", "--target-path", str(workdir / f"target-{size}")]
    measured = _checked("dbt build", run(dbt_command, env=dbt_env, cwd=dbt_project.project_dir))
    results.append(
        result(
            volume,
            "dbt_build",
            measured.seconds,
            measured.peak_rss_mb,
            size,
            floor_build["seconds"],
        )
    )
    loaded.unlink()

    _, floor_e2e = _stage_timings(
        "floor-e2e", volume, env, workdir / f"floor-{size}.duckdb", compiled
    )
    (workdir / f"floor-{size}.duckdb").unlink()

    warehouse_env = {
        **env,
        settings.DUCKDB_PATH: str(workdir / f"warehouse-{size}.duckdb"),
        settings.BI_PATH: str(outputs / "sales_analytics_bi.duckdb"),
        settings.PARQUET_DIR: str(outputs / "bi"),
        settings.DASHBOARD_PATH: str(outputs / "dashboard" / "index.html"),
    }
    make_run = make_command(
        "run",
        f"CUSTOMERS={volume.customers}",
        f"TRANSACTIONS={size}",
        f"DAYS={HISTORY_DAYS}",
        f"SEED={SEED}",
        f"AS_OF={as_of.isoformat()}",
    )
    measured, steps = run_make("make run", make_run, warehouse_env, home)
    results.append(
        result(
            volume,
            "materialization",
            measured.seconds,
            measured.peak_rss_mb,
            size,
            floor_e2e["seconds"],
            steps,
        )
    )

    measured, steps = run_make("make daily", make_command("daily"), warehouse_env, home)
    results.append(
        result(
            volume,
            "daily",
            measured.seconds,
            measured.peak_rss_mb,
            volume.per_day,
            floor_e2e["night_seconds"],
            steps,
        )
    )

    chromium = find_chromium()
    if chromium is None:
        print("  dashboard: no Chromium on PATH, render time not measured", flush=True)
    else:
        painted = render(Path(warehouse_env[settings.DASHBOARD_PATH]), chromium)
        dashboard = result(volume, "dashboard", painted.seconds, painted.peak_rss_mb, size, None)
        results.append(dataclasses.replace(dashboard, output_mb=round(painted.page_mb, 2)))
    return results


def format_table(results: Sequence[Result]) -> str:
    header = (
        f"{'size':>11}  {'stage':<15} {'seconds':>8} {'rows/s':>11} {'peak RSS MB':>11}"
        f" {'floor s':>8} {'x floor':>7} {'MB':>6}"
    )
    lines = [header, "-" * len(header)]
    for row in results:
        floor = f"{row.floor_seconds:8.2f}" if row.floor_seconds is not None else f"{'-':>8}"
        ratio = f"{row.ratio_to_floor:7.2f}" if row.ratio_to_floor is not None else f"{'-':>7}"
        size = f"{row.output_mb:6.2f}" if row.output_mb is not None else f"{'-':>6}"
        lines.append(
            f"{row.size:>11,}  {row.stage:<15} {row.seconds:8.2f} {row.rows_per_second:>11,}"
            f" {row.peak_rss_mb:11.0f} {floor} {ratio} {size}"
        )
    return "\n".join(lines)


def format_steps(results: Sequence[Result]) -> str:
    """Where each make run's time went, per size."""
    lines = []
    for row in results:
        if not row.steps:
            continue
        lines.append(f"{row.stage} at {row.size:,} transactions ({row.seconds:.1f} s):")
        lines += [f"  {seconds:8.2f}  {step}" for step, seconds in row.steps.items()]
    return "\n".join(lines)


def target_report(results: Sequence[Result]) -> list[str]:
    """Issue 3's targets, judged on the largest size measured."""
    largest = max(row.size for row in results)
    by_stage = {row.stage: row for row in results if row.size == largest}
    full, daily = by_stage["materialization"], by_stage["daily"]
    peak = max(row.peak_rss_mb for row in results if row.size == largest)
    share = daily.seconds / full.seconds
    verdicts = [
        (
            full.ratio_to_floor <= MAX_RATIO_TO_FLOOR,
            f"end to end {full.ratio_to_floor:.2f}x the floor (target <= {MAX_RATIO_TO_FLOOR:g}x)",
        ),
        (peak <= MAX_PEAK_RSS_MB, f"peak RSS {peak:,.0f} MB (target <= {MAX_PEAK_RSS_MB:,} MB)"),
        (
            share <= MAX_DAILY_SHARE,
            f"daily run {share:.0%} of the full build (target <= {MAX_DAILY_SHARE:.0%})",
        ),
    ]
    if "dashboard" in by_stage:
        page = by_stage["dashboard"]
        verdicts += [
            (
                page.output_mb <= MAX_DASHBOARD_MB,
                f"dashboard {page.output_mb:.2f} MB (target <= {MAX_DASHBOARD_MB} MB)",
            ),
            (
                page.seconds < MAX_RENDER_SECONDS,
                f"dashboard painted by headless Chromium in {page.seconds:.2f} s, browser start"
                f" included (target < {MAX_RENDER_SECONDS:g} s)",
            ),
        ]
    lines = [f"Targets at {largest:,} transactions:"]
    lines += [f"  {'met ' if ok else 'MISSED'} {text}" for ok, text in verdicts]
    default_run = [
        row for row in results if row.size == DEFAULT_SIZE and row.stage == "materialization"
    ]
    for row in default_run:
        ok = row.seconds <= MAX_DEFAULT_RUN_SECONDS
        lines.append(
            f"  {'met ' if ok else 'MISSED'} make run at the defaults ({DEFAULT_SIZE:,}"
            f" transactions) {row.seconds:.1f} s (target <= {MAX_DEFAULT_RUN_SECONDS:g} s)"
        )
    return lines


def write_results(results: Sequence[Result], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(row) for row in results], indent=2) + "\n")


def parse_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 1000,100000, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=parse_sizes, default=DEFAULT_SIZES)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--transactions-per-customer",
        type=int,
        default=TRANSACTIONS_PER_CUSTOMER,
        help="customers = size / this (default %(default)s, the 10M target's ratio)",
    )
    args = parser.parse_args(argv)
    as_of = datetime.now(ZoneInfo(Settings.from_env().timezone)).date()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="sales-analytics-bench-") as tmp:
        # Compiled once: the vars (as-of date, windows) are the same for every size.
        compiled = compile_floor(
            Path(tmp), Volume(transactions=1, customers=1, days=HISTORY_DAYS, as_of=as_of)
        )
        for size in args.sizes:
            customers = customers_for(size, args.transactions_per_customer)
            print(f"Benchmarking {size:,} transactions, {customers:,} customers ...", flush=True)
            results += bench_size(size, Path(tmp), as_of, args.transactions_per_customer, compiled)
            print(format_steps(results[-2:]), flush=True)
    write_results(results, args.output)
    print()
    print(format_table(results))
    print()
    print(format_steps(results))
    print()
    print("\n".join(target_report(results)))
    print(f"\nWrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
