"""What the API answers: jobs (newest first, by key), one job, a job's records by status, retries."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from shared.config import LoaderConfig
from shared.domain.jobs import JOB_ID_PATTERN, RECORD_STATUSES, Job, LedgerItem, RecordStatus
from shared.jobs.port import JobCatalog
from shared.ledger.port import RecordLedger
from shared.objects.port import ObjectStore
from shared.queues.port import MessageQueue
from shared.retry.messages import RetryRequest

from .errors import BadRequestError, ConflictError, NotFoundError
from .tokens import decode_token, encode_token

DEFAULT_LIMIT, MAX_LIMIT = 50, 100
_DIGITS = re.compile(r"[0-9]{1,4}")
_ID_PREFIX = re.compile(r"[a-z2-7]{1,24}")
MAX_SEQS = 1000


def job_view(job: Job) -> dict[str, Any]:
    return {
        "job_id": job.job_id,
        "status": job.status,
        "source": {"bucket": job.bucket, "key": job.key, "version_id": job.version_id, "etag": job.etag,
                   "size": job.size},
        "format": job.format or job.cursor.state.get("format") or job.extra.get("format_option"),
        "compression": job.cursor.state.get("compression"),
        "partition_key_field": job.partition_key_field,
        "ordering": job.extra.get("ordering"),
        "aggregate": job.extra.get("aggregate"),
        "counts": job.counts.as_dict(),
        "bytes_read": job.bytes_read,
        "progress": round(job.progress, 4),
        "created_at": job.created_at,
        "started_at": job.extra.get("started_at"),
        "updated_at": job.updated_at,
        "finished_at": job.finished_at,
        "error": job.error,
        "error_code": job.error_code,
        "requests": job.requests,
        "continuations": job.hops,
        "ranges": _ranges_view(job),
        "retry_round": int(job.extra.get("retry_round", 0)),
    }  # fmt: skip


def _ranges_view(job: Job) -> dict[str, int] | None:
    """For a job cut into ranges read in parallel: how many, how many counted, how many done."""
    plan = job.extra.get("fanout")
    if not plan:
        return None
    return {"total": len(plan["starts"]) - 1, "counted": int(job.extra.get("ranges_counted", 0)),
            "done": int(job.extra.get("ranges_done", 0))}  # fmt: skip


_RECORD_FIELDS = (
    "seq", "line", "offset", "status", "error_code", "error_message", "attempts", "retries",
    "partition_key", "shard_id", "sequence_number", "recovered", "payload_size", "updated_at",
)  # fmt: skip


PREVIEW_BYTES = 200


def record_view(item: LedgerItem, spilled: bytes | None = None) -> dict[str, Any]:
    """A ledger item as the API shows it; `payload_preview` is the start of the record's bytes."""
    view: dict[str, Any] = {name: getattr(item, name) for name in _RECORD_FIELDS}
    view["recovered"] = item.recovered or None
    view["payload_kept"] = item.payload_kept
    head = item.payload[:PREVIEW_BYTES] if item.payload is not None else spilled
    view["payload_preview"] = head.decode("utf-8", "replace") if head is not None else None
    return view


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    next_token: str | None


@dataclass(slots=True)
class ApiPorts:
    jobs: JobCatalog
    records: RecordLedger
    retry_queue: MessageQueue
    objects: ObjectStore | None = None  # spilled payloads' previews


