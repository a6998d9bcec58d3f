"""moto's DynamoDB, made atomic and cheap (loader/moto_dynamodb.py), keeps DynamoDB's answers: queries
page as a full scan sorted by key says they should, transactions are all or nothing, concurrent
updates lose nothing, and a transaction copies only the items it touches."""

from __future__ import annotations

import copy
import threading

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from infra import schema
from loader import moto_patches
from shared.names import RECORDS_STATUS_ATTRIBUTE, RECORDS_STATUS_INDEX

REGION = "us-east-1"
JOBS = ("a", "b", "c")
STATUSES = ("failed", "rejected")


@pytest.fixture
def ddb(aws):
    client = boto3.client("dynamodb", region_name=REGION)
    client.create_table(**schema.create_table_args("records", schema.RECORDS))
    client.create_table(**schema.create_table_args("jobs", schema.JOBS))
    return client


def _put(client, job: str, seq: int, status: str) -> None:
    client.put_item(TableName="records", Item={
        "job_id": {"S": job}, "seq": {"N": str(seq)}, "status": {"S": status},
        RECORDS_STATUS_ATTRIBUTE: {"S": f"{job}#{status}"},
    })  # fmt: skip


def _pages(client, limit: int, forward: bool, **query):
    got, start = [], None
    while True:
        extra = {"ExclusiveStartKey": start} if start else {}
        out = client.query(
            TableName="records", Limit=limit, ScanIndexForward=forward, **query, **extra
        )
        got += [(i["job_id"]["S"], int(i["seq"]["N"])) for i in out["Items"]]
        start = out.get("LastEvaluatedKey")
        if not start:
            return got


def _expected(client, keep, forward: bool):
    items = client.scan(TableName="records")["Items"]  # moto's own scan, not patched
    got = sorted((i["job_id"]["S"], int(i["seq"]["N"])) for i in items if keep(i))
    return got if forward else got[::-1]


operations = st.lists(
    st.tuples(
        st.sampled_from(("put", "update", "delete", "transact")),
        st.sampled_from(JOBS),
        st.integers(0, 40),
        st.sampled_from(STATUSES),
    ),
    max_size=60,
)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations, limit=st.integers(1, 7), forward=st.booleans(), low=st.integers(0, 40))
def test_queries_page_as_a_sorted_scan_says_after_any_writes(monkeypatch, ops, limit, forward, low):
    for name, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t",
                        "AWS_DEFAULT_REGION": REGION}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    moto_patches.apply()
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(**schema.create_table_args("records", schema.RECORDS))
        client.query(
            TableName="records",
            KeyConditionExpression="job_id = :j",
            ExpressionAttributeValues={":j": {"S": "a"}},
        )  # fmt: skip  (books built early)
        for op, job, seq, status in ops:
            key = {"job_id": {"S": job}, "seq": {"N": str(seq)}}
            if op == "put":
                _put(client, job, seq, status)
            elif op == "update":  # moves the item between the index's partitions
                client.update_item(
                    TableName="records", Key=key,
                    UpdateExpression="SET #s = :s, #k = :k",
                    ExpressionAttributeNames={"#s": "status", "#k": RECORDS_STATUS_ATTRIBUTE},
                    ExpressionAttributeValues={":s": {"S": status}, ":k": {"S": f"{job}#{status}"}},
                )  # fmt: skip
            elif op == "delete":
                client.delete_item(TableName="records", Key=key)
            else:
                client.transact_write_items(TransactItems=[{"Put": {"TableName": "records", "Item": {
                    **key, "status": {"S": status}, RECORDS_STATUS_ATTRIBUTE: {"S": f"{job}#{status}"},
                }}}])  # fmt: skip
        for job in JOBS:
            assert _pages(
                client, limit, forward, KeyConditionExpression="job_id = :j",
                ExpressionAttributeValues={":j": {"S": job}},
            ) == _expected(client, lambda i, job=job: i["job_id"]["S"] == job, forward)  # fmt: skip
            assert _pages(
                client, limit, forward, KeyConditionExpression="job_id = :j AND seq >= :s",
                ExpressionAttributeValues={":j": {"S": job}, ":s": {"N": str(low)}},
            ) == _expected(
                client, lambda i, job=job: i["job_id"]["S"] == job and int(i["seq"]["N"]) >= low,
                forward,
            )  # fmt: skip
            for status in STATUSES:
                assert _pages(
                    client, limit, forward, IndexName=RECORDS_STATUS_INDEX,
                    KeyConditionExpression=f"{RECORDS_STATUS_ATTRIBUTE} = :k",
                    ExpressionAttributeValues={":k": {"S": f"{job}#{status}"}},
                ) == _expected(
                    client,
                    lambda i, k=f"{job}#{status}": i[RECORDS_STATUS_ATTRIBUTE]["S"] == k,
                    forward,
                )  # fmt: skip


