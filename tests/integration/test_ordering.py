"""Per-key order and aggregation end to end on moto: files with `ordering` and `aggregate` metadata,
under throttles, internal failures, whole-call failures and continuations, read back shard by shard in
sequence-number order (and de-aggregated with aws-kinesis-agg, as a KCL consumer would)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from aws_kinesis_agg.deaggregator import deaggregate_records
from botocore.exceptions import ClientError

from loader.faults import KinesisFaults
from shared.aws import clients
from shared.delivery.shards import ShardMap, hash_key
from tests.integration import stack as moto_stack
from tests.integration.helpers import invoke, job_id_of
from tests.lambda_helpers import Countdown, FakeContext

SHARDS = 3
N = 1000


@pytest.fixture
def stack(aws, monkeypatch):
    return moto_stack.create(monkeypatch, shards=SHARDS, LOADER_MAX_ATTEMPTS="3")


def keyed(n: int, keys: int = 40, skew: bool = True) -> bytes:
    """JSON Lines whose `k` repeats (one record in 20 on one hot key, when skewed)."""
    return b"".join(
        b'{"i": %d, "k": "%s"}\n' % (i, b"hot" if skew and i % 20 == 0 else b"k%d" % (i % keys))
        for i in range(n)
    )


def shard_records(stack: Any) -> dict[str, list[dict[str, Any]]]:
    """Each shard's records in sequence-number order, as Lambda-style records for de-aggregation."""
    kinesis = stack.kinesis
    out: dict[str, list[dict[str, Any]]] = {}
    for shard in kinesis.list_shards(StreamName=moto_stack.STREAM)["Shards"]:
        it = kinesis.get_shard_iterator(
            StreamName=moto_stack.STREAM, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records = []
        while it:
            page = kinesis.get_records(ShardIterator=it, Limit=10000)
            records += page["Records"]
            if not page["Records"]:
                break
            it = page.get("NextShardIterator")
        assert [int(r["SequenceNumber"]) for r in records] == sorted(
            int(r["SequenceNumber"]) for r in records
        )
        out[shard["ShardId"]] = [
            {"kinesis": {"kinesisSchemaVersion": "1.0", "sequenceNumber": r["SequenceNumber"],
                         "approximateArrivalTimestamp": 0, "partitionKey": r["PartitionKey"],
                         "data": base64.b64encode(r["Data"]).decode()}}
            for r in records
        ]  # fmt: skip
    return out


def user_records(stack: Any) -> tuple[dict[str, list[tuple[str, bytes]]], int]:
    """De-aggregated user records per shard (key, data), and how many Kinesis records held them."""
    shards = shard_records(stack)
    return {
        shard: [
            (r["kinesis"]["partitionKey"], base64.b64decode(r["kinesis"]["data"]))
            for r in deaggregate_records(records)
        ]
        for shard, records in shards.items()
    }, sum(len(r) for r in shards.values())


def assert_per_key_order(by_shard: dict[str, list[tuple[str, bytes]]], data: bytes) -> None:
    """Every record once; on each shard, each key's records in file order; each on its key's shard."""
    shard_map = ShardMap.from_list_shards(
        clients.client("kinesis").list_shards(StreamName=moto_stack.STREAM)["Shards"]
    )
    seen: list[int] = []
    for shard_id, records in by_shard.items():
        last: dict[str, int] = {}
        for key, payload in records:
            i = json.loads(payload)["i"]
            assert json.loads(payload)["k"] == key
            assert shard_map.shards[shard_map.index_of(hash_key(key))].shard_id == shard_id
            assert last.get(key, -1) < i, f"key {key} out of order on {shard_id}"
            last[key] = i
            seen.append(i)
    expected = len(data.splitlines())
    assert sorted(seen) == list(range(expected))


FAULTS = {
    "throttles": {"throttle": 0.3},
    "internal failures": {"internal": 0.3},
    "whole-call failures": {"call_throttle": 0.3},
}


@pytest.mark.parametrize("faults", sorted(FAULTS))
@pytest.mark.parametrize("aggregate", ["false", "true"])
def test_per_key_order_survives_failures(stack, faults, aggregate):
    KinesisFaults(seed=3, **FAULTS[faults]).install(clients.client("kinesis"))
    data = keyed(N)
    meta = {"partition-key-field": "k", "aggregate": aggregate}  # ordering=per-key by default
    note = stack.upload("keyed.jsonl", data, meta)
    invoke(stack, note)
    job = stack.job(job_id_of(note))
    assert (job["status"], job["n_sent"]) == ("completed", N)
    by_shard, kinesis_records = user_records(stack)
    assert_per_key_order(by_shard, data)
    if aggregate == "true":
        assert kinesis_records < N / 20  # many user records per Kinesis record
    else:
        assert kinesis_records == N


def test_per_key_order_holds_across_continuations(stack, monkeypatch):
    monkeypatch.setenv("LOADER_MAX_REQUEST_KIB", "1")  # small batches: many continuations
    moto_stack.reset_caches()
    KinesisFaults(seed=4, throttle=0.2, internal=0.1).install(clients.client("kinesis"))
    data = keyed(2 * N)
    note = stack.upload("keyed.jsonl", data, {"partition-key-field": "k"})
    invoke(stack, note, context=FakeContext(remaining_s=Countdown(34, 1.0)))
    hops = 0
    while messages := stack.messages(stack.ingest_queue_url):
        for body in messages:
            hops += 1
            invoke(stack, body, context=FakeContext(remaining_s=Countdown(34, 1.0)))
    assert hops >= 2
    assert stack.job(job_id_of(note))["status"] == "completed"
    by_shard, _ = user_records(stack)
    assert_per_key_order(by_shard, data)


def test_an_aggregated_stream_de_aggregates_to_the_files_records_with_their_keys(stack):
    data = keyed(N, keys=500, skew=False)
    note = stack.upload("keyed.jsonl", data, {"partition-key-field": "k", "aggregate": "true"})
    invoke(stack, note)
    job = stack.job(job_id_of(note))
    assert (job["status"], job["n_records"], job["n_sent"]) == ("completed", N, N)
    by_shard, kinesis_records = user_records(stack)
    got = sorted(payload for records in by_shard.values() for _, payload in records)
    assert got == sorted(data.splitlines()) and kinesis_records <= SHARDS * 2
    assert_per_key_order(by_shard, data)


def test_unordered_and_unaggregated_still_sends_everything_once(stack):
    KinesisFaults(seed=5, throttle=0.2).install(clients.client("kinesis"))
    data = keyed(N)
    note = stack.upload("keyed.jsonl", data, {"partition-key-field": "k", "ordering": "none"})
    invoke(stack, note)
    by_shard, _ = user_records(stack)
    job = stack.job(job_id_of(note))
    sent = sorted(json.loads(p)["i"] for records in by_shard.values() for _, p in records)
    assert len(sent) == job["n_sent"] and job["n_records"] == N
    assert len(set(sent)) == len(sent)


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"ordering": "sometimes"}, "ordering='sometimes'"),
        ({"aggregate": "maybe"}, "aggregate='maybe'"),
    ],
)
def test_an_unknown_option_fails_the_job_with_a_clear_error(stack, meta, message):
    note = stack.upload("a.jsonl", keyed(10), meta)
    invoke(stack, note)
    job = stack.job(job_id_of(note))
    assert (job["status"], job["error_code"]) == ("failed", "InvalidOption")
    assert message in job["error"]
    with pytest.raises(ClientError):  # nothing was sent: the stream has no records to iterate
        raise (
            ClientError({"Error": {"Code": "x"}}, "x")
            if not sum(len(v) for v in shard_records(stack).values())
            else AssertionError("records were sent")
        )
