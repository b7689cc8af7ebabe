"""A copy of the project whose dbt build stops inside one model's transaction.

The product finds its dbt project beside its package (PROJECT_ROOT), so a copy of the checkout with
one more post-hook in its dbt_project.yml is the product with a pause point: a run started in the
copy (`python -m` puts the working folder first on sys.path) builds the copy's dbt project. The
post-hook runs inside the model's transaction, after its new rows are in place: it creates the
ready file, then runs a query that never ends, so the test can kill the build there.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from sales_analytics.core.settings import PROJECT_ROOT

DBT_DIR = "sales_analytics_dbt"
IGNORED = shutil.ignore_patterns("__pycache__", "target", "logs", "*.duckdb*")


def pause_hooks(ready_file: Path) -> list[str]:
    path = str(ready_file).replace("'", "''")
    return [
        f"copy (select 'arrived' as crash_point) to '{path}' (format csv)",
        "select count(*) from range(1000000000000000) as forever(i) where i < 0",
    ]


def overlay_pausing_in(model: str, folder: str, root: Path, ready_file: Path, env) -> Path:
    """A copy of the project under `root` whose model `folder/model` pauses in its transaction;
    its dbt manifest is parsed with `env` (the warehouse settings of the run)."""
    for part in ("sales_analytics", DBT_DIR):
        shutil.copytree(PROJECT_ROOT / part, root / part, ignore=IGNORED)
    project_file = root / DBT_DIR / "dbt_project.yml"
    project = yaml.safe_load(project_file.read_text())
    models = project["models"]["sales_analytics"].setdefault(folder, {})
    models.setdefault(model, {})["+post-hook"] = pause_hooks(ready_file)
    project_file.write_text(yaml.safe_dump(project, sort_keys=False))
    dbt = Path(sys.executable).with_name("dbt")
    subprocess.run(
        [str(dbt), "parse", "--quiet", "--profiles-dir", "."],
        cwd=root / DBT_DIR,
        env=env,
        check=True,
    )
    return root
