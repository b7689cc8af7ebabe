"""docs/powerbi.md says only true things about the data: every table, column, type, file and
path it names is what the session's run wrote, and it defines a measure for every KPI card."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from sales_analytics.core.dashboard import KPIS, PAGES
from sales_analytics.core.publish import MART_TABLES
from sales_analytics.core.settings import (
    BI_PATH,
    DEFAULT_BI_PATH,
    DEFAULT_PARQUET_DIR,
    PARQUET_DIR,
    PROJECT_ROOT,
)
from sales_analytics_tests.bi.conftest import BiRun

DOC = PROJECT_ROOT / "docs" / "powerbi.md"
TABLE_SECTION = re.compile(r"^### `marts\.(\w+)`$", re.MULTILINE)
COLUMN_ROW = re.compile(r"^\| `(\w+)` \| ([A-Z0-9(),]+) \|", re.MULTILINE)
DAX_COLUMN = re.compile(r"\b(dim_customers|dim_products|fct_transactions)\[(\w+)\]")
MEASURE = re.compile(r"^([A-Z][A-Za-z ]+?) =", re.MULTILINE)


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text("utf-8")


@pytest.fixture(scope="module")
def written_columns(bi_run: BiRun) -> dict[str, dict[str, str]]:
    with duckdb.connect(str(bi_run.serving_copy), read_only=True) as copy:
        rows = copy.execute(
            "select table_name, column_name, data_type from information_schema.columns"
            " where table_schema = 'marts' order by table_name, ordinal_position"
        ).fetchall()
    columns: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        columns.setdefault(table, {})[column] = data_type
    return columns


def parquet_files(folder: Path, table: str) -> list[Path]:
    """The Parquet files of a mart: one file, or one per month in a hive-style folder."""
    whole = folder / f"{table}.parquet"
    return [whole] if whole.exists() else sorted((folder / table).glob(f"*=*/{table}.parquet"))


def documented_columns(doc: str) -> dict[str, dict[str, str]]:
    sections = TABLE_SECTION.split(doc)[1:]
    return {
        table: dict(COLUMN_ROW.findall(body))
        for table, body in zip(sections[::2], sections[1::2], strict=True)
    }


def test_the_column_lists_are_exactly_what_the_serving_copy_holds(
    doc: str, written_columns: dict[str, dict[str, str]]
) -> None:
    documented = documented_columns(doc)
    assert list(documented) == list(MART_TABLES)
    for table in MART_TABLES:
        assert documented[table] == written_columns[table], table


def test_every_column_the_doc_refers_to_exists(
    doc: str, written_columns: dict[str, dict[str, str]]
) -> None:
    references = set(DAX_COLUMN.findall(doc))
    assert len(references) > 20, "the DAX and the page recipes name columns as table[column]"
    missing = sorted(
        f"{table}[{column}]"
        for table, column in references
        if column not in written_columns.get(table, {})
    )
    assert missing == []


def test_the_parquet_columns_match_too(
    bi_run: BiRun, written_columns: dict[str, dict[str, str]]
) -> None:
    import pyarrow.parquet as pq

    for table in MART_TABLES:
        for path in parquet_files(bi_run.parquet_dir, table):
            schema = pq.read_schema(path)
            assert schema.names == list(written_columns[table]), path


def test_every_kpi_card_has_a_measure(doc: str) -> None:
    dax = "\n".join(re.findall(r"```dax\n(.*?)```", doc, re.DOTALL))
    measures = set(MEASURE.findall(dax))
    cards = {KPIS[key].label for page in PAGES for key in page.kpis}
    assert cards - measures == set()
    for page in PAGES:
        assert f"**{PAGES.index(page) + 1}. {page.title}**" in doc
        assert ", ".join(KPIS[key].label for key in page.kpis) in doc, page.title


def test_paths_and_files_named_are_the_defaults(doc: str, bi_run: BiRun) -> None:
    assert f"`{DEFAULT_BI_PATH}` (`{BI_PATH}`)" in doc
    for table in MART_TABLES:
        files = parquet_files(bi_run.parquet_dir, table)
        assert files, table
        for path in files:
            named = path.relative_to(bi_run.parquet_dir).as_posix()
            # A month's folder is documented with its pattern, transaction_month=YYYY-MM-01.
            pattern = re.sub(r"=\d{4}-\d{2}-\d{2}", "=YYYY-MM-01", named)
            assert f"`{DEFAULT_PARQUET_DIR}/{pattern}`" in doc, named
    assert f"(`{PARQUET_DIR}`)" in doc
    named_files = set(re.findall(r"`(\w+\.parquet)`", doc))
    assert named_files <= {Path(f"{table}.parquet").name for table in MART_TABLES}


def page_recipes(doc: str) -> list[str]:
    """Each bullet of "The three pages" (a recipe for one visual), joined onto one line."""
    section = doc.split("## The three pages", 1)[1].split("\n## ", 1)[0]
    return [" ".join(item.split()) for item in re.split(r"\n- ", section)[1:]]


def test_every_recipe_keys_people_and_products_on_their_ids(doc: str) -> None:
    recipes = page_recipes(doc)
    with_people = [recipe for recipe in recipes if "dim_customers[full_name]" in recipe]
    with_products = [recipe for recipe in recipes if "dim_products[product_name]" in recipe]
    assert len(with_people) >= 2 and len(with_products) >= 2
    for recipe in with_people:
        assert "dim_customers[customer_id]" in recipe, recipe
    for recipe in with_products:
        assert "dim_products[product_id]" in recipe, recipe
    # A name never groups a visual: not as its axis, its first column or its Top N filter.
    for recipe in recipes:
        assert not re.search(r"Y `dim_customers\[full_name\]`", recipe), recipe
        assert not re.search(r"on `dim_(customers\[full_name|products\[product_name)\]`", recipe)
        assert not re.search(r"table with `dim_customers\[full_name\]`", recipe), recipe
