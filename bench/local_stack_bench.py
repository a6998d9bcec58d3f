"""The local stack's cost per job, fresh and after 1,000 jobs: `loader local` as a user starts it, one
small file's upload-to-completed time and the API's answers timed on a fresh stack, then again after
1,000 more jobs, with the AWS emulator's resident memory. A faithful stack costs the same on its
thousandth job as on its first (no call in proportion to everything stored)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3

JOBS = int(os.environ.get("BENCH_LOCAL_JOBS", "1000"))
RECORDS = 50


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _body(n: int) -> bytes:
    return b"".join(b'{"file":%d,"i":%d}\n' % (n, i) for i in range(RECORDS))


class Stack:
    def __init__(self, work: Path) -> None:
        self.state_file = work / "local.json"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "loader", "local", "--aws-port", str(_port()), "--api-port",
             str(_port()), "--state-file", str(self.state_file)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while not self.state_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("loader local did not start")
            time.sleep(0.2)
        self.state = json.loads(self.state_file.read_text())
        self.s3 = boto3.client("s3", endpoint_url=self.state["aws_endpoint"], region_name=self.state["region"],
                               aws_access_key_id="local", aws_secret_access_key="local")  # fmt: skip

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.state["api_url"] + path, timeout=60) as response:
            return json.loads(response.read())

    def upload(self, n: int) -> None:
        self.s3.put_object(
            Bucket=self.state["bucket"], Key=f"incoming/f{n:05d}.jsonl", Body=_body(n)
        )

    def completed(self) -> int:
        done, path = 0, "/jobs?limit=100"
        while True:
            page = self.get(path)
            done += sum(1 for j in page["jobs"] if j["status"] == "completed")
            token = page.get("next_token")
            if not token:
                return done
            path = f"/jobs?limit=100&next_token={token}"

    def one_job(self, n: int) -> dict[str, float]:
        """Upload one file; time until its job is completed, then the API's answers about it."""
        started = time.perf_counter()
        self.upload(n)
        while True:
            jobs = self.get(f"/jobs?key=incoming/f{n:05d}.jsonl")["jobs"]
            if jobs and jobs[0]["status"] == "completed":
                break
            time.sleep(0.02)
        job_s = time.perf_counter() - started
        t = time.perf_counter()
        self.get(f"/jobs/{jobs[0]['job_id']}")
        status_s = time.perf_counter() - t
        t = time.perf_counter()
        self.get("/jobs?limit=100")
        list_s = time.perf_counter() - t
        return {"upload_to_completed_s": round(job_s, 3), "job_status_s": round(status_s, 4),
                "list_100_jobs_s": round(list_s, 4), "aws_emulator_rss_mb": self.emulator_rss_mb()}  # fmt: skip

    def emulator_rss_mb(self) -> float:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        pids = [self.proc.pid, *(int(p) for p in children.read_text().split())]
        total = 0
        for pid in pids:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return round(total / 1024, 1)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="loader-local-bench-") as tmp:
        stack = Stack(Path(tmp))
        try:
            first = min(
                (stack.one_job(n) for n in range(3)), key=lambda r: r["upload_to_completed_s"]
            )
            started = time.perf_counter()
            for n in range(3, 3 + JOBS):
                stack.upload(n)
            while stack.completed() < 3 + JOBS:
                time.sleep(1)
            burst_s = time.perf_counter() - started
            later = [stack.one_job(n) for n in range(3 + JOBS, 6 + JOBS)]
            after = min(later, key=lambda r: r["upload_to_completed_s"])
        finally:
            stack.stop()
    return {
        "records_per_job": RECORDS,
        "jobs_between": JOBS,
        "fresh": first,
        "after_jobs": after,
        "burst_seconds": round(burst_s, 1),
        "job_time_ratio_after_over_fresh": round(
            after["upload_to_completed_s"] / first["upload_to_completed_s"], 2
        ),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
