"""The `loader` command. `plan` is a dry run with no AWS; the client commands come with the local stack."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from loader.plan_output import HumanPlanOutput, JsonPlanOutput
from shared.errors import ConfigError, InputFileError
from shared.limits import KinesisLimits
from shared.plan import FilePlan


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
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a summary.")
def plan(
    file: Path,
    fmt: str | None,
    partition_key_field: str | None,
    max_record_kib: int | None,
    max_request_kib: int | None,
    as_json: bool,
) -> None:
    """Dry run: how FILE would be read, keyed and packed into PutRecords requests. No AWS."""
    output = JsonPlanOutput(file) if as_json else HumanPlanOutput(file)
    limits = KinesisLimits.from_kib(max_record_kib, max_request_kib)
    try:
        planner = FilePlan(file, limits, fmt, partition_key_field)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    except InputFileError as exc:
        output.fail_early(exc)
        sys.exit(1)
    output.begin(planner.stream.format, planner.stream.compression, limits)
    try:
        summary = planner.run(output.rejected)
    except InputFileError as exc:
        output.fail(exc)
        sys.exit(1)
    output.finish(summary)
