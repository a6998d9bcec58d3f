"""Jobs and ledger records: identity, statuses, counters."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from shared.models import Cursor

JOB_ID_LENGTH = 24
JOB_ID_PATTERN = re.compile(r"^[a-z2-7]{24}$")


class JobStatus(StrEnum):
    """A job's status. Members are their strings, so tables, JSON and logs hold plain text."""

    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"  # the input is read; failed records wait for a retry round
    COMPLETED = "completed"
    COMPLETED_WITH_ERRORS = "completed_with_errors"  # finished; some records rejected or dead
    FAILED = "failed"  # the job could not go on (see its error and error_code)


class RecordStatus(StrEnum):
    """A ledger record's status."""

    SENT = "sent"
    FAILED = "failed"  # retriable, awaiting a retry round
    REJECTED = "rejected"  # invalid: never resent unless asked
    DEAD = "dead"  # retries exhausted, or it cannot be resent


QUEUED, RUNNING, RETRYING = JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.RETRYING
COMPLETED, COMPLETED_WITH_ERRORS = JobStatus.COMPLETED, JobStatus.COMPLETED_WITH_ERRORS
FAILED = JobStatus.FAILED
FINISHED = frozenset({COMPLETED, COMPLETED_WITH_ERRORS, FAILED})

SENT, REC_FAILED = RecordStatus.SENT, RecordStatus.FAILED
REJECTED, DEAD = RecordStatus.REJECTED, RecordStatus.DEAD
RECORD_STATUSES = tuple(RecordStatus)


def job_id_for(bucket: str, key: str, version: str) -> str:
    """A deterministic id from bucket, key and version id (or ETag): 24 base32 characters."""
    digest = hashlib.sha256(f"{bucket}\n{key}\n{version}".encode()).digest()
    return base64.b32encode(digest).decode("ascii")[:JOB_ID_LENGTH].lower()


@dataclass(slots=True)
class Counts:
    """records = sent + failed + rejected + dead whenever the job is at rest."""

    records: int = 0
    sent: int = 0
    failed: int = 0
    rejected: int = 0
    dead: int = 0

    def add(self, other: Counts) -> None:
        self.records += other.records
        self.sent += other.sent
        self.failed += other.failed
        self.rejected += other.rejected
        self.dead += other.dead

    def as_dict(self) -> dict[str, int]:
        return {
            "records": self.records, "sent": self.sent, "failed": self.failed,
            "rejected": self.rejected, "dead": self.dead,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """One object version, as an S3 event names it."""

    bucket: str
    key: str
    version_id: str | None = None
    etag: str | None = None
    size: int | None = None
    sequencer: str | None = None

    @property
    def job_id(self) -> str:
        return job_id_for(self.bucket, self.key, self.version_id or (self.etag or "").strip('"'))


@dataclass(slots=True)
class Job:
    job_id: str
    bucket: str
    key: str
    version_id: str | None
    etag: str | None
    size: int
    status: str
    counts: Counts = field(default_factory=Counts)
    cursor: Cursor = field(default_factory=Cursor)
    bytes_read: int = 0
    format: str | None = None
    compression: str | None = None
    partition_key_field: str | None = None
    lease_owner: str | None = None
    lease_expires: float = 0.0
    hops: int = 0
    requests: int = 0
    error: str | None = None
    error_code: str | None = None
    created_at: str = ""
    updated_at: str = ""
    finished_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def progress(self) -> float:
        if self.finished or self.status == RETRYING:
            return 1.0
        return min(1.0, self.bytes_read / self.size) if self.size else 0.0
