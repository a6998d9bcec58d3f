"""Retry: the retry queue (with its dead-letter queue) and the function that resends failed records."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import grants
from infra.environment import loader_environment
from infra.functions import FunctionProps, Layers
from infra.job_events import JobEvents
from infra.queue_function import QueueFunction, QueueFunctionProps
from infra.storage import Storage
from shared import names

TIMEOUT = Duration.minutes(5)


class Retry(QueueFunction):
    def __init__(
        self, scope: Construct, construct_id: str, *, storage: Storage, layers: Layers,
        job_events: JobEvents, max_concurrency: int = 5,
    ) -> None:  # fmt: skip
        function = FunctionProps(
            name="retry", description="Resends failed records from the ledger", layers=layers,
            environment={}, memory_mb=512, timeout=TIMEOUT,
            # Rounds and waits past 15 minutes chain SQS -> Lambda -> SQS: allowed, and bounded by
            # the service itself (LOADER_MAX_RETRIES rounds; each wait at most LOADER_RETRY_MAX_DELAY_SECONDS).
            recursive_loop=lambda_.RecursiveLoop.ALLOW,
        )  # fmt: skip
        bus = job_events.bus_name
        super().__init__(scope, construct_id, QueueFunctionProps(
            function, lambda own: loader_environment(storage, own, event_bus=bus), max_concurrency,
        ))  # fmt: skip
        fn = self.function
        grants.objects(fn, storage.bucket, names.SPILL_PREFIX, ["s3:GetObject"])
        grants.tables(
            fn, [*grants.TABLE_READ, "dynamodb:UpdateItem"], storage.jobs, storage.records
        )
        grants.stream_writer(fn, storage.stream)
        job_events.grant_publish(fn)
        self.queue.grant_send_messages(fn)  # later rounds, and waits chained past 15 minutes
