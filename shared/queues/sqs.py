"""SQS: continuation and retry messages."""

from __future__ import annotations

from typing import Any

import orjson

from shared.queues.port import MAX_DELAY_SECONDS


class Queue:
    def __init__(self, client: Any, url: str) -> None:
        self._client = client
        self.url = url

    def send(self, body: dict[str, Any], delay_seconds: int = 0) -> None:
        self._client.send_message(
            QueueUrl=self.url,
            MessageBody=orjson.dumps(body).decode(),
            DelaySeconds=max(0, min(MAX_DELAY_SECONDS, int(delay_seconds))),
        )
