"""From records to PutRecords requests: key, size as Kinesis counts it, greedy order-keeping packing.

Greedy is optimal here: with the order fixed, closing a request only when the next record does not fit
gives the fewest requests (any packing's k-th request ends no later than greedy's k-th).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from shared.delivery.partition_keys import PARTITION_KEY, KeyFunction
from shared.domain.errors import RecordError
from shared.domain.limits import KinesisLimits
from shared.domain.models import Entry, Record, Rejection

Item = Record | Rejection


def to_entries(
    items: Iterable[Item], key: KeyFunction, limits: KinesisLimits
) -> Iterator[Entry | Rejection]:
    """Give each record its partition key and size; reject what has no key or does not fit."""
    cap = limits.effective_record_bytes
    for item in items:
        if isinstance(item, Rejection):
            yield item
            continue
        record = item
        try:
            pk = key(record)
        except RecordError as exc:
            yield Rejection(
                record.seq, record.line, record.offset, exc.reason, record.data, exc.code
            )
            continue
        except Exception as exc:  # the boundary: no key lookup stops the file
            reason = f"the partition key could not be read: {type(exc).__name__}: {exc}"
            yield Rejection(
                record.seq, record.line, record.offset, reason, record.data, PARTITION_KEY
            )
            continue
        pk_bytes = len(pk) if pk.isascii() else len(pk.encode("utf-8"))
        size = len(record.data) + pk_bytes
        if size > cap:
            reason = (
                f"record is {size} bytes (data {len(record.data)} + partition key {pk_bytes}), "
                f"over the {cap}-byte record limit"
            )
            yield Rejection(
                record.seq, record.line, record.offset, reason, record.data, "Oversized"
            )
            continue
        yield Entry(record.seq, record.line, record.offset, record.data, pk, size)


class Packer:
    """Accumulates entries into one request; hands it over when the next entry would not fit."""

    def __init__(self, limits: KinesisLimits) -> None:
        self._max_bytes = limits.max_request_bytes
        self._max_entries = limits.max_entries
        self._batch: list[Entry] = []
        self._bytes = 0

    def add(self, entry: Entry) -> list[Entry] | None:
        """Add an entry; returns the request it closed, if any."""
        full = None
        if len(self._batch) == self._max_entries or self._bytes + entry.size > self._max_bytes:
            full, self._batch, self._bytes = self._batch, [], 0
        self._batch.append(entry)
        self._bytes += entry.size
        return full

    def flush(self) -> list[Entry] | None:
        """The last, partly filled request, if any."""
        full, self._batch, self._bytes = self._batch or None, [], 0
        return full


def pack(entries: Iterable[Entry], limits: KinesisLimits) -> Iterator[list[Entry]]:
    packer = Packer(limits)
    return filled(entries, packer.add, packer.flush)


def filled(
    entries: Iterable[Entry],
    add: Callable[[Entry], list[Entry] | None],
    flush: Callable[[], list[Entry] | None],
) -> Iterator[list[Entry]]:
    """What a packer or batcher closes as `entries` go in, then what is left (partly filled)."""
    for entry in entries:
        full = add(entry)
        if full:
            yield full
    last = flush()
    if last:
        yield last
