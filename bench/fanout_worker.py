"""One emulated ingest function sandbox for the fan-out benchmark: receives ingest-queue messages and
handles them until the job is finished; prints what it did as JSON. Kinesis is a null sink, and the
object's bytes come from a local copy (what S3 serves costs a Lambda nothing; moto serving them would
spend this 2-core machine's CPU on the emulator, not on the loader). DynamoDB and SQS are moto's."""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Iterator
from typing import Any

from bench.ingest_child import Context, NullStream
from shared.aws import clients
from shared.config import LoaderConfig
from shared.domain.jobs import FINISHED
from shared.events.eventbridge import JobEvents
from shared.ingest.messages import parse_message
from shared.ingest.service import IngestPorts, IngestService
from shared.jobs.dynamodb import JobsTable
from shared.jobs.ranges import JobRanges
from shared.ledger.dynamodb import LedgerTransactions, RecordsTable
from shared.objects.s3 import Objects
from shared.queues.sqs import Queue
from shared.readers.source import READ_CHUNK, ByteCounter


class LocalBytes(Objects):
    """S3 as moto has it, but the object's bytes read from a local copy of it."""

    def __init__(self, client: Any, path: str) -> None:
        super().__init__(client)
        self._path = path

    def chunks(self, bucket: str, key: str, *, version_id: str | None, etag: str | None,
               start: int = 0, end: int | None = None, counter: ByteCounter | None = None,
               ) -> Iterator[bytes]:  # fmt: skip
        with open(self._path, "rb") as f:
            f.seek(start)
            left = (end if end is not None else 1 << 62) - start
            while left > 0 and (chunk := f.read(min(READ_CHUNK, left))):
                left -= len(chunk)
                if counter is not None:
                    counter.count += len(chunk)
                yield chunk


def main() -> None:
    job_id, path = sys.argv[1], sys.argv[2]
    config = LoaderConfig.from_env()
    ddb, sqs = clients.client("dynamodb"), clients.client("sqs")
    stream = NullStream()
    jobs = JobsTable(ddb, config.jobs_table)
    ports = IngestPorts(
        jobs, RecordsTable(ddb, config.records_table), LocalBytes(clients.client("s3"), path), stream,
        Queue(sqs, config.ingest_queue_url), Queue(sqs, config.retry_queue_url),
        JobEvents(clients.client("events"), config.event_bus),
        LedgerTransactions(ddb, config.jobs_table, config.records_table),
        JobRanges(ddb, config.jobs_table),
    )  # fmt: skip
    service = IngestService(config, ports)
    outcomes: list[str] = []
    timeline: list[tuple[str, float, float]] = []  # (outcome, wall-clock start, end)
    busy = 0.0
    while True:
        job = jobs.get(job_id)
        if job is not None and job.status in FINISHED:
            break
        got = sqs.receive_message(
            QueueUrl=config.ingest_queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=1
        )
        for message in got.get("Messages", []):
            started, wall = time.perf_counter(), time.time()
            for parsed in parse_message(message["Body"]):
                outcomes.append(service.handle(parsed, Context()).outcome)
                timeline.append((outcomes[-1], round(wall, 3), round(time.time(), 3)))
            sqs.delete_message(
                QueueUrl=config.ingest_queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
            busy += time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "outcomes": outcomes, "timeline": timeline, "records_sent": stream.records, "busy_seconds": round(busy, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
