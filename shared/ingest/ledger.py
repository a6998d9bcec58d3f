"""Settling units: ledger items for what needs attention, exact counters, and checkpoints."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.config import TRACK_ALL, LoaderConfig
from shared.delivery.outcomes import RequestOutcome
from shared.domain.jobs import Counts, Job, LedgerItem, Progress, RecordStatus
from shared.domain.models import Cursor, Rejection
from shared.domain.timestamps import now_iso
from shared.jobs.port import Checkpoints
from shared.ledger.port import RecordLedger
from shared.objects.port import ObjectStore

from .units import Unit

FLUSH_ITEMS = 200


@dataclass(slots=True)
class Totals:
    """What this invocation did, for metrics and the report."""

    counts: Counts = field(default_factory=Counts)
    requests: int = 0
    throttled: int = 0
    bytes_sent: int = 0
    checkpoints: int = 0


@dataclass(slots=True)
class Report:
    """What one invocation did with one message."""

    job_id: str
    # ignored | skipped | continued | completed | completed_with_errors | retrying | failed, and for a
    # job cut into ranges: fanned_out | counted | range_done
    outcome: str
    totals: Totals = field(default_factory=Totals)


class Ledger:
    """Turns outcomes into record items and counter deltas; writes them, then the cursor, in that order."""

    def __init__(
        self,
        job: Job,
        owner: str,
        config: LoaderConfig,
        jobs: Checkpoints,
        records: RecordLedger,
        objects: ObjectStore,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.job, self._owner, self._config = job, owner, config
        self._jobs, self._records, self._objects, self._clock = jobs, records, objects, clock
        self._items: list[LedgerItem] = []
        self._delta = Counts()
        self._requests = 0
        self._units_since = 0
        self._last = clock()
        self.totals = Totals()

    @property
    def owner(self) -> str:
        return self._owner

    # -- items ----------------------------------------------------------------
    def _payload(self, seq: int, data: bytes | None) -> dict[str, Any]:
        if data is None:
            return {"payload_missing": True}
        if len(data) <= self._config.inline_payload_bytes:
            return {"payload": data, "payload_size": len(data)}
        key = f"{self._config.spill_prefix}{self.job.job_id}/{seq}"
        self._objects.put(self._config.bucket, key, data)
        return {"payload_key": key, "payload_size": len(data)}

    def _item(self, seq: int, line: int, offset: int, status: str, **values: Any) -> LedgerItem:
        return LedgerItem(self.job.job_id, seq, status, now_iso(), line, offset, **values)

    def settle(self, unit: Unit, outcome: RequestOutcome) -> None:
        """Take a unit's outcome whole or not at all (a spill that fails leaves no half unit)."""
        self._settle(outcome, unit.rejections, len(unit.entries) + len(unit.rejections))

    def settle_partial(self, outcome: RequestOutcome) -> None:
        """What a batch that broke off had settled, for a job that fails now: its counts then match
        what reached the stream."""
        self._settle(outcome, [], len(outcome.sent) + len(outcome.failed))

    def _settle(self, outcome: RequestOutcome, rejections: list[Rejection], records: int) -> None:
        items: list[LedgerItem] = []
        for failed in outcome.failed:
            e = failed.entry
            items.append(self._item(
                e.seq, e.line, e.offset, RecordStatus.FAILED, partition_key=e.partition_key,
                error_code=failed.error_code, error_message=failed.error_message, attempts=failed.attempts,
                **self._payload(e.seq, e.data),
            ))  # fmt: skip
        for r in rejections:
            items.append(self._item(
                r.seq, r.line, r.offset, RecordStatus.REJECTED, error_code=r.code, error_message=r.reason, attempts=0,
                **self._payload(r.seq, r.raw),
            ))  # fmt: skip
        if self._config.record_tracking == TRACK_ALL:
            for s in outcome.sent:
                e = s.entry
                items.append(self._item(
                    e.seq, e.line, e.offset, RecordStatus.SENT, partition_key=e.partition_key, shard_id=s.shard_id,
                    sequence_number=s.sequence_number, attempts=s.attempts,
                ))  # fmt: skip
        self._items.extend(items)
        delta = Counts(
            records=records,
            sent=len(outcome.sent),
            failed=len(outcome.failed),
            rejected=len(rejections),
        )
        self._delta.add(delta)
        self.totals.counts.add(delta)
        self._requests += outcome.calls
        self.totals.requests += outcome.calls
        self.totals.throttled += outcome.throttled
        self.totals.bytes_sent += sum(s.entry.size for s in outcome.sent)
        self._units_since += 1

    def flush_if_full(self) -> None:
        """Write the items held once there are enough for a batch (after `settle`, which only keeps)."""
        if len(self._items) >= FLUSH_ITEMS:
            self.flush_items()

    def flush_items(self) -> None:
        if self._items:
            self._records.put(self._items, self._jobs.fence(self._owner))
            self._items = []

    def counts_now(self) -> Counts:
        """The job's counts with what this invocation settled since its last checkpoint."""
        counts = Counts()
        counts.add(self.job.counts)
        counts.add(self._delta)
        return counts

    # -- checkpoints ----------------------------------------------------------
    def due(self) -> bool:
        c = self._config
        return (
            self._units_since >= c.checkpoint_every_requests
            or self._clock() - self._last >= c.checkpoint_every_seconds
        )

    def checkpoint(self, cursor: Cursor, bytes_read: int, **finish: Any) -> str | None:
        """Items first, then the cursor and counters in one conditional write: never ahead of the
        ledger. Returns the status written, if any."""
        self.flush_items()
        progress = Progress(cursor, self._delta, bytes_read, self._requests, **finish)
        status = self._jobs.record_progress(self.job, self._owner, progress)
        self.job.counts.add(self._delta)
        self.job.cursor, self.job.bytes_read = cursor, bytes_read
        self._delta, self._requests, self._units_since, self._last = Counts(), 0, 0, self._clock()
        self.totals.checkpoints += 1
        return status
