"""How the client commands show things: JSON, a job's summary, the one-line meter of a followed job."""

from __future__ import annotations

import json
import time
from typing import Any

import click
from rich.console import Console

console = Console(stderr=True)
out = Console()


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


def summary(job: dict[str, Any], elapsed: float | None = None) -> None:
    c = job["counts"]
    took = f"  in {elapsed:g} s" if elapsed is not None else ""
    out.print(f"job {job['job_id']}  [bold]{job['status']}[/bold]{took}", highlight=False)
    out.print(f"  s3://{job['source']['bucket']}/{job['source']['key']}", highlight=False)
    out.print(
        f"  records {c['records']:,}  sent {c['sent']:,}  failed {c['failed']:,}  rejected {c['rejected']:,}  dead {c['dead']:,}"
    )
    ranges = job.get("ranges")
    if ranges:
        out.print(f"  read in {ranges['total']} parallel ranges: {ranges['done']} done")
    if job.get("error"):
        out.print(f"  [red]error:[/red] {job['error']}")
    if c["failed"] or c["rejected"] or c["dead"]:
        out.print(f"  records needing attention: loader failures {job['job_id']}")


class Meter:
    """Rates and an ETA from successive looks at a job (its counters move at checkpoints)."""

    def __init__(self) -> None:
        self._start = time.monotonic()
        self._first: tuple[float, int, int] | None = None  # when it was first seen running

    def elapsed(self) -> float:
        return time.monotonic() - self._start

    def line(self, job: dict[str, Any]) -> str:
        c, status = job["counts"], job["status"]
        done = c["sent"] + c["failed"] + c["rejected"] + c["dead"]
        text = (
            f"job {job['job_id']}: {status}  sent {c['sent']:,}  failed {c['failed']:,}  "
            f"rejected {c['rejected']:,}"
        )
        if status == "retrying":
            rounds = job.get("retry_round") or 0
            done = f", {rounds} round{'s' if rounds != 1 else ''} so far" if rounds else ""
            return text + f"  ({c['failed']:,} wait for a retry round{done})"
        if status != "running":
            return text
        now, read = time.monotonic(), int(job.get("bytes_read") or 0)
        if self._first is None:
            self._first = (now, done, read)
            return text
        t0, done0, read0 = self._first
        if now - t0 < 0.5:
            return text
        rate, byte_rate = (done - done0) / (now - t0), (read - read0) / (now - t0)
        text += f"  {rate:,.0f} rec/s  {byte_rate / 1e6:.1f} MB/s"
        size = int((job.get("source") or {}).get("size") or 0)
        if byte_rate > 0 and size > read:
            text += f"  ETA {clock(round((size - read) / byte_rate))}"
        if job.get("continuations"):
            text += f"  continuation {job['continuations']}"
        return text


def clock(seconds: int) -> str:
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