class JobsApi:
    def __init__(self, config: LoaderConfig, ports: ApiPorts, *, token_key: bytes) -> None:
        """`token_key` signs pagination tokens: a secret, never derived from public names."""
        self._config, self._objects = config, ports.objects
        self._jobs, self._records, self._retry_queue = ports.jobs, ports.records, ports.retry_queue
        self._secret = hashlib.sha256(token_key).digest()

    # -- validation -------------------------------------------------------------
    @staticmethod
    def limit(raw: str | None) -> int:
        if raw is None or raw == "":
            return DEFAULT_LIMIT
        # ASCII digits only: int() would also take "1_0", " 7", "+5" and Arabic-Indic digits.
        if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= MAX_LIMIT:
            raise BadRequestError(f"limit must be an integer from 1 to {MAX_LIMIT}", "InvalidLimit")
        return int(raw)

    @staticmethod
    def job_id(raw: str) -> str:
        # No job has an id of another shape, so it is a job not found (404), as any other unknown id.
        if not JOB_ID_PATTERN.match(raw):
            raise NotFoundError(
                f"no job {raw[:64]!r}: a job id is 24 characters of a-z and 2-7", "JobNotFound"
            )
        return raw

    def _job(self, raw: str) -> Job:
        job = self._jobs.get(self.job_id(raw))
        if job is None:
            raise NotFoundError(f"no job {raw}", "JobNotFound")
        return job

    # -- routes -------------------------------------------------------------------
    def list_jobs(
        self,
        key: str | None,
        limit: str | None,
        token: str | None,
        key_prefix: str | None = None,
        id_prefix: str | None = None,
    ) -> Page:
        """Jobs newest first: all, of one key, or those whose key or id starts with a prefix."""
        n = self.limit(limit)
        prefixes: dict[str, str] = {}
        source_key = self._source_key(key) if key else None
        if key_prefix:
            prefixes["source_key"] = self._source_key(key_prefix)
        if id_prefix:
            if not _ID_PREFIX.fullmatch(id_prefix):
                raise BadRequestError(
                    "id_prefix must be 1 to 24 characters of a-z and 2-7", "InvalidIdPrefix"
                )
            prefixes["job_id"] = id_prefix
        scope = f"jobs:{source_key or 'job'}:{sorted(prefixes.items())}"
        jobs, last = self._jobs.newest(
            source_key, n, decode_token(token, scope, self._secret), prefixes
        )
        return Page([job_view(j) for j in jobs], encode_token(last, scope, self._secret))

    def _source_key(self, key: str) -> str:
        if not key.startswith(self._config.incoming_prefix):
            key = self._config.incoming_prefix + key
        return f"{self._config.bucket}/{key}"

    def get_job(self, job_id: str) -> dict[str, Any]:
        return job_view(self._job(job_id))

    def list_records(
        self, job_id: str, status: str | None, limit: str | None, token: str | None
    ) -> Page:
        job = self._job(job_id)
        n = self.limit(limit)
        if status and status not in RECORD_STATUSES:
            raise BadRequestError(
                f"status must be one of {', '.join(RECORD_STATUSES)}", "InvalidStatus"
            )
        scope = f"records:{job.job_id}:{status or '*'}"
        start = decode_token(token, scope, self._secret)
        if status:
            items, last = self._records.by_status(job.job_id, status, n, start)
        else:
            items, last = self._records.page(job.job_id, n, start)
        views = [record_view(i, self._spilled_head(i)) for i in items]
        return Page(views, encode_token(last, scope, self._secret))

    def _spilled_head(self, item: LedgerItem) -> bytes | None:
        if item.payload_key is None or self._objects is None:
            return None
        return self._objects.head_bytes(self._config.bucket, item.payload_key, PREVIEW_BYTES)

    def request_retry(self, job_id: str, body: Any) -> dict[str, Any]:
        job = self._job(job_id)
        include_dead, seqs = _retry_options(body)
        statuses = (
            (RecordStatus.FAILED, RecordStatus.DEAD) if include_dead else (RecordStatus.FAILED,)
        )
        count = job.counts.failed + (job.counts.dead if include_dead else 0)
        if seqs is not None:
            found = [self._records.get(job.job_id, s) for s in seqs]
            count = sum(1 for item in found if item and item.status in statuses)
        if count == 0:
            which = "failed or dead" if include_dead else "failed"
            hint = (
                ""
                if include_dead or not job.counts.dead
                else '; dead records need {"include_dead": true}'
            )
            raise ConflictError(
                f"job {job.job_id} has no {which} records to retry{hint}", "NothingToRetry"
            )
        request = RetryRequest(job.job_id, 1, include_dead, seqs, requested=True)
        self._retry_queue.send(request.body())
        return {"job_id": job.job_id, "queued": count, "include_dead": include_dead,
                "message": f"{count} records queued for retry"}  # fmt: skip


def _retry_options(body: Any) -> tuple[bool, tuple[int, ...] | None]:
    if body is None:
        return False, None
    if not isinstance(body, dict):
        raise BadRequestError("the body must be a JSON object", "InvalidBody")
    unknown = set(body) - {"include_dead", "seqs"}
    if unknown:
        raise BadRequestError(f"unknown fields: {', '.join(sorted(unknown))}", "InvalidBody")
    include_dead = body.get("include_dead", False)
    if not isinstance(include_dead, bool):
        raise BadRequestError("include_dead must be true or false", "InvalidBody")
    seqs = body.get("seqs")
    if seqs is None:
        return include_dead, None
    if (
        not isinstance(seqs, list)
        or not 1 <= len(seqs) <= MAX_SEQS
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seqs)
    ):
        raise BadRequestError(
            f"seqs must be a list of 1 to {MAX_SEQS} record numbers", "InvalidBody"
        )
    return include_dead, tuple(sorted(set(seqs)))
