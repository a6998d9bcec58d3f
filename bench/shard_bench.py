"""Our sender against the shard-capacity simulator, and a naive fixed-rate sender beside it."""

from __future__ import annotations

import random
from typing import Any

from bench.simulator import RECORDS_PER_S, ShardSimulator, VirtualClock
from shared.limits import KinesisLimits
from shared.models import Entry
from shared.packing import pack
from shared.sending import AdaptiveRate, Sender, SendPolicy

RECORD_BYTES = 100
HOT_SHARE = 0.5  # skewed: half the records carry one key


def _entries(n: int, skewed: bool, seed: int = 7) -> list[Entry]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        key = "hot-key" if skewed and rng.random() < HOT_SHARE else f"key-{i}"
        out.append(Entry(i, i + 1, 0, b"x" * RECORD_BYTES, key, RECORD_BYTES + len(key)))
    return out


def _figures(sim: ShardSimulator, clock: VirtualClock, n: int, skewed: bool) -> dict[str, Any]:
    # The best any sender can do: the busiest shard bounds the run (1,000 records/s each).
    busiest = max(sim.per_shard)
    best_seconds = max(
        0.0, max(busiest, n / sim.shards) / RECORDS_PER_S - 1.0
    )  # less the initial burst
    return {
        "shards": sim.shards,
        "keys": "skewed" if skewed else "uniform",
        "records": n,
        "virtual_seconds": round(clock.now, 2),
        "shard_utilization": round(sim.accepted / sim.capacity_records(clock.now), 3),
        "of_achievable": round(best_seconds / clock.now, 3),
        "records_retried_fraction": round(sim.throttled / n, 4),
        "lost": n - len(set(sim.stored)),
        "duplicates": len(sim.stored) - len(set(sim.stored)),
    }


def ours(shards: int, n: int, skewed: bool) -> dict[str, Any]:
    clock = VirtualClock()
    sim = ShardSimulator(shards, clock)
    sender = Sender(
        sim,
        SendPolicy(max_attempts=10_000, max_elapsed_s=1e9, max_in_flight=1),
        rate=AdaptiveRate(clock=clock, sleep=clock.sleep),
        clock=clock,
        sleep=clock.sleep,
    )
    for _ in sender.send_all(pack(_entries(n, skewed), KinesisLimits())):
        pass
    return _figures(sim, clock, n, skewed)


def naive(shards: int, n: int, skewed: bool) -> dict[str, Any]:
    """Full requests back to back at a fixed rate; failed entries go to the front of the next one."""
    clock = VirtualClock()
    sim = ShardSimulator(shards, clock)
    pending = _entries(n, skewed)
    while pending:
        request, pending = pending[:500], pending[500:]
        results = sim.put_records(request)
        pending = [e for e, r in zip(request, results, strict=True) if r.error_code] + pending
    return _figures(sim, clock, n, skewed)


def run(records_per_shard: int = 20_000) -> dict[str, Any]:
    rows = []
    for shards in (1, 4, 16):
        for skewed in (False, True):
            n = records_per_shard * shards
            rows.append({"sender": "ours", **ours(shards, n, skewed)})
            rows.append({"sender": "naive", **naive(shards, n, skewed)})
    uniform = [r for r in rows if r["sender"] == "ours" and r["keys"] == "uniform"]
    return {
        "shard_utilization": min(r["shard_utilization"] for r in uniform),
        "records_retried_fraction": max(r["records_retried_fraction"] for r in uniform),
        "runs": rows,
    }
