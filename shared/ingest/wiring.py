"""The ingest function's composition root: the boto3 adapters wired into the service, once per
warm process and configuration."""

from __future__ import annotations

from functools import lru_cache

from shared import names
from shared.aws import clients
from shared.config import LoaderConfig, loader_config
from shared.domain.errors import ConfigError
from shared.events.eventbridge import JobEvents
from shared.jobs.dynamodb import JobsTable
from shared.jobs.ranges import JobRanges
from shared.jobs.retry_lease import RetryLease
from shared.ledger.dynamodb import LedgerTransactions, RecordsTable
from shared.objects.s3 import Objects
from shared.queues.sqs import Queue
from shared.stream.kinesis import KinesisStream

from .service import IngestPorts, IngestService


def ports_for(config: LoaderConfig) -> IngestPorts:
    if not config.ingest_queue_url:
        raise ConfigError(f"environment variable {names.ENV_INGEST_QUEUE_URL} is not set")
    ddb, sqs = clients.client("dynamodb"), clients.client("sqs")
    return IngestPorts(
        jobs=JobsTable(ddb, config.jobs_table),
        records=RecordsTable(ddb, config.records_table, config.jobs_table),
        objects=Objects(clients.client("s3")),
        stream=KinesisStream(clients.client("kinesis"), config.stream),
        ingest_queue=Queue(sqs, config.ingest_queue_url),
        retry_queue=Queue(sqs, config.retry_queue_url),
        events=JobEvents(clients.client("events"), config.event_bus),
        moves=LedgerTransactions(ddb, config.jobs_table, config.records_table),
        ranges=JobRanges(ddb, config.jobs_table),
        retry_lease=RetryLease(ddb, config.jobs_table),
    )


def ingest_service() -> IngestService:
    """The composition root: the service for this environment, made once per warm process."""
    return _service_for(loader_config(), clients.generation())


@lru_cache(maxsize=4)
def _service_for(config: LoaderConfig, _clients: int) -> IngestService:
    return IngestService(config, ports_for(config))
