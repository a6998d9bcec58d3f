"""Small builders shared by the tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from shared.domain.limits import KIB
from shared.domain.models import Cursor, Record, Rejection
from shared.readers import ReadOptions, RecordStream, open_records


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    """The bytes in chunks of `size`, so tests cross every chunk boundary they care about."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def read(data: bytes, name: str = "data", **options: Any) -> list[Record | Rejection]:
    """Every item of `data` read as `name` (options as for `stream`)."""
    return list(stream(data, name, **options))


def stream(
    data: bytes,
    name: str = "data",
    *,
    fmt: str | None = None,
    chunk: int = 1 << 20,
    max_record: int = 1024 * KIB,
    keep_value: bool = False,
    cursor: Cursor | None = None,
) -> RecordStream:
    options = ReadOptions(max_record_bytes=max_record, format=fmt, keep_value=keep_value)
    return open_records(chunked(data, chunk), name, options, cursor)


def datas(items: list[Record | Rejection]) -> list[bytes]:
    return [i.data for i in items if isinstance(i, Record)]


def rejections(items: list[Record | Rejection]) -> list[Rejection]:
    return [i for i in items if isinstance(i, Rejection)]


def http_exchange(port: int, raw: bytes) -> tuple[int, dict[str, Any]]:
    """Send raw bytes to a local HTTP server; its status and JSON body, read until it closes."""
    import json
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(raw)
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body) if body else {}
