"""Jobs and ledger records: identity, statuses, counters."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from shared.domain.models import Cursor

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


FINISHED = frozenset({JobStatus.COMPLETED, JobStatus.COMPLETED_WITH_ERRORS, JobStatus.FAILED})
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
class Progress:
    """One checkpoint of a run: where reading resumes, what the counters gain, and, when the run
    ends or hands on, how. For a job, `bytes_read` is the position read to; for a range's store, the
    bytes read since that range's last checkpoint (added to the job's)."""

    cursor: Cursor
    delta: Counts
    bytes_read: int
    requests: int = 0
    status: str | None = None  # the job leaves `running` (and its lease is dropped)
    release: bool = False  # only the lease is dropped: a continuation may take it at once
    error: str | None = None
    error_code: str | None = None
    # `status` only while some record is failed; once none is, the status this gives the counters
    unless_none_failed: Callable[[Counts], str] | None = None


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
        if self.finished or self.status == JobStatus.RETRYING:
            return 1.0
        return min(1.0, self.bytes_read / self.size) if self.size else 0.0


@dataclass(slots=True)
class LedgerItem:
    """One item of the records table: a record that needs attention (or any, with tracking `all`).

    The payload is kept inline (`payload`), spilled to S3 (`payload_key`), or was too large to hold
    (`payload_missing`). Stored as the set fields only: None and False are left out.
    """

    job_id: str
    seq: int
    status: str
    updated_at: str
    line: int = 0
    offset: int = 0
    partition_key: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    attempts: int = 0
    retries: int = 0
    payload: bytes | None = None
    payload_key: str | None = None
    payload_size: int | None = None
    payload_missing: bool = False
    shard_id: str | None = None
    sequence_number: str | None = None
    recovered: bool = False
    recovered_at: str | None = None

    @property
    def payload_kept(self) -> bool:
        return self.payload is not None or self.payload_key is not None

    def values(self) -> dict[str, Any]:
        """The attributes to store."""
        out: dict[str, Any] = {}
        for name in _LEDGER_FIELDS:
            value = getattr(self, name)
            if value is not None and value is not False:
                out[name] = value
        return out

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> LedgerItem:
        """An item read back; attributes it does not know (the status index key) are dropped."""
        known = {k: v for k, v in values.items() if k in _LEDGER_FIELDS}
        for name in _LEDGER_INTS:
            if name in known:
                known[name] = int(known[name])
        if "payload" in known:
            known["payload"] = bytes(known["payload"])
        if "payload_size" in known:
            known["payload_size"] = int(known["payload_size"])
        known["status"] = RecordStatus(known["status"])
        return cls(**known)


_LEDGER_FIELDS = tuple(LedgerItem.__dataclass_fields__)
_LEDGER_INTS = ("seq", "line", "offset", "attempts", "retries")
