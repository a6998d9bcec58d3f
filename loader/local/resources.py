"""The stack's resources on any endpoint (moto here), from the same names and schema as the CDK stack."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from infra import schema
from infra.schema import MAX_RECEIVE_COUNT
from shared import names
from shared.domain.limits import DEFAULT_RECORD_KIB

BUCKET = "loader-local"
STREAM = "loader-stream"
JOBS_TABLE = "loader-jobs"
RECORDS_TABLE = "loader-records"
INGEST_QUEUE = "loader-ingest"
RETRY_QUEUE = "loader-retry"
EVENTS_QUEUE = "loader-events"  # a rule sends job status changes here, for `loader events`
STREAM_SHARDS = 2


@dataclass(frozen=True)
class Resources:
    bucket: str
    stream: str
    jobs_table: str
    records_table: str
    ingest_queue_url: str
    retry_queue_url: str
    ingest_dlq_url: str
    retry_dlq_url: str
    events_queue_url: str

    def environment(self) -> dict[str, str]:
        """The functions' configuration, as the CDK stack sets it."""
        return {
            names.ENV_BUCKET: self.bucket, names.ENV_STREAM: self.stream,
            names.ENV_JOBS_TABLE: self.jobs_table, names.ENV_RECORDS_TABLE: self.records_table,
            names.ENV_INGEST_QUEUE_URL: self.ingest_queue_url, names.ENV_RETRY_QUEUE_URL: self.retry_queue_url,
            names.ENV_MAX_RECEIVE_COUNT: str(MAX_RECEIVE_COUNT),
        }  # fmt: skip


def _queue_with_dlq(sqs: Any, name: str) -> tuple[str, str]:
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = orjson.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
    ).decode()
    queue = sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    return queue, dlq


def _events_to_queue(events: Any, sqs: Any) -> str:
    """A rule on the default bus that sends every job status change to a queue."""
    queue = sqs.create_queue(QueueName=EVENTS_QUEUE)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    pattern = {"source": [names.EVENT_SOURCE], "detail-type": [names.EVENT_DETAIL_TYPE]}
    events.put_rule(Name="loader-job-events", EventPattern=orjson.dumps(pattern).decode())
    events.put_targets(Rule="loader-job-events", Targets=[{"Id": "cli", "Arn": arn["QueueArn"]}])
    return str(queue)


def create(
    s3: Any, ddb: Any, kinesis: Any, sqs: Any, events: Any, shards: int = STREAM_SHARDS,
    max_record_kib: int = DEFAULT_RECORD_KIB,
) -> Resources:  # fmt: skip
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    ddb.create_table(**schema.create_table_args(JOBS_TABLE, schema.JOBS))
    ddb.create_table(**schema.create_table_args(RECORDS_TABLE, schema.RECORDS))
    kinesis.create_stream(StreamName=STREAM, ShardCount=shards, MaxRecordSizeInKiB=max_record_kib)
    ingest, ingest_dlq = _queue_with_dlq(sqs, INGEST_QUEUE)
    retry, retry_dlq = _queue_with_dlq(sqs, RETRY_QUEUE)
    ingest_arn = sqs.get_queue_attributes(QueueUrl=ingest, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "QueueConfigurations": [{
                "QueueArn": ingest_arn, "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": names.INCOMING_PREFIX}]}},
            }]
        },
    )  # fmt: skip
    return Resources(
        BUCKET, STREAM, JOBS_TABLE, RECORDS_TABLE, ingest, retry, ingest_dlq, retry_dlq,
        _events_to_queue(events, sqs),
    )  # fmt: skip
