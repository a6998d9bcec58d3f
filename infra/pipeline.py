"""Ingest and retry: each a queue with its dead-letter queue and the function that consumes it."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.schema import MAX_RECEIVE_COUNT


def secure_queue(scope: Construct, construct_id: str, **props: Any) -> sqs.Queue:
    """A queue encrypted at rest (SQS-managed keys) that refuses plain HTTP."""
    return sqs.Queue(
        scope, construct_id, encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True, **props
    )


class QueueWithDlq(Construct):
    """TLS-only, encrypted queue; messages that keep failing move to the dead-letter queue."""

    def __init__(self, scope: Construct, construct_id: str, *, consumer_timeout: Duration) -> None:
        super().__init__(scope, construct_id)
        self.dlq = secure_queue(self, "Dlq", retention_period=Duration.days(14))
        self.queue = secure_queue(
            self,
            "Queue",
            # Lambda's guidance: at least six times the consumer's timeout.
            visibility_timeout=Duration.seconds(consumer_timeout.to_seconds() * 6),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=MAX_RECEIVE_COUNT, queue=self.dlq
            ),
        )


def consume(
    function: lambda_.Function,
    queue: sqs.Queue,
    max_concurrency: int,
    batch_size: int = 1,
    batching_window_s: int = 0,
) -> None:
    """Batches of `batch_size` messages (gathered for up to `batching_window_s`), partial batch
    responses (one message's failure redelivers that message alone), and at most `max_concurrency`
    invocations at once, so a burst of uploads queues instead of starting a throttling storm against
    one stream. A message late in a batch gets the time the others left: a job short of time hands
    itself to a continuation, so a batch never outlives its invocation."""
    function.add_event_source(
        sources.SqsEventSource(
            queue,
            batch_size=batch_size,
            max_batching_window=Duration.seconds(batching_window_s) if batching_window_s else None,
            report_batch_item_failures=True,
            max_concurrency=max_concurrency,
        )
    )
