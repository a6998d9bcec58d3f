"""Sending units and settling them in order, checkpointing as due, until the input ends, time runs
short or something fails: the loop a chain and a fan-out range both run."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from shared.delivery.sending import Sender
from shared.domain.errors import LeaseLostError
from shared.domain.models import Entry
from shared.functions.lambda_context import LambdaContext

from .context import RunContext
from .ledger import Ledger
from .units import Unit


@dataclass(slots=True)
class Streamed:
    """How a run's streaming ended: the last unit settled, the position read to, and why it stopped."""

    settled: Unit | None
    bytes_read: int
    error: BaseException | None = None
    more: bool = False


def stream(
    run: RunContext,
    ledger: Ledger,
    sender: Sender,
    units: Iterator[Unit],
    context: LambdaContext,
    position: Callable[[], int],
) -> Streamed:
    """Send units and settle them in order, checkpointing as due, until the input ends, time runs
    short (`more`) or something fails (`error`: the units in flight settle first)."""
    margin = run.config.time_margin_seconds
    end = run.monotonic() + context.get_remaining_time_in_millis() / 1000
    deadline, start_by = end - margin / 2, end - margin
    pending: deque[Unit] = deque()
    stop: dict[str, Any] = {}

    def requests() -> Iterator[list[Entry]]:
        try:
            for unit in units:
                pending.append(unit)
                yield unit.entries
                if unit.last:
                    return
                if context.get_remaining_time_in_millis() / 1000 < margin:
                    stop["continue"] = True
                    return
        except Exception as exc:
            stop["error"] = exc  # in-flight requests still settle before the job stops

    settled: Unit | None = None
    try:
        for outcome in sender.send_all(requests(), deadline, start_by):
            unit = pending.popleft()
            ledger.settle(unit, outcome)
            settled = unit
            ledger.flush_if_full()
            if not unit.last and ledger.due():
                ledger.checkpoint(unit.resume, position())
    except LeaseLostError:
        raise
    except Exception as exc:
        stop["error"] = exc
    if pending and "error" not in stop:
        stop["continue"] = True  # time ran short before a batch drawn was sent: it is read again
    return Streamed(settled, position(), stop.get("error"), "continue" in stop)
