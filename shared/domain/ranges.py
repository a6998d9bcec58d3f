"""One huge object read in parallel: its byte ranges, and what each must know to keep ordinals exact.

A job over a plain JSON Lines or text object of at least LOADER_FANOUT_MIN_BYTES is cut at nominal
offsets. Range i holds the lines that *start* in [starts[i], starts[i+1]) (a line starts at 0 or just
after a newline), so a cut never splits a record and every line belongs to exactly one range. First
each range is counted (its first line's offset, its lines and records: a fast scan, in parallel); once
all are counted, range i knows the seq and line its first record has in the whole file, and sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.domain.jobs import Job
from shared.domain.models import Cursor

MIN_RANGE_BYTES = 64 << 10  # no range smaller than this, whatever the settings


def cut(size: int, min_bytes: int, max_parallel: int) -> list[int] | None:
    """Nominal range starts (with `size` last), or None when the object is not worth cutting.

    Ranges are at least half of `min_bytes` (and of MIN_RANGE_BYTES), at most `max_parallel` of them."""
    if min_bytes <= 0 or max_parallel < 2 or size < min_bytes:
        return None
    smallest = max(min_bytes // 2, MIN_RANGE_BYTES, 1)
    n = min(max_parallel, size // smallest)
    if n < 2:
        return None
    return [size * i // n for i in range(n)] + [size]


@dataclass(frozen=True, slots=True)
class RangeCount:
    """A counted range: `first` is the offset of its first line, `end` that of the next range's first
    (or the object's size); `lines` the physical lines between, `records` those that are records."""

    first: int
    end: int
    lines: int
    records: int


@dataclass(slots=True)
class FanOut:
    """A job's cut and what its ranges have done. `hold` and `format` are fixed at the cut, so the
    count and the read agree on what a record is."""

    starts: list[int]
    format: str
    hold: int
    counts: dict[int, RangeCount] = field(default_factory=dict)
    done: set[int] = field(default_factory=set)

    @property
    def ranges(self) -> int:
        return len(self.starts) - 1

    @property
    def counted(self) -> bool:
        """Every range but the last is counted (no range follows the last: its count is not needed)."""
        return all(i in self.counts for i in range(self.ranges - 1))

    @property
    def finished(self) -> bool:
        return len(self.done) == self.ranges

    def base(self, index: int) -> tuple[int, int]:
        """The seq and line of range `index`'s first record, once every range before it is counted."""
        before = [self.counts[i] for i in range(index)]
        return sum(c.records for c in before), 1 + sum(c.lines for c in before)

    def bounds(self, index: int) -> tuple[int, int]:
        """Where range `index`'s lines start and end (once the ranges before it are counted)."""
        if index < self.ranges - 1:
            return self.counts[index].first, self.counts[index].end
        first = self.counts[index - 1].end if index else 0
        return first, self.starts[-1]

    def end_seq(self, index: int) -> int | None:
        """The seq just past range `index`'s records; None for the last range (the file's end)."""
        if index >= self.ranges - 1:
            return None
        seq, _ = self.base(index)
        return seq + self.counts[index].records


@dataclass(slots=True)
class RangeLease:
    """A range taken to send: the job (its counters are the whole job's), the cut, and where the range
    resumes (None: it has not started) with the bytes it has read so far."""

    job: Job
    fan: FanOut
    cursor: Cursor | None
    bytes_read: int


@dataclass(frozen=True, slots=True)
class RangeProgress:
    """After a range's checkpoint: how many ranges are done, and the job's status."""

    ranges_done: int
    ranges: int
    status: str
