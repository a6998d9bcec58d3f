"""Fixes to moto for the tests and the local stack (moto is not used in production).

Kinesis's limits and its speed-ups are in `loader.moto_kinesis`.

moto's S3 event notifications carry neither `versionId` nor `sequencer`, which S3 always sends for a
versioned bucket; without them a quick overwrite could not be told from the version it replaced.
They are added here, so the local stack's events are shaped as the deployed stack's are.

moto's SQS `SendMessage` and `ReceiveMessage` read one queue attribute each (content-based
deduplication; the retention period, once per message received) through a property that first counts
every message in the queue, visible, delayed and in flight, so each message costs as much as the queue
is long. The local stack's job-events queue fills until `loader events` reads it (three messages a
job), and a burst of uploads fills the ingest queue: with the counts skipped inside those two calls,
they stay constant-time. The counts themselves (GetQueueAttributes) are as before.

moto's EventBridge builds each event sent to a target through JSONPath expressions it parses anew
(a yacc parser each time), and its server lists its own package's folders on disk for every request
to find the service: both are kept once made, as they never change.

DynamoDB's patches (atomic requests, transactions and queries that cost what they touch) are in
`loader.moto_dynamodb`.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from loader import moto_dynamodb, moto_kinesis

_lock = threading.Lock()
_applied = False


def apply() -> None:
    global _applied
    with _lock:
        if _applied:
            return
        moto_kinesis.apply(_lock)
        _add_version_to_s3_events()
        _send_without_counting()
        _keep_parsed_json_paths()
        moto_dynamodb.apply()
        _applied = True


def _keep_parsed_json_paths() -> None:
    import functools

    from jsonpath_ng import ext

    ext.parse = functools.lru_cache(maxsize=256)(ext.parse)

    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules


def _send_without_counting() -> None:
    from moto.sqs import models

    sending = threading.local()
    counts = ("approximate_number_of_messages", "approximate_number_of_messages_delayed",
              "approximate_number_of_messages_not_visible")  # fmt: skip
    for name in counts:
        counted = getattr(models.Queue, name)

        def count(self: Any, counted: Any = counted) -> int:
            return 0 if getattr(sending, "on", False) else int(counted.fget(self))

        setattr(models.Queue, name, property(count))

    def uncounted(call: Any) -> Any:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            sending.on = True
            try:
                return call(self, *args, **kwargs)
            finally:
                sending.on = False

        return wrapper

    models.SQSBackend.send_message = uncounted(models.SQSBackend.send_message)  # type: ignore[method-assign]
    models.SQSBackend.receive_message = uncounted(models.SQSBackend.receive_message)  # type: ignore[method-assign]


def _add_version_to_s3_events() -> None:
    import itertools

    from moto.s3 import notifications

    original = notifications._get_s3_event
    sequencer = itertools.count(int(time.time() * 1000) << 16)

    def s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        event = original(event_name, bucket, key, notification_id)
        version = getattr(key, "version_id", None)
        for record in event.get("Records", []):
            obj = record["s3"]["object"]
            if version and version != "null":
                obj["versionId"] = version
            obj["sequencer"] = f"{next(sequencer):016X}"
        return event

    notifications._get_s3_event = s3_event
