"""The jobs table: one item per object version, changed only by conditional writes."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from shared.aws.dynamo import query_page, to_item
from shared.domain.errors import (
    JobBusyError,
    JobFinishedError,
    JobNotFoundError,
    JobSupersededError,
    LedgerError,
)
from shared.domain.jobs import Job, JobStatus, ObjectRef, Progress
from shared.domain.models import Fence
from shared.domain.timestamps import now_iso
from shared.jobs.checkpoint import record_progress
from shared.jobs.items import (
    conditional_failed,
    job_from_item,
    job_from_values,
    new_job,
    write_if,
)
from shared.jobs.leases import release_lease
from shared.names import JOB_KIND, JOBS_BY_KEY_INDEX, JOBS_BY_TIME_INDEX


class JobsTable:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self.table = table

    def get(self, job_id: str) -> Job | None:
        item = self._client.get_item(
            TableName=self.table, Key=to_item({"job_id": job_id}), ConsistentRead=True
        )
        return job_from_item(item["Item"]) if "Item" in item else None

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
    ) -> bool:
        """Open the job if it does not exist. False when it does (a duplicate event).

        `ordering` and `aggregate` are kept as given (metadata or the stack's default) and checked
        when the job runs, so a bad value fails the job with its reason."""
        options = {"format": format_option, "partition_key_field": key_field,
                   "ordering": ordering, "aggregate": aggregate}  # fmt: skip
        return self._put_new(new_job(ref, size, options, now, JobStatus.QUEUED)) is not None

    def create_running(
        self, ref: ObjectRef, size: int, options: dict[str, str | None], owner: str,
        lease_until: float, now: str,
    ) -> Job | None:  # fmt: skip
        """Open the job already running under our lease, in one write (a small file's first of two).
        None when the job exists (a duplicate event: the regular path decides what to do)."""
        values = new_job(ref, size, options, now, JobStatus.RUNNING)
        values.update(started_at=now, lease_owner=owner, lease_expires=lease_until)
        return self._put_new(values)

    def _put_new(self, values: dict[str, Any]) -> Job | None:
        """Put a job item unless one exists (None then: a duplicate event)."""
        item = to_item(values)
        put = write_if(
            self._client.put_item, f"opening job {values['job_id']}",
            TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(job_id)",
        )  # fmt: skip
        return None if put is None else job_from_item(item)

    def newest(
        self,
        source_key: str | None,
        limit: int,
        start: dict[str, Any] | None = None,
        prefixes: dict[str, str] | None = None,
    ) -> tuple[list[Job], dict[str, Any] | None]:
        """One page of jobs newest first: of one source key (`bucket/key`), or all.

        `prefixes` keeps only jobs whose attributes start so (`{"job_id": "6l3f"}`). DynamoDB filters
        after it reads `limit` items, so a page may hold fewer jobs, or none, and still have a next one.
        """
        index, key = (
            (JOBS_BY_KEY_INDEX, ("source_key", source_key))
            if source_key
            else (JOBS_BY_TIME_INDEX, ("kind", JOB_KIND))
        )
        values: dict[str, Any] = {":v": key[1]}
        names = {"#k": key[0]}
        query: dict[str, Any] = {}
        if prefixes:
            conditions = []
            for i, (attribute, prefix) in enumerate(sorted(prefixes.items())):
                names[f"#p{i}"], values[f":p{i}"] = attribute, prefix
                conditions.append(f"begins_with(#p{i}, :p{i})")
            query["FilterExpression"] = " AND ".join(conditions)
        items, last = query_page(
            self._client, start, TableName=self.table, IndexName=index,
            KeyConditionExpression="#k = :v", ScanIndexForward=False, Limit=limit,
            ExpressionAttributeNames=names, ExpressionAttributeValues=to_item(values), **query,
        )  # fmt: skip
        return [job_from_values(i) for i in items], last

    def acquire(self, job_id: str, owner: str, lease_until: float, now: float, hop: int) -> Job:
        """Take the job's lease: free, expired, or already ours. Raises when it is busy or finished.

        The job comes back running, with its status before in `extra["previous_status"]`.
        """
        try:
            out = self._client.update_item(
                TableName=self.table,
                Key=to_item({"job_id": job_id}),
                UpdateExpression=(
                    "SET #st = :running, lease_owner = :owner, lease_expires = :until, "
                    "hops = :hop, updated_at = :now_iso, started_at = if_not_exists(started_at, :now_iso)"
                ),
                ConditionExpression=(
                    "attribute_exists(job_id) AND #st IN (:queued, :running) AND "
                    "(attribute_not_exists(hops) OR hops <= :hop) AND "
                    "(attribute_not_exists(lease_expires) OR lease_expires < :now OR lease_owner = :owner)"
                ),
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues=to_item(
                    {
                        ":running": JobStatus.RUNNING,
                        ":queued": JobStatus.QUEUED,
                        ":owner": owner,
                        ":until": lease_until,
                        ":now": now,
                        ":hop": hop,
                        ":now_iso": now_iso(),
                    }
                ),
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if not conditional_failed(exc):
                raise LedgerError(f"taking the lease of job {job_id} failed: {exc}") from exc
            job = self.get(job_id)
            if job is None:
                raise JobNotFoundError(job_id) from exc
            if job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
                raise JobFinishedError(f"job {job_id} is {job.status}") from exc
            if job.hops > hop:
                raise JobSupersededError(f"job {job_id} is at hop {job.hops}, past {hop}") from exc
            raise JobBusyError(
                f"job {job_id} is leased by {job.lease_owner} until {job.lease_expires}"
            ) from exc
        job = job_from_item(out["Attributes"])  # as it was: its status says whether it just started
        job.extra["previous_status"] = job.status
        job.status, job.lease_owner, job.lease_expires, job.hops = (
            JobStatus.RUNNING,
            owner,
            lease_until,
            hop,
        )
        return job

    def fence(self, owner: str) -> Fence:
        return Fence("lease_owner", owner)

    def record_progress(self, job: Job, owner: str, progress: Progress) -> str | None:
        """Move the cursor and add the counters in one conditional write, while the lease is ours
        (see `job_progress.record_progress`). Returns the status written."""
        return record_progress(self._client, self.table, job.job_id, owner, progress)

    def fail_unfinished(
        self, job_id: str, error: str, error_code: str, statuses: tuple[str, ...], now: float
    ) -> Job | None:
        """Fail the job with `error` if it is in one of `statuses` and nobody else holds its lease.

        The last resort when an invocation cannot settle the job itself: its counters stay as last
        checkpointed. Returns the job as it was, or None when it is elsewhere (finished, or leased to
        a live invocation).
        """
        placeholders = ", ".join(f":s{i}" for i in range(len(statuses)))
        values: dict[str, Any] = {f":s{i}": s for i, s in enumerate(statuses)}
        stamp = now_iso()
        values.update({":failed": JobStatus.FAILED, ":error": error, ":code": error_code, ":now": now,
                       ":now_iso": stamp})  # fmt: skip
        out = write_if(
            self._client.update_item,
            f"failing job {job_id}",
            TableName=self.table,
            Key=to_item({"job_id": job_id}),
            UpdateExpression=(
                "SET #st = :failed, #error = :error, error_code = :code, updated_at = :now_iso, "
                "finished_at = :now_iso REMOVE lease_owner, lease_expires"
            ),
            ConditionExpression=(
                f"attribute_exists(job_id) AND #st IN ({placeholders}) AND "
                "(attribute_not_exists(lease_expires) OR lease_expires < :now)"
            ),
            ExpressionAttributeNames={"#st": "status", "#error": "error"},
            ExpressionAttributeValues=to_item(values),
            ReturnValues="ALL_OLD",
        )
        return None if out is None else job_from_item(out["Attributes"])

    def release_if_owner(self, job_id: str, owner: str) -> None:
        """Best effort after an unexpected error: let the redelivery resume without waiting."""
        release_lease(self._client, self.table, job_id, ("lease_owner", "lease_expires"), owner)
