"""The records table: an item per record that needs attention (or per record, with tracking `all`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamo import batch_write, from_item, to_item
from shared.errors import LedgerError
from shared.names import RECORDS_STATUS_ATTRIBUTE, RECORDS_STATUS_INDEX


def status_key(job_id: str, status: str) -> str:
    return f"{job_id}#{status}"


class RecordsTable:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self.table = table
        self.writes = 0

    def put(self, items: Sequence[dict[str, Any]]) -> None:
        """Write (or overwrite: items are keyed by job and seq, so a replay is harmless)."""
        requests = []
        for values in items:
            values = {
                **values,
                RECORDS_STATUS_ATTRIBUTE: status_key(values["job_id"], values["status"]),
            }
            requests.append({"PutRequest": {"Item": to_item(values)}})
        self.writes += batch_write(self._client, self.table, requests)

    def delete_from(self, job_id: str, seq: int) -> int:
        """Remove the items of records at or past `seq`: written after the last checkpoint by an
        invocation that crashed, they are about to be read and settled again."""
        keys: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while True:
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "KeyConditionExpression": "job_id = :j AND seq >= :s",
                "ExpressionAttributeValues": to_item({":j": job_id, ":s": seq}),
                "ProjectionExpression": "job_id, seq",
                "ConsistentRead": True,
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            try:
                page = self._client.query(**kwargs)
            except ClientError as exc:
                raise LedgerError(f"reading the ledger of job {job_id} failed: {exc}") from exc
            keys += page.get("Items", [])
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        self.writes += batch_write(
            self._client, self.table, [{"DeleteRequest": {"Key": k}} for k in keys]
        )
        return len(keys)

    def get(self, job_id: str, seq: int) -> dict[str, Any] | None:
        out = self._client.get_item(
            TableName=self.table, Key=to_item({"job_id": job_id, "seq": seq})
        )
        return from_item(out["Item"]) if "Item" in out else None

    def by_status(
        self, job_id: str, status: str, limit: int, start: dict[str, Any] | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One page of a job's records in a status, in seq order, through the status index."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": RECORDS_STATUS_INDEX,
            "KeyConditionExpression": f"{RECORDS_STATUS_ATTRIBUTE} = :k",
            "ExpressionAttributeValues": to_item({":k": status_key(job_id, status)}),
            "Limit": limit,
        }
        if start:
            kwargs["ExclusiveStartKey"] = to_item(start)
        page = self._client.query(**kwargs)
        last = page.get("LastEvaluatedKey")
        return [from_item(i) for i in page.get("Items", [])], (from_item(last) if last else None)
