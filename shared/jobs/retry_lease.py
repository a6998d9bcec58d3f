"""The retry lease: one retry invocation per job at a time, on the job's item."""

from __future__ import annotations

from typing import Any

from shared.aws.dynamo import to_item
from shared.domain.jobs import Job
from shared.domain.timestamps import now_iso
from shared.jobs.items import job_from_item, write_if
from shared.jobs.leases import release_lease


class RetryLease:
    """One retry invocation per job at a time (a lease on the job item, apart from the ingest lease)."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self.table = table

    def acquire(self, job_id: str, owner: str, until: float, now: float, round_: int = 0) -> bool:
        """Take the retry lease; the job also notes which retry round is running (for progress)."""
        taken = write_if(
            self._client.update_item,
            f"taking the retry lease of job {job_id}",
            TableName=self.table,
            Key=to_item({"job_id": job_id}),
            UpdateExpression="SET retry_owner = :owner, retry_until = :until, retry_round = :round",
            ConditionExpression=(
                "attribute_exists(job_id) AND "
                "(attribute_not_exists(retry_until) OR retry_until < :now OR retry_owner = :owner)"
            ),
            ExpressionAttributeValues=to_item(
                {":owner": owner, ":until": until, ":now": now, ":round": round_}
            ),
        )
        return taken is not None

    def release(self, job_id: str, owner: str) -> None:
        release_lease(self._client, self.table, job_id, ("retry_owner", "retry_until"), owner)

    def set_status(
        self, job_id: str, status: str, when: tuple[str, ...], require_no_failed: bool = False
    ) -> Job | None:
        """Move the job to `status` if it is in one of `when` (and, if asked, has no failed record
        left). Returns the job as it was, or None when it was not in such a state."""
        condition = "#st IN (" + ", ".join(f":w{i}" for i in range(len(when))) + ")"
        if require_no_failed:
            condition += " AND n_failed = :zero"
        values: dict[str, Any] = {f":w{i}": s for i, s in enumerate(when)}
        values.update({":status": status, ":now": now_iso()})
        if require_no_failed:
            values[":zero"] = 0
        out = write_if(
            self._client.update_item,
            f"setting the status of job {job_id}",
            TableName=self.table,
            Key=to_item({"job_id": job_id}),
            UpdateExpression="SET #st = :status, updated_at = :now, finished_at = :now",
            ConditionExpression=condition,
            ExpressionAttributeNames={"#st": "status"},
            ExpressionAttributeValues=to_item(values),
            ReturnValues="ALL_OLD",
        )
        return None if out is None else job_from_item(out["Attributes"])
