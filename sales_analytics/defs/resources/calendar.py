"""The timezone of the project's days: the schedule's, the partitions' and "today"'s."""

from __future__ import annotations

import dagster as dg

from sales_analytics.core.settings import DEFAULT_TIMEZONE


class RunCalendar(dg.ConfigurableResource):
    """The timezone of the daily partitions and of the 02:00 schedule."""

    timezone: str = DEFAULT_TIMEZONE
