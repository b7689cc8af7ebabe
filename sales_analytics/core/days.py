"""The days a run works on and the date it is "as of" (no Dagster here).

Every asset is partitioned by day, so a run always covers a window of days: one partition (the
nightly run) or a range (a backfill, `make run`). The run's as-of date — what customer_status is
measured from, the day registrations may reach — is the end of that window unless the run names
another one, so a rebuild of the same days gives the same warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sales_analytics.core.settings import DEFAULT_HISTORY_DAYS


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

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def each_day(self) -> list[date]:
        return [self.start + timedelta(days=offset) for offset in range(self.days)]


def today_in(timezone: str) -> date:
    return datetime.now(ZoneInfo(timezone)).date()


def resolve_history_start(
    history_start: date | None, timezone: str, today: date | None = None
) -> date:
    """The first daily partition: `history_start` when set, else DEFAULT_HISTORY_DAYS before
    today in `timezone`."""
    if history_start is not None:
        return history_start
    return (today or today_in(timezone)) - timedelta(days=DEFAULT_HISTORY_DAYS)


def history_window(as_of: date, days: int | None, history_start: date | None) -> DayWindow:
    """The days `make run` backfills: `days` days before `as_of`; without `days`, from
    `history_start` (else DEFAULT_HISTORY_DAYS before `as_of`) up to `as_of`."""
    if days is None:
        days = (as_of - history_start).days if history_start else DEFAULT_HISTORY_DAYS
    if days < 1:
        raise ValueError(f"the history starts {history_start}, not before the as-of date {as_of}")
    return DayWindow(as_of - timedelta(days=days), as_of)


def parse_as_of(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise ValueError(f"the as-of date must be YYYY-MM-DD, got {value!r}") from error


def as_of_date(window: DayWindow, override: str | None = None) -> date:
    """The run's as-of date: `override` (YYYY-MM-DD) when given, else the end of its window —
    the day after its last partition, i.e. "today" for the nightly run of yesterday."""
    return parse_as_of(override) if override else window.end
