"""A local stack started as a user would (`loader local` on free ports), stopped with Ctrl-C after."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Running:
    def __init__(self, state: dict[str, Any], state_file: Path) -> None:
        self.state, self.state_file = state, state_file
        session = boto3.session.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name=state["region"]
        )
        self.s3 = session.client("s3", endpoint_url=state["aws_endpoint"])
        self.kinesis = session.client("kinesis", endpoint_url=state["aws_endpoint"])

    def api(self, path: str) -> Any:
        with urllib.request.urlopen(self.state["api_url"] + path, timeout=10) as response:
            return json.loads(response.read())

    def cli(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "loader", *args, "--state-file", str(self.state_file)],
            capture_output=True, text=True, timeout=300, check=False,
            env={**os.environ, **(env or {})},
        )  # fmt: skip

    def wait_for_job(
        self,
        timeout: float = 120.0,
        done: tuple[str, ...] = ("completed", "completed_with_errors", "failed"),
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            jobs = self.api("/jobs")["jobs"]
            if jobs and jobs[0]["status"] in done:
                return jobs[0]
            time.sleep(0.3)
        raise AssertionError(f"no job finished within {timeout} s: {self.api('/jobs')}")

    def wait_for_jobs(
        self, n: int, timeout: float = 120.0, done: tuple[str, ...] = ("completed", "failed")
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            jobs = self.api("/jobs")["jobs"]
            if len(jobs) >= n and all(j["status"] in done for j in jobs):
                return list(jobs)
            time.sleep(0.3)
        raise AssertionError(f"{n} jobs did not finish within {timeout} s: {self.api('/jobs')}")

    def stream(self) -> list[bytes]:
        data = []
        for shard in self.kinesis.list_shards(StreamName=self.state["stream"])["Shards"]:
            it = self.kinesis.get_shard_iterator(StreamName=self.state["stream"], ShardId=shard["ShardId"],
                                                 ShardIteratorType="TRIM_HORIZON")["ShardIterator"]  # fmt: skip
            while it:
                page = self.kinesis.get_records(ShardIterator=it, Limit=10000)
                data += [r["Data"] for r in page["Records"]]
                if not page["Records"]:
                    break
                it = page.get("NextShardIterator")
        return data


def start_local(tmp_path: Path, *extra: str) -> Iterator[Running]:
    state_file = tmp_path / "local.json"
    args = [sys.executable, "-m", "loader", "local", "--aws-port", str(free_port()), "--api-port", str(free_port()),
            "--state-file", str(state_file), *extra]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 90
    while not state_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(
                f"loader local did not start: {proc.stdout.read() if proc.stdout else ''}"
            )
        time.sleep(0.2)
    try:
        yield Running(json.loads(state_file.read_text()), state_file)
    finally:
        # SIGTERM, which stops the stack as Ctrl-C does: a pytest-xdist worker's children inherit
        # SIGINT ignored, so a Ctrl-C sent here would wait out the timeout below
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Running]:
    yield from start_local(tmp_path)
