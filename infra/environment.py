"""The typed configuration the functions read (shared/config.py), from the resources they use."""

from __future__ import annotations

from aws_cdk import aws_sqs as sqs

from infra.storage import Storage
from shared import names


def loader_environment(
    storage: Storage,
    retry_queue: sqs.IQueue,
    ingest_queue: sqs.IQueue | None = None,
    event_bus: str | None = None,
) -> dict[str, str]:
    env = {
        names.ENV_BUCKET: storage.bucket.bucket_name,
        names.ENV_STREAM: storage.stream.stream_arn,
        names.ENV_JOBS_TABLE: storage.jobs.table_name,
        names.ENV_RECORDS_TABLE: storage.records.table_name,
        names.ENV_RETRY_QUEUE_URL: retry_queue.queue_url,
        # The queues' redrive limit (infra/pipeline.py): a message's last delivery fails its job.
        names.ENV_MAX_RECEIVE_COUNT: str(names.MAX_RECEIVE_COUNT),
    }
    if ingest_queue is not None:
        env[names.ENV_INGEST_QUEUE_URL] = ingest_queue.queue_url
    if event_bus is not None:
        env[names.ENV_EVENT_BUS] = event_bus
    return env
