"""`python -m sales_analytics_tests.crash.raw_write READY_FILE TABLE [make run options]`: `make run`
that stops inside the transaction writing the raw TABLE, once all its rows are in and before the
commit, announces it by creating READY_FILE and waits there to be killed."""

import sys
import time
from pathlib import Path

from sales_analytics.cli import run
from sales_analytics.defs.resources.warehouse import WarehouseIOManager


def stop_after_writing(table_name: str, ready_file: Path) -> None:
    write_rows = WarehouseIOManager.write_rows

    def write_then_wait(self, connection, table, *args, **kwargs):
        written = write_rows(self, connection, table, *args, **kwargs)
        if table.name == table_name:
            ready_file.write_text(f"{written} rows written to {table.display_name}, not committed")
            while True:
                time.sleep(3600)
        return written

    WarehouseIOManager.write_rows = write_then_wait


if __name__ == "__main__":
    ready, table, *options = sys.argv[1:]
    stop_after_writing(table, Path(ready))
    sys.exit(run.main(options))
