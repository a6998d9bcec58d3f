"""The jobs table as the services need it: jobs, their checkpoints and leases, a job's ranges, the
retry rounds' lease. Implemented for DynamoDB beside it (`dynamodb.py`, `ranges.py`, `retry_lease.py`)
and in memory by the unit tests' fakes (`tests/fakes.py`)."""

from __future__ import annotations

from typing import Any, Protocol

from shared.domain.jobs import Job, ObjectRef, Progress
from shared.domain.models import Fence
from shared.domain.ranges import FanOut, RangeCount, RangeLease, RangeProgress


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
