"""The AWS a benchmark's ingest runs against, on a moto endpoint: a versioned bucket, the two tables,
the two queues, and the environment a function (or a child process standing for one) reads them from."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import boto3

from infra import names, schema

REGION = "us-east-1"


@dataclass(frozen=True, slots=True)
class BenchAws:
    s3: Any
    ddb: Any
    sqs: Any
    ingest_queue: str
    env: dict[str, str]


def create(endpoint: str, ingest_visibility_seconds: int | None = None) -> BenchAws:
    session = boto3.session.Session(
        aws_access_key_id="bench", aws_secret_access_key="bench", region_name=REGION
    )
    s3 = session.client("s3", endpoint_url=endpoint)
    ddb = session.client("dynamodb", endpoint_url=endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)
    s3.create_bucket(Bucket="bench")
    s3.put_bucket_versioning(Bucket="bench", VersioningConfiguration={"Status": "Enabled"})
    ddb.create_table(**schema.create_table_args("jobs", schema.JOBS))
    ddb.create_table(**schema.create_table_args("records", schema.RECORDS))
    attributes = (
        {"VisibilityTimeout": str(ingest_visibility_seconds)} if ingest_visibility_seconds else {}
    )
    ingest = sqs.create_queue(QueueName="ingest", Attributes=attributes)["QueueUrl"]
    retry = sqs.create_queue(QueueName="retry")["QueueUrl"]
    env = {
        **os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": REGION,
        # the sink has no shard limits: pacing to Kinesis's would only measure the clock
        "LOADER_SHARD_RECORDS_PER_SECOND": "1e12", "LOADER_SHARD_BYTES_PER_SECOND": "1e15",
        names.ENV_BUCKET: "bench", names.ENV_STREAM: "bench", names.ENV_JOBS_TABLE: "jobs",
        names.ENV_RECORDS_TABLE: "records", names.ENV_INGEST_QUEUE_URL: ingest,
        names.ENV_RETRY_QUEUE_URL: retry,
    }  # fmt: skip
    return BenchAws(s3, ddb, sqs, ingest, env)
