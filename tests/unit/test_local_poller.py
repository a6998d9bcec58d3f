"""The local stack's SQS poller: it keeps polling through errors, as Lambda's event source does, and
stops quietly once the stack stops, even when the stack's endpoints are gone before it has noticed."""

from __future__ import annotations

import logging
import threading

import pytest

from loader.local.emulator import EventSource, QueuePoller


class GoneSqs:
    """An SQS endpoint that answers once with nothing, then is gone (the stack has stopped)."""

    def __init__(self, poller_stopped: threading.Event) -> None:
        self.calls = 0
        self._stopped = poller_stopped

    def receive_message(self, **_: object) -> dict:
        self.calls += 1
        self._stopped.wait(5)
        raise ConnectionError("Could not connect to the endpoint URL")


def source() -> EventSource:
    return EventSource(
        "http://q", "arn:aws:sqs:us-east-1:000000000000:q", lambda e, c: None, "ingest", 3
    )


def test_a_poller_stopped_while_its_endpoint_goes_away_logs_no_error(
    caplog: pytest.LogCaptureFixture,
):
    halted = threading.Event()
    sqs = GoneSqs(halted)
    poller = QueuePoller(sqs, source())
    with caplog.at_level(logging.WARNING, logger="loader.local"):
        poller.start()
        poller.stop()
        halted.set()
        poller.join(5)
    assert not poller.is_alive()
    assert sqs.calls == 1
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_running_poller_logs_a_failed_poll_and_keeps_going(caplog: pytest.LogCaptureFixture):
    failing = threading.Event()
    failing.set()
    sqs = GoneSqs(failing)
    poller = QueuePoller(sqs, source())
    with caplog.at_level(logging.WARNING, logger="loader.local"):
        poller.start()
        poller.join(1.5)  # the first poll fails at once; the second comes after a second's pause
        poller.stop()
        poller.join(5)
    assert sqs.calls >= 2
    assert any("polling failed" in r.getMessage() for r in caplog.records)
