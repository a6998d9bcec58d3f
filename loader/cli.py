"""The `loader` command: `plan` (a dry run, no AWS), `local` (the whole service on this machine) and the client."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from loader import commands
from loader.backfill import backfill
from loader.plan import FilePlan
from loader.plan_output import HumanPlanOutput, JsonPlanOutput
from shared.delivery.routing import NONE, ORDERINGS, PER_KEY, Routing
from shared.domain.errors import ConfigError, InputFileError
from shared.domain.limits import DEFAULT_RECORD_KIB, MAX_RECORD_KIB, MIN_RECORD_KIB, KinesisLimits


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="s3-kinesis-loader")
def main() -> None:
    """Stream files from S3 into a Kinesis Data Stream, and follow what became of every record."""


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    metavar="F",
    help="jsonl, json, csv, tsv or text (default: from the name, else sniffed).",
)
@click.option(
    "--partition-key-field",
    metavar="P",
    help="Field (JSON dotted path or CSV column) holding the key.",
)
@click.option(
    "--max-record-kib",
    type=click.IntRange(1024, 10240),
    metavar="N",
    help="The stream's MaxRecordSizeInKiB (default 1024).",
)
@click.option(
    "--max-request-kib",
    type=click.IntRange(1, 10240),
    metavar="N",
    help="Cap per PutRecords request (default 5120).",
)
@click.option(
    "--ordering",
    type=click.Choice(ORDERINGS),
    default=None,
    help="Plan as the sender sends with this ordering (per-key, the service's default: a key once "
    "per request per shard; none). Without it or --shards: the fewest requests the limits allow.",
)
@click.option(
    "--aggregate/--no-aggregate",
    default=False,
    help="Pack records into KPL aggregated records (each shard's own), as aggregate=true would.",
)
@click.option(
    "--shards",
    type=click.IntRange(1, 10000),
    default=None,
    metavar="N",
    help="Plan as the sender sends to a stream of N evenly split shards (default ordering per-key).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a summary.")
def plan(
    file: Path,
    fmt: str | None,
    partition_key_field: str | None,
    max_record_kib: int | None,
    max_request_kib: int | None,
    ordering: str | None,
    aggregate: bool,
    shards: int | None,
    as_json: bool,
) -> None:
    """Dry run: how FILE would be read, keyed and packed into PutRecords requests. No AWS.

    By default, the packing alone: the fewest requests the limits allow. With --ordering or
    --shards, the requests the sender makes on such a stream (per shard, a key once per request with
    per-key order, at most a second of a shard's bytes per request). --aggregate packs KPL aggregates.
    """
    output = JsonPlanOutput(file) if as_json else HumanPlanOutput(file)
    limits = KinesisLimits.from_kib(max_record_kib, max_request_kib)
    if ordering is None and shards is None:
        routing = Routing(NONE, aggregate, shard_bytes_per_request=limits.max_request_bytes)
    else:
        routing = Routing(ordering or PER_KEY, aggregate)
    try:
        planner = FilePlan(
            file, limits, fmt, partition_key_field, routing=routing, shards=shards or 1
        )
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    except InputFileError as exc:
        output.fail_early(exc)
        sys.exit(1)
    except OSError as exc:  # unreadable: permissions, a device, a file gone meanwhile
        output.fail_early(InputFileError(f"cannot read {file}: {exc.strerror or exc}"))
        sys.exit(1)
    output.begin(planner.stream.format, planner.stream.compression, limits)
    try:
        summary = planner.run(output.rejected)
    except InputFileError as exc:
        output.fail(exc)
        sys.exit(1)
    output.finish(summary)


@main.command()
@click.option(
    "--aws-port",
    type=int,
    default=4566,
    show_default=True,
    help="Port of the emulated AWS endpoint.",
)
@click.option("--api-port", type=int, default=4567, show_default=True, help="Port of the HTTP API.")
@click.option(
    "--state-file",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write the stack's state.",
)
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="NAME=VALUE",
    help="kinesis-throttle=F or kinesis-internal=F: fail that share of PutRecords entries; "
    "kinesis-outage=S: fail every entry for S seconds after start-up, then recover.",
)
@click.option(
    "--lambda-timeout",
    type=click.FloatRange(min=1),
    default=900.0,
    show_default=True,
    help="The emulated Lambdas' timeout in seconds (short values make jobs continue).",
)
@click.option(
    "--retry-delay",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Seconds before the first retry round.",
)
@click.option(
    "--shards",
    type=click.IntRange(1, 64),
    default=2,
    show_default=True,
    help="The stream's shard count.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Invocations of one function at once (as the event source's maximum concurrency).",
)
@click.option(
    "--env",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="A function setting, as the stack's environment sets it (any LOADER_* variable).",
)
@click.option(
    "--crash",
    "crashes",
    multiple=True,
    metavar="POINT[:N]",
    help="Kill the invocation that reaches POINT the Nth time (default 1st), as a timeout would: "
    "no code of it runs after. Repeatable.",
)
@click.option(
    "--list-crash-points", is_flag=True, help="Print the crash points, one a line, and exit."
)
@click.option(
    "--max-record-kib",
    type=click.IntRange(MIN_RECORD_KIB, MAX_RECORD_KIB),
    default=DEFAULT_RECORD_KIB,
    show_default=True,
    help="The stream's MaxRecordSizeInKiB.",
)
@click.option(
    "--no-limits",
    is_flag=True,
    help="Lift the stream's per-shard rates (1 MiB/s and 1,000 records/s); its other limits stay.",
)
@click.option("-v", "--verbose", is_flag=True, help="Show the functions' logs and metrics.")
def local(aws_port: int, api_port: int, state_file: Path | None, faults: tuple[str, ...], lambda_timeout: float,
          retry_delay: int, shards: int, concurrency: int, settings: tuple[str, ...], crashes: tuple[str, ...],
          list_crash_points: bool, max_record_kib: int, no_limits: bool, verbose: bool) -> None:  # fmt: skip
    """Run the whole service locally (moto, in-process handlers, HTTP API) until Ctrl-C."""
    import signal
    import threading

    from loader import crash_points
    from loader.local.stack import LocalOptions, LocalStack
    from loader.state import default_state_file

    if list_crash_points:
        points = crash_points.all_points()
        width = max(len(p.name) for p in points)
        for point in points:
            click.echo(f"{point.name:<{width}}  {point.description}")
        return
    for spec in crashes:
        try:
            crash_points.parse(spec)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--crash") from exc

    parsed: dict[str, float] = {}
    for item in faults:
        name, _, value = item.partition("=")
        try:
            parsed[name] = float(value)
        except ValueError as exc:
            raise click.BadParameter(
                f"{item!r}: expected NAME=FRACTION", param_hint="--fault"
            ) from exc
    environment: dict[str, str] = {}
    for item in settings:
        name, sep, value = item.partition("=")
        if not sep or not name.startswith("LOADER_"):
            raise click.BadParameter(f"{item!r}: expected LOADER_NAME=VALUE", param_hint="--env")
        environment[name] = value
    options = LocalOptions(
        aws_port=aws_port, api_port=api_port, state_file=state_file or default_state_file(), faults=parsed,
        lambda_timeout=lambda_timeout, retry_delay_seconds=retry_delay, verbose=verbose, shards=shards,
        environment=environment, concurrency=concurrency, crash=list(crashes),
        max_record_kib=max_record_kib, rate_limits=not no_limits,
    )  # fmt: skip
    stack = LocalStack(options)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        state = stack.start()
    except (ValueError, OSError) as exc:
        stack.stop()
        raise click.ClickException(str(exc)) from exc
    bucket, prefix = state["bucket"], state["incoming_prefix"]
    click.echo(f"local stack ready; state in {options.state_file}")
    click.echo(
        f"  AWS endpoint  {state['aws_endpoint']}   API  {state['api_url']}   stream  {state['stream']}"
    )
    where = "" if state_file is None else f" --state-file {options.state_file}"
    click.echo(f"  drop a file:  loader send samples/events.jsonl --follow{where}")
    click.echo(f"           or:  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws --endpoint-url {state['aws_endpoint']} "
               f"--region {state['region']} s3 cp samples/events.jsonl s3://{bucket}/{prefix}events.jsonl")  # fmt: skip
    click.echo(f"  ask the API:  curl {state['api_url']}/jobs")
    click.echo("  Ctrl-C stops everything.")
    try:
        stack.wait(stop)
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
        click.echo("local stack stopped")


for _command in (
    commands.send,
    commands.jobs,
    commands.status,
    commands.failures,
    commands.retry,
    commands.tail,
    commands.events,
    backfill,
):
    main.add_command(_command)
