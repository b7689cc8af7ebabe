"""How `make test` spreads the suite over pytest-xdist's workers (`-n 2 --dist loadscope`).

Each module stays whole on one worker, so its module fixtures (a build, a `dagster dev`, a
PostgreSQL server) are set up once; the modules that read the session's BI run share one worker,
so that run is built once, and so do the modules that read the session's Spark builds. The
slowest modules start first: much of their time is waiting on
Dagster's daemons (30 s loops) and on subprocesses, which the other worker fills with work, and a
long module started last would leave one worker idle at the end.

xdist's own `--dist loadgroup` would express the BI group with a mark, but with pytest 9.2 it
silently stops grouping (pytest-xdist issue 1386), so the grouping is a loadscope scheduler whose
scope is the work unit below.
"""

from __future__ import annotations

import pytest

# The modules that read the session-scoped `bi_run` fixture (bi/conftest.py).
BI_RUN_MODULES = frozenset(
    f"sales_analytics_tests/bi/{name}.py"
    for name in ("test_bi_assets", "test_dashboard", "test_dashboard_browser", "test_powerbi_doc")
)
BI_RUN_UNIT = "bi_run"
# The modules that read the session-scoped Spark builds and Connect server (spark/conftest.py).
SPARK_MODULES = frozenset(
    f"sales_analytics_tests/spark/{name}.py"
    for name in ("test_engines_equal", "test_spark_connect")
)
SPARK_UNIT = "spark_builds"

# Slowest first, as measured with --durations (seconds on a loaded 2-core machine); the other
# modules follow in their collection order.
SLOWEST_FIRST = (
    SPARK_UNIT,  # ~180
    "sales_analytics_tests/live/test_live_launches.py",  # ~230
    "sales_analytics_tests/test_benchmark.py",  # ~160
    "sales_analytics_tests/test_run_alerts.py",  # ~130
    "sales_analytics_tests/test_deploy_postgres.py",  # ~110
    "sales_analytics_tests/test_daily_partitions.py",  # ~100
    "sales_analytics_tests/test_faults_crash.py",  # ~80
    "sales_analytics_tests/test_dbt_project.py",  # ~50
    "sales_analytics_tests/test_product_history.py",  # ~45
    "sales_analytics_tests/test_end_to_end.py",  # ~35
    BI_RUN_UNIT,  # ~30
    "sales_analytics_tests/live/test_dg.py",  # ~30
    "sales_analytics_tests/test_cli.py",  # ~25
    "sales_analytics_tests/test_faults_products_api.py",  # ~25
)


def work_unit(nodeid: str) -> str:
    """What a test runs with on one worker: its module, or the BI run's group of modules."""
    module = nodeid.split("::", 1)[0]
    if module in BI_RUN_MODULES:
        return BI_RUN_UNIT
    return SPARK_UNIT if module in SPARK_MODULES else module


def rank(unit: str) -> int:
    return SLOWEST_FIRST.index(unit) if unit in SLOWEST_FIRST else len(SLOWEST_FIRST)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A stable sort: within a unit, and among the units not listed, the collection order stays.
    items.sort(key=lambda item: rank(work_unit(item.nodeid)))


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Under `--dist loadscope`, a scheduler whose scope is the work unit, taken in the order
    collected (slowest first) rather than reordered by test count."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class WorkUnitScheduling(LoadScopeScheduling):
        # The scope hook LoadScopeScheduling's subclasses (e.g. xdist's loadfile) override.
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    config.option.loadscopereorder = False
    return WorkUnitScheduling(config, log)
