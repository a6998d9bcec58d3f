"""A queue as the services need it: send a message, with a delay. Implemented for SQS beside it
(`sqs.py`)."""

from __future__ import annotations

from typing import Any, Protocol

MAX_DELAY_SECONDS = 900  # SQS's longest message delay; longer waits chain messages


class MessageQueue(Protocol):
    """A queue; `delay_seconds` is clamped to 0..MAX_DELAY_SECONDS."""

    def send(self, body: dict[str, Any], delay_seconds: int = 0) -> None: ...
