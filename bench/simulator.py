"""A Kinesis stand-in with N shards on a virtual clock: each shard takes at most 1 MiB/s and 1,000
records/s (token buckets holding one second), and answers per-entry ProvisionedThroughputExceededException
past that, in PutRecords' response shape. Entries route by explicit hash key or the MD5 of their key.
Time passes only through the clock, so minutes run in seconds.

The clock is per lane: the sender's lanes run side by side, so each lane thread keeps its own time from
the start of its batch, and the batch ends at the latest lane's time (`LaneClockSender`)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from shared.delivery.outcomes import THROTTLED, EntryResult
from shared.delivery.routing import PER_KEY
from shared.delivery.sending import Sender
from shared.delivery.shards import ShardMap
from shared.domain.limits import MIB, KinesisLimits
from shared.domain.models import Entry

RECORDS_PER_S = 1000
BYTES_PER_S = MIB


class VirtualClock:
    """Global virtual time, with a thread's own time while it runs a lane."""

    def __init__(self) -> None:
        self.now = 0.0
        self._local = threading.local()

    def __call__(self) -> float:
        return getattr(self._local, "now", self.now)

    def sleep(self, seconds: float) -> None:
        if hasattr(self._local, "now"):
            self._local.now += max(0.0, seconds)
        else:
            self.now += max(0.0, seconds)

    def enter_lane(self, start: float) -> None:
        self._local.now = start

    def leave_lane(self) -> float:
        end: float = self._local.now
        del self._local.now
        return end


class LaneClockSender(Sender):
    """The production sender, its lanes timed on the virtual clock as if they ran side by side.

    With per-key order a shard is in one lane, so each lane keeps its own time from the batch's
    start. With ordering none every lane may reach every shard, and lanes timed apart would reach a
    shard out of time order; there the lanes run one after another on the global clock (the shared
    per-shard pacing serializes them anyway; only the overlap of call latencies is not counted)."""

    def __init__(self, *args: Any, clock: VirtualClock, **kwargs: Any) -> None:
        super().__init__(*args, clock=clock, sleep=clock.sleep, **kwargs)
        self._vclock = clock
        self._lane_ends: list[float] = []
        self._batch_start = 0.0

    def _start(self, entries, deadline, pool, start_by=None):  # type: ignore[no-untyped-def]
        self._batch_start, self._lane_ends = self._vclock.now, []
        side_by_side = self.routing.ordering == PER_KEY
        return super()._start(entries, deadline, pool if side_by_side else None, start_by)

    def _lane(self, lane, deadline, abort):  # type: ignore[no-untyped-def]
        if (
            self.routing.ordering != PER_KEY
            or threading.current_thread() is threading.main_thread()
        ):
            return super()._lane(lane, deadline, abort)  # a lone lane, or the tail after the lanes
        self._vclock.enter_lane(self._batch_start)
        try:
            return super()._lane(lane, deadline, abort)
        finally:
            self._lane_ends.append(self._vclock.leave_lane())

    def _collect(self, started):  # type: ignore[no-untyped-def]
        for item in started.lanes:
            if isinstance(item, Future):
                item.exception()  # wait for every lane
        self._vclock.now = max([self._vclock.now, *self._lane_ends])
        return super()._collect(started)


@dataclass
class _Bucket:
    records: float = RECORDS_PER_S
    bytes: float = BYTES_PER_S
    stamp: float = 0.0

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.stamp)
        self.records = min(RECORDS_PER_S, self.records + elapsed * RECORDS_PER_S)
        self.bytes = min(BYTES_PER_S, self.bytes + elapsed * BYTES_PER_S)
        self.stamp = max(self.stamp, now)


@dataclass
class ShardSimulator:
    shards: int
    clock: VirtualClock
    call_latency_s: float = 0.02
    accepted: int = 0  # Kinesis records
    accepted_bytes: int = 0
    user_records: int = 0
    throttled: int = 0
    calls: int = 0
    billable_kib: int = 0
    per_shard: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._buckets = [_Bucket() for _ in range(self.shards)]
        self.per_shard = [0] * self.shards
        self.stored: list[int] = []
        self.arrivals: list[list[tuple[str, int]]] = [[] for _ in range(self.shards)]
        self._map = ShardMap.even(self.shards)
        self._lock = threading.Lock()

    def shard_map(self, refresh: bool = False) -> ShardMap:
        return self._map

    def put_records(self, entries: Sequence[Entry]) -> list[EntryResult]:
        self.clock.sleep(self.call_latency_s)
        now = self.clock()
        out = []
        with self._lock:
            self.calls += 1
            for entry in entries:
                shard = self._map.index_for(entry.partition_key, entry.explicit_hash_key)
                bucket = self._buckets[shard]
                bucket.refill(now)
                if bucket.records >= 1 and bucket.bytes >= entry.size:
                    bucket.records -= 1
                    bucket.bytes -= entry.size
                    self.accepted += 1
                    self.accepted_bytes += entry.size
                    self.billable_kib += -(-entry.size // 1024)
                    self.per_shard[shard] += 1
                    for member in entry.members or (entry,):
                        self.user_records += 1
                        self.stored.append(member.seq)
                        self.arrivals[shard].append((member.partition_key, member.seq))
                    out.append(EntryResult(self._map.shards[shard].shard_id, str(self.accepted)))
                else:
                    self.throttled += 1
                    out.append(
                        EntryResult(
                            error_code=THROTTLED,
                            error_message="Rate exceeded for shard (simulated).",
                        )
                    )
        return out

    def limits(self, request_kib: int | None = None) -> KinesisLimits:
        return KinesisLimits.from_kib(None, request_kib)

    def capacity_records(self, seconds: float) -> float:
        """Kinesis records the shards could take over `seconds`, counting the full one-second buckets
        they start with."""
        return self.shards * RECORDS_PER_S * (seconds + 1.0)

    def capacity_bytes(self, seconds: float) -> float:
        return self.shards * BYTES_PER_S * (seconds + 1.0)

    def order_violations(self) -> int:
        """User records that reached their shard before an earlier record (by seq) of their key."""
        bad = 0
        for arrivals in self.arrivals:
            last: dict[str, int] = {}
            for key, seq in arrivals:
                if last.get(key, -1) > seq:
                    bad += 1
                last[key] = max(seq, last.get(key, -1))
        return bad
