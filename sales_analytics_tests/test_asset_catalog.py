"""What the UI shows about each asset and check: description, owner, group, kinds, column schema,
and for dbt models the descriptions written in the dbt YAML."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import yaml

from sales_analytics.core.raw_contract import RAW_TABLES
from sales_analytics.core.settings import PROJECT_ROOT
from sales_analytics.core.validation import RULES_BY_TABLE, TABLES
from sales_analytics.definitions import defs

MODELS_DIR = PROJECT_ROOT / "sales_analytics_dbt" / "models"
KINDS_BY_GROUP = {
    "raw": {"python", "duckdb"},
    "staging": {"dbt", "duckdb"},
    "marts": {"dbt", "duckdb"},
}


def _normalized(text: str | None) -> str:
    return " ".join((text or "").split())


def _yaml_models() -> dict[str, dict]:
    models = {}
    for path in sorted(MODELS_DIR.rglob("*.yml")):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            models[model["name"]] = {**model, "group": path.parent.name}
    return models


@pytest.fixture
def graph(warehouse_path: Path):
    return defs().resolve_asset_graph()


def test_every_asset_has_description_owner_group_and_kinds(graph) -> None:
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:
            continue
        name = key.to_user_string()
        assert _normalized(node.description), name
        assert node.owners, name
        assert node.group_name and node.group_name != "default", name
        assert node.kinds, name
        if node.group_name in KINDS_BY_GROUP:
            assert node.kinds >= KINDS_BY_GROUP[node.group_name], name


def test_the_three_layers_are_groups(graph) -> None:
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}

    assert groups >= {"raw", "staging", "marts"}


def test_dbt_models_carry_their_yaml_descriptions_and_columns(graph) -> None:
    models = _yaml_models()
    assert models

    for name, model in models.items():
        node = graph.get(dg.AssetKey([model["group"], name]))
        # dagster-dbt appends the model's SQL after the YAML description.
        assert _normalized(node.description).startswith(_normalized(model["description"])), name
        schema = node.metadata["dagster/column_schema"]
        assert isinstance(schema, dg.TableSchema), name
        described = {column.name: column.description for column in schema.columns}
        for column in model.get("columns", []):
            if column.get("description"):
                assert _normalized(described.get(column["name"])) == _normalized(
                    column["description"]
                ), f"{name}.{column['name']}"


def test_raw_assets_show_their_contracts_columns_with_sql_types_and_descriptions(graph) -> None:
    for table, contract in RAW_TABLES.items():
        metadata = graph.get(dg.AssetKey(["raw", table])).metadata
        # A table's name, not the path of the file that holds it.
        assert metadata["dagster/table_name"] == f"raw.{table}"
        columns = [
            (column.name, column.type, column.description)
            for column in metadata["dagster/column_schema"].columns
        ]
        assert columns == [(c.name, c.sql_type, c.description) for c in contract], table
        assert all(description for _, _, description in columns), table


def test_raw_checks_have_readable_names_and_descriptions(warehouse_path: Path) -> None:
    specs = {
        spec.key: spec
        for checks_def in defs().asset_checks or []
        for spec in checks_def.check_specs
        if spec.asset_key.path[0] == "raw"
    }

    assert {key.name for key in specs} == {
        rule.name for table in TABLES for rule in RULES_BY_TABLE[table]
    }
    for key, spec in specs.items():
        assert spec.description, key
        assert key.name.replace("_", "").isalnum() and key.name.islower(), key
