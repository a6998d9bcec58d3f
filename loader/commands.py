"""The everyday client commands: send, jobs, status, failures, retry, tail (local or deployed stack)."""

from __future__ import annotations

import functools
import json
import queue
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from loader.client import Api, ClientError, Target, local_target, stack_target
from loader.state import default_state_file
from shared.adapters.kinesis import stream_target
from shared.delivery.aggregation import deaggregate
from shared.delivery.options import META_AGGREGATE, META_FORMAT, META_KEY_FIELD, META_ORDERING
from shared.delivery.routing import ORDERINGS
from shared.domain.jobs import FINISHED, JOB_ID_PATTERN, job_id_for

console = Console(stderr=True)
out = Console()


def target_options(command: Callable[..., Any]) -> Callable[..., Any]:
    @click.option(
        "--state-file",
        type=click.Path(path_type=Path),
        default=None,
        help="Local stack state file.",
    )
    @click.option(
        "--stack",
        "stack_name",
        default=None,
        help="A deployed stack's name (uses its outputs, SigV4).",
    )
    @click.option("--region", default=None, help="Region of the deployed stack.")
    @functools.wraps(command)
    def wrapper(
        state_file: Path | None, stack_name: str | None, region: str | None, **kwargs: Any
    ) -> Any:
        try:
            target = (
                stack_target(stack_name, region)
                if stack_name
                else local_target(state_file or default_state_file())
            )
            return command(target, **kwargs)
        except ClientError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


_ID_CHARS = re.compile(r"[a-z2-7]{1,24}")
MAX_LISTED = 10


def resolve_job(api: Api, ref: str | None) -> str:
    """A job named by its id, any unique prefix of it, or nothing (the newest job)."""
    if ref is None:
        newest = api.get("/jobs", limit=1)["jobs"]
        if not newest:
            raise ClientError("there are no jobs yet: send a file first (loader send FILE)")
        return str(newest[0]["job_id"])
    ref = ref.strip().lower()
    if JOB_ID_PATTERN.fullmatch(ref):
        return ref
    if not _ID_CHARS.fullmatch(ref):
        raise ClientError(f"{ref!r} is not a job id or the start of one (a-z and 2-7)")
    matches: list[str] = []
    token = None
    while True:
        page = api.get("/jobs", id_prefix=ref, limit=100, next_token=token)
        matches += [j["job_id"] for j in page["jobs"]]
        token = page["next_token"]
        if not token or len(matches) > MAX_LISTED:
            break
    if not matches:
        raise ClientError(f"no job id starts with {ref!r}")
    if len(matches) > 1:
        more = " and more" if len(matches) > MAX_LISTED else ""
        listed = ", ".join(matches[:MAX_LISTED])
        raise ClientError(
            f"{ref!r} is the start of several job ids: {listed}{more}; give more of it"
        )
    return matches[0]


def _print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


