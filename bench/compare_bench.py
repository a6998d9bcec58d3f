"""Ours and the baseline side by side, on the same file and the same moto backends, in one run, two ways.

- `server` (the headline figure): moto in a process of its own, reached over HTTP on loopback, as AWS
  is reached. Every call is a round trip and the services' work is off the caller's CPU, as on AWS, so
  the baseline's 20,000 DynamoDB puts and our 40 PutRecords calls each cost what a call costs.
- `in_process`: moto's `mock_aws` inside this process. A call costs no round trip, but moto's own work
  (its Kinesis stores each record in Python) is charged to the caller's CPU, which AWS never does; the
  side that sends the most records per call is the one this penalises. Reported beside the headline.

Our ingest runs three times (three versions of the object, so three jobs) and its median counts, since
one run lasts about a second on a shared machine; the baseline runs once (a minute or more).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from moto import mock_aws

from bench import baseline, datagen
from bench.ingest_child import Context
from bench.moto_process import moto_process
from infra import schema
from loader import moto_patches
from loader.plan import FilePlan
from shared.aws import clients
from shared.config import LoaderConfig
from shared.domain.jobs import ObjectRef
from shared.domain.limits import KinesisLimits
from shared.events.eventbridge import JobEvents
from shared.ingest.service import IngestPorts, IngestService
from shared.jobs.dynamodb import JobsTable
from shared.ledger.dynamodb import RecordsTable
from shared.objects.s3 import Objects
from shared.queues.sqs import Queue
from shared.stream.kinesis import KinesisStream, clear_limits_cache

REGION = "us-east-1"
BUCKET, KEY = "bench", "incoming/compare.jsonl"
OURS_RUNS = 3
WRITES = {"PutItem": 1, "UpdateItem": 1, "DeleteItem": 1}
MakeClient = Callable[[str], Any]


class _Counter:
    """DynamoDB item writes and PutRecords calls made through one client."""

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
    path = datagen.write_jsonl_records(workdir / "compare.jsonl", records, size=200)
    n = sum(1 for _ in path.open("rb"))
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION=REGION
    )
    with moto_process() as endpoint:
        server = _side_by_side(path, lambda s: _client(s, endpoint))
    moto_patches.apply()
    with mock_aws():
        in_process = _side_by_side(path, lambda s: _client(s, None))
    lower_bound = FilePlan(path, KinesisLimits()).run(lambda r: None).requests  # config defaults
    path.unlink()
    return {
        "records": n,
        "throughput_ratio_vs_baseline": server["ratio"],
        "throughput_ratio_vs_baseline_in_process": in_process["ratio"],
        "client_cpu_seconds_per_million": server["ours"]["process_cpu_s_per_million"],
        "requests_over_lower_bound": round(server["ours"]["put_records_calls"] / lower_bound, 3),
        "baseline_ddb_writes_per_million_sent": round(
            server["baseline"]["ddb_writes"] * 1_000_000 / server["baseline"]["sent"]
        ),
        "server": server,
        "in_process": in_process,
    }


def _client(service: str, endpoint: str | None) -> Any:
    # Both sides with the production clients (no per-entry validation, the lean PutRecords codec).
    return clients.new_client(service, region_name=REGION, endpoint_url=endpoint)


def _side_by_side(path: Path, make_client: MakeClient) -> dict[str, Any]:
    s3, ddb, kinesis, sqs = (make_client(s) for s in ("s3", "dynamodb", "kinesis", "sqs"))
    clear_limits_cache()
    queue = _create(s3, ddb, kinesis, sqs)
    versions = [
        s3.put_object(Bucket=BUCKET, Key=KEY, Body=path.read_bytes())["VersionId"]
        for _ in range(OURS_RUNS)
    ]
    _warm_up(s3, ddb, kinesis)
    ddb_counter, kinesis_counter = _Counter(ddb), _Counter(kinesis)
    # moto has no shard limits (nor does the baseline pace): ours is not paced to Kinesis's here
    config = LoaderConfig(bucket=BUCKET, stream="ours-stream", jobs_table="ours-jobs",
                          records_table="ours-records", retry_queue_url=queue, ingest_queue_url=queue,
                          shard_records_per_second=1e12, shard_bytes_per_second=1e15)  # fmt: skip
    ports = IngestPorts(JobsTable(ddb, "ours-jobs"), RecordsTable(ddb, "ours-records"), Objects(s3),
                        KinesisStream(kinesis, "ours-stream"), Queue(sqs, queue), Queue(sqs, queue),
                        JobEvents(make_client("events"), "default"))  # fmt: skip
    runs = []
    cpu_start = time.process_time()
    for version in versions:
        start = time.perf_counter()
        report = IngestService(config, ports).handle(ObjectRef(BUCKET, KEY, version), Context())
        runs.append((time.perf_counter() - start, report.totals.counts.sent, report.outcome))
    cpu_s = time.process_time() - cpu_start
    ours_writes, ours_calls = ddb_counter.writes, kinesis_counter.put_records

    start = time.perf_counter()
    base = baseline.ingest(s3, ddb, kinesis, bucket=BUCKET, key=KEY, stream="base-stream",
                           jobs_table="base-jobs", records_table="base-records")  # fmt: skip
    base_s = time.perf_counter() - start
    ours_s = statistics.median(seconds for seconds, _, _ in runs)
    sent = runs[0][1]
    ours_rate, base_rate = sent / ours_s, base["sent"] / base_s
    return {
        "ours": {"outcomes": [o for _, _, o in runs], "sent": sent, "seconds": round(ours_s, 3),
                 "runs_seconds": [round(s, 3) for s, _, _ in runs], "records_per_s": round(ours_rate),
                 "ddb_writes": round(ours_writes / OURS_RUNS), "put_records_calls": round(ours_calls / OURS_RUNS),
                 # this process's CPU: the whole client side against a moto server; moto's too in-process
                 "process_cpu_s_per_million": round(cpu_s * 1_000_000 / (sent * OURS_RUNS), 2)},
        "baseline": {"sent": base["sent"], "seconds": round(base_s, 2), "records_per_s": round(base_rate),
                     "ddb_writes": ddb_counter.writes - ours_writes, "put_records_calls": base["requests"]},
        "ratio": round(ours_rate / base_rate, 1),
    }  # fmt: skip


def _create(s3: Any, ddb: Any, kinesis: Any, sqs: Any) -> str:
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    for name in ("ours", "base", "warm"):
        ddb.create_table(**schema.create_table_args(f"{name}-jobs", schema.JOBS))
        ddb.create_table(**schema.create_table_args(f"{name}-records", schema.RECORDS))
        kinesis.create_stream(StreamName=f"{name}-stream", ShardCount=4)
    queue: str = sqs.create_queue(QueueName="q")["QueueUrl"]
    return queue


def _warm_up(s3: Any, ddb: Any, kinesis: Any) -> None:
    """Load moto's and botocore's service models and the operations both sides use, before timing
    either side, on resources neither side touches."""
    item = {"job_id": {"S": "warm-up"}, "seq": {"N": "0"}}
    ddb.put_item(TableName="warm-records", Item=item)
    ddb.get_item(TableName="warm-records", Key=item)
    ddb.update_item(TableName="warm-jobs", Key={"job_id": {"S": "warm-up"}},
                    UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": {"N": "1"}})  # fmt: skip
    kinesis.describe_stream_summary(StreamName="warm-stream")
    kinesis.put_records(StreamName="warm-stream", Records=[{"Data": b"{}", "PartitionKey": "k"}])
    s3.head_object(Bucket=BUCKET, Key=KEY)
