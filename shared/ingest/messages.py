"""What arrives on the ingest queue: S3 event notifications and continuations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import orjson

from shared.domain.errors import MalformedMessageError
from shared.domain.jobs import ObjectRef

CONTINUE = "continue"
RANGE = "range"
COUNT, SEND = "count", "send"


@dataclass(frozen=True, slots=True)
class Continuation:
    job_id: str
    hop: int


def continuation_body(job_id: str, hop: int) -> dict[str, Any]:
    return {"type": CONTINUE, "job_id": job_id, "hop": hop}


@dataclass(frozen=True, slots=True)
class RangeTask:
    """One range of a job cut for parallel reading: count it, or send it (from `hop`)."""

    job_id: str
    index: int
    phase: str  # COUNT | SEND
    hop: int = 0

    def body(self) -> dict[str, Any]:
        return {"type": RANGE, "job_id": self.job_id, "range": self.index, "phase": self.phase,
                "hop": self.hop}  # fmt: skip


Message = ObjectRef | Continuation | RangeTask


def _range_task(doc: dict[str, Any]) -> RangeTask:
    try:
        task = RangeTask(
            str(doc["job_id"]), int(doc["range"]), str(doc["phase"]), int(doc.get("hop", 0))
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedMessageError(f"range message is malformed: {exc}") from exc
    if task.phase not in (COUNT, SEND) or task.index < 0 or task.hop < 0:
        raise MalformedMessageError(f"range message is malformed: {doc}")
    return task


def parse_message(body: str) -> list[Message]:
    """Objects created (keys URL-decoded) or a continuation; S3's test event yields nothing."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedMessageError(f"message body is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise MalformedMessageError("message body is not a JSON object")
    if doc.get("type") == CONTINUE:
        return [Continuation(str(doc["job_id"]), int(doc.get("hop", 0)))]
    if doc.get("type") == RANGE:
        return [_range_task(doc)]
    if doc.get("Event") == "s3:TestEvent":
        return []
    if doc.get("Type") == "Notification" and "Message" in doc:  # through SNS
        return parse_message(doc["Message"])
    if "Records" not in doc:
        raise MalformedMessageError("message holds no S3 event records")
    out: list[Message] = []
    for record in doc["Records"]:
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = record["s3"]
        obj = s3["object"]
        out.append(
            ObjectRef(
                bucket=s3["bucket"]["name"],
                key=unquote_plus(obj["key"]),
                version_id=obj.get("versionId") or None,
                etag=obj.get("eTag") or None,
                size=obj.get("size"),
                sequencer=obj.get("sequencer"),
            )
        )
    return out
