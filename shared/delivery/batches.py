"""Batches: whole requests as greedy packing makes them, a request a lane (see `batch_bounds`), for
every path that sends: the read, the small-file batch, the resend of failed records, the retry
rounds. Each settles a batch in the ledger before the next goes out, so a crash re-sends at most
the requests in flight."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Sequence

from shared.delivery.packing import filled
from shared.delivery.routing import Routing, batch_bounds
from shared.domain.limits import KinesisLimits
from shared.domain.models import Entry


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

    def fits(self, entries: Sequence[Entry]) -> bool:
        """Whether `entries`, added now, all go into one batch (the first may close the one before)."""
        if not entries:
            return True
        probe = copy.copy(self)
        probe._batch = (
            [entries[0]] if self._batch else []
        )  # a list of its own: only emptiness counts
        probe.add(entries[0])
        return all(probe.add(entry) is None for entry in entries[1:])

    def _take(self) -> list[Entry]:
        full, self._batch, self._bytes, self._closed = self._batch, [], 0, 0
        return full

    def flush(self) -> list[Entry] | None:
        self._in_request, self._request_size = 0, 0
        return self._take() or None

    def batches(self, entries: Iterable[Entry]) -> Iterator[list[Entry]]:
        """`entries` in batches (the last one partly filled)."""
        return filled(entries, self.add, self.flush)
