"""The sender a job's records go out with: its ordering and aggregation, the stack's pacing."""

from __future__ import annotations

import time
from collections.abc import Callable

from shared.config import LoaderConfig
from shared.delivery.options import META_AGGREGATE, META_ORDERING, parse_aggregate, parse_ordering
from shared.delivery.outcomes import SendPolicy, StreamPort
from shared.delivery.pacing import ShardPacer
from shared.delivery.routing import Routing
from shared.delivery.sending import Sender
from shared.domain.jobs import Job
from shared.domain.limits import KinesisLimits


def make_sender(
    config: LoaderConfig,
    stream: StreamPort,
    job: Job,
    limits: KinesisLimits,
    max_attempts: int,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Sender:
    """A sender with the job's ordering and aggregation (as stored, else the stack's defaults)."""
    ordering, aggregate = job_options(config, job)
    routing = Routing(ordering=ordering, aggregate=aggregate, max_lanes=config.max_in_flight)
    pacer = ShardPacer(
        config.shard_records_per_second, config.shard_bytes_per_second, clock=clock, sleep=sleep
    )
    policy = SendPolicy(max_attempts=max_attempts, max_in_flight=config.max_in_flight)
    return Sender(
        stream, policy, routing=routing, limits=limits, pacer=pacer, clock=clock, sleep=sleep
    )


def job_options(config: LoaderConfig, job: Job) -> tuple[str, bool]:
    """The job's ordering and aggregation: as stored (a bad value is a ConfigError naming it), else the
    stack's defaults."""
    ordering_raw = job.extra.get("ordering")
    aggregate_raw = job.extra.get("aggregate")
    ordering = (
        parse_ordering(ordering_raw, f"object metadata {META_ORDERING}={ordering_raw!r}")
        if ordering_raw
        else config.default_ordering
    )
    aggregate = (
        parse_aggregate(aggregate_raw, f"object metadata {META_AGGREGATE}={aggregate_raw!r}")
        if aggregate_raw
        else config.default_aggregate
    )
    return ordering, aggregate
