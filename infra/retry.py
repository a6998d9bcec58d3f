"""Retry: the retry queue (with its dead-letter queue) and the function that resends failed records."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import grants
from infra.environment import loader_environment
from infra.functions import Layers, loader_function
from infra.job_events import JobEvents
from infra.pipeline import QueueWithDlq, consume, settle_dead_letters
from infra.storage import Storage
from shared import names

TIMEOUT = Duration.minutes(5)


class Retry(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: Storage,
        layers: Layers,
        job_events: JobEvents,
        max_concurrency: int = 5,
    ) -> None:
        super().__init__(scope, construct_id)
        self.queues = QueueWithDlq(self, "Queue", consumer_timeout=TIMEOUT)
        self.queue, self.dlq = self.queues.queue, self.queues.dlq
        self.function = loader_function(
            self, "Function", name="retry", layers=layers, memory_mb=512, timeout=TIMEOUT,
            environment=loader_environment(storage, self.queue, event_bus=job_events.bus_name),
            description="Resends failed records from the ledger",
            # Rounds and waits past 15 minutes chain SQS -> Lambda -> SQS: allowed, and bounded by
            # the service itself (LOADER_MAX_RETRIES rounds; each wait at most LOADER_RETRY_MAX_DELAY_SECONDS).
            recursive_loop=lambda_.RecursiveLoop.ALLOW,
        )  # fmt: skip
        grants.objects(self.function, storage.bucket, names.SPILL_PREFIX, ["s3:GetObject"])
        grants.tables(
            self.function,
            [*grants.TABLE_READ, "dynamodb:UpdateItem"],
            storage.jobs,
            storage.records,
        )
        grants.stream_writer(self.function, storage.stream)
        job_events.grant_publish(self.function)
        self.queue.grant_send_messages(
            self.function
        )  # later rounds, and waits chained past 15 minutes
        consume(self.function, self.queue, max_concurrency)
        settle_dead_letters(self.function, self.dlq)
