"""A run's checkpoint on its job's item: the cursor, the counters added, and how the run ends, in one
conditional write while the lease is the writer's."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from botocore.exceptions import ClientError

from shared.aws.dynamo import to_item
from shared.domain.errors import LeaseLostError, LedgerError
from shared.domain.jobs import JobStatus, Progress
from shared.domain.timestamps import now_iso
from shared.jobs.items import conditional_failed, cursor_value, job_from_item


def record_progress(
    client: Any, table: str, job_id: str, owner: str, progress: Progress
) -> str | None:
    """Move the cursor and add the counters in one conditional write, while the lease is ours.

    With `progress.status`, the job leaves `running` and the lease is dropped; with `release`,
    only the lease is dropped, so a continuation can take it at once. With `unless_none_failed`,
    the status is written only while some record is failed; once none is (a retry round
    recovered them all between the retry message and this write), the status it gives for the
    counters then. Returns the status written.
    """
    choose = progress.unless_none_failed
    if choose is None:
        _write(client, table, job_id, owner, progress, None)
        return progress.status
    for _ in range(3):  # the failed count moves only while a retry round runs: it settles
        try:
            _write(client, table, job_id, owner, progress, ("#n_failed > :zero", {}))
            return progress.status
        except _CountsMovedError as moved:
            counts = job_from_item(moved.item).counts
        counts.add(progress.delta)
        done = replace(progress, status=choose(counts))
        pinned = {"n_failed": 0, "n_dead": counts.dead - progress.delta.dead}  # as when chosen
        condition = " AND ".join(f"(attribute_not_exists(#{a}) OR #{a} = :was_{a})" for a in pinned)
        try:
            _write(client, table, job_id, owner, done, (condition, pinned))
            return done.status
        except _CountsMovedError:
            continue
    raise LedgerError(f"job {job_id}: its failed count kept moving while it finished")


def _write(
    client: Any,
    table: str,
    job_id: str,
    owner: str,
    progress: Progress,
    counts_condition: tuple[str, dict[str, int]] | None,
) -> None:
    sets: dict[str, Any] = {
        "cursor": cursor_value(progress.cursor),
        "bytes_read": progress.bytes_read,
        "updated_at": now_iso(),
    }
    adds: dict[str, int] = {"requests": progress.requests}
    adds.update({f"n_{k}": v for k, v in progress.delta.as_dict().items() if v})
    if progress.status is not None:
        sets.update(status=progress.status, finished_at=sets["updated_at"])
    if progress.error is not None:
        sets["error"] = progress.error
        sets["error_code"] = progress.error_code or "Error"
    ends = progress.status is not None or progress.release
    removes = ["lease_owner", "lease_expires"] if ends else []
    # Every attribute goes through a placeholder: several (cursor, status, size...) are reserved words.
    names = {f"#{a}": a for a in [*sets, *adds, *removes, "status", "lease_owner"]}
    values = {f":{a}": v for a, v in [*sets.items(), *adds.items()]}
    values.update({":owner": owner, ":running": JobStatus.RUNNING})
    expression = "SET " + ", ".join(f"#{a} = :{a}" for a in sets)
    expression += " ADD " + ", ".join(f"#{a} :{a}" for a in adds)
    if removes:
        expression += " REMOVE " + ", ".join(f"#{a}" for a in removes)
    condition = "#lease_owner = :owner AND #status = :running"
    if counts_condition is not None:
        text, pinned = counts_condition
        condition += f" AND ({text})"
        names.update({f"#{a}": a for a in ("n_failed", *pinned)})
        values.update({f":was_{a}": v for a, v in pinned.items()})
        if ":zero" in text:
            values[":zero"] = 0
    try:
        client.update_item(
            TableName=table,
            Key=to_item({"job_id": job_id}),
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_item(values),
            **({"ReturnValuesOnConditionCheckFailure": "ALL_OLD"} if counts_condition else {}),
        )
    except ClientError as exc:
        if conditional_failed(exc):
            item = exc.response.get("Item") or {}
            if counts_condition is not None and _still_ours(item, owner):
                raise _CountsMovedError(item) from exc
            raise LeaseLostError(f"job {job_id}: the lease is no longer {owner}'s") from exc
        raise LedgerError(f"checkpointing job {job_id} failed: {exc}") from exc


_NONE_FAILED = "attribute_not_exists(#n_failed) OR #n_failed = :zero"


class _CountsMovedError(Exception):
    """A finishing write's condition on the counters did not hold, though the lease is still ours."""

    def __init__(self, item: dict[str, Any]) -> None:
        super().__init__("the counters moved")
        self.item = item


def _still_ours(item: dict[str, Any], owner: str) -> bool:
    """Whether a refused write's item (returned with the refusal) is still running under `owner`."""
    return (
        item.get("lease_owner", {}).get("S") == owner
        and item.get("status", {}).get("S") == JobStatus.RUNNING
    )
