"""A job cut into ranges, on the job's own item: `fanout` (the cut), `ranges_counted`, `ranges_done`,
and per range i `r{i}_count`, `r{i}_cursor`, `r{i}_bytes`, `r{i}_owner`, `r{i}_expires`, `r{i}_hops`,
`r{i}_done`. One item, so a range's checkpoint adds to the job's counters in the same atomic write."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from shared.aws.dynamo import from_item, to_item
from shared.domain.errors import (
    JobBusyError,
    JobFinishedError,
    JobNotFoundError,
    JobSupersededError,
    LeaseLostError,
    LedgerError,
)
from shared.domain.jobs import Job, JobStatus, Progress
from shared.domain.models import Cursor
from shared.domain.ranges import FanOut, RangeCount, RangeLease, RangeProgress
from shared.domain.timestamps import now_iso
from shared.jobs.items import conditional_failed, cursor_value, job_from_values, write_if
from shared.jobs.leases import release_lease


def fanout_from_values(item: dict[str, Any]) -> FanOut | None:
    """The cut and what its ranges did, from the job item's plain values (None: not cut)."""
    plan = item.get("fanout")
    if not plan:
        return None
    fan = FanOut([int(s) for s in plan["starts"]], str(plan["format"]), int(plan["hold"]))
    for i in range(fan.ranges):
        count = item.get(f"r{i}_count")
        if count:
            fan.counts[i] = RangeCount(
                int(count["first"]), int(count["end"]), int(count["lines"]), int(count["records"])
            )
        if item.get(f"r{i}_done"):
            fan.done.add(i)
    return fan


def _cursor(value: dict[str, Any] | None) -> Cursor | None:
    if not value:
        return None
    state = json.loads(value.get("state") or "{}")
    return Cursor(int(value["offset"]), int(value["seq"]), int(value["line"]), state)