def _summary(job: dict[str, Any], elapsed: float | None = None) -> None:
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


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", help="Object key under the incoming prefix (default: the file's name).")
@click.option("--format", "fmt", help="Format, stored as the object's metadata.")
@click.option("--partition-key-field", help="Partition-key field, stored as the object's metadata.")
@click.option(
    "--ordering",
    type=click.Choice(ORDERINGS),
    help="per-key (order per partition key) or none; stored as metadata (default: the stack's).",
)
@click.option(
    "--aggregate/--no-aggregate",
    default=None,
    help="KPL-aggregate the records (consumers must de-aggregate); stored as metadata.",
)
@click.option("--follow", is_flag=True, help="Follow the job to its end (through its retries).")
@click.option(
    "--timeout",
    type=float,
    default=900.0,
    show_default=True,
    help="Seconds to follow before giving up.",
)
@click.option("--json", "as_json", is_flag=True)
@target_options
def send(target: Target, file: Path, key: str | None, fmt: str | None, partition_key_field: str | None,
         ordering: str | None, aggregate: bool | None, follow: bool, timeout: float,
         as_json: bool) -> None:  # fmt: skip
    """Upload FILE under the incoming prefix; with --follow, watch its job to the end."""
    object_key = target.incoming_prefix + (key or file.name)
    options = (
        (META_FORMAT, fmt),
        (META_KEY_FIELD, partition_key_field),
        (META_ORDERING, ordering),
        (META_AGGREGATE, None if aggregate is None else str(aggregate).lower()),
    )
    metadata = {k: v for k, v in options if v}
    s3 = target.client("s3")
    s3.upload_file(
        str(file), target.bucket, object_key, ExtraArgs={"Metadata": metadata} if metadata else None
    )
    head = s3.head_object(Bucket=target.bucket, Key=object_key)
    version = head.get("VersionId")
    version = None if version in (None, "null") else version
    job_id = job_id_for(target.bucket, object_key, version or head["ETag"].strip('"'))
    if not follow:
        sent = {"job_id": job_id, "bucket": target.bucket, "key": object_key, "version_id": version}
        _print_json(sent) if as_json else out.print(
            f"uploaded s3://{target.bucket}/{object_key} -> job {job_id}"
        )
        return
    job = _follow(Api(target), job_id, timeout, quiet=as_json)
    _print_json(job) if as_json else _summary(job, job.get("elapsed_seconds"))
    if job["status"] == "failed":
        raise SystemExit(1)


def _follow(api: Api, job_id: str, timeout: float, quiet: bool) -> dict[str, Any]:
    """Poll the job to its final status, through its retry rounds, saying how far and how fast.

    On a terminal the line is redrawn in place; otherwise a plain line is printed when the status
    changes (and at most every 10 s while it runs), so logs and pipes stay readable.
    """
    deadline = time.monotonic() + timeout
    meter = _Meter()
    live = console.is_terminal and not quiet
    said: tuple[str, float] = ("", 0.0)
    with console.status(f"job {job_id}: waiting for the upload's event", spinner="dots") as spinner:
        if not live:
            spinner.stop()
        while True:
            try:
                job = api.get(f"/jobs/{job_id}")
            except ClientError as exc:
                if exc.status != 404:
                    raise
                job = None
            if job is not None:
                line = meter.line(job)
                if live:
                    spinner.update(line)
                elif not quiet and (job["status"] != said[0] or time.monotonic() - said[1] > 10):
                    console.print(line, highlight=False, soft_wrap=True)
                    said = (job["status"], time.monotonic())
                if job["status"] in FINISHED:  # through the retry rounds, to the final status
                    job["elapsed_seconds"] = round(meter.elapsed(), 1)
                    return job
            if time.monotonic() > deadline:
                raise ClientError(f"job {job_id} did not finish within {timeout:g} s")
            time.sleep(0.3)


class _Meter:
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
            text += f"  ETA {_clock(round((size - read) / byte_rate))}"
        if job.get("continuations"):
            text += f"  continuation {job['continuations']}"
        return text


def _clock(seconds: int) -> str:
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


@click.command()
@click.option(
    "--key", help="Only jobs whose object key starts with this (incoming/ may be left out)."
)
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@target_options
def jobs(target: Target, key: str | None, limit: int, as_json: bool) -> None:
    """Jobs, newest first."""
    api, token = Api(target), None
    found: list[dict[str, Any]] = []
    while len(found) < limit:  # a key prefix is filtered after reading: follow the pages
        page = api.get("/jobs", key_prefix=key, limit=min(100, limit), next_token=token)
        found += page["jobs"]
        token = page["next_token"]
        if not token:
            break
    found = found[:limit]
    if as_json:
        return _print_json({"jobs": found, "next_token": token})
    # The id is never cut: it is what the other commands take. The key gives way instead.
    table = Table(box=None, pad_edge=False)
    table.add_column("job", no_wrap=True, min_width=24)
    table.add_column("status", no_wrap=True, min_width=len("completed_with_errors"))
    table.add_column("sent", justify="right", no_wrap=True, min_width=9)
    table.add_column("key", overflow="ellipsis", no_wrap=True, min_width=8)
    for j in found:
        c = j["counts"]
        table.add_row(
            j["job_id"],
            j["status"],
            f"{c['sent']:,}/{c['records']:,}",
            j["source"]["key"].removeprefix(target.incoming_prefix),
        )
    out.print(table)
    if not found:
        out.print("no jobs yet: loader send FILE")


@click.command()
@click.argument("job_id", required=False)
@click.option("--json", "as_json", is_flag=True)
@target_options
def status(target: Target, job_id: str | None, as_json: bool) -> None:
    """One job (any unique prefix of its id; none: the newest): status, counts, progress, error."""
    api = Api(target)
    job = api.get(f"/jobs/{resolve_job(api, job_id)}")
    _print_json(job) if as_json else _summary(job)


@click.command()
@click.argument("job_id", required=False)
@click.option("--status", "record_status", type=click.Choice(["failed", "rejected", "dead", "sent"]), default=None,
              help="Only records in this status (sent: those a retry recovered).")  # fmt: skip
@click.option("--all", "show_all", is_flag=True, help="Also the records a retry recovered.")
@click.option("--limit", type=int, default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@target_options
def failures(target: Target, job_id: str | None, record_status: str | None, show_all: bool,
             limit: int, as_json: bool) -> None:  # fmt: skip
    """A job's records that need attention: line, status, code, reason, attempts and the start of
    the record's bytes (none named: the newest job)."""
    api, token = Api(target), None
    job_id = resolve_job(api, job_id)
    records: list[dict[str, Any]] = []
    while len(records) < limit:
        page = api.get(
            f"/jobs/{job_id}/records", status=record_status, limit=min(100, limit), next_token=token
        )
        records += [
            r for r in page["records"] if record_status or show_all or r["status"] != "sent"
        ]
        token = page["next_token"]
        if not token:
            break
    records = records[:limit]
    if as_json:
        return _print_json({"job_id": job_id, "records": records})
    if not records:
        which = f"{record_status} " if record_status else ""
        out.print(f"job {job_id}: no {which}records need attention")
        return
    for r in records:
        recovered = " (recovered by a retry)" if r["status"] == "sent" else ""
        out.print(
            f"[bold]line {r['line']}[/bold]  seq {r['seq']}  {r['status']}{recovered}  "
            f"{r.get('error_code') or ''}  attempts {r['attempts']}",
            highlight=False,
        )
        out.print(f"  reason: {r.get('error_message') or ''}", highlight=False, markup=False)
        preview = r.get("payload_preview")
        if preview is not None:
            shown = preview.replace("\n", "\\n")
            size = r.get("payload_size") or len(preview)
            more = f" ... ({size:,} bytes)" if size > len(preview.encode()) else ""
            out.print(f"  data:   {shown}{more}", highlight=False, markup=False, overflow="ellipsis",
                      no_wrap=True)  # fmt: skip
        else:
            out.print("  data:   (too large to keep)", highlight=False)


@click.command()
@click.argument("job_id")
@click.option("--include-dead", is_flag=True, help="Resend dead records too.")
@click.option("--json", "as_json", is_flag=True)
@target_options
def retry(target: Target, job_id: str, include_dead: bool, as_json: bool) -> None:
    """Queue a retry of a job's failed (and, if asked, dead) records (any unique prefix of its id)."""
    api = Api(target)
    answer = api.post(
        f"/jobs/{resolve_job(api, job_id)}/retry", {"include_dead": True} if include_dead else None
    )
    _print_json(answer) if as_json else out.print(answer["message"])


@click.command()
@click.option("--from-start", is_flag=True, help="From the oldest record kept, not only new ones.")
@click.option("--job", "job_ref", default=None,
              help="Only this job's records (any unique prefix of its id; default partition keys).")  # fmt: skip
@click.option("--limit", type=int, default=None, help="Stop after this many records.")
@click.option("--timeout", type=float, default=None, help="Stop after this many seconds.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per record.")
@click.option(
    "--raw", is_flag=True, help="Show KPL aggregated records as they are, not their user records."
)
@target_options
def tail(target: Target, from_start: bool, job_ref: str | None, limit: int | None,
         timeout: float | None, as_json: bool, raw: bool) -> None:  # fmt: skip
    """Records arriving in the stream, from every shard at once.

    KPL aggregated records (aggregate=true) are de-aggregated into their user records, each with its
    own partition key, and the end says how many were (--raw shows them as they are)."""
    prefix = None
    if job_ref is not None:
        api = Api(target)
        job = api.get(f"/jobs/{resolve_job(api, job_ref)}")
        if job.get("partition_key_field"):
            raise ClientError(
                f"job {job['job_id']} keys its records by {job['partition_key_field']!r}, so they "
                "cannot be told from others in the stream; --job follows default partition keys"
            )
        prefix = f"{job['job_id']}:"
    kinesis = target.client("kinesis")
    stream = stream_target(target.stream)
    kind = "TRIM_HORIZON" if from_start else "LATEST"
    shards = [s["ShardId"] for s in kinesis.list_shards(**stream)["Shards"]]
    found: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue(maxsize=10000)
    stop = threading.Event()

    def read(shard: str) -> None:
        try:
            iterator = kinesis.get_shard_iterator(**stream, ShardId=shard, ShardIteratorType=kind)
            it = iterator["ShardIterator"]
            while it and not stop.is_set():
                page = kinesis.get_records(ShardIterator=it, Limit=1000)
                for record in page["Records"]:
                    if prefix is None or record["PartitionKey"].startswith(prefix):
                        found.put((shard, record))
                it = page.get("NextShardIterator")
                if not page["Records"]:
                    stop.wait(0.2)
        except Exception as exc:  # one shard's failure is said, the others go on
            console.print(f"shard {shard}: {exc}", highlight=False, markup=False)
        finally:
            found.put(None)

    readers = [threading.Thread(target=read, args=(s,), daemon=True) for s in shards]
    for reader in readers:
        reader.start()
    seen, running = 0, len(readers)
    unpacked = {"aggregates": 0, "records": 0}
    deadline = (time.monotonic() + timeout) if timeout else None
    try:
        while running and (deadline is None or time.monotonic() < deadline):
            try:
                item = found.get(timeout=0.2)
            except queue.Empty:
                continue
            if item is None:
                running -= 1
                continue
            shard, r = item
            users = None if raw else deaggregate(r["Data"])
            rows: list[tuple[str, bytes, int | None]]
            if users is None:
                rows = [(r["PartitionKey"], r["Data"], None)]
            else:
                unpacked["aggregates"] += 1
                unpacked["records"] += len(users)
                rows = [(u.partition_key, u.data, i) for i, u in enumerate(users)]
            for key, payload, sub in rows:
                if prefix is not None and not key.startswith(prefix):
                    continue
                data = payload.decode("utf-8", "replace")
                if as_json:
                    row = {"shard_id": shard, "sequence_number": r["SequenceNumber"],
                           "partition_key": key, "data": data}  # fmt: skip
                    if sub is not None:
                        row |= {"aggregated": True, "sub_sequence_number": sub}
                    click.echo(json.dumps(row))
                else:
                    click.echo(f"{shard} {key} {data}")
                seen += 1
                if limit is not None and seen >= limit:
                    return
    finally:
        stop.set()
        if unpacked["aggregates"]:
            console.print(
                f"de-aggregated {unpacked['records']:,} user records from "
                f"{unpacked['aggregates']:,} KPL aggregated records",
                highlight=False,
            )


@click.command()
@click.option("--follow", is_flag=True, help="Keep waiting for new events (Ctrl-C stops).")
@click.option("--timeout", type=float, default=None, help="Stop after this many seconds.")
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON event per line, as EventBridge sent it."
)
@target_options
def events(target: Target, follow: bool, timeout: float | None, as_json: bool) -> None:
    """Job status changes, as published to EventBridge (and taken off the stack's events queue)."""
    if not target.events_queue_url:
        raise ClientError("this stack has no job events queue (JobEventsQueueUrl output)")
    sqs = target.client("sqs")
    deadline = (time.monotonic() + timeout) if timeout else None
    while deadline is None or time.monotonic() < deadline:
        got = sqs.receive_message(
            QueueUrl=target.events_queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1 if follow else 0,
        )
        messages = sorted(
            got.get("Messages", []), key=lambda m: json.loads(m["Body"]).get("time", "")
        )
        for message in messages:
            event = json.loads(message["Body"])
            if as_json:
                click.echo(json.dumps(event))
            else:
                d = event.get("detail", {})
                c = d.get("counts") or {}
                line = (
                    f"{event.get('time', '')}  {d.get('job_id')}  {d.get('previous_status') or '-'} -> "
                    f"{d.get('status')}  sent {c.get('sent', 0):,}/{c.get('records', 0):,}  "
                    f"{(d.get('source') or {}).get('key', '')}"
                )
                click.echo(line + (f"  error: {d['error']}" if d.get("error") else ""))
            sqs.delete_message(
                QueueUrl=target.events_queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
        if not messages and not follow:
            return