def test_a_cancelled_transaction_changes_nothing(ddb):
    _put(ddb, "a", 1, "failed")
    _put(ddb, "a", 2, "failed")
    with pytest.raises(ClientError) as caught:
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": "records", "Key": {"job_id": {"S": "a"}, "seq": {"N": "1"}},
                        "UpdateExpression": "SET #s = :s", "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":s": {"S": "sent"}}}},
            {"Delete": {"TableName": "records", "Key": {"job_id": {"S": "a"}, "seq": {"N": "2"}},
                        "ConditionExpression": "#s = :x", "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":x": {"S": "sent"}}}},
        ])  # fmt: skip
    assert caught.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [r["Code"] for r in caught.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed"]
    statuses = {
        int(i["seq"]["N"]): i["status"]["S"] for i in ddb.scan(TableName="records")["Items"]
    }
    assert statuses == {1: "failed", 2: "failed"}


def test_a_write_that_fails_inside_a_transaction_rolls_back_the_writes_before_it(ddb):
    _put(ddb, "a", 1, "failed")
    with pytest.raises(ClientError):
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "records", "Item": {"job_id": {"S": "a"}, "seq": {"N": "1"},
                                                      "status": {"S": "sent"}}}},
            {"Update": {"TableName": "records", "Key": {"job_id": {"S": "a"}, "seq": {"N": "2"}},
                        "UpdateExpression": "ADD #s :one", "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":one": {"S": "not a number"}}}},
        ])  # fmt: skip
    items = ddb.scan(TableName="records")["Items"]
    assert [(int(i["seq"]["N"]), i["status"]["S"]) for i in items] == [(1, "failed")]


def test_concurrent_adds_to_one_item_lose_no_update(ddb):
    ddb.put_item(TableName="jobs", Item={"job_id": {"S": "j"}, "n": {"N": "0"}})

    def add() -> None:
        client = boto3.client("dynamodb", region_name=REGION)
        for _ in range(100):
            client.update_item(TableName="jobs", Key={"job_id": {"S": "j"}},
                               UpdateExpression="ADD n :one",
                               ExpressionAttributeValues={":one": {"N": "1"}})  # fmt: skip

    import sys

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, as a loaded machine does
    try:
        threads = [threading.Thread(target=add) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    item = ddb.get_item(TableName="jobs", Key={"job_id": {"S": "j"}})["Item"]
    assert item["n"] == {"N": "600"}


def test_a_transaction_copies_only_the_items_it_touches(ddb, monkeypatch):
    for seq in range(300):
        _put(ddb, "a", seq, "failed")
    copied: list[object] = []
    real = copy.deepcopy

    def counting(value, *args, **kwargs):
        copied.append(type(value).__name__)
        return real(value, *args, **kwargs)

    monkeypatch.setattr(copy, "deepcopy", counting)
    ddb.transact_write_items(TransactItems=[
        {"Update": {"TableName": "records", "Key": {"job_id": {"S": "a"}, "seq": {"N": "7"}},
                    "UpdateExpression": "SET #s = :s", "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":s": {"S": "sent"}}}},
    ])  # fmt: skip
    assert "Table" not in copied
    assert len(copied) < 20  # the item, its update's working copy: not 300 items
