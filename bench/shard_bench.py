"""The sender against the shard-capacity simulator (4 shards, virtual clock): aggregated vs not,
ordered vs unordered, uniform vs skewed keys; and a naive fixed-rate sender beside it."""

from __future__ import annotations

import random
from typing import Any

from bench.simulator import RECORDS_PER_S, LaneClockSender, ShardSimulator, VirtualClock
from shared.delivery.batches import Batcher
from shared.delivery.outcomes import SendPolicy
from shared.delivery.pacing import ShardPacer
from shared.delivery.routing import NONE, PER_KEY, Routing
from shared.domain.limits import KinesisLimits
from shared.domain.models import Entry

RECORD_BYTES = 100  # data bytes; the key adds its own
HOT_SHARE = 0.5  # skewed: half the records carry one key
SHARDS = 4


def _entries(n: int, skewed: bool, seed: int = 7) -> list[Entry]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        key = "hot-key" if skewed and rng.random() < HOT_SHARE else f"key-{i}"
        out.append(Entry(i, i + 1, 0, b"x" * RECORD_BYTES, key, RECORD_BYTES + len(key)))
    return out


def ours(
    n: int, *, skewed: bool, ordering: str, aggregate: bool, shards: int = SHARDS
) -> dict[str, Any]:
    clock = VirtualClock()
    sim = ShardSimulator(shards, clock)
    limits = KinesisLimits()
    routing = Routing(ordering, aggregate, max_lanes=4)
    sender = LaneClockSender(
        sim, SendPolicy(max_attempts=10_000, max_elapsed_s=1e9, max_in_flight=4),
        routing=routing, limits=limits,
        pacer=ShardPacer(clock=clock, sleep=clock.sleep), clock=clock,
    )  # fmt: skip
    batcher = Batcher.for_sender(limits, routing, shards)

    for _ in sender.send_all(batcher.batches(_entries(n, skewed))):
        pass
    return _figures(sim, clock, n, skewed) | {"ordering": ordering, "aggregate": aggregate}


def _figures(sim: ShardSimulator, clock: VirtualClock, n: int, skewed: bool) -> dict[str, Any]:
    seconds = max(clock.now, 1e-9)
    return {
        "sender": "ours",
        "shards": sim.shards,
        "keys": "skewed" if skewed else "uniform",
        "records": n,
        "virtual_seconds": round(seconds, 2),
        "records_per_s": round(sim.user_records / seconds),
        "kinesis_records": sim.accepted,
        "requests": sim.calls,
        "shard_utilization_records": round(sim.accepted / sim.capacity_records(seconds), 3),
        "shard_utilization_bytes": round(sim.accepted_bytes / sim.capacity_bytes(seconds), 3),
        "billable_kib_per_million": round(sim.billable_kib * 1_000_000 / n),
        "entries_retried_fraction": round(sim.throttled / max(1, sim.accepted), 4),
        "order_violations": sim.order_violations(),
        "lost": n - len(set(sim.stored)),
        "duplicates": len(sim.stored) - len(set(sim.stored)),
    }


def naive(n: int, skewed: bool, shards: int = SHARDS) -> dict[str, Any]:
    """Full requests back to back; failed entries go to the front of the next one."""
    clock = VirtualClock()
    sim = ShardSimulator(shards, clock)
    pending = _entries(n, skewed)
    while pending:
        request, pending = pending[:500], pending[500:]
        results = sim.put_records(request)
        pending = [e for e, r in zip(request, results, strict=True) if r.error_code] + pending
    return _figures(sim, clock, n, skewed) | {
        "sender": "naive",
        "ordering": "none",
        "aggregate": False,
    }


def run(records: int = 200_000) -> dict[str, Any]:
    rows = []
    for skewed in (False, True):
        for ordering in (PER_KEY, NONE):
            for aggregate in (False, True):
                rows.append(ours(records, skewed=skewed, ordering=ordering, aggregate=aggregate))
        rows.append(naive(records, skewed))

    def pick(keys: str, ordering: str, aggregate: bool) -> dict[str, Any]:
        return next(r for r in rows if r["sender"] == "ours" and r["keys"] == keys
                    and r["ordering"] == ordering and r["aggregate"] is aggregate)  # fmt: skip

    plain, agg = pick("uniform", PER_KEY, False), pick("uniform", PER_KEY, True)
    unordered = pick("uniform", NONE, False)
    skew_ordered, skew_unordered = pick("skewed", PER_KEY, False), pick("skewed", NONE, False)
    return {
        "shards": SHARDS,
        "record_bytes": RECORD_BYTES,
        "aggregated_over_plain_records_per_s": round(
            agg["records_per_s"] / plain["records_per_s"], 2
        ),
        "aggregated_byte_utilization": agg["shard_utilization_bytes"],
        "ordered_over_unordered_uniform": round(
            plain["records_per_s"] / unordered["records_per_s"], 3
        ),
        "ordered_over_unordered_skewed": round(
            skew_ordered["records_per_s"] / skew_unordered["records_per_s"], 3
        ),
        "billable_kib_per_million_plain": plain["billable_kib_per_million"],
        "billable_kib_per_million_aggregated": agg["billable_kib_per_million"],
        "shard_utilization": plain["shard_utilization_records"],
        "records_retried_fraction": plain["entries_retried_fraction"],
        "per_shard_limit_records_per_s": RECORDS_PER_S,
        "runs": rows,
    }
