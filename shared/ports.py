"""The ports the services work through. The boto3 adapters (`shared/adapters`) implement them for
AWS and moto; the unit tests' in-memory fakes (`tests/fakes.py`) implement them for milliseconds."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from shared.delivery.outcomes import StreamPort
from shared.domain.jobs import Job, LedgerItem, ObjectRef, Progress
from shared.domain.limits import KinesisLimits
from shared.domain.models import Fence, ObjectInfo, Transition
from shared.domain.ranges import FanOut, RangeCount, RangeLease, RangeProgress
from shared.readers.source import ByteCounter


class LambdaContext(Protocol):
    @property
    def aws_request_id(self) -> str: ...

    def get_remaining_time_in_millis(self) -> int: ...


class Stream(StreamPort, Protocol):
    def limits(self, request_kib: int | None = None) -> KinesisLimits: ...


class Checkpoints(Protocol):
    """Where a run's progress goes: the cursor moves and the counters add up in one conditional write,
    while the lease is ours (`LeaseLostError` otherwise)."""

    def record_progress(self, job: Job, owner: str, progress: Progress) -> str | None:
        """Returns the status written, if any (see `Progress.unless_none_failed`)."""
        ...

    def fence(self, owner: str) -> Fence:
        """What the ledger's writes are guarded by while `owner` holds this run's lease."""
        ...


class JobStore(Checkpoints, Protocol):
    """The jobs table: every change a conditional write."""

    def get(self, job_id: str) -> Job | None: ...

    def create(
        self,
        ref: ObjectRef,
        size: int,
        format_option: str | None,
        key_field: str | None,
        now: str,
        *,
        ordering: str | None = None,
        aggregate: str | None = None,
    ) -> bool: ...

    def acquire(self, job_id: str, owner: str, lease_until: float, now: float, hop: int) -> Job: ...

    def create_running(
        self, ref: ObjectRef, size: int, options: dict[str, str | None], owner: str,
        lease_until: float, now: str,
    ) -> Job | None: ...  # fmt: skip

    def release_if_owner(self, job_id: str, owner: str) -> None: ...

    def fail_unfinished(
        self, job_id: str, error: str, error_code: str, statuses: tuple[str, ...], now: float
    ) -> Job | None: ...


class JobCatalog(Protocol):
    """The jobs table as the API reads it: newest first, of one source key or all."""

    def get(self, job_id: str) -> Job | None: ...

    def newest(
        self,
        source_key: str | None,
        limit: int,
        start: dict[str, Any] | None = None,
        prefixes: dict[str, str] | None = None,
    ) -> tuple[list[Job], dict[str, Any] | None]: ...


class RangeStore(Protocol):
    """A job cut into ranges, kept on its item: the cut, each range's count, lease and cursor; a range's
    progress is added to the job's counters in the same conditional write."""

    def cut(self, job: Job, owner: str, fan: FanOut) -> FanOut:
        """Record the cut (a cut on record stays) and release the job's lease; the cut on record."""
        ...

    def fanout(self, job_id: str) -> FanOut | None: ...

    def read(self, job_id: str) -> tuple[Job, FanOut | None] | None:
        """The job and its cut, in one read (None: no such job)."""
        ...

    def counted(self, job_id: str, index: int, count: RangeCount) -> FanOut | None:
        """Keep a range's count: the cut as this count left it, None if this range was counted
        already (or the job is no longer running)."""
        ...

    def acquire(
        self, job_id: str, index: int, owner: str, lease_until: float, now: float, hop: int
    ) -> RangeLease:
        """Take a range's lease (JobBusyError, JobFinishedError when it or the job is done,
        JobNotFoundError)."""
        ...

    def record_progress(
        self, job_id: str, index: int, owner: str, progress: Progress, *, done: bool = False
    ) -> RangeProgress:
        """A range's checkpoint (`progress.bytes_read`: read since its last), added to the job's
        counters; `done`: the range is finished."""
        ...

    def release_if_owner(self, job_id: str, index: int, owner: str) -> None: ...


class RetryLeases(Protocol):
    """One retry invocation per job at a time, and the status moves a retry makes."""

    def acquire(
        self, job_id: str, owner: str, until: float, now: float, round_: int = 0
    ) -> bool: ...

    def release(self, job_id: str, owner: str) -> None: ...

    def set_status(
        self, job_id: str, status: str, when: tuple[str, ...], require_no_failed: bool = False
    ) -> Job | None: ...


class RecordLedger(Protocol):
    """The records table: items for the records that need attention."""

    def put(self, items: Sequence[LedgerItem], fence: Fence | None = None) -> None:
        """Write (or overwrite) items; with a fence, only while it holds (`LeaseLostError` if not)."""
        ...

    def delete_from(
        self, job_id: str, seq: int, until: int | None = None, fence: Fence | None = None
    ) -> int:
        """Remove the items of records at or past `seq` (and before `until`); with a fence, only
        while it holds (`LeaseLostError` if not: an owner whose lease ran out clears nothing)."""
        ...

    def get(self, job_id: str, seq: int) -> LedgerItem | None: ...

    def by_status(
        self, job_id: str, status: str, limit: int, start: dict[str, Any] | None = None
    ) -> tuple[list[LedgerItem], dict[str, Any] | None]: ...

    def page(
        self, job_id: str, limit: int, start: dict[str, Any] | None = None
    ) -> tuple[list[LedgerItem], dict[str, Any] | None]: ...


class LedgerMoves(Protocol):
    """Record transitions and the job's counters moved together (a transaction)."""

    def apply(self, job_id: str, moves: list[Transition]) -> list[Transition]: ...


class ObjectStore(Protocol):
    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectInfo: ...

    def chunks(
        self,
        bucket: str,
        key: str,
        *,
        version_id: str | None,
        etag: str | None,
        start: int = 0,
        end: int | None = None,
        counter: ByteCounter | None = None,
    ) -> Iterator[bytes]:
        """The bytes from `start` to `end` (exclusive; the object's end when None)."""
        ...

    def get(self, bucket: str, key: str, version_id: str) -> tuple[bytes, ObjectInfo]: ...

    def put(self, bucket: str, key: str, data: bytes) -> None: ...

    def read(self, bucket: str, key: str) -> bytes: ...

    def head_bytes(self, bucket: str, key: str, n: int) -> bytes | None: ...


MAX_DELAY_SECONDS = 900  # SQS's longest message delay; longer waits chain messages


class MessageQueue(Protocol):
    """A queue; `delay_seconds` is clamped to 0..MAX_DELAY_SECONDS."""

    def send(self, body: dict[str, Any], delay_seconds: int = 0) -> None: ...


class JobEventSink(Protocol):
    def changed(self, job: Job, status: str, previous: str | None) -> None: ...

    def flush(self) -> None: ...
