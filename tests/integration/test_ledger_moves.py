"""Ledger moves on DynamoDB (moto): a refused batch of moves costs a bounded number of requests."""

from __future__ import annotations

import boto3

from shared.domain.jobs import LedgerItem, RecordStatus
from shared.ledger.dynamodb import LedgerTransactions, RecordsTable
from shared.ledger.resend import move
from tests.integration import stack as moto_stack

JOB = "job-1"


def count_calls(client, operation: str) -> list[int]:
    calls = [0]

    def seen(**_):
        calls[0] += 1

    client.meta.events.register(f"before-call.dynamodb.{operation}", seen)
    return calls


def failed_ledger(ddb, n: int) -> list:
    """A job with `n` failed records in the ledger, and the moves that send them all."""
    ddb.put_item(
        TableName=moto_stack.JOBS,
        Item={"job_id": {"S": JOB}, "n_failed": {"N": str(n)}, "n_sent": {"N": "0"}},
    )
    items = [
        LedgerItem(JOB, seq, RecordStatus.FAILED, "t0", partition_key="k", payload=b"x")
        for seq in range(n)
    ]
    RecordsTable(ddb, moto_stack.RECORDS, moto_stack.JOBS).put(items)
    return [move(item, "t1", status=RecordStatus.SENT) for item in items]


def test_moves_changed_meanwhile_are_left_and_the_rest_applied_in_few_requests(aws, monkeypatch):
    moto_stack.create(monkeypatch)
    ddb = boto3.client("dynamodb", region_name=moto_stack.REGION)
    moves = failed_ledger(ddb, 250)
    # someone else moved every sixth record meanwhile (a retry round, say)
    stale = {seq for seq in range(250) if seq % 6 == 0}
    LedgerTransactions(ddb, moto_stack.JOBS, moto_stack.RECORDS).apply(
        JOB, [m for m in moves if m.seq in stale]
    )
    calls = count_calls(ddb, "TransactWriteItems")
    applied = LedgerTransactions(ddb, moto_stack.JOBS, moto_stack.RECORDS).apply(JOB, moves)
    assert sorted(m.seq for m in applied) == sorted(set(range(250)) - stale)
    assert calls[0] <= 2 * 3  # three chunks of 99, each refused once (not one request per record)
    job = ddb.get_item(TableName=moto_stack.JOBS, Key={"job_id": {"S": JOB}})["Item"]
    assert (job["n_failed"]["N"], job["n_sent"]["N"]) == ("0", "250")


def test_without_cancellation_reasons_a_refused_batch_is_halved(aws, monkeypatch):
    moto_stack.create(monkeypatch)
    ddb = boto3.client("dynamodb", region_name=moto_stack.REGION)
    moves = failed_ledger(ddb, 64)
    ledger = LedgerTransactions(ddb, moto_stack.JOBS, moto_stack.RECORDS)
    ledger.apply(JOB, [moves[5]])

    def no_reasons(parsed, **_):
        parsed.pop("CancellationReasons", None)

    ddb.meta.events.register("after-call.dynamodb.TransactWriteItems", no_reasons)
    calls = count_calls(ddb, "TransactWriteItems")
    applied = ledger.apply(JOB, moves)
    assert sorted(m.seq for m in applied) == [s for s in range(64) if s != 5]
    assert calls[0] <= 2 * 7 + 1  # a halving per level down to the one refused move


def test_a_fenced_clear_deletes_only_while_the_lease_is_the_callers(aws, monkeypatch):
    import pytest

    from shared.domain.errors import LeaseLostError
    from shared.domain.models import Fence

    moto_stack.create(monkeypatch)
    ddb = boto3.client("dynamodb", region_name=moto_stack.REGION)
    failed_ledger(ddb, 150)  # more than one transaction's worth
    ddb.update_item(
        TableName=moto_stack.JOBS, Key={"job_id": {"S": JOB}},
        UpdateExpression="SET lease_owner = :o", ExpressionAttributeValues={":o": {"S": "new"}},
    )  # fmt: skip
    table = RecordsTable(ddb, moto_stack.RECORDS, moto_stack.JOBS)
    with pytest.raises(LeaseLostError):
        table.delete_from(JOB, 10, fence=Fence("lease_owner", "old"))
    assert table.get(JOB, 10) is not None and table.get(JOB, 149) is not None
    assert table.delete_from(JOB, 10, fence=Fence("lease_owner", "new")) == 140
    assert table.get(JOB, 9) is not None and table.get(JOB, 10) is None
