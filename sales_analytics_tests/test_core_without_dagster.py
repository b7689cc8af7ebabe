"""sales_analytics.core is the part that runs without Dagster: importing any of its modules, in a
fresh interpreter, must not load dagster (or dagster-dbt, dagster-duckdb, ...)."""

import json
import pkgutil
import subprocess
import sys

import pytest

import sales_analytics.core
from sales_analytics.core.settings import PROJECT_ROOT

CORE_MODULES = sorted(
    f"sales_analytics.core.{module.name}"
    for module in pkgutil.iter_modules(sales_analytics.core.__path__)
)
REPORT_DAGSTER_MODULES = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0].startswith("dagster"))))
"""


def test_the_core_has_modules():
    # The list is read from the package folder; a wrong path must not pass with nothing checked.
    assert {"sales_analytics.core.settings", "sales_analytics.core.generate"} <= set(CORE_MODULES)


@pytest.mark.parametrize("module", CORE_MODULES)
def test_a_core_module_imports_no_dagster(module):
    result = subprocess.run(
        [sys.executable, "-c", REPORT_DAGSTER_MODULES, module],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout) == [], f"{module} loads Dagster"
