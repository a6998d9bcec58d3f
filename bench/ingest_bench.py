"""The ingest handler on a large object: peak memory, and DynamoDB writes per million records sent."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

from moto.server import ThreadedMotoServer

from bench import datagen, resources
from infra import names
from loader import moto_patches

REGION = "us-east-1"


def run(
    workdir: Path, size_bytes: int, port: int = 5555, baseline_sizes: tuple[int, ...] = ()
) -> dict[str, Any]:
    moto_patches.apply()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        aws = resources.create(endpoint)
        s3, env = aws.s3, aws.env
        path = datagen.write_jsonl(workdir / "ingest.jsonl", size_bytes)
        key = names.INCOMING_PREFIX + path.name
        s3.upload_file(str(path), "bench", key)
        head = s3.head_object(Bucket="bench", Key=key)
        path.unlink()
        note = {"Records": [{"eventName": "ObjectCreated:Put", "s3": {
            "bucket": {"name": "bench"},
            "object": {"key": key, "size": head["ContentLength"], "eTag": head["ETag"], "versionId": head.get("VersionId")},
        }}]}  # fmt: skip
        proc = subprocess.run(
            [sys.executable, "-m", "bench.ingest_child"], input=json.dumps(note), env=env,
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(f"ingest child failed: {proc.stderr[-2000:]}")
        figures: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        figures["object_mb"] = round(head["ContentLength"] / 2**20, 1)
        sent = figures["records_sent"]
        figures["ddb_writes_per_million_sent"] = (
            round(figures["ddb_writes"] * 1_000_000 / sent) if sent else None
        )
        figures["growth"] = [_grow(workdir, s3, env, size, ours=True) for size in baseline_sizes]
        figures["baseline_growth"] = [
            _grow(workdir, s3, env, size, ours=False) for size in baseline_sizes
        ]
        return figures
    finally:
        server.stop()


def _grow(workdir: Path, s3: Any, env: dict[str, str], size: int, ours: bool) -> dict[str, Any]:
    """Peak memory of ours or of the baseline on one object of `size` bytes."""
    path = datagen.write_jsonl(workdir / f"grow-{size}.jsonl", size)
    key = names.INCOMING_PREFIX + path.name
    s3.upload_file(str(path), "bench", key)
    head = s3.head_object(Bucket="bench", Key=key)
    path.unlink()
    if ours:
        note = {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "bench"}, "object": {
            "key": key, "size": head["ContentLength"], "eTag": head["ETag"], "versionId": head.get("VersionId")}}}]}  # fmt: skip
        proc = subprocess.run([sys.executable, "-m", "bench.ingest_child"], input=json.dumps(note), env=env,
                              capture_output=True, text=True, check=False)  # fmt: skip
    else:
        proc = subprocess.run([sys.executable, "-m", "bench.baseline_child", "bench", key], env=env,
                              capture_output=True, text=True, check=False)  # fmt: skip
    if proc.returncode != 0:
        return {
            "object_mb": round(head["ContentLength"] / 2**20, 1),
            "error": proc.stderr.strip().splitlines()[-1:],
        }
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        "object_mb": round(head["ContentLength"] / 2**20, 1),
        "peak_rss_mb": figures["peak_rss_mb"],
    }
