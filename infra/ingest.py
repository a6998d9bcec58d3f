"""Ingest: the S3 notification on the incoming prefix, the ingest queue (with its DLQ) and its function."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import grants
from infra.environment import loader_environment
from infra.functions import FunctionProps, Layers
from infra.job_events import JobEvents
from infra.queue_function import QueueFunction, QueueFunctionProps
from infra.storage import Storage
from shared import names

TIMEOUT = Duration.minutes(15)


@dataclass(frozen=True)
class IngestProps:
    storage: Storage
    layers: Layers
    retry_queue: sqs.IQueue
    job_events: JobEvents
    # at most 10 invocations at once: a burst of uploads queues rather than storms the stream
    max_concurrency: int = 10
    # 10 messages, the most an SQS event source takes without a window; the small-file batch packs
    # their records into shared requests
    batch_size: int = names.INGEST_BATCH_SIZE
    # 1 s for a burst to fill the batch; a lone upload waits at most that much more
    batching_window_s: int = names.INGEST_BATCHING_WINDOW_S
    settings: dict[str, str] = field(
        default_factory=dict
    )  # more LOADER_* (the fan-out's, from context)


class Ingest(QueueFunction):
    def __init__(self, scope: Construct, construct_id: str, props: IngestProps) -> None:
        storage, bus = props.storage, props.job_events.bus_name
        function = FunctionProps(
            name="ingest", description="Streams uploaded files into Kinesis, with a ledger",
            layers=props.layers, environment=props.settings, memory_mb=1024, timeout=TIMEOUT,
            # A long file continues through its own queue: SQS -> Lambda -> SQS, past 16 hops.
            recursive_loop=lambda_.RecursiveLoop.ALLOW,
        )  # fmt: skip
        super().__init__(scope, construct_id, QueueFunctionProps(
            function, lambda own: loader_environment(storage, props.retry_queue, own, bus),
            props.max_concurrency, props.batch_size, props.batching_window_s,
        ))  # fmt: skip
        fn = self.function
        grants.objects(
            fn, storage.bucket, names.INCOMING_PREFIX, ["s3:GetObject", "s3:GetObjectVersion"]
        )
        grants.objects(fn, storage.bucket, names.SPILL_PREFIX, ["s3:PutObject"])
        grants.tables(fn, grants.TABLE_READ + grants.TABLE_WRITE, storage.jobs, storage.records)
        grants.stream_writer(fn, storage.stream)
        props.job_events.grant_publish(fn)
        self.queue.grant_send_messages(fn)  # continuations
        props.retry_queue.grant_send_messages(fn)
        storage.bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.SqsDestination(self.queue),
            s3.NotificationKeyFilter(prefix=names.INCOMING_PREFIX),
        )
