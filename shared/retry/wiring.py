"""The retry function's composition root: the boto3 adapters wired into the service, once per
warm process and configuration."""

from __future__ import annotations

from functools import lru_cache

from shared.aws import clients
from shared.config import LoaderConfig, loader_config
from shared.events.eventbridge import JobEvents
from shared.jobs.dynamodb import JobsTable
from shared.jobs.retry_lease import RetryLease
from shared.ledger.dynamodb import LedgerTransactions, RecordsTable
from shared.objects.s3 import Objects
from shared.queues.sqs import Queue
from shared.stream.kinesis import KinesisStream

from .service import RetryPorts, RetryService


def retry_service() -> RetryService:
    """The composition root: the service for this environment, made once per warm process."""
    return _service_for(loader_config(), clients.generation())


@lru_cache(maxsize=4)
def _service_for(c: LoaderConfig, _clients: int) -> RetryService:
    ddb = clients.client("dynamodb")
    ports = RetryPorts(
        jobs=JobsTable(ddb, c.jobs_table),
        lease=RetryLease(ddb, c.jobs_table),
        records=RecordsTable(ddb, c.records_table, c.jobs_table),
        ledger=LedgerTransactions(ddb, c.jobs_table, c.records_table),
        objects=Objects(clients.client("s3")),
        stream=KinesisStream(clients.client("kinesis"), c.stream),
        retry_queue=Queue(clients.client("sqs"), c.retry_queue_url),
        events=JobEvents(clients.client("events"), c.event_bus),
    )
    return RetryService(c, ports)
