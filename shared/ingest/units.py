"""Units of work: one batch of records plus the rejections read with it, and where reading resumes after.

The checkpoint cursor only ever moves to a unit's `resume` once everything before it is settled (sent,
or durably in the ledger), so a crash re-reads at most the units after the last checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from shared.delivery.batches import Batcher
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
