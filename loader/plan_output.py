"""How `loader plan` prints: a readable summary, or one JSON object streamed as it goes.

The JSON object's `rejected` list is written while the file is read, so a file with millions of bad
records is reported in bounded memory; the totals follow it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import click
import orjson

from loader.plan import PlanSummary
from shared.domain.errors import InputFileError
from shared.domain.limits import KIB, KinesisLimits
from shared.domain.models import Rejection

SHOWN_REJECTIONS = 20


def _limits_json(limits: KinesisLimits) -> dict[str, int]:
    return {
        "max_record_bytes": limits.max_record_bytes,
        "max_request_bytes": limits.max_request_bytes,
        "max_entries_per_request": limits.max_entries,
    }


class JsonPlanOutput:
    def __init__(self, file: Path, out: TextIO | None = None) -> None:
        self._file = str(file)
        self._out = out or sys.stdout
        self._first = True

    def _write(self, text: str) -> None:
        self._out.write(text)

    def fail_early(self, exc: InputFileError) -> None:
        body = {"file": self._file, "error": type(exc).__name__, "message": str(exc)}
        self._write(orjson.dumps(body).decode() + "\n")

    def begin(self, fmt: str, compression: str | None, limits: KinesisLimits) -> None:
        head = {
            "file": self._file,
            "format": fmt,
            "compression": compression,
            "limits": _limits_json(limits),
        }
        self._write(orjson.dumps(head).decode()[:-1] + ',"rejected":[')

    def rejected(self, item: Rejection) -> None:
        entry = {
            "seq": item.seq,
            "line": item.line,
            "offset": item.offset,
            "code": item.code,
            "reason": item.reason,
        }
        self._write(("" if self._first else ",") + orjson.dumps(entry).decode())
        self._first = False

    def fail(self, exc: InputFileError) -> None:
        error = {"error": type(exc).__name__, "message": str(exc)}
        self._write("]," + orjson.dumps(error).decode()[1:] + "\n")

    def finish(self, s: PlanSummary) -> None:
        totals = {
            "records": s.records,
            "accepted": s.accepted,
            "rejected_count": s.rejected,
            "requests": s.requests,
            "bytes": s.bytes,
            "bytes_read": s.bytes_read,
            "largest_request_bytes": s.largest_request_bytes,
            "largest_request_entries": s.largest_request_entries,
            "ordering": s.routing.ordering,
            "aggregate": s.routing.aggregate,
            "shards": s.shards,
            "kinesis_records": s.kinesis_records,
            "kinesis_bytes": s.kinesis_bytes,
            "aggregates": s.aggregates,
            "aggregated_records": s.aggregated_records,
            "billable_kib_on_demand": s.billable_kib,
            "put_payload_units": s.payload_units,
        }
        self._write("]," + orjson.dumps(totals).decode()[1:] + "\n")


class HumanPlanOutput:
    def __init__(self, file: Path) -> None:
        self._file = file
        self._shown: list[Rejection] = []

    def fail_early(self, exc: InputFileError) -> None:
        click.echo(f"error: {self._file}: {exc}", err=True)

    def begin(self, fmt: str, compression: str | None, limits: KinesisLimits) -> None:
        how = f"{fmt}, {compression}" if compression else fmt
        click.echo(f"plan for {self._file} ({how})")
        click.echo(
            f"  limits: {limits.max_entries} entries and {limits.max_request_bytes // KIB:,} KiB per request, "
            f"{limits.max_record_bytes // KIB:,} KiB per record (data + partition key)"
        )

    def rejected(self, item: Rejection) -> None:
        if len(self._shown) < SHOWN_REJECTIONS:
            self._shown.append(item)

    def fail(self, exc: InputFileError) -> None:
        self._print_rejections()
        click.echo(f"error: {self._file}: {exc}", err=True)

    def finish(self, s: PlanSummary) -> None:
        rows = [
            ("records", s.records, "read"),
            ("accepted", s.accepted, "would be sent"),
            ("rejected", s.rejected, "would be stored with their reason"),
            ("requests", s.requests, "PutRecords calls"),
            ("bytes", s.bytes, "data + partition keys, as Kinesis counts them"),
        ]
        width = max(len(f"{v:,}") for _, v, _ in rows)
        for name, value, note in rows:
            click.echo(f"  {name:<9}{value:>{width},}  {note}")
        if s.requests:
            click.echo(
                f"  largest request: {s.largest_request_entries} entries, {s.largest_request_bytes:,} bytes"
            )
        how = (
            f"ordering={s.routing.ordering}, aggregate={'true' if s.routing.aggregate else 'false'}"
        )
        click.echo(f"  packing: {how}, on {s.shards} shard{'s' if s.shards != 1 else ''}")
        if s.routing.aggregate and s.kinesis_records:
            click.echo(
                f"  aggregated: {s.aggregated_records:,} records in {s.aggregates:,} aggregates; "
                f"{s.kinesis_records:,} Kinesis records in all "
                f"({s.accepted / s.kinesis_records:,.1f} records each)"
            )
        click.echo(
            f"  cost units: {s.billable_kib:,} KiB billed on demand, {s.payload_units:,} PUT payload units"
        )
        self._print_rejections()
        if s.rejected > len(self._shown):
            click.echo(f"  ... and {s.rejected - len(self._shown):,} more (use --json for all)")

    def _print_rejections(self) -> None:
        if self._shown:
            click.echo("rejected records:")
        for r in self._shown:
            click.echo(f"  seq {r.seq}, line {r.line}: {r.reason}")
