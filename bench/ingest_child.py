"""Runs one ingest job in this process (for its peak RSS) against a moto server; prints figures as JSON.

Kinesis is a sink that accepts every entry: the figure is the handler's own memory, not moto's.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Sequence

from bench.measure import peak_rss_mb
from shared.aws import clients
from shared.config import LoaderConfig
from shared.delivery.outcomes import EntryResult
from shared.delivery.shards import ShardMap
from shared.domain.limits import KinesisLimits
from shared.domain.models import Entry
from shared.events.eventbridge import JobEvents
from shared.ingest.messages import parse_message
from shared.ingest.service import IngestPorts, IngestService
from shared.jobs.dynamodb import JobsTable
from shared.ledger.dynamodb import RecordsTable
from shared.objects.s3 import Objects
from shared.queues.sqs import Queue

WRITE_CALLS = {"PutItem": 1, "UpdateItem": 1, "DeleteItem": 1}


class NullStream:
    """Accepts every entry, on the shard it was routed to; counts user records and Kinesis records
    (under a lock: the sender's lanes call it from several threads)."""

    def __init__(self, shards: int = 1) -> None:
        self.records = 0
        self.kinesis_records = 0
        self._map = ShardMap.even(shards)
        self._lock = threading.Lock()

    def put_records(self, entries: Sequence[Entry]) -> list[EntryResult]:
        users = sum(len(e.members) if e.members else 1 for e in entries)
        with self._lock:
            self.kinesis_records += len(entries)
            self.records += users
        ids = self._map.shards
        return [EntryResult(ids[max(e.shard, 0)].shard_id, str(e.seq)) for e in entries]

    def limits(self, request_kib: int | None = None) -> KinesisLimits:
        return KinesisLimits.from_kib(None, request_kib)

    def shard_map(self, refresh: bool = False) -> ShardMap:
        return self._map


class Context:
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def main() -> None:
    notification = sys.stdin.read()
    config = LoaderConfig.from_env()
    ddb = clients.client("dynamodb")
    writes = {"n": 0}

    def count(model, params, **_):  # type: ignore[no-untyped-def]
        if model.name == "BatchWriteItem":
            writes["n"] += sum(len(v) for v in params["RequestItems"].values())
        else:
            writes["n"] += WRITE_CALLS.get(model.name, 0)

    ddb.meta.events.register("provide-client-params.dynamodb.*", count)
    stream = NullStream()
    sqs = clients.client("sqs")
    ports = IngestPorts(
        JobsTable(ddb, config.jobs_table), RecordsTable(ddb, config.records_table),
        Objects(clients.client("s3")), stream,
        Queue(sqs, config.ingest_queue_url), Queue(sqs, config.retry_queue_url),
        JobEvents(clients.client("events"), config.event_bus),
    )  # fmt: skip
    start = time.perf_counter()
    [message] = parse_message(notification)
    report = IngestService(config, ports).handle(message, Context())
    print(json.dumps({
        "outcome": report.outcome,
        "records_sent": stream.records,
        "ddb_writes": writes["n"],
        "seconds": round(time.perf_counter() - start, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
