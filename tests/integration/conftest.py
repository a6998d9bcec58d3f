import pytest
from moto import mock_aws

from loader import moto_patches
from shared.aws import clients
from shared.stream.kinesis import clear_limits_cache

REGION = "us-east-1"


@pytest.fixture
def aws(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION,
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    clear_limits_cache()
    moto_patches.apply()
    with mock_aws():
        yield
    clear_limits_cache()


@pytest.fixture
def kinesis(aws):
    # The production client settings, so the lean PutRecords codec is on the wire here as on AWS.
    return clients.new_client("kinesis", region_name=REGION)


@pytest.fixture
def stream_name(kinesis):
    kinesis.create_stream(StreamName="records", ShardCount=2)
    return "records"


def read_stream(client, name: str) -> list[tuple[bytes, str]]:
    """Every record in the stream as (data, partition key), shard by shard."""
    out = []
    for shard in client.list_shards(StreamName=name)["Shards"]:
        iterator = client.get_shard_iterator(
            StreamName=name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = client.get_records(ShardIterator=iterator, Limit=10000)
            out += [(r["Data"], r["PartitionKey"]) for r in page["Records"]]
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return out
