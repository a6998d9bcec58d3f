"""moto in a process of its own, on loopback, with the project's moto fixes applied, as AWS is reached:
over HTTP, its work off the caller's CPU (the local stack's own `MotoProcess`)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from loader.local.moto_server import MotoProcess


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def moto_process() -> Iterator[str]:
    """The endpoint URL of a moto server running in a child process, stopped on exit."""
    server = MotoProcess("127.0.0.1", free_port())
    server.start()
    try:
        yield f"http://{server.host}:{server.port}"
    finally:
        server.stop()
