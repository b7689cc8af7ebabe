"""The dbt manifest the definitions load at import (@dbt_assets), parsed when it is missing or
older than the dbt project's files, so a fresh clone runs without make."""

from __future__ import annotations

from pathlib import Path

PROJECT_FILES = ("*.sql", "*.yml", "*.yaml")
GENERATED_FOLDERS = {"target", "logs", "dbt_packages"}


def newest_project_file(project_dir: Path) -> float:
    """Modification time of the newest SQL or YAML file of the dbt project (outputs excluded)."""
    times = [
        path.stat().st_mtime
        for pattern in PROJECT_FILES
        for path in project_dir.rglob(pattern)
        if not GENERATED_FOLDERS.intersection(path.relative_to(project_dir).parts)
    ]
    return max(times, default=0.0)


def manifest_is_current(project_dir: Path, manifest: Path) -> bool:
    return manifest.exists() and manifest.stat().st_mtime >= newest_project_file(project_dir)


def ensure_manifest() -> None:
    from sales_analytics.defs.dbt.project import dbt_project, prepare_manifest

    if not manifest_is_current(Path(dbt_project.project_dir), Path(dbt_project.manifest_path)):
        print("Parsing the dbt project (no manifest, or older than the project) ...", flush=True)
        prepare_manifest()
