"""The as-of date a run works for: given explicitly, or today in the schedule's timezone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


def resolve_as_of(value: str | None, timezone: str) -> date:
    if value is None:
        return datetime.now(ZoneInfo(timezone)).date()
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise ValueError(f"as_of_date must be a date as YYYY-MM-DD, got {value!r}") from error
