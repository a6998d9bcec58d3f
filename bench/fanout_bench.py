"""One big JSON Lines object read by one chain and by 2 parallel ranges, each sandbox a process of its
own (as Lambda runs them), against moto (DynamoDB, SQS, S3's metadata) in its own process, a null
Kinesis sink and the object's bytes from a local copy (`fanout_worker.py`); upload event to job
finished. And what those figures predict for 16 ranges."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import datagen, resources
from bench.moto_process import moto_process
from infra import names
from shared.domain.jobs import job_id_for

REGION = "us-east-1"
MODEL_RANGES = 16


def _setup(endpoint: str, workdir: Path, size: int) -> tuple[dict[str, str], dict[str, Any]]:
    aws = resources.create(endpoint, ingest_visibility_seconds=900)
    path = datagen.write_jsonl(workdir / "fanout.jsonl", size)
    key = names.INCOMING_PREFIX + path.name
    for ranges in (1, 2):  # one object each: a fresh job each (moto's CopyObject breaks checksums)
        aws.s3.upload_file(str(path), "bench", f"{key}.{ranges}")
    env = {**aws.env, "POWERTOOLS_LOG_LEVEL": "WARNING", "LOADER_DEFAULT_ORDERING": "none"}
    clients = {"s3": aws.s3, "ddb": aws.ddb, "sqs": aws.sqs, "key": key,
               "queue": aws.ingest_queue, "path": str(path)}  # fmt: skip
    return env, clients


def _run(env: dict[str, str], aws: dict[str, Any], ranges: int) -> dict[str, Any]:
    """The object's copy for this run, timed with `ranges` sandboxes."""
    s3, key = aws["s3"], aws["key"]
    target = f"{key}.{ranges}"
    head = s3.head_object(Bucket="bench", Key=target)
    job_id = job_id_for("bench", target, head["VersionId"])
    size = head["ContentLength"]
    settings = {"LOADER_FANOUT_MIN_BYTES": "0"} if ranges == 1 else {
        "LOADER_FANOUT_MIN_BYTES": str(size // ranges), "LOADER_FANOUT_MAX_PARALLEL": str(ranges),
    }  # fmt: skip
    note = {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "bench"}, "object": {
        "key": target, "size": size, "eTag": head["ETag"], "versionId": head["VersionId"]}}}]}  # fmt: skip
    workers = [
        subprocess.Popen([sys.executable, "-m", "bench.fanout_worker", job_id, aws["path"]],
                         env={**env, **settings},
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(ranges)
    ]  # fmt: skip
    time.sleep(3)  # the sandboxes are warm before the upload's event arrives
    started, wall = time.perf_counter(), time.time()
    aws["sqs"].send_message(QueueUrl=aws["queue"], MessageBody=json.dumps(note))
    outputs = []
    for worker in workers:
        out, err = worker.communicate(timeout=3600)
        if worker.returncode != 0:
            raise RuntimeError(f"fan-out worker failed: {err[-2000:]}")
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    # Upload event to job finished: the end of the invocation that finished it (the sandboxes notice
    # the end only at their next poll, up to a second later, which is not the loader's time).
    seconds = max(b for o in outputs for _, _, b in o["timeline"]) - wall
    waited = time.perf_counter() - started
    item = aws["ddb"].get_item(
        TableName="jobs", Key={"job_id": {"S": job_id}}, ConsistentRead=True
    )["Item"]
    sent = sum(o["records_sent"] for o in outputs)
    return {
        "ranges": ranges, "seconds": round(seconds, 1), "until_sandboxes_stopped": round(waited, 1),
        "status": item["status"]["S"],
        "records": int(item["n_records"]["N"]), "records_sent": sent,
        "mb_per_s": round(size / 2**20 / seconds, 1),
        "cpu_seconds": round(sum(o["cpu_seconds"] for o in outputs), 1),
        "busy_seconds": [o["busy_seconds"] for o in outputs],
        "outcomes": sorted(x for o in outputs for x in o["outcomes"]),
        "timeline": sorted(
            (name, round(a - wall, 2), round(b - wall, 2)) for o in outputs for name, a, b in o["timeline"]
        ),
    }  # fmt: skip


def run(workdir: Path, size: int) -> dict[str, Any]:
    with moto_process() as endpoint:
        env, aws = _setup(endpoint, workdir, size)
        one = _run(env, aws, 1)
        two = _run(env, aws, 2)
    speedup = round(one["seconds"] / two["seconds"], 2)
    return {"object_mb": round(size / 2**20), "one_range": one, "two_ranges": two,
            "speedup_two_ranges": speedup, "model": model(one, two, size)}  # fmt: skip


def model(one: dict[str, Any], two: dict[str, Any], size: int) -> dict[str, Any]:
    """What 16 ranges would take, from the measured runs, as T(N) = F + W / N: W is one chain's time,
    F the fixed cost the 2-range run paid beyond W / 2 (the cut, the counting pass, the queue hops, the
    finish; the counting pass shrinks with N too, so this over-estimates). Not measured: this machine
    has 2 cores."""
    work = one["seconds"]
    fixed = max(0.0, two["seconds"] - work / 2)
    predicted = fixed + work / MODEL_RANGES
    records_per_s = one["records"] / predicted
    shards = max(records_per_s / 1000, size / predicted / 2**20)
    return {
        "ranges": MODEL_RANGES, "predicted_seconds": round(predicted, 1),
        "predicted_speedup": round(work / predicted, 1), "fixed_seconds": round(fixed, 1),
        "stream_shards_needed": int(shards) + 1,
        "assumes": "16 sandboxes each as fast as one core here, and a stream with that many shards",
    }  # fmt: skip
