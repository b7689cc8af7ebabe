"""Daily partitions of the transactions history, and the window of days a run works on.

The partitions start on a date that is a setting (default DEFAULT_HISTORY_DAYS before today), so
the definition is built when Dagster loads the project, never at import.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from sales_analytics.core.settings import DEFAULT_HISTORY_DAYS, Settings


def resolve_history_start(settings: Settings, today: date | None = None) -> date:
    """SALES_ANALYTICS_HISTORY_START, else DEFAULT_HISTORY_DAYS before today in the timezone."""
    if settings.history_start is not None:
        return settings.history_start
    today = today or datetime.now(ZoneInfo(settings.timezone)).date()
    return today - timedelta(days=DEFAULT_HISTORY_DAYS)


def daily_partitions(start: date, timezone: str) -> dg.DailyPartitionsDefinition:
    """One partition per calendar day in `timezone`, from `start` to yesterday."""
    return dg.DailyPartitionsDefinition(start_date=start.isoformat(), timezone=timezone)


def partitioned_by(
    partitions_def: dg.PartitionsDefinition, assets: Iterable[dg.AssetsDefinition]
) -> list[dg.AssetsDefinition]:
    """The assets with `partitions_def` (assets written to be partitioned by day, defined at
    import, get their partitions here because the first day is only known at load time)."""
    return [
        assets_def.map_asset_specs(
            lambda spec: spec.replace_attributes(partitions_def=partitions_def)
        )
        for assets_def in assets
    ]


@dataclass(frozen=True)
class DayWindow:
    """The days from `start` up to, not including, `end` (a partition or a range of them)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"a window needs at least one day, got {self.start} to {self.end}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def dbt_vars(self) -> dict[str, str]:
        """The window as the dbt project's vars window_start / window_end."""
        return {"window_start": self.start.isoformat(), "window_end": self.end.isoformat()}


def run_window(context: dg.AssetExecutionContext) -> DayWindow | None:
    """The days the run targets (its partition or partition range), None for a run without
    partitions. Unpartitioned assets of a partitioned run see the run's window too."""
    if not (context.has_partition_key or context.has_partition_key_range):
        return None
    window = context.partition_time_window
    return DayWindow(window.start.date(), window.end.date())
