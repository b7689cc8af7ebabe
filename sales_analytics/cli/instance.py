"""The Dagster instance the commands share: DAGSTER_HOME (default `.dagster/` in the project) and
its dagster.yaml, created when missing, so `run`, `daily` and `dev` see the same runs."""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

from sales_analytics.core.settings import PROJECT_ROOT, resolve_path

DAGSTER_HOME = "DAGSTER_HOME"
DEFAULT_DAGSTER_HOME = ".dagster"
# One run at a time: DuckDB allows one writing process per file. An existing file is kept.
INSTANCE_YAML = """\
concurrency:
  runs:
    max_concurrent_runs: 1
telemetry:
  enabled: false
"""


def prepare_dagster_home(
    environ: MutableMapping[str, str] | None = None, project_root: Path = PROJECT_ROOT
) -> Path:
    """DAGSTER_HOME as an absolute folder holding a dagster.yaml (both created when missing),
    written back to `environ` (default os.environ) for Dagster and the processes it starts."""
    env = os.environ if environ is None else environ
    configured = env.get(DAGSTER_HOME, "").strip()
    home = (
        resolve_path(configured) if configured else project_root / DEFAULT_DAGSTER_HOME
    ).resolve()
    home.mkdir(parents=True, exist_ok=True)
    instance_yaml = home / "dagster.yaml"
    if not instance_yaml.exists():
        instance_yaml.write_text(INSTANCE_YAML)
    env[DAGSTER_HOME] = str(home)
    return home
