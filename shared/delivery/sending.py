"""The sender: routes a batch to shards and lanes, and puts the lanes side by side.

How a batch becomes requests (shards, lanes, layers, aggregates) is `shared/delivery/routing.py`; how
one request is put, retried and paced is `shared/delivery/requests.py`. This module keeps the batch's
promises: a lane's requests go one after another (so, with `ordering=per-key`, a request's failed
entries are in before anything newer for their shard), an error in one lane stops the others, and the
next batch is read while the current one is on the wire.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from shared.delivery.outcomes import RequestOutcome, attach_settled, settled_before
from shared.delivery.requests import RequestSender
from shared.delivery.routing import BatchPlan, Lane, plan_batch
from shared.domain.models import Entry


class Sender(RequestSender):
    """Sends batches shard by shard, lanes side by side, with per-entry retries and per-shard pacing."""

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
