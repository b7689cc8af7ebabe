"""The dbt project as a dbt user meets it (issue 13, points 4, 5, 6 and 8): dbt from any folder
opens the same warehouse, the warehouse file answers under any name, `dbt source freshness`
uses the Dagster threshold, and the marts' enforced contracts are the types they carry."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta

import duckdb
import pytest
import yaml

from sales_analytics.core.settings import Settings
from sales_analytics_tests.dbt_copy import DbtCopy, copy_project, relation_counts

MARTS = ("dim_customers", "dim_products", "fct_transactions")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> DbtCopy:
    """A copy of the project built once by `dbt build` from the repository root."""
    copy = copy_project(tmp_path_factory.mktemp("checkout") / "repo")
    result = copy.dbt(
        "build", "--project-dir", "sales_analytics_dbt", "--profiles-dir", "sales_analytics_dbt"
    )
    assert result.returncode == 0, result.stdout[-3000:]
    # A plain build runs the unit tests, which the pipeline's runs leave out.
    target = copy.project / "target"
    declared = json.loads((target / "manifest.json").read_text())["unit_tests"]
    results = json.loads((target / "run_results.json").read_text())["results"]
    unit_tests = {r["unique_id"]: r["status"] for r in results if r["unique_id"] in declared}
    assert len(declared) >= 3 and unit_tests == dict.fromkeys(declared, "pass"), unit_tests
    return copy


@pytest.fixture
def fresh(tmp_path) -> DbtCopy:
    """A copy of the project with raw tables only, for tests that change it."""
    return copy_project(tmp_path / "repo")


def counts_in(path, catalog: str | None = None) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return relation_counts(connection, catalog or path.stem)


# --- point 5: dbt from any folder ----------------------------------------------------------


def test_dbt_from_the_root_from_its_folder_and_below_opens_the_one_warehouse(built) -> None:
    runs = {
        "root": built.dbt(
            "debug", "--project-dir", "sales_analytics_dbt", "--profiles-dir", "sales_analytics_dbt"
        ),
        "dbt folder": built.dbt("debug", cwd=built.project),
        "models folder": built.dbt("debug", "--profiles-dir", "..", cwd=built.project / "models"),
    }
    for where, result in runs.items():
        assert result.returncode == 0, (where, result.stdout[-2000:])
        assert "Connection test: [OK" in result.stdout.replace("\x1b[32m", ""), where
    # The same file every time, and no new empty one beside the repository or in any folder.
    assert built.duckdb_files() == [built.warehouse.relative_to(built.root.parent)]


def test_a_build_from_the_dbt_folder_uses_the_warehouse_built_from_the_root(built) -> None:
    before = counts_in(built.warehouse)["marts.fct_transactions"]

    result = built.dbt("build", "--select", "stg_products", cwd=built.project)

    assert result.returncode == 0, result.stdout[-2000:]
    assert counts_in(built.warehouse)["marts.fct_transactions"] == before > 0
    assert built.duckdb_files() == [built.warehouse.relative_to(built.root.parent)]


def test_a_warehouse_folder_that_does_not_exist_fails_and_creates_nothing(built) -> None:
    result = built.dbt(
        "debug",
        "--project-dir",
        "sales_analytics_dbt",
        "--profiles-dir",
        "sales_analytics_dbt",
        env={"SALES_ANALYTICS_DUCKDB_PATH": "missing/warehouse.duckdb"},
    )

    assert result.returncode != 0
    # Resolved against the repository root, not the current folder's parent.
    assert "sales_analytics_dbt/../missing/warehouse.duckdb" in result.stdout
    assert not (built.root / "missing").exists()
    assert built.duckdb_files() == [built.warehouse.relative_to(built.root.parent)]


# --- point 4: a portable warehouse file ------------------------------------------------------


def test_a_copied_warehouse_file_answers_for_every_table_and_view(built, tmp_path) -> None:
    expected = counts_in(built.warehouse)
    assert {"staging.stg_customers", "marts.dim_products", "history.product_history"} <= set(
        expected
    )
    copy = tmp_path / "backup_for_a_colleague.duckdb"
    shutil.copyfile(built.warehouse, copy)

    assert counts_in(copy) == expected


def test_a_renamed_warehouse_file_answers_for_every_table_and_view(built, tmp_path) -> None:
    source = tmp_path / "before.duckdb"
    shutil.copyfile(built.warehouse, source)
    expected = counts_in(source)
    renamed = source.rename(tmp_path / "renamed.duckdb")

    assert counts_in(renamed) == expected


def test_a_warehouse_attached_under_another_name_answers(built) -> None:
    expected = counts_in(built.warehouse)
    with duckdb.connect() as connection:
        # ATTACH takes no bound parameters; the path is the test's own temporary file.
        connection.execute(f"attach '{built.warehouse}' as wh (read_only)")
        # A schema of the same name in the default catalog must not capture the views' reads.
        connection.execute("create schema raw; create table raw.customers as select 1 as x")
        assert relation_counts(connection, "wh") == expected


# --- point 6: source freshness ------------------------------------------------------------------


def age_products(copy: DbtCopy, hours: float) -> None:
    loaded = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=hours)
    with duckdb.connect(str(copy.warehouse)) as connection:
        connection.execute("update raw.products set extracted_at = ?", [loaded])
        connection.execute("update raw.transactions set extracted_at = ?", [loaded])


def freshness(copy: DbtCopy, hours: str) -> tuple[int, dict[str, str]]:
    result = copy.dbt(
        "source",
        "freshness",
        "--project-dir",
        "sales_analytics_dbt",
        "--profiles-dir",
        "sales_analytics_dbt",
        env={"SALES_ANALYTICS_FRESHNESS_HOURS": hours},
    )
    sources = json.loads((copy.project / "target" / "sources.json").read_text())
    return result.returncode, {
        entry["unique_id"].rsplit(".", 1)[1]: entry["status"] for entry in sources["results"]
    }


def test_source_freshness_uses_the_dagster_setting_and_fails_past_it(fresh, monkeypatch) -> None:
    # One setting: the threshold dbt parses is the one Dagster's Settings read.
    monkeypatch.setenv("SALES_ANALYTICS_FRESHNESS_HOURS", "7.5")
    result = fresh.dbt(
        "parse",
        "--project-dir",
        "sales_analytics_dbt",
        "--profiles-dir",
        "sales_analytics_dbt",
        env={"SALES_ANALYTICS_FRESHNESS_HOURS": "7.5"},
    )
    assert result.returncode == 0, result.stdout[-2000:]
    manifest = json.loads((fresh.project / "target" / "manifest.json").read_text())
    thresholds = {
        source["name"]: source["freshness"] and source["freshness"]["error_after"]
        for source in manifest["sources"].values()
    }
    minutes = Settings.from_env().freshness_hours * 60
    assert thresholds["products"] == {"count": minutes, "period": "minute"}
    assert thresholds["transactions"] == {"count": minutes, "period": "minute"}
    # Customers are regenerated by make run, not nightly: their age is not a failure.
    assert thresholds["customers"] is None

    # Raw rows loaded 3 hours ago: stale past 2 hours, fresh within 4.
    age_products(fresh, hours=3)
    assert freshness(fresh, "2") == (1, {"products": "error", "transactions": "error"})
    assert freshness(fresh, "4") == (0, {"products": "pass", "transactions": "pass"})


# --- point 8: enforced contracts ------------------------------------------------------------


def contract_types(project) -> dict[str, dict[str, str]]:
    document = yaml.safe_load((project / "models" / "marts" / "_marts.yml").read_text())
    return {
        model["name"]: {column["name"]: column["data_type"] for column in model["columns"]}
        for model in document["models"]
        if model["config"]["contract"]["enforced"]
    }


def normalized(data_type: str) -> str:
    return data_type.lower().replace(" ", "")


def test_the_marts_carry_exactly_their_contract_types(built) -> None:
    contracts = contract_types(built.project)
    assert set(contracts) == set(MARTS)
    with duckdb.connect(str(built.warehouse), read_only=True) as connection:
        for mart, columns in contracts.items():
            actual = connection.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_schema = 'marts' and table_name = ? order by ordinal_position",
                [mart],
            ).fetchall()
            assert [(name, normalized(kind)) for name, kind in actual] == [
                (name, normalized(kind)) for name, kind in columns.items()
            ], mart


def test_a_model_that_breaks_its_contract_fails_the_build(fresh) -> None:
    path = fresh.project / "models" / "marts" / "_marts.yml"
    text = path.read_text()
    # What the warehouse had before the contract: DECIMAL(10,2) prices in dim_products.
    changed = text.replace(
        "      - name: unit_price\n        data_type: decimal(18,2)\n        description: Latest",
        "      - name: unit_price\n        data_type: decimal(10,2)\n        description: Latest",
    )
    assert changed != text
    path.write_text(changed)

    result = fresh.dbt(
        "build",
        "--select",
        "+dim_products",
        "--project-dir",
        "sales_analytics_dbt",
        "--profiles-dir",
        "sales_analytics_dbt",
    )

    assert result.returncode == 1
    assert "contract" in result.stdout.lower()
    assert "unit_price" in result.stdout


# --- point 1: the dbt data test on fct_transactions ----------------------------------------


def test_a_transaction_before_its_customers_registration_fails_the_dbt_test(built) -> None:
    with duckdb.connect(str(built.warehouse)) as connection:
        customer, day, registered = connection.execute(
            "select f.customer_id, f.transaction_date, c.registration_date"
            " from marts.fct_transactions as f join raw.customers as c using (customer_id)"
            " order by f.transaction_id limit 1"
        ).fetchone()
    # The build of the fixture ran this test and passed; now the customer registers later.
    select = ["--select", "fct_transactions,test_name:not_before_customer_registration"]
    args = ["--project-dir", "sales_analytics_dbt", "--profiles-dir", "sales_analytics_dbt"]
    with duckdb.connect(str(built.warehouse)) as connection:
        connection.execute(
            "update raw.customers set registration_date = ? where customer_id = ?",
            [day + timedelta(days=1), customer],
        )
    try:
        result = built.dbt("test", *select, *args)
        assert result.returncode == 1
        assert "not_before_customer_registration" in result.stdout
    finally:
        with duckdb.connect(str(built.warehouse)) as connection:
            connection.execute(
                "update raw.customers set registration_date = ? where customer_id = ?",
                [registered, customer],
            )
