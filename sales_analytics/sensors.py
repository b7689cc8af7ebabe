"""Sensors: the evaluation of the marts' freshness."""

import warnings
from collections.abc import Sequence

import dagster as dg

# How often the freshness sensor looks: a stale mart turns red at most this long after its
# deadline, and a tick is a few cheap queries.
FRESHNESS_SENSOR_INTERVAL_SECONDS = 300


def build_freshness_sensor(
    freshness_checks: Sequence[dg.AssetChecksDefinition],
) -> dg.SensorDefinition:
    """Launches the freshness checks once they can have gone stale, so a missed nightly run turns
    them red with nobody running anything; on by default."""
    # Superseded in Dagster 1.13 together with the checks themselves (see checks.py).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=dg.SupersessionWarning)
        return dg.build_sensor_for_freshness_checks(
            freshness_checks=freshness_checks,
            name="marts_freshness_sensor",
            minimum_interval_seconds=FRESHNESS_SENSOR_INTERVAL_SECONDS,
            default_status=dg.DefaultSensorStatus.RUNNING,
        )
