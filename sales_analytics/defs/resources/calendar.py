"""Which day a run is for: the as-of date every asset of the run agrees on."""

from __future__ import annotations

from datetime import date

import dagster as dg

from sales_analytics.core.run_date import resolve_as_of
from sales_analytics.core.settings import DEFAULT_TIMEZONE


class RunCalendar(dg.ConfigurableResource):
    timezone: str = DEFAULT_TIMEZONE

    def as_of(self, value: str | None) -> date:
        """`value` (YYYY-MM-DD) when given, else today in `timezone`."""
        return resolve_as_of(value, self.timezone)
