"""What a send comes to: the stream's answer per entry, each record's outcome (sent with its shard and
sequence number, or failed with its code and attempts), and what a stopped batch had settled."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from shared.delivery.shards import ShardMap
from shared.domain.models import Entry

THROTTLED = "ProvisionedThroughputExceededException"
INTERNAL = "InternalFailure"
RETRIABLE_ENTRY_CODES = frozenset({THROTTLED, INTERNAL})


@dataclass(frozen=True, slots=True)
class EntryResult:
    """One line of a PutRecords response: a shard and sequence number, or an error code."""

    shard_id: str | None = None
    sequence_number: str | None = None
    error_code: str | None = None
    error_message: str | None = None


OUT_OF_TIME = EntryResult(
    error_code=THROTTLED,
    error_message="not sent: the shard's pace would have passed the invocation's deadline",
)


class StreamPort(Protocol):
    def put_records(self, entries: Sequence[Entry]) -> list[EntryResult]:
        """Results by index. Raises StreamRetriableError or StreamFatalError for the whole call."""
        ...

    def shard_map(self, refresh: bool = False) -> ShardMap:
        """The stream's open shards (cached; `refresh` asks the stream again)."""
        ...


@dataclass(frozen=True, slots=True)
class SendPolicy:
    max_attempts: int = 8
    max_elapsed_s: float = 120.0
    base_delay_s: float = 0.05
    max_delay_s: float = 5.0
    max_in_flight: int = 4

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.max_in_flight < 1:
            raise ValueError("max_attempts and max_in_flight must be at least 1")


@dataclass(slots=True)
class Sent:
    entry: Entry
    shard_id: str
    sequence_number: str
    attempts: int


@dataclass(slots=True)
class Failed:
    entry: Entry
    error_code: str
    error_message: str
    attempts: int


@dataclass(slots=True)
class RequestOutcome:
    """What became of one packed request, entries in request order within each list."""

    sent: list[Sent] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    calls: int = 0
    throttled: int = 0

    def merge(self, other: RequestOutcome) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.calls += other.calls
        self.throttled += other.throttled


_SETTLED = "loader_settled_before"


def attach_settled(exc: BaseException, outcome: RequestOutcome) -> None:
    with contextlib.suppress(AttributeError):  # a type that takes no attributes: nothing to carry
        setattr(exc, _SETTLED, outcome)


def settled_before(exc: BaseException) -> RequestOutcome | None:
    """What a batch or request that stopped on `exc` had settled (sent or given up) before it."""
    outcome = getattr(exc, _SETTLED, None)
    return outcome if isinstance(outcome, RequestOutcome) else None


def send_members(outcome: RequestOutcome, entry: Entry, result: EntryResult, attempt: int) -> None:
    shard, number = result.shard_id or "", result.sequence_number or ""
    for member in entry.members or (entry,):
        outcome.sent.append(Sent(member, shard, number, attempt))


def fail_members(outcome: RequestOutcome, entry: Entry, result: EntryResult, attempt: int) -> None:
    for member in entry.members or (entry,):
        outcome.failed.append(failed(member, result, attempt))


def entry_code(call_code: str) -> str:
    return THROTTLED if "Throughput" in call_code or "Throttl" in call_code else INTERNAL


def failed(entry: Entry, result: EntryResult, attempts: int) -> Failed:
    return Failed(entry, result.error_code or INTERNAL, result.error_message or "", attempts)
