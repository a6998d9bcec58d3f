"""The jobs table's items: a job to and from its attributes, and what a new job's item holds."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from shared.aws.dynamo import from_item
from shared.domain.errors import LedgerError
from shared.domain.jobs import Counts, Job, ObjectRef
from shared.domain.models import Cursor
from shared.names import JOB_KIND

COUNTERS = ("records", "sent", "failed", "rejected", "dead")


def conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def write_if(
    write: Callable[..., dict[str, Any]], what: str, **request: Any
) -> dict[str, Any] | None:
    """One conditional write: DynamoDB's answer, or None when its condition did not hold. Any other
    error is a LedgerError that says `what` failed."""
    try:
        return write(**request)
    except ClientError as exc:
        if conditional_failed(exc):
            return None
        raise LedgerError(f"{what} failed: {exc}") from exc


def cursor_value(cursor: Cursor) -> dict[str, Any]:
    return {
        "offset": cursor.offset,
        "seq": cursor.seq,
        "line": cursor.line,
        "state": json.dumps(cursor.state),
    }


def job_from_item(raw: dict[str, Any]) -> Job:
    return job_from_values(from_item(raw))


def job_from_values(item: dict[str, Any]) -> Job:
    """A job from its item's plain values."""
    cur = item.get("cursor") or {}
    return Job(
        job_id=item["job_id"],
        bucket=item["bucket"],
        key=item["key"],
        version_id=item.get("version_id"),
        etag=item.get("etag"),
        size=int(item.get("size", 0)),
        status=item["status"],
        counts=Counts(*(int(item.get(f"n_{name}", 0)) for name in COUNTERS)),
        cursor=Cursor(
            int(cur.get("offset", 0)),
            int(cur.get("seq", 0)),
            int(cur.get("line", 1)),
            json.loads(cur.get("state") or "{}"),
        ),
        bytes_read=int(item.get("bytes_read", 0)),
        format=item.get("format"),
        compression=item.get("compression"),
        partition_key_field=item.get("partition_key_field"),
        lease_owner=item.get("lease_owner"),
        lease_expires=float(item.get("lease_expires", 0)),
        hops=int(item.get("hops", 0)),
        requests=int(item.get("requests", 0)),
        error=item.get("error"),
        error_code=item.get("error_code"),
        created_at=item.get("created_at", ""),
        updated_at=item.get("updated_at", ""),
        finished_at=item.get("finished_at"),
        extra={
            k: item[k]
            for k in (
                "format_option",
                "ordering",
                "aggregate",
                "sequencer",
                "started_at",
                "retry_round",
                "fanout",
                "ranges_counted",
                "ranges_done",
            )
            if k in item
        },
    )


def new_job(
    ref: ObjectRef, size: int, options: dict[str, str | None], now: str, status: str
) -> dict[str, Any]:
    """A new job's item: its source, its options as given, zero counters."""
    return {
        "job_id": ref.job_id, "bucket": ref.bucket, "key": ref.key, "version_id": ref.version_id,
        "etag": ref.etag, "size": size, "status": status, "source_key": f"{ref.bucket}/{ref.key}",
        "kind": JOB_KIND, "format_option": options.get("format"),
        "partition_key_field": options.get("partition_key_field"), "ordering": options.get("ordering"),
        "aggregate": options.get("aggregate"), "sequencer": ref.sequencer,
        "created_at": now, "updated_at": now, "bytes_read": 0, "hops": 0, "requests": 0,
        **{f"n_{name}": 0 for name in COUNTERS},
    }  # fmt: skip
