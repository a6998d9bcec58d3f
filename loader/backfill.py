"""`loader backfill`: ingest objects already in the bucket, as if they had just been uploaded.

Each object's current version under the incoming prefix gets the event S3 would have sent, on the
ingest queue. The ingest derives the same job id from bucket, key and version, so a version that has a
job already is never run twice; the client skips those up front and says how many there were.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_plus

import click

from loader.client import Api, ClientError, Target
from loader.commands import console, out, target_options
from shared.domain.jobs import FINISHED, job_id_for

SQS_BATCH = 10


def current_versions(target: Target, prefix: str) -> Iterator[dict[str, Any]]:
    """The latest version of every object under `prefix` (not delete markers, not older versions;
    an unversioned bucket's objects as they are)."""
    s3 = target.client("s3")
    for page in s3.get_paginator("list_object_versions").paginate(
        Bucket=target.bucket, Prefix=prefix
    ):
        for version in page.get("Versions", []):
            if version.get("IsLatest") and not version["Key"].endswith("/"):
                yield version


def s3_event(bucket: str, version: dict[str, Any]) -> dict[str, Any]:
    """The ObjectCreated notification S3 sends, for one object version."""
    version_id = version.get("VersionId")
    obj = {"key": quote_plus(version["Key"], safe="/"), "size": version["Size"],
           "eTag": version["ETag"].strip('"')}  # fmt: skip
    if version_id and version_id != "null":
        obj["versionId"] = version_id
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "eventTime": version["LastModified"].isoformat() if hasattr(version["LastModified"], "isoformat") else str(version["LastModified"]),
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket}, "object": obj},
        "userIdentity": {"principalId": "loader-backfill"},
    }]}  # fmt: skip


def _job_id(bucket: str, version: dict[str, Any]) -> str:
    version_id = version.get("VersionId")
    tag = version_id if version_id and version_id != "null" else version["ETag"].strip('"')
    return job_id_for(bucket, version["Key"], tag)


def _exists(api: Api, job_id: str) -> bool:
    try:
        api.get(f"/jobs/{job_id}")
    except ClientError as exc:
        if exc.status == 404:
            return False
        raise
    return True


@click.command()
@click.option("--prefix", default="", help="Only keys under the incoming prefix that start so.")
@click.option("--dry-run", is_flag=True, help="Say what would be queued; queue nothing.")
@click.option("--follow", is_flag=True, help="Wait until every queued job has finished.")
@click.option("--timeout", type=float, default=3600.0, show_default=True,
              help="Seconds to follow before giving up.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="One JSON object with the figures.")
@target_options
def backfill(target: Target, prefix: str, dry_run: bool, follow: bool, timeout: float,
             as_json: bool) -> None:  # fmt: skip
    """Ingest objects already under the incoming prefix (enqueue their S3 events). A version that
    has a job already is not run again."""
    if not target.ingest_queue_url:
        raise ClientError("this stack does not say where its ingest queue is (IngestQueueUrl)")
    full_prefix = target.incoming_prefix + prefix
    api, sqs = Api(target), target.client("sqs")
    queued: list[str] = []
    existing = 0
    pending: list[dict[str, Any]] = []

    def flush() -> None:
        if pending and not dry_run:
            answer = sqs.send_message_batch(QueueUrl=target.ingest_queue_url, Entries=pending)
            if answer.get("Failed"):
                raise ClientError(f"the ingest queue refused {len(answer['Failed'])} messages: "
                                  f"{answer['Failed'][0].get('Message', '')}")  # fmt: skip
        pending.clear()

    for version in current_versions(target, full_prefix):
        job_id = _job_id(target.bucket, version)
        if _exists(api, job_id):
            existing += 1
            continue
        body = json.dumps(s3_event(target.bucket, version))
        pending.append({"Id": str(len(pending)), "MessageBody": body})
        queued.append(job_id)
        if len(pending) == SQS_BATCH:
            flush()
        if not as_json and len(queued) % 100 == 0:
            console.print(f"  {len(queued):,} queued so far", highlight=False)
    flush()
    figures: dict[str, Any] = {
        "prefix": full_prefix, "queued": len(queued), "already_have_jobs": existing, "dry_run": dry_run,
    }  # fmt: skip
    if not as_json:
        verb = "would queue" if dry_run else "queued"
        out.print(f"backfill s3://{target.bucket}/{full_prefix}: {verb} {len(queued):,} objects; "
                  f"{existing:,} already have jobs", highlight=False)  # fmt: skip
    if follow and queued and not dry_run:
        figures["jobs"] = _follow(api, queued, timeout, quiet=as_json)
    if as_json:
        out.print_json(json.dumps(figures))


def _follow(api: Api, job_ids: list[str], timeout: float, quiet: bool) -> dict[str, int]:
    """Wait for the queued jobs to reach a final status, saying how many have."""
    deadline = time.monotonic() + timeout
    waiting = set(job_ids)
    statuses: dict[str, int] = {}
    last = -1
    while waiting and time.monotonic() < deadline:
        for job_id in list(waiting):
            try:
                job = api.get(f"/jobs/{job_id}")
            except ClientError as exc:
                if exc.status == 404:
                    continue  # not opened yet
                raise
            if job["status"] in FINISHED:
                waiting.discard(job_id)
                statuses[job["status"]] = statuses.get(job["status"], 0) + 1
        done = len(job_ids) - len(waiting)
        if not quiet and done != last:
            console.print(
                f"  {done:,} of {len(job_ids):,} jobs finished {statuses}", highlight=False
            )
            last = done
        if waiting:
            time.sleep(1.0)
    if waiting:
        raise ClientError(f"{len(waiting):,} jobs not finished within {timeout:g} s")
    return statuses
