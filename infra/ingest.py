"""Ingest: the S3 notification on the incoming prefix, the ingest queue (with its DLQ) and its function."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import grants
from infra.environment import loader_environment
from infra.functions import Layers, loader_function
from infra.job_events import JobEvents
from infra.pipeline import QueueWithDlq, consume, settle_dead_letters
from infra.storage import Storage
from shared import names

TIMEOUT = Duration.minutes(15)


class Ingest(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: Storage,
        layers: Layers,
        retry_queue: sqs.IQueue,
        job_events: JobEvents,
        max_concurrency: int = 10,
        batch_size: int = names.INGEST_BATCH_SIZE,
        batching_window_s: int = 0,
        settings: dict[str, str] | None = None,
    ) -> None:
        """`settings`: more of the function's LOADER_* environment (the fan-out's, from context)."""
        super().__init__(scope, construct_id)
        self.queues = QueueWithDlq(self, "Queue", consumer_timeout=TIMEOUT)
        self.queue, self.dlq = self.queues.queue, self.queues.dlq
        self.function = loader_function(
            self, "Function", name="ingest", layers=layers, memory_mb=1024, timeout=TIMEOUT,
            environment={
                **loader_environment(storage, retry_queue, self.queue, job_events.bus_name),
                **(settings or {}),
            },
            description="Streams uploaded files into Kinesis, with a ledger",
            # A long file continues through its own queue: SQS -> Lambda -> SQS, past 16 hops.
            recursive_loop=lambda_.RecursiveLoop.ALLOW,
        )  # fmt: skip
        fn = self.function
        grants.objects(
            fn, storage.bucket, names.INCOMING_PREFIX, ["s3:GetObject", "s3:GetObjectVersion"]
        )
        grants.objects(fn, storage.bucket, names.SPILL_PREFIX, ["s3:PutObject"])
        grants.tables(fn, grants.TABLE_READ + grants.TABLE_WRITE, storage.jobs, storage.records)
        grants.stream_writer(fn, storage.stream)
        job_events.grant_publish(fn)
        self.queue.grant_send_messages(fn)  # continuations
        retry_queue.grant_send_messages(fn)
        consume(fn, self.queue, max_concurrency, batch_size, batching_window_s)
        settle_dead_letters(fn, self.dlq)
        storage.bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.SqsDestination(self.queue),
            s3.NotificationKeyFilter(prefix=names.INCOMING_PREFIX),
        )
