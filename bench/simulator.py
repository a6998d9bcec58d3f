"""A Kinesis stand-in with N shards on a virtual clock: each shard takes at most 1 MiB/s and 1,000
records/s (token buckets holding one second), and answers per-entry ProvisionedThroughputExceededException
past that, in PutRecords' response shape. Time passes only through the clock, so minutes run in seconds."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from shared.limits import MIB, KinesisLimits
from shared.models import Entry
from shared.sending import THROTTLED, EntryResult

RECORDS_PER_S = 1000
BYTES_PER_S = MIB
HASH_SPACE = 1 << 128


class VirtualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


@dataclass
class _Bucket:
    records: float = RECORDS_PER_S
    bytes: float = BYTES_PER_S
    stamp: float = 0.0

    def refill(self, now: float) -> None:
        elapsed = now - self.stamp
        self.records = min(RECORDS_PER_S, self.records + elapsed * RECORDS_PER_S)
        self.bytes = min(BYTES_PER_S, self.bytes + elapsed * BYTES_PER_S)
        self.stamp = now


@dataclass
class ShardSimulator:
    shards: int
    clock: VirtualClock
    call_latency_s: float = 0.02
    accepted: int = 0
    accepted_bytes: int = 0
    throttled: int = 0
    calls: int = 0
    per_shard: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._buckets = [_Bucket() for _ in range(self.shards)]
        self.per_shard = [0] * self.shards
        self.stored: list[int] = []

    def shard_of(self, partition_key: str) -> int:
        digest = int.from_bytes(hashlib.md5(partition_key.encode()).digest(), "big")
        return digest * self.shards // HASH_SPACE

    def put_records(self, entries: Sequence[Entry]) -> list[EntryResult]:
        self.calls += 1
        self.clock.sleep(self.call_latency_s)
        now = self.clock.now
        out = []
        for entry in entries:
            shard = self.shard_of(entry.partition_key)
            bucket = self._buckets[shard]
            bucket.refill(now)
            if bucket.records >= 1 and bucket.bytes >= entry.size:
                bucket.records -= 1
                bucket.bytes -= entry.size
                self.accepted += 1
                self.accepted_bytes += entry.size
                self.per_shard[shard] += 1
                self.stored.append(entry.seq)
                out.append(EntryResult(f"shardId-{shard:012d}", str(self.accepted)))
            else:
                self.throttled += 1
                out.append(
                    EntryResult(
                        error_code=THROTTLED, error_message="Rate exceeded for shard (simulated)."
                    )
                )
        return out

    def limits(self, request_kib: int | None = None) -> KinesisLimits:
        return KinesisLimits.from_kib(None, request_kib)

    def capacity_records(self, seconds: float) -> float:
        """What the shards could take over `seconds`, counting the full one-second buckets they start with."""
        return self.shards * RECORDS_PER_S * (seconds + 1.0)
