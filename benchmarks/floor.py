"""The floor: the dbt project's models and data tests as plain DuckDB SQL, run in one process.

The SQL is dbt's own: `dbt compile` writes every model's and test's compiled SQL into the
manifest of a target folder (target/compiled holds the same text), and the floor runs it without
Dagster or dbt, so the benchmark says what the orchestration costs on top of DuckDB and can never
drift from the models. Relations are renamed into the floor's own schemas (floor_staging,
floor_marts) next to the raw tables they read; sales_analytics_tests/test_benchmark.py checks that
its marts equal the pipeline's.

Two compilations: one with the history's vars against an empty database (every incremental model
compiles to its first build) for the full build, one with the night's window against a database
where the incremental models exist (they compile to their incremental SQL, as in a nightly run),
for the nightly build, whose data tests look at those days as dbt's do.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

from sales_analytics.core.settings import DUCKDB_PATH
from sales_analytics.defs.dbt.project import dbt_executable, dbt_project

STAGING = "floor_staging"
MARTS = "floor_marts"
# The database file dbt compiles against; its catalog name is stripped from the compiled SQL so
# the statements run in whatever file the floor opens.
COMPILE_DATABASE = "floor_compile"
# Models the nightly run does not rebuild, and whose tests it does not run (customers are not
# regenerated at night).
NOT_NIGHTLY = ("stg_customers",)


@dataclass(frozen=True)
class CompiledModel:
    name: str
    schema: str  # the floor's schema
    materialized: str
    sql: str
    source_schema: str = ""  # the schema dbt builds it in
    strategy: str | None = None  # incremental strategy
    unique_key: str | None = None


@dataclass(frozen=True)
class CompiledTest:
    name: str
    model: str | None  # the model it is attached to
    sql: str


@dataclass(frozen=True)
class CompiledProject:
    models: tuple[CompiledModel, ...]  # in dependency order
    tests: tuple[CompiledTest, ...]

    def model(self, name: str) -> CompiledModel:
        return next(model for model in self.models if model.name == name)


class CompileFailed(RuntimeError):
    pass


def floor_schema(schema: str) -> str:
    return {"staging": STAGING, "marts": MARTS}.get(schema, f"floor_{schema}")


def compile_project(
    target_path: Path,
    dbt_vars: Mapping[str, str],
    existing: tuple[CompiledModel, ...] = (),
) -> CompiledProject:
    """`dbt compile` of the project with `dbt_vars` into `target_path`, read back from its
    manifest. It compiles against a database beside the target in which only the `existing`
    models' relations exist (empty): those compile to their incremental SQL, the others to their
    first build."""
    target_path.mkdir(parents=True, exist_ok=True)
    database = target_path / f"{COMPILE_DATABASE}.duckdb"
    with duckdb.connect(str(database)) as connection:
        for model in existing:
            connection.execute(f'create schema if not exists "{model.source_schema}"')
            connection.execute(
                f'create table if not exists "{model.source_schema}"."{model.name}" (x integer)'
            )
    command = [
        dbt_executable(),
        "compile",
        "--quiet",
        "--profiles-dir",
        str(dbt_project.profiles_dir),
        "--target-path",
        str(target_path),
        "--vars",
        json.dumps(dict(dbt_vars)),
    ]
    env = {**os.environ, DUCKDB_PATH: str(database)}
    done = subprocess.run(
        command, cwd=dbt_project.project_dir, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise CompileFailed(f"dbt compile exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return read_compiled(target_path / "manifest.json")


def read_compiled(manifest_path: Path) -> CompiledProject:
    """The compiled models (staging before marts, each after what it refs) and tests, with every
    model's relation renamed into the floor's schemas."""
    nodes = json.loads(manifest_path.read_text())["nodes"]
    models = {node_id: node for node_id, node in nodes.items() if node["resource_type"] == "model"}
    renames = {}
    for node in models.values():
        floor_relation = f'"{floor_schema(node["schema"])}"."{node["alias"]}"'
        # Relations may be written with or without the database (a portable warehouse file).
        renames[node["relation_name"]] = floor_relation
        renames[f'"{node["schema"]}"."{node["alias"]}"'] = floor_relation

    def floor_sql(sql: str) -> str:
        # Longest first, so no relation name is replaced inside a longer one.
        for original in sorted(renames, key=len, reverse=True):
            sql = sql.replace(original, renames[original])
        return sql.replace(f'"{COMPILE_DATABASE}".', "")

    ordered: list[str] = []

    def visit(node_id: str) -> None:
        if node_id in ordered:
            return
        for parent in models[node_id]["depends_on"]["nodes"]:
            if parent in models:
                visit(parent)
        ordered.append(node_id)

    for node_id in sorted(models):
        visit(node_id)
    compiled_models = tuple(
        CompiledModel(
            name=models[node_id]["alias"],
            schema=floor_schema(models[node_id]["schema"]),
            materialized=models[node_id]["config"]["materialized"],
            sql=floor_sql(models[node_id]["compiled_code"]),
            source_schema=models[node_id]["schema"],
            strategy=models[node_id]["config"].get("incremental_strategy"),
            unique_key=models[node_id]["config"].get("unique_key"),
        )
        for node_id in ordered
    )
    tests = tuple(
        CompiledTest(
            name=node["name"],
            model=models[node["attached_node"]]["alias"] if node.get("attached_node") else None,
            sql=floor_sql(node["compiled_code"]),
        )
        for node_id, node in sorted(nodes.items())
        if node["resource_type"] == "test"
    )
    return CompiledProject(compiled_models, tests)


def create_schemas(connection: duckdb.DuckDBPyConnection, project: CompiledProject) -> None:
    for schema in sorted({model.schema for model in project.models}):
        connection.execute(f'create schema if not exists "{schema}"')


def build_model(connection: duckdb.DuckDBPyConnection, model: CompiledModel) -> None:
    kind = "view" if model.materialized == "view" else "table"
    connection.execute(f'create or replace {kind} "{model.schema}"."{model.name}" as {model.sql}')


def run_tests(
    connection: duckdb.DuckDBPyConnection, project: CompiledProject, *, nightly: bool = False
) -> int:
    """Run the compiled data tests (those of the nightly run only when `nightly`); the number
    that found failing rows."""
    failures = 0
    for test in project.tests:
        if nightly and test.model in NOT_NIGHTLY:
            continue
        (failing,) = connection.execute(f"select count(*) from ({test.sql})").fetchone()
        failures += failing > 0
    return failures


def full_build(connection: duckdb.DuckDBPyConnection, project: CompiledProject) -> int:
    """Every model from scratch, then every test; the number of failing tests."""
    create_schemas(connection, project)
    for model in project.models:
        build_model(connection, model)
    return run_tests(connection, project)


def incremental_build(connection: duckdb.DuckDBPyConnection, project: CompiledProject) -> int:
    """What a nightly run does after the raw rows of its day changed, with `project` compiled
    for the night (incremental models in their incremental SQL): tables rebuilt, incremental
    models updated with dbt's strategy (append; delete+insert on the unique key), then the
    nightly tests; the number of failing tests."""
    for model in project.models:
        if model.materialized == "view" or model.name in NOT_NIGHTLY:
            continue
        if model.materialized != "incremental":
            build_model(connection, model)
            continue
        relation = f'"{model.schema}"."{model.name}"'
        connection.execute("begin")
        connection.execute(f"create temporary table floor_new as {model.sql}")
        if model.strategy == "delete+insert" and model.unique_key:
            key = model.unique_key
            connection.execute(
                f"delete from {relation} where {key} in (select {key} from floor_new)"
            )
        connection.execute(f"insert into {relation} by name select * from floor_new")
        connection.execute("drop table floor_new")
        connection.execute("commit")
    return run_tests(connection, project, nightly=True)
