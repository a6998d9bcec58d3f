"""A moto copy of the stack's resources, created from the shared names and schema."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3

from infra import names, schema
from shared.aws import clients
from tests.integration.conftest import REGION
from tests.lambda_helpers import s3_notification, sqs_event

BUCKET = "loader-bucket"
STREAM = "loader-stream"
JOBS = "loader-jobs"
RECORDS = "loader-records"


@dataclass
class LocalStack:
    s3: Any
    ddb: Any
    sqs: Any
    kinesis: Any
    ingest_queue_url: str
    retry_queue_url: str
    events_queue_url: str = ""

    def upload(
        self, name: str, data: bytes, metadata: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Put an object under the incoming prefix; returns the S3 notification for it."""
        key = names.INCOMING_PREFIX + name
        out = self.s3.put_object(Bucket=BUCKET, Key=key, Body=data, Metadata=metadata or {})
        return s3_notification(
            BUCKET, key, version_id=out.get("VersionId"), etag=out["ETag"], size=len(data)
        )

    def job(self, job_id: str) -> dict[str, Any]:
        from shared.aws.dynamo import from_item

        return from_item(self.ddb.get_item(TableName=JOBS, Key={"job_id": {"S": job_id}})["Item"])

    def records(self, job_id: str) -> list[dict[str, Any]]:
        from shared.aws.dynamo import from_item

        items, start = [], None
        while True:
            kwargs: dict[str, Any] = {"TableName": RECORDS, "KeyConditionExpression": "job_id = :j",
                                      "ExpressionAttributeValues": {":j": {"S": job_id}}}  # fmt: skip
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = self.ddb.query(**kwargs)
            items += [from_item(i) for i in page["Items"]]
            start = page.get("LastEvaluatedKey")
            if not start:
                return items

    def messages(self, url: str) -> list[dict[str, Any]]:
        out = []
        while True:
            got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            msgs = got.get("Messages", [])
            if not msgs:
                return out
            for m in msgs:
                out.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    def job_events(self) -> list[dict[str, Any]]:
        """The job status changes published so far (through an EventBridge rule to a queue)."""
        out: list[dict[str, Any]] = []
        while True:
            got = self.sqs.receive_message(QueueUrl=self.events_queue_url, MaxNumberOfMessages=10)
            if not got.get("Messages"):
                return out
            for m in got["Messages"]:
                out.append(json.loads(m["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.events_queue_url, ReceiptHandle=m["ReceiptHandle"]
                )

    def event(self, *bodies: Any, receive_count: int = 1) -> dict[str, Any]:
        return sqs_event(*bodies, receive_count=receive_count)


def create(monkeypatch: Any, shards: int = 1, **env: str) -> LocalStack:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    ddb = boto3.client("dynamodb", region_name=REGION)
    ddb.create_table(**schema.create_table_args(JOBS, schema.JOBS))
    ddb.create_table(**schema.create_table_args(RECORDS, schema.RECORDS))
    kinesis = boto3.client("kinesis", region_name=REGION)
    kinesis.create_stream(StreamName=STREAM, ShardCount=shards)
    sqs = boto3.client("sqs", region_name=REGION)
    ingest = sqs.create_queue(QueueName="loader-ingest")["QueueUrl"]
    retry = sqs.create_queue(QueueName="loader-retry")["QueueUrl"]
    events_queue = sqs.create_queue(QueueName="loader-events")["QueueUrl"]
    events_arn = sqs.get_queue_attributes(QueueUrl=events_queue, AttributeNames=["QueueArn"])
    bus = boto3.client("events", region_name=REGION)
    bus.put_rule(Name="job-events", EventPattern=json.dumps({"source": [names.EVENT_SOURCE]}))
    bus.put_targets(
        Rule="job-events", Targets=[{"Id": "q", "Arn": events_arn["Attributes"]["QueueArn"]}]
    )
    settings = {
        names.ENV_BUCKET: BUCKET, names.ENV_STREAM: STREAM, names.ENV_JOBS_TABLE: JOBS,
        names.ENV_RECORDS_TABLE: RECORDS, names.ENV_INGEST_QUEUE_URL: ingest,
        names.ENV_RETRY_QUEUE_URL: retry, names.ENV_CHECKPOINT_SECONDS: "3600", **env,
    }  # fmt: skip
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    reset_caches()
    return LocalStack(s3, ddb, sqs, kinesis, ingest, retry, events_queue)


def reset_caches() -> None:
    """Fresh boto3 clients (fault hooks installed by a test go with them). The services need no
    reset: each composition root keeps one per configuration, so a changed setting makes a new one."""
    clients.reset()
