"""Lambda's SQS event source, emulated: poll a queue, invoke a handler in-process with an SQS event and
an emulated context, delete what succeeded, leave failures (and invocations killed at their timeout
or at a crash point) to reappear after the visibility timeout, and to move to the dead-letter queue
after the redrive limit, which the queue itself enforces."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loader.local.invocations import invoke, run

log = logging.getLogger("loader.local")
Handler = Callable[[dict[str, Any], Any], Any]
__all__ = ["EmulatedContext", "Handler", "QueuePoller", "invoke"]


class EmulatedContext:
    def __init__(self, function_name: str, timeout_s: float) -> None:
        self.function_name = function_name
        self.memory_limit_in_mb = 1024
        self.invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:000000000000:function:{function_name}"
        )
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class EventSource:
    """What Lambda's SQS event source knows of one queue and the function it feeds."""

    queue_url: str
    queue_arn: str
    handler: Handler
    function: str
    timeout_s: float
    batch_size: int = 1
    visibility_s: float | None = None


class QueuePoller(threading.Thread):
    """One concurrent invocation's worth of Lambda's SQS poller: receive a batch, invoke, delete what
    succeeded. The local stack runs as many per function as the event source's maximum concurrency."""

    def __init__(self, sqs: Any, source: EventSource, worker: int = 0) -> None:
        super().__init__(name=f"poller-{source.function}-{worker}", daemon=True)
        self._sqs, self._url, self._arn = sqs, source.queue_url, source.queue_arn
        self._handler, self._function, self._timeout = (
            source.handler,
            source.function,
            source.timeout_s,
        )
        self._batch_size = source.batch_size
        # a message outlasts its invocation's lease (timeout plus grace) before it comes back
        visibility = source.visibility_s
        self._visibility = int(visibility if visibility is not None else source.timeout_s + 30)
        self._halt = threading.Event()
        self.invocations = 0

    def stop(self) -> None:
        self._halt.set()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self._poll_once()
            except Exception:  # keep polling, as Lambda's event source does
                if self._halt.is_set():
                    return  # the stack is stopping: its endpoints may be gone already
                log.exception("%s: polling failed", self._function)
                self._halt.wait(1.0)

    def _poll_once(self) -> None:
        got = self._sqs.receive_message(
            QueueUrl=self._url, MaxNumberOfMessages=self._batch_size, WaitTimeSeconds=1,
            VisibilityTimeout=self._visibility, AttributeNames=["All"], MessageAttributeNames=["All"],
        )  # fmt: skip
        messages = got.get("Messages", [])
        if not messages:
            return
        event = {"Records": [self._record(m) for m in messages]}
        self.invocations += 1
        context = EmulatedContext(f"loader-{self._function}", self._timeout)
        outcome = run(self._function, self._handler, event, context, self._timeout)
        if outcome.killed:
            return  # as Lambda: nothing deleted, the messages come back after their visibility
        if outcome.error is not None:
            if self._halt.is_set():
                return  # cut short by the stop; the messages come back, as after a crash
            log.warning(
                "%s: invocation failed (%s); the message will be redelivered",
                self._function, outcome.error,
            )  # fmt: skip
            return
        result = outcome.result or {}
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        done = [
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
            for n, m in enumerate(messages)
            if m["MessageId"] not in failed
        ]
        if done:  # as Lambda's event source does: one call for the batch's successes
            self._sqs.delete_message_batch(QueueUrl=self._url, Entries=done)

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
            "attributes": message.get("Attributes", {}), "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""), "eventSource": "aws:sqs", "eventSourceARN": self._arn,
            "awsRegion": "us-east-1",
        }  # fmt: skip
