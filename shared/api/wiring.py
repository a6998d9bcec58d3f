"""The API function's composition root: the boto3 adapters wired into the service, once per warm
process and configuration."""

from __future__ import annotations

import os
from functools import lru_cache

from shared.aws import clients
from shared.config import LoaderConfig, loader_config
from shared.functions.observability import logger
from shared.jobs.dynamodb import JobsTable
from shared.ledger.dynamodb import RecordsTable
from shared.objects.s3 import Objects
from shared.queues.sqs import Queue

from .service import ApiPorts, JobsApi


def token_key(config: LoaderConfig) -> bytes:
    """The key that signs pagination tokens, read once per cold start: the stack's generated
    secret, else LOADER_TOKEN_KEY, else a random key of this process's own (tokens then last as
    long as the process: safe, never forgeable, but a misconfiguration worth a warning)."""
    if config.token_secret_arn:
        secret = clients.client("secretsmanager").get_secret_value(SecretId=config.token_secret_arn)
        return str(secret["SecretString"]).encode()
    if config.token_key:
        return config.token_key.encode()
    logger.warning("no token key configured: pagination tokens hold only within this process")
    return os.urandom(32)


def jobs_api() -> JobsApi:
    """The composition root: the API for this environment, made once per warm process."""
    return _api_for(loader_config(), clients.generation())


@lru_cache(maxsize=4)
def _api_for(c: LoaderConfig, _clients: int) -> JobsApi:
    ddb = clients.client("dynamodb")
    ports = ApiPorts(
        JobsTable(ddb, c.jobs_table), RecordsTable(ddb, c.records_table),
        Queue(clients.client("sqs"), c.retry_queue_url), Objects(clients.client("s3")),
    )  # fmt: skip
    return JobsApi(c, ports, token_key=token_key(c))
