"""Where the BI products go: the serving copy, the Parquet files and the dashboard."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field


class BiOutputs(dg.ConfigurableResource):
    """Paths of the published files (never the warehouse itself), and how long a swap waits for
    a serving copy that a read-write connection holds."""

    serving_path: str
    parquet_dir: str
    dashboard_path: str
    swap_attempts: int = Field(default=3, ge=1)
    swap_retry_seconds: float = Field(default=1.0, ge=0)

    @property
    def serving_file(self) -> Path:
        return Path(self.serving_path)

    @property
    def parquet_folder(self) -> Path:
        return Path(self.parquet_dir)

    @property
    def dashboard_file(self) -> Path:
        return Path(self.dashboard_path)
