"""The dbt models' SQL: it passes sqlfluff (the .sqlfluff of the dbt project, as `make lint`
runs it), and it uses dbt's cross-database macros instead of DuckDB-only functions, so the same
models can build on Spark (issue 12's facts)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sales_analytics.core.settings import PROJECT_ROOT

MODELS = PROJECT_ROOT / "sales_analytics_dbt" / "models"
SQLFLUFF = Path(sys.executable).parent / "sqlfluff"

# DuckDB-only spellings seen in the models before, with the portable form to use instead.
DUCKDB_ONLY = {
    r"\byear\s*\(": "extract(year from ...)",
    r"\bmonth\s*\(": "extract(month from ...)",
    r"\bdayname\s*\(": "day_of_week_name(...)",
    r"\bas\s+double\b": "type_double()",
    r"(?<!dbt\.)\bdate_trunc\s*\(": "dbt.date_trunc(...)",
}


def test_the_models_pass_sqlfluff() -> None:
    result = subprocess.run(
        [str(SQLFLUFF), "lint", str(MODELS), "--nofail", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        cwd=PROJECT_ROOT,
    )
    files = json.loads(result.stdout)
    violations = [
        f"{Path(entry['filepath']).name}:{v['start_line_no']} {v['code']} {v['description']}"
        for entry in files
        for v in entry["violations"]
    ]
    assert len(files) == len(list(MODELS.rglob("*.sql")))
    assert violations == []


@pytest.mark.parametrize("model", sorted(MODELS.rglob("*.sql")), ids=lambda path: path.stem)
def test_models_use_no_duckdb_only_functions(model: Path) -> None:
    sql = re.sub(r"\{#.*?#\}|--[^\n]*", "", model.read_text(), flags=re.DOTALL)
    found = {portable for pattern, portable in DUCKDB_ONLY.items() if re.search(pattern, sql, re.I)}
    assert found == set(), f"{model.name}: use {', '.join(sorted(found))}"
