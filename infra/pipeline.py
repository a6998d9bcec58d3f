"""Ingest and retry: each a queue with its dead-letter queue and the function that consumes it."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.schema import MAX_RECEIVE_COUNT
from shared import names


def secure_queue(scope: Construct, construct_id: str, **props: Any) -> sqs.Queue:
    """A queue encrypted at rest (SQS-managed keys) that refuses plain HTTP."""
    return sqs.Queue(
        scope, construct_id, encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True, **props
    )


# How long a message outlasts its consumer's timeout before it comes back: the lease of a killed
# invocation (its timeout plus LOADER_LEASE_GRACE_SECONDS, 60 s) has run out by then, so the redelivery
# takes the job over at once. A crashed invocation costs its job this long, no more.
REDELIVERY_SLACK = Duration.minutes(2)
# A dead letter's job is settled at its first visit; the message then stays for inspection, seen again
# hourly (each later visit finds its job ended and does nothing).
DEAD_LETTER_VISIBILITY = Duration.hours(1)


class QueueWithDlq(Construct):
    """TLS-only, encrypted queue; messages that keep failing move to the dead-letter queue, whose
    consumer ends their jobs (`settle_dead_letters`)."""

    def __init__(self, scope: Construct, construct_id: str, *, consumer_timeout: Duration) -> None:
        super().__init__(scope, construct_id)
        self.dlq = secure_queue(
            self,
            "Dlq",
            retention_period=Duration.days(14),
            visibility_timeout=DEAD_LETTER_VISIBILITY,
        )
        self.queue = secure_queue(
            self,
            "Queue",
            # Not Lambda's six times the timeout (a crash would cost 90 minutes): the event source's
            # maximum concurrency keeps invocations from being throttled, and the consumer takes a
            # message's job back as soon as a killed invocation's lease runs out.
            visibility_timeout=Duration.seconds(
                consumer_timeout.to_seconds() + REDELIVERY_SLACK.to_seconds()
            ),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=MAX_RECEIVE_COUNT, queue=self.dlq
            ),
        )


def settle_dead_letters(function: lambda_.Function, dlq: sqs.Queue) -> None:
    """The function ends the jobs its dead-letter queue's messages left unfinished (every delivery
    killed or failed, the last one too); the messages stay there for inspection."""
    function.add_environment(names.ENV_DEAD_LETTER_ARNS, dlq.queue_arn)
    consume(function, dlq, max_concurrency=2, batch_size=10)


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
