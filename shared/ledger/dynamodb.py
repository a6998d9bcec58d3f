"""The records table: an item per record that needs attention (or per record, with tracking `all`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from shared.aws.dynamo import batch_write, from_item, query_page, to_item
from shared.domain.errors import LeaseLostError, LedgerError
from shared.domain.jobs import LedgerItem
from shared.domain.models import Fence, Transition
from shared.names import RECORDS_STATUS_ATTRIBUTE, RECORDS_STATUS_INDEX


def status_key(job_id: str, status: str) -> str:
    return f"{job_id}#{status}"


class RecordsTable:
    FENCED_PUTS = 99  # a transaction holds 100 actions: the fence's check and 99 items

    def __init__(self, client: Any, table: str, jobs_table: str | None = None) -> None:
        self._client = client
        self.table = table
        self.jobs_table = jobs_table
        self.writes = 0

    def put(self, items: Sequence[LedgerItem], fence: Fence | None = None) -> None:
        """Write (or overwrite: items are keyed by job and seq, so a replay is harmless). With a
        fence, each group of items goes in one transaction with a check of the job's lease."""
        rows = [
            to_item(
                {**item.values(), RECORDS_STATUS_ATTRIBUTE: status_key(item.job_id, item.status)}
            )
            for item in items
        ]
        if fence is None or not rows:
            requests = [{"PutRequest": {"Item": row}} for row in rows]
            self.writes += batch_write(self._client, self.table, requests)
            return
        if self.jobs_table is None:
            raise LedgerError("a fenced ledger write needs the jobs table")
        job_id = items[0].job_id
        for start in range(0, len(rows), self.FENCED_PUTS):
            group = rows[start : start + self.FENCED_PUTS]
            self._fenced(
                job_id, fence, [{"Put": {"TableName": self.table, "Item": r}} for r in group]
            )
            self.writes += len(group)

    def _fenced(self, job_id: str, fence: Fence, writes: list[dict[str, Any]]) -> None:
        check = {"ConditionCheck": {
            "TableName": self.jobs_table, "Key": to_item({"job_id": job_id}),
            "ConditionExpression": "#o = :owner", "ExpressionAttributeNames": {"#o": fence.attribute},
            "ExpressionAttributeValues": to_item({":owner": fence.owner}),
        }}  # fmt: skip
        try:
            self._client.transact_write_items(TransactItems=[check, *writes])
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                raise LeaseLostError(
                    f"job {job_id}: the lease is no longer {fence.owner}'s; ledger items not written"
                ) from exc
            raise LedgerError(f"writing the ledger of job {job_id} failed: {exc}") from exc

    def delete_from(
        self, job_id: str, seq: int, until: int | None = None, fence: Fence | None = None
    ) -> int:
        """Remove the items of records at or past `seq` (and before `until`): written after the last
        checkpoint by an invocation that crashed, they are about to be read and settled again. With
        a fence, each group of deletes goes in one transaction with a check of the lease, so an
        invocation that outlived its lease never clears what the lease's new owner wrote."""
        keys: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        if until is not None and until <= seq:
            return 0
        condition, values = "job_id = :j AND seq >= :s", {":j": job_id, ":s": seq}
        if until is not None:
            condition, values = "job_id = :j AND seq BETWEEN :s AND :u", {**values, ":u": until - 1}
        while True:
            try:
                items, start = query_page(
                    self._client, start, TableName=self.table,
                    KeyConditionExpression=condition, ExpressionAttributeValues=to_item(values),
                    ProjectionExpression="job_id, seq", ConsistentRead=True,
                )  # fmt: skip
            except ClientError as exc:
                raise LedgerError(f"reading the ledger of job {job_id} failed: {exc}") from exc
            keys += [to_item({"job_id": i["job_id"], "seq": i["seq"]}) for i in items]
            if not start:
                break
        if fence is None or not keys:
            self.writes += batch_write(
                self._client, self.table, [{"DeleteRequest": {"Key": k}} for k in keys]
            )
            return len(keys)
        if self.jobs_table is None:
            raise LedgerError("a fenced ledger write needs the jobs table")
        for start_at in range(0, len(keys), self.FENCED_PUTS):
            group = keys[start_at : start_at + self.FENCED_PUTS]
            deletes = [{"Delete": {"TableName": self.table, "Key": k}} for k in group]
            self._fenced(job_id, fence, deletes)
            self.writes += len(group)
        return len(keys)

    def get(self, job_id: str, seq: int) -> LedgerItem | None:
        out = self._client.get_item(
            TableName=self.table, Key=to_item({"job_id": job_id, "seq": seq})
        )
        return LedgerItem.from_values(from_item(out["Item"])) if "Item" in out else None

    def by_status(
        self, job_id: str, status: str, limit: int, start: dict[str, Any] | None = None
    ) -> tuple[list[LedgerItem], dict[str, Any] | None]:
        """One page of a job's records in a status, in seq order, through the status index."""
        items, last = query_page(
            self._client, start, TableName=self.table, IndexName=RECORDS_STATUS_INDEX,
            KeyConditionExpression=f"{RECORDS_STATUS_ATTRIBUTE} = :k",
            ExpressionAttributeValues=to_item({":k": status_key(job_id, status)}), Limit=limit,
        )  # fmt: skip
        return [LedgerItem.from_values(i) for i in items], last

    def page(
        self, job_id: str, limit: int, start: dict[str, Any] | None = None
    ) -> tuple[list[LedgerItem], dict[str, Any] | None]:
        """One page of all a job's ledger items, in seq order."""
        items, last = query_page(
            self._client, start, TableName=self.table, KeyConditionExpression="job_id = :j",
            ExpressionAttributeValues=to_item({":j": job_id}), Limit=limit,
        )  # fmt: skip
        return [LedgerItem.from_values(i) for i in items], last


