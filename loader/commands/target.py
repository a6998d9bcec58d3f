"""Which stack a command talks to (the local state file or a deployed stack's outputs) and which job a reference names."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from loader.client import Api, ClientError, local_target, stack_target
from loader.state import default_state_file
from shared.domain.jobs import JOB_ID_PATTERN


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
