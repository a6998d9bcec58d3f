"""Per-shard pacing: a shard's two limits as token buckets, adapting when the shard throttles."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from shared.delivery.routing import SHARD_BYTES_PER_SECOND, SHARD_RECORDS_PER_SECOND

PACING_MARGIN_S = 0.002


class _Bucket:
    __slots__ = ("bytes", "fraction", "last_cut", "records", "stamp")

    def __init__(self, records: float, size: float, now: float) -> None:
        self.fraction = 1.0
        self.records, self.bytes, self.stamp = records, size, now
        self.last_cut = float("-inf")


class ShardPacer:
    """Token buckets per shard for both of a shard's limits (records/s and bytes/s), each holding one
    second. A shard that throttles has both rates cut to 0.7 (once per congestion event, never below a
    tenth); each response in which it took records grows them back by 2% of the nominal limit, up to
    the limit, so a shard that throttles a share of entries whatever the rate settles instead of
    collapsing. 0.7 rather than TCP's 0.5: on the shard simulator it keeps utilization near 1 with a
    few percent of entries retried (`make bench`).
    """

    def __init__(
        self,
        records_per_s: float = SHARD_RECORDS_PER_SECOND,
        bytes_per_s: float = SHARD_BYTES_PER_SECOND,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        decrease: float = 0.7,
        increase: float = 0.02,
        floor: float = 0.1,
        cooldown_s: float = 1.0,
    ) -> None:
        self.records_per_s, self.bytes_per_s = records_per_s, bytes_per_s
        self._clock, self._sleep = clock, sleep
        self._decrease, self._increase, self._floor, self._cooldown = (
            decrease,
            increase,
            floor,
            cooldown_s,
        )
        self._lock = threading.Lock()
        self._shards: dict[str, _Bucket] = {}
        self.waited_s = 0.0

    def _bucket(self, shard: str, now: float) -> _Bucket:
        bucket = self._shards.get(shard)
        if bucket is None:
            bucket = self._shards[shard] = _Bucket(self.records_per_s, self.bytes_per_s, now)
            return bucket
        rate_r = self.records_per_s * bucket.fraction
        rate_b = self.bytes_per_s * bucket.fraction
        elapsed = max(0.0, now - bucket.stamp)
        bucket.records = min(rate_r, bucket.records + elapsed * rate_r)
        bucket.bytes = min(rate_b, bucket.bytes + elapsed * rate_b)
        bucket.stamp = now
        return bucket

    def fraction(self, shard: str) -> float:
        bucket = self._shards.get(shard)
        return bucket.fraction if bucket else 1.0

    def acquire(self, demand: dict[str, list[int]], until: float | None = None) -> bool:
        """Take `demand` (shard → [records, bytes]) from the buckets, sleeping until it is there.
        When that would be past `until` (the invocation's deadline) nothing is taken and it returns
        False at once: the caller hands those records on rather than overrun its time."""
        wait = 0.0
        with self._lock:
            now = self._clock()
            buckets = [(self._bucket(shard, now), need) for shard, need in demand.items()]
            for bucket, (records, size) in buckets:
                bucket.records -= records
                bucket.bytes -= size
                if bucket.records < 0:
                    wait = max(wait, -bucket.records / (self.records_per_s * bucket.fraction))
                if bucket.bytes < 0:
                    wait = max(wait, -bucket.bytes / (self.bytes_per_s * bucket.fraction))
            if wait > 0:
                wait += PACING_MARGIN_S  # not to the microsecond: the stream's clock is not ours
            if until is not None and now + wait > until:
                for bucket, (records, size) in buckets:
                    bucket.records += records
                    bucket.bytes += size
                return False
            self.waited_s += wait
        if wait > 0:
            self._sleep(wait)
        return True

    def wait_for(self, demand: dict[str, list[int]]) -> float:
        """How long `acquire(demand)` would sleep now (nothing is taken)."""
        wait = 0.0
        with self._lock:
            now = self._clock()
            for shard, (records, size) in demand.items():
                bucket = self._bucket(shard, now)
                wait = max(
                    wait,
                    (records - bucket.records) / (self.records_per_s * bucket.fraction),
                    (size - bucket.bytes) / (self.bytes_per_s * bucket.fraction),
                )
        return wait + PACING_MARGIN_S if wait > 0 else 0.0

    def on_throttle(self, shard: str) -> None:
        with self._lock:
            now = self._clock()
            bucket = self._bucket(shard, now)
            if now - bucket.last_cut < self._cooldown:
                return  # one cut per congestion event, however many responses report it
            bucket.last_cut = now
            bucket.fraction = max(self._floor, bucket.fraction * self._decrease)
            bucket.records = min(bucket.records, 0.0)
            bucket.bytes = min(bucket.bytes, 0.0)

    def on_success(self, shard: str) -> None:
        with self._lock:
            bucket = self._shards.get(shard)
            if bucket is not None and bucket.fraction < 1.0:
                bucket.fraction = min(1.0, bucket.fraction + self._increase)