def _status_delta(moves: list[Transition]) -> dict[str, int]:
    delta: dict[str, int] = {}
    for move in moves:
        for status, step in ((move.from_status, -1), (move.values["status"], 1)):
            delta[status] = delta.get(status, 0) + step
    return {k: v for k, v in delta.items() if v}


class LedgerTransactions:
    """Record transitions and the job's counters, changed together in DynamoDB transactions."""

    MAX_ACTIONS = 100
    ROUNDS = 4  # transactions a chunk tries, dropping refused moves, before it is halved

    def __init__(self, client: Any, jobs_table: str, records_table: str) -> None:
        self._client = client
        self._jobs, self._records = jobs_table, records_table

    def apply(self, job_id: str, moves: list[Transition]) -> list[Transition]:
        """Apply what still holds; returns the moves that were applied (others changed meanwhile).

        A refused transaction says which of its moves no longer hold (its cancellation reasons):
        those are dropped and the rest go again, a bounded number of requests for any number of
        refused moves. Without reasons the batch is halved until the refused moves are found."""
        applied: list[Transition] = []
        step = self.MAX_ACTIONS - 1
        for start in range(0, len(moves), step):
            applied += self._apply_chunk(job_id, moves[start : start + step])
        return applied

    def _apply_chunk(self, job_id: str, moves: list[Transition]) -> list[Transition]:
        for _ in range(self.ROUNDS):
            if not moves:
                return []
            refused = self._transact(job_id, moves)
            if refused is None:
                return moves
            if not refused:  # a conflict with another transaction, or no reasons: halve
                break
            moves = [m for n, m in enumerate(moves) if n not in refused]
        if len(moves) == 1:  # one move that keeps being cancelled without a refusal of its own
            return moves if self._transact(job_id, moves) is None else []
        half = len(moves) // 2
        return self._apply_chunk(job_id, moves[:half]) + self._apply_chunk(job_id, moves[half:])

    def _transact(self, job_id: str, moves: list[Transition]) -> set[int] | None:
        """None when the moves were applied; else the indexes of those whose condition failed."""
        now = moves[0].values.get("updated_at")
        actions = [self._record_action(job_id, m) for m in moves]
        delta = _status_delta(moves)
        if delta:
            names = {f"#n_{s}": f"n_{s}" for s in delta}
            values = {f":d_{s}": v for s, v in delta.items()}
            actions.append({"Update": {
                "TableName": self._jobs,
                "Key": to_item({"job_id": job_id}),
                "UpdateExpression": "SET updated_at = :now ADD " + ", ".join(f"#n_{s} :d_{s}" for s in delta),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": to_item({**values, ":now": now}),
            }})  # fmt: skip
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                reasons = exc.response.get("CancellationReasons") or []
                return {
                    n
                    for n, reason in enumerate(reasons[: len(moves)])
                    if reason.get("Code") == "ConditionalCheckFailed"
                }
            raise LedgerError(f"updating the ledger of job {job_id} failed: {exc}") from exc
        return None

    def _record_action(self, job_id: str, move: Transition) -> dict[str, Any]:
        values = {
            **move.values,
            RECORDS_STATUS_ATTRIBUTE: status_key(job_id, move.values["status"]),
        }
        names = {f"#{k}": k for k in values}
        names["#status"] = "status"
        expression = "SET " + ", ".join(f"#{k} = :{k}" for k in values)
        return {"Update": {
            "TableName": self._records,
            "Key": to_item({"job_id": job_id, "seq": move.seq}),
            "UpdateExpression": expression,
            "ConditionExpression": "#status = :from_status AND #updated_at = :seen",
            "ExpressionAttributeNames": {**names, "#updated_at": "updated_at"},
            "ExpressionAttributeValues": to_item({
                **{f":{k}": v for k, v in values.items()}, ":from_status": move.from_status,
                ":seen": move.seen_updated_at,
            }),
        }}  # fmt: skip
