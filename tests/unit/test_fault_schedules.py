"""Seeded random fault schedules (tests/simulation.py): the real ingest and retry handlers on the
in-memory fakes, under throttles, internal errors, outages, timeouts after a write, crashes at random
steps, invocations killed at their timeout or overrunning it, duplicate and reordered S3 events,
retry requests at random moments, overwrites and lost versions. Each schedule checks the same
invariants: every job ends; records = sent + failed + rejected + dead; the ledger holds what the
counters say; every accepted record is in the stream (or dead); a duplicate only from the requests
in flight when an outcome was lost (a crash, a timeout after a write, an invocation outliving its
lease), at most the requests between two checkpoints for each; one job per uploaded version.

`make test` runs LOADER_SCHEDULES (default 1,000) schedules; `make fuzz-schedules` runs more. A
failing schedule names its seed: `python -m tests.simulation SEED` replays it (SIM_TRACE=1 or 2
prints what happened)."""

from __future__ import annotations

import os
import random

import pytest

from tests.simulation import World, run_schedule

SCHEDULES = int(os.environ.get("LOADER_SCHEDULES", "1000"))
FIRST = int(os.environ.get("LOADER_FIRST_SCHEDULE", "0"))
CHUNK = 25


@pytest.mark.parametrize("start", range(FIRST, FIRST + SCHEDULES, CHUNK))
def test_every_schedule_keeps_the_invariants(start):
    failed = []
    for seed in range(start, min(start + CHUNK, FIRST + SCHEDULES)):
        outcome = run_schedule(seed)
        if outcome.problems:
            failed.append(str(outcome))
    assert not failed, "\n".join(failed) + "\nreplay with: python -m tests.simulation SEED"


def test_the_duplicate_bound_is_enforced():
    """The checker itself: entries sent again beyond what the lost outcomes allow are a problem."""
    random.seed(3)
    world = World(3)
    assert not world.run().problems
    events = (
        len(world.sim.crashes)
        + world.stream.timeouts
        + (world.sim.slow if world.sim.overrun else 0)
    )
    allowed = events * world.config.checkpoint_every_requests * world.stream.shards * 2 * 50
    first = world.stream.records[0]
    world.stream.records += [first] * (allowed + 1)
    assert any("sent again" in p for p in world.check().problems)
