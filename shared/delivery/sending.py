"""The sender: routes records to shards, paces each shard, resends only the entries that failed.

It works on a `StreamPort` (the boto3 adapter in production, moto or a simulator in tests), so the
routing, retry and pacing logic is the same wherever it runs. How a batch becomes requests (shards,
lanes, layers, aggregates) is `shared/delivery/routing.py`; this module puts them and keeps the promises:

- a request's failed entries are resent, alone, before its lane's next request (so, with
  `ordering=per-key`, before anything newer for their shard);
- each shard has its own token buckets (records/s and bytes/s), cut on throttling and grown back on
  success, so one hot shard slows only its own records;
- a shard map that the results contradict (a resharding) is refreshed before the next batch.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

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
    settled_before,
)
from shared.delivery.pacing import ShardPacer
from shared.delivery.routing import (
    NONE,
    BatchPlan,
    Lane,
    Routing,
    plan_batch,
    route,
)
from shared.delivery.shards import ShardMap
from shared.domain.errors import StreamRetriableError
from shared.domain.limits import KinesisLimits
from shared.domain.models import Entry

MAP_REFRESH_INTERVAL_S = 1.0  # ListShards at most this often per sender, however stale the map
# With per-key order, an entry is tried up to PATIENCE times max_attempts while the stream takes
# records; STALLED_ATTEMPTS attempts in a row, in any lane, that took nothing mean the stream is down.
PATIENCE = 4
STALLED_ATTEMPTS = 10


class Sender:
    """Sends batches shard by shard, lanes side by side, with per-entry retries and per-shard pacing."""

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

    # -- batches ---------------------------------------------------------------------
    def _lane(self, lane: Lane, deadline: float | None, abort: threading.Event) -> _LaneResult:
        """A lane's requests one after another; it stops at an error (and at another lane's)."""
        outcome = RequestOutcome()
        for request in lane:
            if abort.is_set():
                break
            try:
                outcome.merge(self.send(request, deadline))
            except Exception as exc:
                abort.set()
                outcome.merge(settled_before(exc) or RequestOutcome())
                return outcome, exc
        return outcome, None

    def _start(
        self,
        entries: Sequence[Entry],
        deadline: float | None,
        pool: ThreadPoolExecutor | None,
        start_by: float | None = None,
    ) -> _Started | None:
        """Put a batch on the wire; with `start_by`, only if it is not past it and the shards' pace
        lets the whole batch out before `deadline` (else None: the batch is not started)."""
        self._refresh_if_stale()
        plan = plan_batch(entries, self.shard_map, self.limits, self.routing)
        if start_by is not None and not self._fits(plan, start_by, deadline):
            return None
        abort = threading.Event()
        if pool is None or len(plan.lanes) <= 1:
            lanes: list[Any] = [self._lane(lane, deadline, abort) for lane in plan.lanes]
        else:
            lanes = [pool.submit(self._lane, lane, deadline, abort) for lane in plan.lanes]
        return _Started(lanes, plan.tail, deadline, abort)

    def _fits(self, plan: BatchPlan, start_by: float, deadline: float | None) -> bool:
        now = self._clock()
        if now > start_by:
            return False
        if deadline is None:
            return True
        ids = [s.shard_id for s in self.shard_map.shards]
        demand: dict[str, list[int]] = {}
        for request in plan.requests:
            for entry in request:
                d = demand.setdefault(ids[entry.shard], [0, 0])
                d[0] += 1
                d[1] += entry.size
        return now + self.pacer.wait_for(demand) <= deadline

    def _collect(self, started: _Started) -> RequestOutcome:
        """The batch's outcome; on an error, the error, carrying what settled (`settled_before`)."""
        outcome = RequestOutcome()
        error: Exception | None = None
        for item in started.lanes:
            lane_outcome, exc = item.result() if isinstance(item, Future) else item
            outcome.merge(lane_outcome)
            error = error or exc
        if started.tail and error is None:
            tail_outcome, error = self._lane(started.tail, started.deadline, started.abort)
            outcome.merge(tail_outcome)
        outcome.sent.sort(key=lambda s: s.entry.seq)
        outcome.failed.sort(key=lambda f: f.entry.seq)
        if error is not None:
            attach_settled(error, outcome)
            raise error
        return outcome

    def send_batch(self, entries: Sequence[Entry], deadline: float | None = None) -> RequestOutcome:
        """Send one batch of user records; their outcomes in seq order."""
        workers = max(self.routing.max_lanes, self.policy.max_in_flight)
        with ThreadPoolExecutor(workers, thread_name_prefix="put-records") as pool:
            started = self._start(entries, deadline, pool)
            assert started is not None  # only a start_by turns a batch away
            return self._collect(started)

    def send_all(
        self,
        batches: Iterable[Sequence[Entry]],
        deadline: float | None = None,
        start_by: float | None = None,
    ) -> Iterator[RequestOutcome]:
        """One outcome per batch, in order. A batch is on the wire while the next one is drawn from
        `batches` (read and parsed), so memory holds two batches. No batch after the first starts
        past `start_by` (the caller's clock), nor one the shards' pace would not let out before
        `deadline`: the outcomes then end early, the batch drawn last not sent. A StreamFatalError stops everything and propagates from the outcome it belongs to."""
        workers = max(self.routing.max_lanes, self.policy.max_in_flight)
        with ThreadPoolExecutor(workers, thread_name_prefix="put-records") as pool:
            it = iter(batches)
            batch, first = next(it, None), True
            while batch is not None:
                started = self._start(batch, deadline, pool, None if first else start_by)
                if started is None:
                    return
                first = False
                following = next(it, None)
                yield self._collect(started)
                batch = following


_LaneResult = tuple[RequestOutcome, Exception | None]


@dataclass(slots=True)
class _Started:
    lanes: list[Any]  # futures of _LaneResult, or _LaneResult when run in this thread
    tail: Lane
    deadline: float | None
    abort: threading.Event
