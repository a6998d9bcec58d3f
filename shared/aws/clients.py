"""boto3 clients, made on first use and shared by the invocations of a warm process."""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3
from botocore.config import Config

from shared.stream.put_records_codec import install as install_codec

_lock = threading.Lock()
_clients: dict[tuple[str, str | None], Any] = {}
_generation = 0  # how many times the clients were forgotten: a service made before holds stale ones
# Standard retry mode: botocore retries throttles and 5xx with backoff before we see them.
_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=32)
# PutRecords requests are built by the packer, which already holds them to Kinesis's limits; botocore's
# client-side validation of every entry is a quarter of the client's CPU per request, for nothing
# (and the lean PutRecords codec, which skips botocore's per-entry serialization too, needs it off).
_KINESIS_CONFIG = _CONFIG.merge(Config(parameter_validation=False))


def config_for(service: str) -> Config:
    return _KINESIS_CONFIG if service == "kinesis" else _CONFIG


def new_client(service: str, session: Any = None, **kwargs: Any) -> Any:
    """A new client with the loader's settings (and, for Kinesis, the lean PutRecords codec)."""
    made = (session or boto3.session.Session()).client(
        service, config=config_for(service), **kwargs
    )
    if service == "kinesis":
        install_codec(made)
    return made


def client(service: str) -> Any:
    """A cached client; AWS_ENDPOINT_URL (the local stack) is honoured by botocore itself."""
    key = (service, os.environ.get("AWS_ENDPOINT_URL"))
    with _lock:
        if key not in _clients:
            _clients[key] = new_client(service)
        return _clients[key]


def reset() -> None:
    """Forget cached clients (tests switch backends between cases)."""
    global _generation
    with _lock:
        _clients.clear()
        _generation += 1


def generation() -> int:
    """Changes when the cached clients are forgotten: the composition roots key their services by it."""
    return _generation
