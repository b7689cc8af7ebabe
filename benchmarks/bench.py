"""`make bench`: how the pipeline scales, against a floor of plain DuckDB SQL.

For each size (transactions over 90 days; customers = size / 5, the seed's 1,000 to 200, at least
200; --transactions-per-customer changes the ratio) it measures, each stage in a fresh process:

  generation       customers, products, transactions generated in memory (time inside the process)
  load             the raw tables written to a fresh warehouse through Arrow (time of the writes)
  dbt_build        `dbt build` (models and the 31 tests) on those raw tables, the whole dbt process
  materialization  `make run` on a fresh warehouse: one Dagster run backfilling the 90 days
  daily            `make daily` on top of it: the nightly tick's run for yesterday

and, in the same run, the floor (benchmarks/floor.py): the same transforms and tests as plain
DuckDB SQL in one process. dbt_build is compared with the floor's build on the same raw tables;
materialization with the floor end to end (generate, load, build); daily with the floor's night.
It prints a table and writes a list of {size, stage, seconds, peak_rss_mb, floor_seconds,
ratio_to_floor, rows, rows_per_second, customers} to benchmarks/results/latest.json.

    python -m benchmarks.bench --sizes 1000,100000,1000000,10000000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from benchmarks.measure import Measurement, current_environment, run
from benchmarks.stages import Volume, volume_json
from sales_analytics.defs.dbt.project import dbt_executable, dbt_project
from sales_analytics.core.settings import PROJECT_ROOT, Settings

DEFAULT_SIZES = (1_000, 100_000, 1_000_000, 10_000_000)
# The seed's shape: 1,000 transactions by 200 customers over 90 days.
TRANSACTIONS_PER_CUSTOMER = 5
HISTORY_DAYS = 90
DEFAULT_OUTPUT = PROJECT_ROOT / "benchmarks" / "results" / "latest.json"
# Targets of issue 3 for the largest size (10M transactions on 2 cores).
MAX_RATIO_TO_FLOOR = 3.0
MAX_PEAK_RSS_MB = 4096
MAX_DAILY_SHARE = 0.25


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


class StageFailed(RuntimeError):
    pass


def customers_for(size: int, transactions_per_customer: int = TRANSACTIONS_PER_CUSTOMER) -> int:
    return max(200, size // transactions_per_customer)


def result(
    volume: Volume, stage: str, seconds: float, peak_rss_mb: float, rows: int, floor: float | None
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
    )


def _checked(stage: str, measurement: Measurement) -> Measurement:
    if measurement.returncode != 0:
        tail = "\n".join((measurement.stdout + measurement.stderr).splitlines()[-30:])
        raise StageFailed(f"{stage} exited {measurement.returncode}:\n{tail}")
    return measurement


def _stage_timings(stage: str, volume: Volume, env: dict, warehouse: Path | None = None):
    command = [sys.executable, "-m", "benchmarks.stages", stage, "--volume", volume_json(volume)]
    if warehouse is not None:
        command += ["--warehouse", str(warehouse)]
    measurement = _checked(stage, run(command, env=env, cwd=PROJECT_ROOT))
    timings = json.loads(measurement.stdout.strip().splitlines()[-1])
    if timings.get("failed_tests") or timings.get("night_failed_tests"):
        raise StageFailed(f"{stage}: floor tests failed: {timings}")
    return measurement, timings


def bench_size(
    size: int,
    workdir: Path,
    as_of: date,
    transactions_per_customer: int = TRANSACTIONS_PER_CUSTOMER,
) -> list[Result]:
    customers = customers_for(size, transactions_per_customer)
    volume = Volume(transactions=size, customers=customers, days=HISTORY_DAYS, as_of=as_of)
    raw_rows = size + volume.customers
    home = workdir / f"dagster-{size}"
    home.mkdir()
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
    _, floor_build = _stage_timings("floor-build", volume, env, loaded)
    dbt_env = {**env, "SALES_ANALYTICS_DUCKDB_PATH": str(loaded)}
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

    _, floor_e2e = _stage_timings("floor-e2e", volume, env, workdir / f"floor-{size}.duckdb")
    (workdir / f"floor-{size}.duckdb").unlink()

    warehouse_env = {
        **env,
        "SALES_ANALYTICS_DUCKDB_PATH": str(workdir / f"warehouse-{size}.duckdb"),
    }
    make_run = [sys.executable, "-m", "sales_analytics.cli.run", "--transactions", str(size)]
    make_run += ["--customers", str(volume.customers), "--days", str(HISTORY_DAYS)]
    measured = _checked("make run", run(make_run, env=warehouse_env, cwd=PROJECT_ROOT))
    results.append(
        result(
            volume,
            "materialization",
            measured.seconds,
            measured.peak_rss_mb,
            size,
            floor_e2e["seconds"],
        )
    )

    make_daily = [sys.executable, "-m", "sales_analytics.cli.daily"]
    measured = _checked("make daily", run(make_daily, env=warehouse_env, cwd=PROJECT_ROOT))
    results.append(
        result(
            volume,
            "daily",
            measured.seconds,
            measured.peak_rss_mb,
            volume.per_day,
            floor_e2e["night_seconds"],
        )
    )
    return results


def format_table(results: Sequence[Result]) -> str:
    header = (
        f"{'size':>11}  {'stage':<15} {'seconds':>8} {'rows/s':>11} {'peak RSS MB':>11}"
        f" {'floor s':>8} {'x floor':>7}"
    )
    lines = [header, "-" * len(header)]
    for row in results:
        floor = f"{row.floor_seconds:8.2f}" if row.floor_seconds is not None else f"{'-':>8}"
        ratio = f"{row.ratio_to_floor:7.2f}" if row.ratio_to_floor is not None else f"{'-':>7}"
        lines.append(
            f"{row.size:>11,}  {row.stage:<15} {row.seconds:8.2f} {row.rows_per_second:>11,}"
            f" {row.peak_rss_mb:11.0f} {floor} {ratio}"
        )
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
    lines = [f"Targets at {largest:,} transactions:"]
    lines += [f"  {'met ' if ok else 'MISSED'} {text}" for ok, text in verdicts]
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
        help="customers = size / this (default %(default)s, the seed's ratio)",
    )
    args = parser.parse_args(argv)
    as_of = datetime.now(ZoneInfo(Settings.from_env().timezone)).date()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="sales-analytics-bench-") as tmp:
        for size in args.sizes:
            customers = customers_for(size, args.transactions_per_customer)
            print(f"Benchmarking {size:,} transactions, {customers:,} customers ...", flush=True)
            results += bench_size(size, Path(tmp), as_of, args.transactions_per_customer)
    write_results(results, args.output)
    print()
    print(format_table(results))
    print()
    print("\n".join(target_report(results)))
    print(f"\nWrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
