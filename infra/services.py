"""The three functions, each with only what it touches: ingest, retry and the API."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import grants
from infra.functions import Layers, loader_function
from infra.pipeline import QueueWithDlq, consume
from infra.storage import Storage
from shared import names

INGEST_TIMEOUT = Duration.minutes(15)
RETRY_TIMEOUT = Duration.minutes(5)
API_TIMEOUT = Duration.seconds(29)


def loader_environment(
    storage: Storage, ingest_queue: sqs.IQueue, retry_queue: sqs.IQueue
) -> dict[str, str]:
    """The typed configuration every function reads (shared/config.py)."""
    return {
        names.ENV_BUCKET: storage.bucket.bucket_name,
        names.ENV_STREAM: storage.stream.stream_arn,
        names.ENV_JOBS_TABLE: storage.jobs.table_name,
        names.ENV_RECORDS_TABLE: storage.records.table_name,
        names.ENV_INGEST_QUEUE_URL: ingest_queue.queue_url,
        names.ENV_RETRY_QUEUE_URL: retry_queue.queue_url,
    }


class Services(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, storage: Storage, layers: Layers
    ) -> None:
        super().__init__(scope, construct_id)
        self.ingest_queue = QueueWithDlq(self, "IngestQueue", consumer_timeout=INGEST_TIMEOUT)
        self.retry_queue = QueueWithDlq(self, "RetryQueue", consumer_timeout=RETRY_TIMEOUT)
        env = loader_environment(storage, self.ingest_queue.queue, self.retry_queue.queue)

        self.ingest = loader_function(
            self, "Ingest", name="ingest", layers=layers, environment=env, memory_mb=1024,
            timeout=INGEST_TIMEOUT, description="Streams uploaded files into Kinesis, with a ledger",
            # A long file continues through its own queue: SQS -> Lambda -> SQS, past 16 hops.
            recursive_loop=lambda_.RecursiveLoop.ALLOW,
        )  # fmt: skip
        grants.objects(
            self.ingest,
            storage.bucket,
            names.INCOMING_PREFIX,
            ["s3:GetObject", "s3:GetObjectVersion"],
        )
        grants.objects(self.ingest, storage.bucket, names.SPILL_PREFIX, ["s3:PutObject"])
        grants.tables(
            self.ingest, grants.TABLE_READ + grants.TABLE_WRITE, storage.jobs, storage.records
        )
        grants.stream_writer(self.ingest, storage.stream)
        self.ingest_queue.queue.grant_send_messages(self.ingest)
        self.retry_queue.queue.grant_send_messages(self.ingest)
        consume(self.ingest, self.ingest_queue.queue)

        self.retry = loader_function(
            self, "Retry", name="retry", layers=layers, environment=env, memory_mb=512,
            timeout=RETRY_TIMEOUT, description="Resends failed records from the ledger",
        )  # fmt: skip
        grants.objects(self.retry, storage.bucket, names.SPILL_PREFIX, ["s3:GetObject"])
        grants.tables(
            self.retry, [*grants.TABLE_READ, "dynamodb:UpdateItem"], storage.jobs, storage.records
        )
        grants.stream_writer(self.retry, storage.stream)
        self.retry_queue.queue.grant_send_messages(self.retry)
        consume(self.retry, self.retry_queue.queue)

        self.api = loader_function(
            self, "Api", name="api", layers=layers, environment=env, memory_mb=256,
            timeout=API_TIMEOUT, description="Job status, failed records and retry requests",
        )  # fmt: skip
        grants.tables(self.api, grants.TABLE_READ, storage.jobs, storage.records)
        self.retry_queue.queue.grant_send_messages(self.api)
