"""The production ports of the API, made once per warm process."""

from __future__ import annotations

from functools import lru_cache

from shared.adapters import clients
from shared.adapters.jobs_table import JobsTable
from shared.adapters.objects import Objects
from shared.adapters.queues import Queue
from shared.adapters.records_table import RecordsTable
from shared.config import loader_config

from .service import JobsApi


@lru_cache(maxsize=1)
def jobs_api() -> JobsApi:
    c = loader_config()
    ddb = clients.client("dynamodb")
    return JobsApi(
        c, ddb, JobsTable(ddb, c.jobs_table), RecordsTable(ddb, c.records_table),
        Queue(clients.client("sqs"), c.retry_queue_url), Objects(clients.client("s3")),
    )  # fmt: skip
