"""`loader send`: upload a file with its per-object options, and follow its job to the end."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from loader.client import Api, ClientError, Target
from loader.commands.render import Meter, console, out, print_json, summary
from loader.commands.target import target_options
from shared.delivery.options import META_AGGREGATE, META_FORMAT, META_KEY_FIELD, META_ORDERING
from shared.delivery.routing import ORDERINGS
from shared.domain.jobs import FINISHED, job_id_for


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
        print_json(sent) if as_json else out.print(
            f"uploaded s3://{target.bucket}/{object_key} -> job {job_id}"
        )
        return
    job = _follow(Api(target), job_id, timeout, quiet=as_json)
    print_json(job) if as_json else summary(job, job.get("elapsed_seconds"))
    if job["status"] == "failed":
        raise SystemExit(1)


def _follow(api: Api, job_id: str, timeout: float, quiet: bool) -> dict[str, Any]:
    """Poll the job to its final status, through its retry rounds, saying how far and how fast.

    On a terminal the line is redrawn in place; otherwise a plain line is printed when the status
    changes (and at most every 10 s while it runs), so logs and pipes stay readable.
    """
    deadline = time.monotonic() + timeout
    meter = Meter()
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
