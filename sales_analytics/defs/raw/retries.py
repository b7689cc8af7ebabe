"""Retry policies, applied in one place: the extraction (raw) assets are retried, nothing else.

The raw assets call an HTTP API and write the warehouse, where transient failures (an outage, a
lock) pass on their own. dbt is not retried: a failed model or test is a fact about the data or
the SQL that a second attempt would only repeat, and checks are not retried for the same reason.
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg


def extraction_retry_policy(count: int, delay_seconds: float) -> dg.RetryPolicy | None:
    """`count` retries `delay_seconds` apart; None when retries are switched off (count 0)."""
    if count == 0:
        return None
    return dg.RetryPolicy(max_retries=count, delay=delay_seconds)


def with_retry_policy(
    assets_def: dg.AssetsDefinition, policy: dg.RetryPolicy
) -> dg.AssetsDefinition:
    """`assets_def` whose op is retried by `policy`.

    @asset accepts a retry policy only when it decorates, i.e. at import time, but the counts are
    settings read when the definitions load; so the op is copied with the policy, keeping its
    name, inputs, outputs, config and resources, and the asset keeps everything else.
    """
    op = assets_def.op
    retried_op = dg.OpDefinition(
        compute_fn=op.compute_fn,
        name=op.name,
        ins={input_def.name: dg.In.from_definition(input_def) for input_def in op.input_defs},
        outs={output_def.name: dg.Out.from_definition(output_def) for output_def in op.output_defs},
        description=op.description,
        config_schema=op.config_schema,
        required_resource_keys=op.required_resource_keys,
        tags=op.tags,
        retry_policy=policy,
        pool=op.pool,
    )
    return dg.AssetsDefinition.dagster_internal_init(
        **{**assets_def.get_attributes_dict(), "node_def": retried_op}
    )


def with_extraction_retries(
    assets: Iterable[dg.AssetsDefinition], policy: dg.RetryPolicy | None
) -> list[dg.AssetsDefinition]:
    return [asset if policy is None else with_retry_policy(asset, policy) for asset in assets]
