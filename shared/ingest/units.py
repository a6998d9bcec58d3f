"""Units of work: one batch of records plus the rejections read with it, and where reading resumes after.

The checkpoint cursor only ever moves to a unit's `resume` once everything before it is settled (sent,
or durably in the ledger), so a crash re-reads at most the units after the last checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from shared.delivery.routing import Routing, batch_bounds
from shared.domain.limits import KinesisLimits
from shared.domain.models import Cursor, Entry, Rejection

DONE = "done"  # cursor state: the input is read to its end

MAX_PENDING_REJECTIONS = 500
MAX_PENDING_REJECTED_BYTES = 4 << 20


@dataclass(slots=True)
class Unit:
    entries: list[Entry]
    rejections: list[Rejection]
    resume: Cursor
    last: bool = False


class Batcher:
    """Gathers entries into batches of at most `max_bytes`: whole requests as greedy packing makes
    them, up to `requests` (so a batch boundary never leaves a request half full) or, with
    aggregation (many records to a Kinesis record), as many records as fit."""

    def __init__(
        self, limits: KinesisLimits, requests: int, max_bytes: int, aggregate: bool = False
    ) -> None:
        self._max_entries, self._request_bytes = limits.max_entries, limits.max_request_bytes
        self._in_request, self._request_size = 0, 0  # the request greedy packing is filling
        self._requests, self._max_bytes, self._aggregate = requests, max_bytes, aggregate
        self._batch: list[Entry] = []
        self._closed = 0
        self._bytes = 0

    @classmethod
    def for_sender(cls, limits: KinesisLimits, routing: Routing, shards: int) -> Batcher:
        entries, size = batch_bounds(limits, routing, shards)
        return cls(limits, -(-entries // limits.max_entries), size, routing.aggregate)

    def add(self, entry: Entry) -> list[Entry] | None:
        """Add an entry; returns the batch it closed, if any."""
        full = None
        if self._aggregate:
            if self._batch and self._bytes + entry.size > self._max_bytes:
                full = self._take()
        elif (
            self._in_request == self._max_entries
            or self._request_size + entry.size > self._request_bytes
        ):
            self._in_request, self._request_size = 0, 0
            self._closed += 1
            if (
                self._closed == self._requests
                or self._bytes + self._request_bytes > self._max_bytes
            ):
                full = self._take()
        if not self._aggregate:
            self._in_request += 1
            self._request_size += entry.size
        self._batch.append(entry)
        self._bytes += entry.size
        return full

    def _take(self) -> list[Entry]:
        full, self._batch, self._bytes, self._closed = self._batch, [], 0, 0
        return full

    def flush(self) -> list[Entry] | None:
        self._in_request, self._request_size = 0, 0
        return self._take() or None

    def batches(self, entries: Iterable[Entry]) -> Iterator[list[Entry]]:
        """`entries` in batches (the last one partly filled)."""
        for entry in entries:
            full = self.add(entry)
            if full:
                yield full
        last = self.flush()
        if last:
            yield last


def make_units(
    items: Iterable[Entry | Rejection], packer: Batcher, state: dict[str, Any], start_seq: int = 0
) -> Iterator[Unit]:
    """Group the keyed records into units; rejections never pile up past a bound (a partly filled
    request is sent rather than holding thousands of bad records in memory)."""
    rejections: list[Rejection] = []
    held = 0
    next_seq = start_seq
    for item in items:
        if isinstance(item, Rejection):
            if len(rejections) >= MAX_PENDING_REJECTIONS or held >= MAX_PENDING_REJECTED_BYTES:
                yield Unit(packer.flush() or [], rejections, _at(item, state))
                rejections, held = [], 0
            rejections.append(item)
            held += len(item.raw or b"")
        else:
            full = packer.add(item)
            if full:
                yield Unit(full, rejections, _at(item, state))
                rejections, held = [], 0
        next_seq = item.seq + 1
    yield Unit(
        packer.flush() or [], rejections, Cursor(0, next_seq, 0, {**state, DONE: True}), last=True
    )


def _at(item: Entry | Rejection, state: dict[str, Any]) -> Cursor:
    return Cursor(item.offset, item.seq, item.line, dict(state))
