"""Fault injection on a real boto3 Kinesis client, through botocore's event hooks.

Chosen entries are taken out of the PutRecords request before it is sent and put back into the
response as failed entries, so the backend (moto, or AWS) stores exactly the entries reported as sent.
Whole calls can also be answered with a throttling error instead of being sent, as a throttle that
outlasted botocore's own retries would be. Used by the tests and by `loader local --fault`.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.awsrequest import AWSResponse

from shared.delivery.outcomes import INTERNAL, THROTTLED

_EVENT = "kinesis.PutRecords"
_CONTEXT_KEY = "loader_faults"
MESSAGES = {
    THROTTLED: "Rate exceeded for shard (injected).",
    INTERNAL: "Internal service failure (injected).",
}

Chooser = Callable[[int, dict[str, Any]], str | None]


class _Body:
    def stream(self, **_: Any) -> Any:
        yield b"{}"


def _response(status: int) -> AWSResponse:
    return AWSResponse("https://kinesis.invalid/", status, {}, _Body())


class KinesisFaults:
    """Fail a share of PutRecords entries (`throttle`, `internal`) or of whole calls (`call_throttle`),
    or every entry for `outage_seconds` from now (then the stream recovers).

    `chooser(index, record)` overrides the random choice: it returns an error code or None.
    """

    def __init__(
        self,
        throttle: float = 0.0,
        internal: float = 0.0,
        call_throttle: float = 0.0,
        seed: int | None = None,
        chooser: Chooser | None = None,
        outage_seconds: float = 0.0,
    ) -> None:
        for name, value in (
            ("throttle", throttle),
            ("internal", internal),
            ("call_throttle", call_throttle),
        ):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a fraction between 0 and 1, not {value}")
        self.throttle, self.internal, self.call_throttle = throttle, internal, call_throttle
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._chooser = chooser or self._random_choice
        self.injected = {THROTTLED: 0, INTERNAL: 0, "calls": 0}
        if outage_seconds < 0:
            raise ValueError(f"an outage lasts 0 seconds or more, not {outage_seconds}")
        self._outage_end = time.monotonic() + outage_seconds  # every entry fails until then

    def install(self, client: Any) -> KinesisFaults:
        events = client.meta.events
        events.register(f"provide-client-params.{_EVENT}", self._take_out)
        events.register(f"before-call.{_EVENT}", self._answer_without_sending)
        events.register(f"after-call.{_EVENT}", self._put_back)
        return self

    def _random_choice(self, index: int, record: dict[str, Any]) -> str | None:
        if time.monotonic() < self._outage_end:
            return INTERNAL
        with self._lock:
            draw = self._rng.random()
        if draw < self.throttle:
            return THROTTLED
        if draw < self.throttle + self.internal:
            return INTERNAL
        return None

    def _take_out(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        records = params.get("Records", [])
        plan = [self._chooser(i, record) for i, record in enumerate(records)]
        if not any(plan):
            return
        context[_CONTEXT_KEY] = plan
        if all(plan):
            return  # nothing is sent: before-call answers (an empty request would not validate)
        params["Records"] = [r for r, code in zip(records, plan, strict=True) if code is None]
        with self._lock:
            for code in plan:
                if code:
                    self.injected[code] = self.injected.get(code, 0) + 1

    def _answer_without_sending(self, context: dict[str, Any], **_: Any) -> Any:
        """A whole-call throttle, or a call whose every entry is to fail: answer it here, unsent."""
        with self._lock:
            throttle_call = self.call_throttle and self._rng.random() < self.call_throttle
            if throttle_call:
                self.injected["calls"] += 1
        if throttle_call:
            context.pop(_CONTEXT_KEY, None)
            error = {"Code": THROTTLED, "Message": MESSAGES[THROTTLED]}
            return _response(400), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}
        plan = context.get(_CONTEXT_KEY)
        if plan and all(plan):
            return _response(200), {"FailedRecordCount": 0, "Records": []}
        return None

    def _put_back(
        self, http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> None:
        plan = context.pop(_CONTEXT_KEY, None)
        if not plan or http_response.status_code >= 300:
            return
        kept = iter(parsed.get("Records", []))
        parsed["Records"] = [
            next(kept)
            if code is None
            else {"ErrorCode": code, "ErrorMessage": MESSAGES.get(code, code)}
            for code in plan
        ]
        parsed["FailedRecordCount"] = parsed.get("FailedRecordCount", 0) + sum(1 for c in plan if c)
