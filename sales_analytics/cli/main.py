"""sales-analytics: build and watch the sales warehouse (the same command on every platform;
`make run` etc. call it)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence

from sales_analytics.cli.instance import prepare_dagster_home
from sales_analytics.core.settings import PROJECT_ROOT

EPILOG = """\
examples:
  sales-analytics run --customers 2000 --transactions 50000 --days 30 --seed 7
  sales-analytics run --as-of 2026-01-31
  sales-analytics daily
  DAGSTER_PORT=3001 sales-analytics dev
  sales-analytics <command> --help   options of run and bench
"""


FORWARDING = {
    "run": "build the warehouse once: raw -> staging -> marts -> BI, every check",
    "bench": "scale benchmark against plain DuckDB SQL (--sizes 1000,100000)",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sales-analytics",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    # run and bench keep their own option parsers: everything after the command is theirs.
    for name, summary in FORWARDING.items():
        commands.add_parser(name, help=summary, add_help=False)
    commands.add_parser("daily", help="run now what the 02:00 schedule's tick runs")
    commands.add_parser("dev", help="the Dagster UI on 127.0.0.1 (port DAGSTER_PORT, default 3000)")
    commands.add_parser("dashboard", help="print (and open) the HTML dashboard's path")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, options = parser.parse_known_args(argv)
    if options and args.command not in FORWARDING:
        parser.error(f"unrecognized arguments for {args.command}: {' '.join(options)}")
    if args.command == "dashboard":
        from sales_analytics.cli import dashboard

        return dashboard.main()
    if args.command == "run":
        from sales_analytics.cli import run

        prepare_dagster_home()
        return run.main(options)
    if args.command == "daily":
        from sales_analytics.cli import daily

        prepare_dagster_home()
        return daily.main()
    if args.command == "dev":
        from sales_analytics.cli import dev

        return dev.main()
    # The benchmark is a module of the checkout, beside the package: run it from there.
    bench = [sys.executable, "-m", "benchmarks.bench", *options]
    return subprocess.run(bench, cwd=PROJECT_ROOT).returncode


if __name__ == "__main__":
    sys.exit(main())
