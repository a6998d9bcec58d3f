"""Jobs and ledger records: identity, statuses, counters."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from shared.models import Cursor

JOB_ID_LENGTH = 24
JOB_ID_PATTERN = re.compile(r"^[a-z2-7]{24}$")

# Job statuses
QUEUED, RUNNING, RETRYING = "queued", "running", "retrying"
COMPLETED, COMPLETED_WITH_ERRORS, FAILED = "completed", "completed_with_errors", "failed"
FINISHED = frozenset({COMPLETED, COMPLETED_WITH_ERRORS, FAILED})

# Record statuses
SENT, REC_FAILED, REJECTED, DEAD = "sent", "failed", "rejected", "dead"
RECORD_STATUSES = (SENT, REC_FAILED, REJECTED, DEAD)


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