class JobRanges:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self.table = table

    def _update(self, job_id: str, **kwargs: Any) -> dict[str, Any]:
        out = self._client.update_item(
            TableName=self.table, Key=to_item({"job_id": job_id}), ReturnValues="ALL_NEW", **kwargs
        )
        return from_item(out["Attributes"])

    def _get(self, job_id: str) -> dict[str, Any] | None:
        out = self._client.get_item(
            TableName=self.table, Key=to_item({"job_id": job_id}), ConsistentRead=True
        )
        return from_item(out["Item"]) if "Item" in out else None

    def cut(self, job: Job, owner: str, fan: FanOut) -> FanOut:
        plan = {"starts": fan.starts, "format": fan.format, "hold": fan.hold}
        try:
            item = self._update(
                job.job_id,
                UpdateExpression=(
                    "SET fanout = if_not_exists(fanout, :plan), ranges_counted = "
                    "if_not_exists(ranges_counted, :zero), ranges_done = if_not_exists(ranges_done, "
                    ":zero), updated_at = :now REMOVE lease_owner, lease_expires"
                ),
                ConditionExpression="lease_owner = :owner AND #st = :running",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues=to_item({":plan": plan, ":zero": 0, ":now": now_iso(),
                                                   ":owner": owner, ":running": JobStatus.RUNNING}),
            )  # fmt: skip
        except ClientError as exc:
            if conditional_failed(exc):
                raise LeaseLostError(f"job {job.job_id}: the lease is no longer {owner}'s") from exc
            raise LedgerError(f"cutting job {job.job_id} into ranges failed: {exc}") from exc
        found = fanout_from_values(item)
        assert found is not None
        return found

    def fanout(self, job_id: str) -> FanOut | None:
        item = self._get(job_id)
        return fanout_from_values(item) if item else None

    def read(self, job_id: str) -> tuple[Job, FanOut | None] | None:
        item = self._get(job_id)
        return (job_from_values(item), fanout_from_values(item)) if item else None

    def counted(self, job_id: str, index: int, count: RangeCount) -> FanOut | None:
        value = {"first": count.first, "end": count.end, "lines": count.lines,
                 "records": count.records}  # fmt: skip
        item = write_if(
            self._update,
            f"counting range {index} of job {job_id}",
            job_id=job_id,
            UpdateExpression="SET #c = :c, updated_at = :now ADD ranges_counted :one",
            ConditionExpression="attribute_not_exists(#c) AND #st = :running",
            ExpressionAttributeNames={"#c": f"r{index}_count", "#st": "status"},
            ExpressionAttributeValues=to_item(
                {":c": value, ":now": now_iso(), ":one": 1, ":running": JobStatus.RUNNING}
            ),
        )
        return None if item is None else fanout_from_values(item)

    def acquire(
        self, job_id: str, index: int, owner: str, lease_until: float, now: float, hop: int
    ) -> RangeLease:
        r = f"r{index}_"
        names = {"#st": "status", "#o": r + "owner", "#e": r + "expires", "#h": r + "hops",
                 "#d": r + "done"}  # fmt: skip
        try:
            item = self._update(
                job_id,
                UpdateExpression="SET #o = :owner, #e = :until, #h = :hop, updated_at = :now_iso",
                ConditionExpression=(
                    "#st = :running AND attribute_exists(fanout) AND attribute_not_exists(#d) AND "
                    "(attribute_not_exists(#h) OR #h <= :hop) AND "
                    "(attribute_not_exists(#e) OR #e < :now OR #o = :owner)"
                ),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item({":owner": owner, ":until": lease_until,
                                                   ":hop": hop, ":now_iso": now_iso(), ":now": now,
                                                   ":running": JobStatus.RUNNING}),
            )  # fmt: skip
        except ClientError as exc:
            if not conditional_failed(exc):
                raise LedgerError(f"taking range {index} of job {job_id} failed: {exc}") from exc
            found = self._get(job_id)
            if found is None:
                raise JobNotFoundError(job_id) from exc
            if found.get("status") != JobStatus.RUNNING or found.get(r + "done"):
                raise JobFinishedError(
                    f"job {job_id} is {found.get('status')}; range {index} done: "
                    f"{bool(found.get(r + 'done'))}"
                ) from exc
            if int(found.get(r + "hops", 0)) > hop:
                raise JobSupersededError(
                    f"range {index} of job {job_id} is at hop {found.get(r + 'hops')}, past {hop}"
                ) from exc
            raise JobBusyError(f"range {index} of job {job_id} is leased") from exc
        fan = fanout_from_values(item)
        assert fan is not None
        return RangeLease(
            job_from_values(item),
            fan,
            _cursor(item.get(r + "cursor")),
            int(item.get(r + "bytes", 0)),
        )

    def record_progress(
        self, job_id: str, index: int, owner: str, progress: Progress, *, done: bool = False
    ) -> RangeProgress:
        r = f"r{index}_"
        names = {"#cur": r + "cursor", "#b": r + "bytes", "#o": r + "owner", "#d": r + "done"}
        values: dict[str, Any] = {
            ":cursor": cursor_value(progress.cursor), ":now": now_iso(), ":owner": owner,
            ":bytes": progress.bytes_read, ":requests": progress.requests,
        }  # fmt: skip
        sets = ["#cur = :cursor", "updated_at = :now"]
        adds = ["#b :bytes", "bytes_read :bytes", "requests :requests"]
        for name, value in progress.delta.as_dict().items():
            if value:
                names[f"#n_{name}"] = f"n_{name}"
                values[f":n_{name}"] = value
                adds.append(f"#n_{name} :n_{name}")
        if done:
            sets.append("#d = :true")
            adds.append("ranges_done :one")
            values.update({":true": True, ":one": 1})
        expression = "SET " + ", ".join(sets) + " ADD " + ", ".join(adds)
        if done or progress.release:
            names["#e"] = r + "expires"
            expression += " REMOVE #o, #e"
        try:
            item = self._update(
                job_id,
                UpdateExpression=expression,
                ConditionExpression="#o = :owner AND attribute_not_exists(#d)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item(values),
            )
        except ClientError as exc:
            if conditional_failed(exc):
                raise LeaseLostError(
                    f"range {index} of job {job_id}: the lease is no longer {owner}'s"
                ) from exc
            raise LedgerError(f"checkpointing range {index} of job {job_id} failed: {exc}") from exc
        fan = item.get("fanout") or {"starts": [0]}
        return RangeProgress(
            int(item.get("ranges_done", 0)), len(fan["starts"]) - 1, str(item["status"])
        )

    def release_if_owner(self, job_id: str, index: int, owner: str) -> None:
        release_lease(
            self._client, self.table, job_id, (f"r{index}_owner", f"r{index}_expires"), owner
        )
