"""The everyday client commands: send, jobs, status, failures, retry, tail, events (local or deployed
stack), one module a family, their rendering apart (`render.py`)."""

from loader.commands.ledger import failures, jobs, retry, status
from loader.commands.render import console, out
from loader.commands.stream import events, tail
from loader.commands.target import resolve_job, target_options
from loader.commands.uploads import send

__all__ = [
    "console",
    "events",
    "failures",
    "jobs",
    "out",
    "resolve_job",
    "retry",
    "send",
    "status",
    "tail",
    "target_options",
]
