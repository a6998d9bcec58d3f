"""One request into the stream, kept until its entries are in or given up.

- a request's failed entries are resent, alone, with full-jitter backoff;
- each shard has its own token buckets (records/s and bytes/s), cut on throttling and grown back on
  success, so one hot shard slows only its own records;
- a shard map that the results contradict (a resharding) is refreshed before the next batch;
- with per-key order an entry is not given up while the stream still takes records (`PATIENCE`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

from shared.delivery.outcomes import (
    OUT_OF_TIME,
    RETRIABLE_ENTRY_CODES,
    THROTTLED,
    EntryResult,
    RequestOutcome,
    SendPolicy,
    StreamPort,
    attach_settled,
    entry_code,
    fail_members,
    send_members,
)
from shared.delivery.pacing import ShardPacer
from shared.delivery.routing import NONE, Routing, route
from shared.delivery.shards import ShardMap
from shared.domain.errors import StreamRetriableError
from shared.domain.limits import KinesisLimits
from shared.domain.models import Entry

MAP_REFRESH_INTERVAL_S = 1.0  # ListShards at most this often per sender, however stale the map
# With per-key order, an entry is tried up to PATIENCE times max_attempts while the stream takes
# records; STALLED_ATTEMPTS attempts in a row, in any lane, that took nothing mean the stream is down.
PATIENCE = 4
STALLED_ATTEMPTS = 10


class RequestSender:
    """Puts one request at a time: per-entry retries with backoff, per-shard pacing, patience, and the
    shard map the results keep honest. `Sender` (sending.py) builds batches on it."""

    def __init__(
        self,
        port: StreamPort,
        policy: SendPolicy | None = None,
        *,
        routing: Routing | None = None,
        limits: KinesisLimits | None = None,
        pacer: ShardPacer | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._port = port
        self.policy = policy or SendPolicy()
        self.routing = routing or Routing(max_lanes=self.policy.max_in_flight)
        self.limits = limits or KinesisLimits()
        self._clock, self._sleep, self._jitter = clock, sleep, jitter
        self.pacer = pacer or ShardPacer(clock=clock, sleep=sleep)
        self._map: ShardMap | None = None
        self._stale = False
        self._refreshed_at = float("-inf")
        self._streak = 0  # consecutive attempts, in any lane, that the stream took nothing from
        self.map_refreshes = 0

    # -- the shard map ---------------------------------------------------------------
    @property
    def shard_map(self) -> ShardMap:
        if self._map is None:
            self._map = self._port.shard_map()
        return self._map

    def _refresh_if_stale(self) -> None:
        now = self._clock()
        if self._stale and now - self._refreshed_at >= MAP_REFRESH_INTERVAL_S:
            self._map = self._port.shard_map(refresh=True)
            self._stale, self._refreshed_at = False, now
            self.map_refreshes += 1

    # -- one request -----------------------------------------------------------------
    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^(attempt-1)))."""
        p = self.policy
        return self._jitter() * min(p.max_delay_s, p.base_delay_s * 2 ** (attempt - 1))

    def send(self, request: Sequence[Entry], deadline: float | None = None) -> RequestOutcome:
        """Put one request; resend only failed entries until sent, out of patience or past the deadline.

        With `ordering=none`, an entry is given up after `max_attempts` (its record goes to the ledger,
        for the retry path). With per-key order, a record given up would go out later, behind newer
        records of its key, so after `max_attempts` it is given up only when the stream is down (the
        last `STALLED_ATTEMPTS` attempts in any lane took nothing: an outage), and otherwise after
        `PATIENCE` times as many attempts (a shard throttled for good); a lone entry unlucky a few
        times in a row keeps going.
        """
        p = self.policy
        stop = self._clock() + p.max_elapsed_s
        if deadline is not None:
            stop = min(stop, deadline)
        shard_map = self.shard_map
        unrouted = [e for e in request if e.shard < 0 or e.shard >= len(shard_map)]
        if unrouted:
            route(unrouted, shard_map)
        ids = [s.shard_id for s in shard_map.shards]
        outcome = RequestOutcome()
        try:
            self._send(request, outcome, ids, stop)
        except BaseException as exc:
            attach_settled(exc, outcome)
            raise
        return outcome

    def _send(
        self, request: Sequence[Entry], outcome: RequestOutcome, ids: list[str], stop: float
    ) -> None:
        pending = list(request)
        attempt = 0
        while pending:
            attempt += 1
            results = self._call(pending, ids, outcome, stop)
            if results is None:  # paced past the deadline: handed on, not sent
                for entry in pending:
                    fail_members(outcome, entry, OUT_OF_TIME, attempt - 1)
                break
            retry: list[tuple[Entry, EntryResult]] = []
            took: set[int] = set()
            throttled: set[int] = set()
            for entry, result in zip(pending, results, strict=True):
                if result.error_code is None:
                    send_members(outcome, entry, result, attempt)
                    took.add(entry.shard)
                    if result.shard_id and result.shard_id != ids[entry.shard]:
                        self._stale = True  # the stream put it elsewhere: it has resharded
                elif result.error_code in RETRIABLE_ENTRY_CODES:
                    retry.append((entry, result))
                    if result.error_code == THROTTLED:
                        throttled.add(entry.shard)
                else:
                    fail_members(outcome, entry, result, attempt)
            outcome.throttled += sum(1 for _, r in retry if r.error_code == THROTTLED)
            self._streak = 0 if took else self._streak + 1
            for shard in throttled:
                self.pacer.on_throttle(ids[shard])
            for shard in took:  # a shard that takes records grows back, throttled or not
                self.pacer.on_success(ids[shard])
            if not retry:
                break
            delay = self.backoff(attempt)
            if self._clock() + delay > stop or self._out_of_patience(attempt):
                for entry, result in retry:
                    fail_members(outcome, entry, result, attempt)
                break
            self._sleep(delay)
            pending = [e for e, _ in retry]

    def _out_of_patience(self, attempt: int) -> bool:
        p = self.policy
        if attempt < p.max_attempts:
            return False
        if self.routing.ordering == NONE or attempt >= p.max_attempts * PATIENCE:
            return True
        return self._streak >= STALLED_ATTEMPTS  # the stream takes nothing from anyone: an outage

    def _call(
        self, pending: list[Entry], ids: list[str], outcome: RequestOutcome, stop: float
    ) -> list[EntryResult] | None:
        demand: dict[str, list[int]] = {}
        for entry in pending:
            d = demand.get(ids[entry.shard])
            if d is None:
                demand[ids[entry.shard]] = [1, entry.size]
            else:
                d[0] += 1
                d[1] += entry.size
        if not self.pacer.acquire(demand, stop):
            return None
        outcome.calls += 1
        try:
            return self._port.put_records(pending)
        except StreamRetriableError as exc:
            # The whole call failed, perhaps after being written: every entry is resent (at least once).
            result = EntryResult(error_code=entry_code(exc.code), error_message=exc.message)
            return [result] * len(pending)
