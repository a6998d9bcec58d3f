"""The stack: one construct per capability (storage, ingest, retry, api, monitoring)."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.api import Api
from infra.functions import Layers
from infra.ingest import Ingest, IngestProps
from infra.job_events import JobEvents
from infra.monitoring import Monitoring
from infra.nag import suppress
from infra.packaging import dependency_layer
from infra.retry import Retry
from infra.storage import Storage
from shared import names


def _context_int(stack: Stack, key: str) -> int | None:
    value = stack.node.try_get_context(key)
    return int(value) if value not in (None, "") else None


def _default(value: int | None, default: int) -> int:
    """The context's value where it is given (0 included), else the default."""
    return default if value is None else value


class LoaderStack(Stack):
    """Context: `stream_name` or `stream_arn` (bring a stream), `shard_count` (provisioned),
    `max_record_kib`, `stream_retention_hours` (24 to 8760), `ingest_max_concurrency` (10) and
    `retry_max_concurrency` (5), `ingest_batch_size` (10: messages per ingest invocation; over 10
    needs a window) and `ingest_batching_window_seconds` (1; 0 invokes at once), `fanout_min_bytes` and
    `fanout_max_parallel` (one huge object read in parallel ranges; the function's defaults else),
    `event_bus_name` (where job events go; default: the account's default bus)."""

    def _fanout_settings(self) -> dict[str, str]:
        settings = {}
        for key, env in (("fanout_min_bytes", names.ENV_FANOUT_MIN_BYTES),
                         ("fanout_max_parallel", names.ENV_FANOUT_MAX_PARALLEL)):  # fmt: skip
            value = _context_int(self, key)
            if value is not None:
                settings[env] = str(value)
        return settings

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.storage = Storage(
            self,
            "Storage",
            max_record_kib=_context_int(self, "max_record_kib"),
            stream_arn=self._existing_stream_arn(),
            shard_count=_context_int(self, "shard_count"),
            retention_hours=_context_int(self, "stream_retention_hours"),
        )
        layers = Layers(self, "Layers", dependency_layer(self, "Dependencies"))
        self.job_events = JobEvents(
            self, "JobEvents", bus_name=self.node.try_get_context("event_bus_name")
        )
        self.retry = Retry(
            self, "Retry", storage=self.storage, layers=layers, job_events=self.job_events,
            max_concurrency=_context_int(self, "retry_max_concurrency") or 5,
        )  # fmt: skip
        self.ingest = Ingest(self, "Ingest", IngestProps(
            storage=self.storage, layers=layers, retry_queue=self.retry.queue,
            job_events=self.job_events,
            max_concurrency=_context_int(self, "ingest_max_concurrency") or 10,
            batch_size=_context_int(self, "ingest_batch_size") or names.INGEST_BATCH_SIZE,
            batching_window_s=_default(
                _context_int(self, "ingest_batching_window_seconds"), names.INGEST_BATCHING_WINDOW_S
            ),
            settings=self._fanout_settings(),
        ))  # fmt: skip
        self.api = Api(
            self, "Api", storage=self.storage, layers=layers, retry_queue=self.retry.queue
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            storage=self.storage,
            ingest=self.ingest,
            retry=self.retry,
            api=self.api,
        )
        outputs = {
            "ApiUrl": self.api.rest_api.url,
            "BucketName": self.storage.bucket.bucket_name,
            "IncomingPrefix": names.INCOMING_PREFIX,
            "StreamName": self.storage.stream.stream_name,
            "StreamArn": self.storage.stream.stream_arn,
            "JobsTableName": self.storage.jobs.table_name,
            "RecordsTableName": self.storage.records.table_name,
            "IngestQueueUrl": self.ingest.queue.queue_url,
            "RetryQueueUrl": self.retry.queue.queue_url,
            "AlarmTopicArn": self.monitoring.topic.topic_arn,
            "JobEventsQueueUrl": self.job_events.queue.queue_url,
            "EventBusName": self.job_events.bus_name,
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
        suppress(self, [self.ingest.function, self.retry.function, self.api.function])

    def _existing_stream_arn(self) -> str | None:
        arn = self.node.try_get_context("stream_arn")
        name = self.node.try_get_context("stream_name")
        if arn:
            return str(arn)
        if name:
            return self.format_arn(service="kinesis", resource="stream", resource_name=str(name))
        return None
