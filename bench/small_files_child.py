"""One small-files run on the local stack, in this process (so the functions' AWS calls can be
counted on their own clients); prints its figures as JSON. Arguments: files records concurrency
small_file_bytes."""

from __future__ import annotations

import json
import socket
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3

from loader.local.stack import LocalOptions, LocalStack

FINISHED = {"completed", "completed_with_errors", "failed"}
DDB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    files, records, concurrency, small_bytes = (int(a) for a in sys.argv[1:5])
    with tempfile.TemporaryDirectory() as tmp:
        options = LocalOptions(
            aws_port=_port(), api_port=_port(), state_file=Path(tmp) / "state.json",
            concurrency=concurrency, environment={"LOADER_SMALL_FILE_BYTES": str(small_bytes)},
        )  # fmt: skip
        stack = LocalStack(options)
        state = stack.start()
        try:
            figures = _run(stack, state, files, records)
        finally:
            stack.stop()
        import resource

        figures["cpu_seconds_functions_process"] = round(time.process_time(), 1)
        figures["cpu_seconds_moto_process"] = round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime, 1
        )
        print(json.dumps(figures))


def _run(stack: LocalStack, state: dict[str, Any], files: int, records: int) -> dict[str, Any]:
    from shared.aws import clients  # the functions' own clients

    calls: Counter[str] = Counter()

    def count(event_name: str, **_: Any) -> None:
        _, service, operation = event_name.split(".")
        calls[f"{service}.{operation}"] += 1

    for service in ("s3", "dynamodb", "kinesis", "sqs", "events"):
        clients.client(service).meta.events.register("before-call.*.*", count)
    session = boto3.session.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name=state["region"]
    )
    s3 = session.client("s3", endpoint_url=state["aws_endpoint"])
    ddb = session.client("dynamodb", endpoint_url=state["aws_endpoint"])
    bodies = {
        f"{state['incoming_prefix']}small/f{i:05d}.jsonl": b"".join(
            b'{"file": %d, "i": %d, "pad": "%s"}\n' % (i, j, b"x" * 150) for j in range(records)
        )
        for i in range(files)
    }
    start = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda kv: s3.put_object(Bucket=state["bucket"], Key=kv[0], Body=kv[1]),
                      bodies.items()))  # fmt: skip
    uploaded = time.perf_counter() - start
    while True:
        items = []
        for page in ddb.get_paginator("scan").paginate(
            TableName=state["jobs_table"], ProjectionExpression="#s, n_sent",
            ExpressionAttributeNames={"#s": "status"},
        ):  # fmt: skip
            items += page["Items"]
        done = [i for i in items if i["status"]["S"] in FINISHED]
        if len(done) >= files:
            break
        if time.perf_counter() - start > 900:
            raise SystemExit(f"only {len(done)} of {files} jobs finished")
        time.sleep(1.0)  # a scan costs moto (in this process) real CPU
    elapsed = time.perf_counter() - start
    sent = sum(int(i["n_sent"]["N"]) for i in done)
    by_service: Counter[str] = Counter()
    for name, n in calls.items():
        by_service[name.split(".")[0]] += n
    ddb_writes = sum(n for name, n in calls.items() if name.split(".")[1] in DDB_WRITES)
    # The event source's own receive and delete calls are not the function's.
    function_calls = sum(n for name, n in calls.items() if name not in (
        "sqs.ReceiveMessage", "sqs.DeleteMessage"))  # fmt: skip
    return {
        "files": files, "records_per_file": records, "records_sent": sent,
        "seconds": round(elapsed, 2), "upload_seconds": round(uploaded, 2),
        "files_per_minute": round(files * 60 / elapsed),
        "records_per_s": round(sent / elapsed),
        "aws_calls_per_file": round(function_calls / files, 2),
        "calls_per_file_by_service": {k: round(v / files, 3) for k, v in sorted(by_service.items())},
        "ddb_writes_per_file": round(ddb_writes / files, 2),
        "put_records_calls": calls["kinesis.PutRecords"],
        "put_records_goal": sent // 500 + calls["eventbridge.PutEvents"],  # one per invocation
        "calls": dict(sorted(calls.items())),
    }  # fmt: skip


if __name__ == "__main__":
    main()
