"""`loader jobs`, `status`, `failures`, `retry`: what the ledger says of jobs and their records."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from loader.client import Api, Target
from loader.commands.render import out, print_json, summary
from loader.commands.target import resolve_job, target_options


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
        return print_json({"jobs": found, "next_token": token})
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
    print_json(job) if as_json else summary(job)


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
        return print_json({"job_id": job_id, "records": records})
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
    print_json(answer) if as_json else out.print(answer["message"])
