"""The seed documents' approach, re-implemented faithfully for comparison (not used by the service):
load the whole object, parse it, split into batches by character count (partition key ignored), one
DynamoDB put per record for its status, and a read-modify-write of the job per batch."""

from __future__ import annotations

import json
import uuid
from typing import Any

MAX_BATCH_RECORDS = 500
MAX_BATCH_CHARS = 5 * 1024 * 1024


def ingest(
    s3: Any,
    ddb: Any,
    kinesis: Any,
    *,
    bucket: str,
    key: str,
    stream: str,
    jobs_table: str,
    records_table: str,
) -> dict[str, int]:
    job_id = str(uuid.uuid4())
    ddb.put_item(
        TableName=jobs_table,
        Item={"job_id": {"S": job_id}, "sent": {"N": "0"}, "failed": {"N": "0"}},
    )
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")  # the whole object
    records = [
        json.loads(line) for line in body.splitlines() if line.strip()
    ]  # every record parsed
    batches: list[list[str]] = [[]]
    chars = 0
    for record in records:
        text = json.dumps(record)
        if (
            len(batches[-1]) == MAX_BATCH_RECORDS or chars + len(text) > MAX_BATCH_CHARS
        ):  # characters, no key
            batches.append([])
            chars = 0
        batches[-1].append(text)
        chars += len(text)
    seq = sent = failed = calls = 0
    for batch in batches:
        if not batch:
            continue
        response = kinesis.put_records(
            StreamName=stream,
            Records=[{"Data": t.encode(), "PartitionKey": str(uuid.uuid4())} for t in batch],
        )
        calls += 1
        for result in response["Records"]:
            ok = "ErrorCode" not in result
            sent += ok
            failed += not ok
            ddb.put_item(
                TableName=records_table,
                Item={"job_id": {"S": job_id}, "seq": {"N": str(seq)}, "job_status": {"S": f"{job_id}#{'sent' if ok else 'failed'}"},
                      "status": {"S": "sent" if ok else "failed"}},
            )  # fmt: skip
            seq += 1
        job = ddb.get_item(TableName=jobs_table, Key={"job_id": {"S": job_id}})["Item"]
        job["sent"] = {"N": str(int(job["sent"]["N"]) + sum(1 for _ in batch) - 0)}
        ddb.put_item(TableName=jobs_table, Item=job)
    return {"records": seq, "sent": sent, "failed": failed, "requests": calls}


class NullKinesis:
    """Accepts every entry (for measuring the baseline's own memory)."""

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "FailedRecordCount": 0,
            "Records": [{"ShardId": "shardId-0", "SequenceNumber": "1"} for _ in Records],
        }


class NullDynamo:
    def put_item(self, **_: Any) -> None:
        return None

    def get_item(self, **_: Any) -> dict[str, Any]:
        return {"Item": {"job_id": {"S": "x"}, "sent": {"N": "0"}}}
