"""A lease on a job's item, by attribute names: the job's own (its invocation), a range's, or the
retry rounds'. Each is taken with its own condition; all are dropped the same way."""

from __future__ import annotations

import contextlib
from typing import Any

from botocore.exceptions import ClientError

from shared.aws.dynamo import to_item


def release_lease(client: Any, table: str, job_id: str, names: tuple[str, str], owner: str) -> None:
    """Drop the lease held in attributes `names` (owner, expiry) if `owner` still holds it. Best
    effort: a lease not dropped runs out by itself."""
    with contextlib.suppress(ClientError):
        client.update_item(
            TableName=table,
            Key=to_item({"job_id": job_id}),
            UpdateExpression="REMOVE #o, #e",
            ConditionExpression="#o = :owner",
            ExpressionAttributeNames={"#o": names[0], "#e": names[1]},
            ExpressionAttributeValues=to_item({":owner": owner}),
        )
