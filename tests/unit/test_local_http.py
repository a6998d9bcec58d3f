"""The local API adapter answers every request, however malformed, with JSON and never hangs."""

from __future__ import annotations

import json

import pytest

from loader.local.http import ApiServer
from tests.helpers import http_exchange


def echo(event, context):
    body = json.dumps({"method": event["httpMethod"], "path": event["path"], "body": event["body"]})
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": body}


def failing(event, context):
    raise RuntimeError("boom")


@pytest.fixture
def server():
    api = ApiServer(echo, 0, read_timeout=0.5)
    api.start()
    yield api
    api.stop()


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (
            b"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
            400,
            "InvalidContentLength",
        ),
        (
            b"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
            400,
            "InvalidContentLength",
        ),
        (
            b"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n",
            413,
            "PayloadTooLarge",
        ),
        (b"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{}", 408, "RequestTimeout"),
        (b"GARBAGE\r\n\r\n", 400, "BadRequest"),
        (b"GET /jobs HTTP/9.9\r\n\r\n", 505, "HTTPVersionNotSupported"),
        (b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "InvalidChunk"),
    ],
)
def test_malformed_requests_get_a_json_error(server, request_bytes, status, code):
    got_status, got = http_exchange(server.port, request_bytes)
    assert (got_status, got["error"]) == (status, code) and got["message"]


@pytest.mark.parametrize("method", ["OPTIONS", "DELETE", "PATCH", "BREW"])
def test_every_method_reaches_the_api(server, method):
    status, got = http_exchange(server.port, f"{method} /jobs HTTP/1.0\r\n\r\n".encode())
    assert (status, got["method"]) == (200, method)


def test_a_chunked_body_is_read_whole(server):
    raw = b'POST /jobs/x/retry HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"a"\r\n3\r\n: 1\r\n1\r\n}\r\n0\r\n\r\n'
    status, got = http_exchange(server.port, raw)
    assert (status, got["body"]) == (200, '{"a": 1}')


def test_an_api_that_fails_is_a_502_with_json():
    api = ApiServer(failing, 0)
    api.start()
    try:
        status, got = http_exchange(api.port, b"GET /jobs HTTP/1.0\r\n\r\n")
    finally:
        api.stop()
    assert (status, got["error"]) == (502, "BadGateway")
