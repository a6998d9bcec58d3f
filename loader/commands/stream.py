"""`loader tail` and `loader events`: what lands in the stream, and the jobs' status changes."""

from __future__ import annotations

import json
import queue
import threading
import time
from typing import Any

import click

from loader.client import Api, ClientError, Target
from loader.commands.render import console
from loader.commands.target import resolve_job, target_options
from shared.delivery.aggregation import deaggregate
from shared.stream.kinesis import stream_target


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
