"""Ours and the baseline side by side, on the same files, against the same moto backends, in one run."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from bench import baseline, datagen
from infra import schema
from loader import moto_patches
from shared.adapters import clients
from shared.adapters.jobs_table import JobsTable
from shared.adapters.kinesis import KinesisStream, clear_limits_cache
from shared.adapters.objects import Objects
from shared.adapters.queues import Queue
from shared.adapters.records_table import RecordsTable
from shared.config import LoaderConfig
from shared.ingest.service import IngestPorts, IngestService
from shared.jobs import ObjectRef
from shared.limits import KinesisLimits
from shared.plan import FilePlan

REGION = "us-east-1"
WRITES = {"PutItem": 1, "UpdateItem": 1, "DeleteItem": 1}


class _Context:
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


class _Counter:
    def __init__(self, client: Any) -> None:
        self.writes = 0
        self.put_records = 0
        client.meta.events.register("provide-client-params.*.*", self._count)

    def _count(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.name == "BatchWriteItem":
            self.writes += sum(len(v) for v in params["RequestItems"].values())
        elif model.name == "TransactWriteItems":
            self.writes += len(params["TransactItems"])
        elif model.name == "PutRecords":
            self.put_records += 1
        else:
            self.writes += WRITES.get(model.name, 0)


def run(workdir: Path, records: int = 20_000) -> dict[str, Any]:
    path = datagen.write_jsonl(workdir / "compare.jsonl", records * 200, size=200)
    n = sum(1 for _ in path.open("rb"))
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION=REGION
    )
    moto_patches.apply()
    clear_limits_cache()
    with mock_aws():
        s3, ddb, kinesis, sqs = (
            boto3.client(s, region_name=REGION) for s in ("s3", "dynamodb", "kinesis", "sqs")
        )
        s3.create_bucket(Bucket="bench")
        s3.put_bucket_versioning(Bucket="bench", VersioningConfiguration={"Status": "Enabled"})
        for name in ("ours", "base"):
            ddb.create_table(**schema.create_table_args(f"{name}-jobs", schema.JOBS))
            ddb.create_table(**schema.create_table_args(f"{name}-records", schema.RECORDS))
            kinesis.create_stream(StreamName=f"{name}-stream", ShardCount=4)
        queue = sqs.create_queue(QueueName="q")["QueueUrl"]
        version = s3.put_object(
            Bucket="bench", Key="incoming/compare.jsonl", Body=path.read_bytes()
        )["VersionId"]
        for table in (
            "ours-jobs",
            "base-jobs",
        ):  # load the clients' service models before timing either side
            ddb.get_item(TableName=table, Key={"job_id": {"S": "warm-up"}})
        kinesis.describe_stream_summary(StreamName="ours-stream")
        s3.head_object(Bucket="bench", Key="incoming/compare.jsonl")
        ddb_counter = _Counter(ddb)

        config = LoaderConfig(bucket="bench", stream="ours-stream", jobs_table="ours-jobs",
                              records_table="ours-records", retry_queue_url=queue, ingest_queue_url=queue)  # fmt: skip
        # Each side with its own client settings (ours: the production ones), on the same moto backend.
        our_kinesis = boto3.client(
            "kinesis", region_name=REGION, config=clients.config_for("kinesis")
        )
        our_kinesis.describe_stream_summary(StreamName="ours-stream")
        our_counter = _Counter(our_kinesis)
        ports = IngestPorts(JobsTable(ddb, "ours-jobs"), RecordsTable(ddb, "ours-records"), Objects(s3),
                            KinesisStream(our_kinesis, "ours-stream"), Queue(sqs, queue), Queue(sqs, queue))  # fmt: skip
        start = time.perf_counter()
        report = IngestService(config, ports).handle(
            ObjectRef("bench", "incoming/compare.jsonl", version), _Context()
        )
        ours_s = time.perf_counter() - start
        ours_writes, ours_calls = ddb_counter.writes, our_counter.put_records

        start = time.perf_counter()
        base = baseline.ingest(s3, ddb, kinesis, bucket="bench", key="incoming/compare.jsonl", stream="base-stream",
                               jobs_table="base-jobs", records_table="base-records")  # fmt: skip
        base_s = time.perf_counter() - start
        base_writes = ddb_counter.writes - ours_writes
    lower_bound = (
        FilePlan(path, KinesisLimits(max_request_bytes=config.max_request_kib * 1024))
        .run(lambda r: None)
        .requests
    )
    path.unlink()
    sent = report.totals.counts.sent
    return {
        "records": n,
        "ours": {"outcome": report.outcome, "sent": sent, "seconds": round(ours_s, 2),
                 "records_per_s": round(sent / ours_s), "ddb_writes": ours_writes, "put_records_calls": ours_calls},
        "baseline": {"sent": base["sent"], "seconds": round(base_s, 2), "records_per_s": round(base["sent"] / base_s),
                     "ddb_writes": base_writes, "put_records_calls": base["requests"]},
        "throughput_ratio_vs_baseline": round((sent / ours_s) / (base["sent"] / base_s), 1),
        "requests_over_lower_bound": round(ours_calls / lower_bound, 3),
        "baseline_ddb_writes_per_million_sent": round(base_writes * 1_000_000 / base["sent"]),
    }  # fmt: skip
