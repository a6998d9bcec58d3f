"""Crash points: every place where a function of the service writes to S3, SQS, DynamoDB, Kinesis or
EventBridge, before and after each write. `loader local --crash POINT[:N]` kills an emulated
invocation the Nth time any invocation reaches POINT; the fault schedules kill at each of them too.

A point is named `<function>.<port>.<method>.<before|after>`: the function (ingest, retry, api), the
port of the service that writes (as the services name their ports) and its method. A method that
makes several writes (a ledger put of many items, say) reaches its points once per write.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

SIDES = ("before", "after")

# The writes of each port method, by function: (port, method, what the write does).
_JOBS = (
    ("jobs", "create", "the job item is created, queued (DynamoDB PutItem)"),
    ("jobs", "create_running", "a small file's job item is created, running and leased (PutItem)"),
    ("jobs", "acquire", "the job's lease is taken (UpdateItem)"),
    ("jobs", "record_progress", "a checkpoint: cursor, counters, status (UpdateItem)"),
    ("jobs", "release_if_owner", "the job's lease is handed back (UpdateItem)"),
    ("jobs", "fail_unfinished", "an unfinished job is failed with its error (UpdateItem)"),
)
_RANGES = (
    ("ranges", "cut", "a big object's cut into ranges is recorded (UpdateItem)"),
    ("ranges", "counted", "a range's record count is kept (UpdateItem)"),
    ("ranges", "acquire", "a range's lease is taken (UpdateItem)"),
    ("ranges", "record_progress", "a range's checkpoint, added to the job's counters (UpdateItem)"),
    ("ranges", "release_if_owner", "a range's lease is handed back (UpdateItem)"),
)
WRITES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "ingest": (
        *_JOBS,
        *_RANGES,
        ("records", "put", "ledger items, fenced by the lease (TransactWriteItems)"),
        (
            "records",
            "delete_from",
            "a crashed run's ledger items past the checkpoint go, fenced by the lease (TransactWriteItems)",
        ),
        (
            "moves",
            "apply",
            "resent records' ledger moves and the job's counters (TransactWriteItems)",
        ),
        (
            "retry_lease",
            "acquire",
            "the retry lease, for the resend of earlier failures (UpdateItem)",
        ),
        ("retry_lease", "release", "the retry lease is handed back (UpdateItem)"),
        ("objects", "put", "a failed record's payload, too large to keep inline (S3 PutObject)"),
        ("stream", "put_records", "a request of records (Kinesis PutRecords)"),
        (
            "ingest_queue",
            "send",
            "a continuation, a range's task, a handed-on message (SQS SendMessage)",
        ),
        ("retry_queue", "send", "the job's first retry round (SQS SendMessage)"),
        ("events", "flush", "the job's status changes (EventBridge PutEvents)"),
    ),
    "retry": (
        ("jobs", "fail_unfinished", "a retrying job is failed with its error (UpdateItem)"),
        ("retry_lease", "acquire", "the job's retry lease and round (UpdateItem)"),
        ("retry_lease", "release", "the retry lease is handed back (UpdateItem)"),
        ("retry_lease", "set_status", "the job goes retrying, or ends (UpdateItem)"),
        ("moves", "apply", "records' ledger moves and the job's counters (TransactWriteItems)"),
        ("stream", "put_records", "a request of resent records (Kinesis PutRecords)"),
        ("retry_queue", "send", "the next round, or the rest of this one (SQS SendMessage)"),
        ("events", "flush", "the job's status changes (EventBridge PutEvents)"),
    ),
    "api": (("retry_queue", "send", "a retry request (SQS SendMessage)"),),
}

# The adapters that implement the ports (a queue's port is told by its URL).
ADAPTER_PORTS = {
    "JobsTable": "jobs",
    "JobRanges": "ranges",
    "RecordsTable": "records",
    "LedgerTransactions": "moves",
    "RetryLease": "retry_lease",
    "Objects": "objects",
    "KinesisStream": "stream",
    "JobEvents": "events",
}


@dataclass(frozen=True, slots=True)
class CrashPoint:
    name: str
    description: str


def all_points() -> list[CrashPoint]:
    return [
        CrashPoint(f"{function}.{port}.{method}.{side}", f"{side} {what}")
        for function, writes in WRITES.items()
        for port, method, what in writes
        for side in SIDES
    ]


def point_names() -> set[str]:
    return {p.name for p in all_points()}


def written(function: str) -> set[tuple[str, str]]:
    """The (port, method) pairs that write, for one function."""
    return {(port, method) for port, method, _ in WRITES.get(function, ())}


def parse(spec: str) -> tuple[str, int]:
    """`POINT[:N]` as (point, N); ValueError with the reason when it names no point."""
    name, _, count = spec.partition(":")
    if name not in point_names():
        raise ValueError(f"no crash point {name!r} (loader local --list-crash-points lists them)")
    try:
        n = int(count) if count else 1
    except ValueError:
        raise ValueError(f"crash point {spec!r}: N must be a whole number") from None
    if n < 1:
        raise ValueError(f"crash point {spec!r}: N counts from 1")
    return name, n


class CrashPlan:
    """Armed points: each fires once, the Nth time any invocation reaches it."""

    def __init__(self, specs: Iterable[str] = ()) -> None:
        self._armed = dict(parse(s) for s in specs)
        self._hits: dict[str, int] = {}
        self.fired: list[str] = []
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self._armed)

    def reached(self, point: str) -> bool:
        """Count a visit; True when this is the one to crash at."""
        with self._lock:
            if point not in self._armed:
                return False
            self._hits[point] = hits = self._hits.get(point, 0) + 1
            if hits != self._armed[point]:
                return False
            self.fired.append(point)
            return True
