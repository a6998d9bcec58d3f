"""The patched moto stream refuses what Kinesis refuses: per-shard rates over one-second windows
(entry by entry, the rest of the request written), 500 entries and the request cap per call, the
stream's MaxRecordSizeInKiB, partition keys of 1 to 256 characters."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from loader import stream_rates
from tests.integration.conftest import REGION, read_stream

THROTTLED = "ProvisionedThroughputExceededException"
SHARD_0, SHARD_1 = "0", str(2**127)  # explicit hash keys inside each of two shards


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.25

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(stream_rates.RULES, "clock", c)
    monkeypatch.setattr(stream_rates.RULES, "rates", True)
    return c


@pytest.fixture
def client(aws):
    c = boto3.client("kinesis", region_name=REGION)
    c.create_stream(StreamName="s", ShardCount=2)
    return c


def entries(n: int, hash_key: str, size: int = 10) -> list[dict]:
    return [
        {"Data": b"x" * size, "PartitionKey": "k", "ExplicitHashKey": hash_key} for _ in range(n)
    ]


def put(client, records: list[dict]) -> dict:
    return client.put_records(StreamName="s", Records=records)


def codes(answer: dict) -> list[str | None]:
    return [r.get("ErrorCode") for r in answer["Records"]]


def test_a_shard_takes_1000_records_a_second_and_throttles_the_rest_entry_by_entry(client, clock):
    assert put(client, entries(500, SHARD_0))["FailedRecordCount"] == 0
    assert put(client, entries(497, SHARD_0))["FailedRecordCount"] == 0
    third = put(client, entries(3, SHARD_0) + entries(2, SHARD_1) + entries(2, SHARD_0)
                + entries(3, SHARD_1))  # fmt: skip
    assert third["FailedRecordCount"] == 2
    throttled = "ProvisionedThroughputExceededException"
    # the shard's 998th to 1,000th records go in, the two after them fail; the other shard's all go in
    assert codes(third) == [None] * 5 + [throttled] * 2 + [None] * 3
    message = third["Records"][5]["ErrorMessage"]
    assert "Rate exceeded for shard shardId-000000000000 in stream s under account" in message
    clock.now += 1.0  # a new second: the shard takes records again
    assert put(client, entries(10, SHARD_0))["FailedRecordCount"] == 0
    assert len(read_stream(client, "s")) == 1000 + 5 + 10
    seconds = stream_rates.rates_of(moto_kinesis_stream())["shardId-000000000000"]
    assert [(s.records, s.throttled) for s in seconds] == [(1000, 2), (10, 0)]


def moto_kinesis_stream():
    from moto.kinesis.models import kinesis_backends

    return kinesis_backends["123456789012"][REGION].streams["s"]


def test_a_shard_takes_1_mib_a_second_counting_data_and_key(client, clock):
    half = 512 * 1024
    answer = put(client, entries(1, SHARD_0, half - 1) + entries(1, SHARD_0, half - 1)
                 + entries(1, SHARD_0, 1))  # fmt: skip
    # 2 x (512 KiB - 1, plus a 1-byte key) is exactly 1 MiB: the third record is over it
    assert codes(answer) == [None, None, "ProvisionedThroughputExceededException"]


def test_without_rates_a_shard_takes_what_it_is_given(client, clock, monkeypatch):
    monkeypatch.setattr(stream_rates.RULES, "rates", False)
    for _ in range(5):
        assert put(client, entries(500, SHARD_0))["FailedRecordCount"] == 0
    assert len(read_stream(client, "s")) == 2500


def test_a_put_record_over_the_rate_fails_whole(client, clock):
    put(client, entries(500, SHARD_0))
    put(client, entries(500, SHARD_0))
    with pytest.raises(ClientError) as caught:
        client.put_record(StreamName="s", Data=b"x", PartitionKey="k", ExplicitHashKey=SHARD_0)
    assert caught.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    client.put_record(StreamName="s", Data=b"x", PartitionKey="k", ExplicitHashKey=SHARD_1)


def refused(client, records: list[dict]) -> str:
    with pytest.raises(ClientError) as caught:
        put(client, records)
    assert len(read_stream(client, "s")) == 0  # nothing of a refused request is written
    return str(caught.value.response["Error"]["Code"])


def test_a_request_of_more_than_500_entries_is_refused(client, clock):
    assert refused(client, entries(501, SHARD_0)) == "ValidationException"


def test_a_request_over_the_request_cap_is_refused(client, clock):
    client.update_max_record_size(StreamARN=arn(client), MaxRecordSizeInKiB=4096)
    big = 3 * 1024 * 1024
    assert refused(client, entries(3, SHARD_0, big) + entries(1, SHARD_1, big)) == (
        "InvalidArgumentException"
    )  # 12 MiB over the 10 MiB cap


def arn(client) -> str:
    return str(
        client.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["StreamARN"]
    )


def test_a_record_over_the_streams_max_record_size_is_refused(client, clock):
    summary = client.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]
    assert summary["MaxRecordSizeInKiB"] == 1024
    # 1 MiB of data and key together is the cap: one byte more is refused
    assert refused(client, entries(1, SHARD_0, 1024 * 1024)) == "ValidationException"
    put(client, entries(1, SHARD_0, 1024 * 1024 - 1))
    assert len(read_stream(client, "s")) == 1


def test_max_record_size_is_set_at_creation_and_by_update_and_reported(aws):
    # botocore checks the bounds too; the stream is asked without it, as any client may
    c = boto3.client("kinesis", region_name=REGION, config=Config(parameter_validation=False))
    c.create_stream(StreamName="s", ShardCount=1, MaxRecordSizeInKiB=2048)
    assert (
        c.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["MaxRecordSizeInKiB"]
        == 2048
    )
    c.put_records(
        StreamName="s", Records=[{"Data": b"x" * (2 * 1024 * 1024 - 1), "PartitionKey": "k"}]
    )
    c.update_max_record_size(StreamARN=arn(c), MaxRecordSizeInKiB=10240)
    assert (
        c.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["MaxRecordSizeInKiB"]
        == 10240
    )
    for kib in (1023, 10241):
        with pytest.raises(ClientError) as caught:
            c.update_max_record_size(StreamARN=arn(c), MaxRecordSizeInKiB=kib)
        assert caught.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError):
        c.create_stream(StreamName="t", ShardCount=1, MaxRecordSizeInKiB=512)


def test_partition_keys_are_1_to_256_characters_not_bytes(client, clock):
    put(client, [{"Data": b"x", "PartitionKey": "é" * 256}])  # 512 bytes, 256 characters
    assert (
        refused_after(client, [{"Data": b"x", "PartitionKey": "k" * 257}]) == "ValidationException"
    )


def refused_after(client, records: list[dict]) -> str:
    with pytest.raises(ClientError) as caught:
        put(client, records)
    return str(caught.value.response["Error"]["Code"])


def test_a_record_over_1_mib_bursts_and_the_seconds_after_it_pay_for_it(aws, clock):
    c = boto3.client("kinesis", region_name=REGION)
    c.create_stream(StreamName="s", ShardCount=1, MaxRecordSizeInKiB=4096)
    three_mib = [{"Data": b"x" * (3 * 1024 * 1024 - 1), "PartitionKey": "k"}]
    small = [{"Data": b"x" * 99, "PartitionKey": "k"}]  # 100 bytes
    c.put_records(StreamName="s", Records=small)
    # a large record waits for a second in which the shard has taken nothing else
    assert codes(c.put_records(StreamName="s", Records=three_mib)) == [THROTTLED]
    clock.now += 1
    assert codes(c.put_records(StreamName="s", Records=three_mib + small)) == [None, THROTTLED]
    for _ in range(2):  # the next two seconds pay for its 2 MiB over the first
        clock.now += 1
        assert codes(c.put_records(StreamName="s", Records=small)) == [THROTTLED]
    clock.now += 1
    assert codes(c.put_records(StreamName="s", Records=small * 3)) == [None] * 3
    # seconds that pass with nothing sent pay too
    clock.now += 1
    assert codes(c.put_records(StreamName="s", Records=three_mib)) == [None]  # 2 MiB to pay
    clock.now += 2  # one idle second paid 1 MiB; this one pays the last
    assert codes(c.put_records(StreamName="s", Records=small)) == [THROTTLED]
    clock.now += 1
    assert codes(c.put_records(StreamName="s", Records=small)) == [None]
