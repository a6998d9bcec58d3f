"""Job status changes published to EventBridge, so other systems can react to a file's end.

Events are gathered during an invocation and sent together (PutEvents takes ten at a time), so a
small file's queued, running and completed cost one call. Publishing never fails a job: the status
is in the jobs table already; an event that cannot be sent is logged with the job id.
"""

from __future__ import annotations

import threading
from typing import Any

import orjson
from botocore.exceptions import BotoCoreError, ClientError

from shared import names
from shared.domain.jobs import Job
from shared.functions.observability import logger

MAX_ENTRIES = 10


def event_detail(job: Job, status: str, previous: str | None) -> dict[str, Any]:
    """What a job status change says (`job` as it stood; only its status changed)."""
    return {
        "job_id": job.job_id,
        "status": status,
        "previous_status": previous,
        "counts": job.counts.as_dict(),
        "source": {"bucket": job.bucket, "key": job.key, "version": job.version_id},
        "error": job.error if status == "failed" else None,
    }


class JobEvents:
    """Status changes, held per thread (an invocation's own; the local stack runs several in one
    process) and published together by `flush`."""

    def __init__(self, client: Any, bus: str) -> None:
        self._client = client
        self._bus = bus
        self._local = threading.local()

    @property
    def _pending(self) -> list[dict[str, Any]]:
        pending = getattr(self._local, "pending", None)
        if pending is None:
            pending = self._local.pending = []
        return pending

    def changed(self, job: Job, status: str, previous: str | None) -> None:
        if status == previous:
            return
        self._pending.append(
            {
                "Source": names.EVENT_SOURCE,
                "DetailType": names.EVENT_DETAIL_TYPE,
                "Detail": orjson.dumps(event_detail(job, status, previous)).decode(),
                "EventBusName": self._bus,
                "Resources": [f"arn:aws:s3:::{job.bucket}/{job.key}"],
            }
        )

    def flush(self) -> None:
        pending, self._local.pending = self._pending, []
        for start in range(0, len(pending), MAX_ENTRIES):
            batch = pending[start : start + MAX_ENTRIES]
            try:
                out = self._client.put_events(Entries=batch)
            except (ClientError, BotoCoreError) as exc:
                logger.error(
                    "job events not published", extra={"error": str(exc), "events": len(batch)}
                )
                continue
            if out.get("FailedEntryCount"):
                failed = [e.get("ErrorCode") for e in out.get("Entries", []) if e.get("ErrorCode")]
                logger.error("some job events not published", extra={"errors": failed})
