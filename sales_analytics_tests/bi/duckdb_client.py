"""A DuckDB client in its own process, standing in for Power BI, DBeaver or a notebook.

    python duckdb_client.py hold PATH        read-only; prints the mart row counts, then again
                                              through the same connection after a line on stdin
    python duckdb_client.py poll PATH STOP   opens, counts and closes in a loop until STOP exists;
                                              prints every distinct count it saw and any errors
    python duckdb_client.py write PATH       read-write; writes a marker table and keeps the
                                              connection open until stdin closes
    python duckdb_client.py open-rw PATH     read-write, writes nothing, holds until stdin closes
    python duckdb_client.py describe PATH    read-only; prints the counts and the column types

Run with any Python that has duckdb (the project's, or a separate DuckDB 1.4 environment).
Every answer is one JSON line on stdout.
"""

import json
import sys
import time
from pathlib import Path

import duckdb

COUNTS = (
    "select (select count(*) from marts.dim_customers),"
    " (select count(*) from marts.dim_products),"
    " (select count(*) from marts.fct_transactions)"
)


def say(message: dict) -> None:
    print(json.dumps(message), flush=True)


def counts(connection: duckdb.DuckDBPyConnection) -> list[int]:
    return list(connection.execute(COUNTS).fetchone())


def hold(path: str) -> None:
    connection = duckdb.connect(path, read_only=True)
    say({"counts": counts(connection), "duckdb": duckdb.__version__})
    sys.stdin.readline()
    say({"counts": counts(connection)})
    sys.stdin.read()
    connection.close()


def poll(path: str, stop: str) -> None:
    seen: list[list[int]] = []
    errors: list[str] = []
    reads = 0
    say({"started": True})
    while not Path(stop).exists():
        try:
            with duckdb.connect(path, read_only=True) as connection:
                observed = counts(connection)
        except duckdb.Error as error:
            errors.append(str(error))
        else:
            reads += 1
            if observed not in seen:
                seen.append(observed)
        time.sleep(0.01)
    say({"seen": seen, "errors": errors, "reads": reads})


def write(path: str, *, change: bool) -> None:
    connection = duckdb.connect(path)
    if change:
        connection.execute("create table held_by_writer as select 1 as marker")
    say({"ready": True})
    sys.stdin.read()
    connection.close()


def describe(path: str) -> None:
    """Counts and column types as this DuckDB version reads them, for the compatibility test."""
    with duckdb.connect(path, read_only=True) as connection:
        types = connection.execute(
            "select table_name, column_name, data_type from information_schema.columns"
            " where table_schema = 'marts' order by table_name, ordinal_position"
        ).fetchall()
        samples = {
            table: len(connection.execute(f"select * from marts.{table} limit 5").fetchall())
            for table in ("dim_customers", "dim_products", "fct_transactions")
        }
        say(
            {
                "duckdb": duckdb.__version__,
                "counts": counts(connection),
                "types": types,
                "sample_rows": samples,
            }
        )


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    if command == "hold":
        hold(*arguments)
    elif command == "poll":
        poll(*arguments)
    elif command == "write":
        write(*arguments, change=True)
    elif command == "open-rw":
        write(*arguments, change=False)
    elif command == "describe":
        describe(*arguments)
    else:
        raise SystemExit(f"unknown command {command!r}")
