"""The local stream's per-shard rates: what each shard took and refused, a second of the clock a row.

Kinesis takes per shard at most 1,000 records and 1 MiB (data plus partition key) a second; a record
over either is refused with `ProvisionedThroughputExceededException`. A record larger than 1 MiB (a
stream's `MaxRecordSizeInKiB` allows up to 10 MiB) is taken by bursting: Kinesis documents the shard's
write capacity as a tank refilled at 1 MiB/s that a large record empties for a while. Here a large
record is taken in a second the shard has taken nothing else, and the bytes it had over 1 MiB are
carried into the seconds after it, which take that much less: on average, still 1 MiB/s.

`RULES` is what every patched stream enforces (the tests and `loader local` set it); `rates_of` is
what a stream's shards took.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.domain.limits import DEFAULT_RECORD_KIB, MAX_REQUEST_BYTES, MIB

HISTORY_SECONDS = 120


@dataclass
class Rules:
    """What every patched stream enforces; the tests and `loader local` set it."""

    rates: bool = True
    records_per_s: int = 1000
    bytes_per_s: int = MIB
    request_bytes: int = MAX_REQUEST_BYTES
    clock: Callable[[], float] = time.time


RULES = Rules()


@dataclass
class Second:
    """What one shard took (and refused) in one second of the clock."""

    at: int
    records: int = 0
    bytes: int = 0
    throttled: int = 0
    carried: int = 0  # bytes of a large record taken before, that this second pays for


@dataclass
class ShardRates:
    now: Second = field(default_factory=lambda: Second(-1))
    history: deque[Second] = field(default_factory=lambda: deque(maxlen=HISTORY_SECONDS))
    debt: int = 0  # bytes of large records that the coming seconds still pay for

    def second(self, at: int) -> Second:
        if self.now.at != at:
            if self.now.at >= 0:
                self.history.append(self.now)
                self.debt = max(0, self.debt - (at - self.now.at - 1) * RULES.bytes_per_s)
            carried = min(self.debt, RULES.bytes_per_s)
            self.debt -= carried
            self.now = Second(at, carried=carried)
        return self.now


@dataclass
class StreamState:
    """What moto's Stream lacks: its record cap and each shard's use, under one lock."""

    max_record_kib: int = DEFAULT_RECORD_KIB
    shards: dict[str, ShardRates] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def state_of(stream: Any) -> StreamState:
    state = getattr(stream, "_loader_state", None)
    if state is None:
        state = stream._loader_state = StreamState()
    return state


def rates_of(stream: Any) -> dict[str, list[Second]]:
    """Each shard's seconds, oldest first, the current one last."""
    state = state_of(stream)
    with state.lock:
        return {
            shard: [*r.history, r.now] if r.now.at >= 0 else list(r.history)
            for shard, r in state.shards.items()
        }


def take(state: StreamState, shard_id: str, size: int, at: int) -> bool:
    """Count one record against its shard's second; False (and counted as throttled) when over."""
    shard = state.shards.setdefault(shard_id, ShardRates())
    second = shard.second(at)
    used = second.bytes + second.carried
    burst = size > RULES.bytes_per_s and used == 0 and shard.debt == 0
    if RULES.rates and (
        second.records + 1 > RULES.records_per_s or (used + size > RULES.bytes_per_s and not burst)
    ):
        second.throttled += 1
        return False
    second.records += 1
    second.bytes += size
    if burst and RULES.rates:
        shard.debt = size - RULES.bytes_per_s
    return True
