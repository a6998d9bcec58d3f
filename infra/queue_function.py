"""A queue-fed function: its queue (TLS only, encrypted, with a dead-letter queue), the function that
consumes it in partial batches under a concurrency cap, and the same function settling its
dead-letter queue. The ingest and the retry are each one, plus what is their own (grants, the S3
notification)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.functions import FunctionProps, loader_function
from infra.pipeline import QueueWithDlq, consume, settle_dead_letters


@dataclass(frozen=True)
class QueueFunctionProps:
    """`function`'s environment is completed by `environment(queue)`, given the function's own queue
    (which it may send to: continuations, later rounds)."""

    function: FunctionProps
    environment: Callable[[sqs.IQueue], dict[str, str]]
    max_concurrency: int  # invocations at once: a burst of messages queues instead of throttling
    batch_size: int = 1
    batching_window_s: int = 0


class QueueFunction(Construct):
    """Exposes `queue`, `dlq` and `function`."""

    def __init__(self, scope: Construct, construct_id: str, props: QueueFunctionProps) -> None:
        super().__init__(scope, construct_id)
        self.queues = QueueWithDlq(self, "Queue", consumer_timeout=props.function.timeout)
        self.queue, self.dlq = self.queues.queue, self.queues.dlq
        env = {**props.environment(self.queue), **props.function.environment}
        self.function = loader_function(self, "Function", replace(props.function, environment=env))
        consume(self.function, self.queue, props.max_concurrency, props.batch_size,
                props.batching_window_s)  # fmt: skip
        settle_dead_letters(self.function, self.dlq)
