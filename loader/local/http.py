"""An HTTP server that hands each request to the API Lambda as an API Gateway REST proxy event.

Like API Gateway, it answers every request, however malformed, with JSON: a bad or missing body
length, a body that never arrives, a body over API Gateway's 10 MB, an unknown method or a broken
request line each get a 4xx `{"error": ..., "message": ...}`; the connection is never left hanging
or dropped without an answer.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from loader.local.emulator import EmulatedContext, Handler
from loader.local.invocations import run

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
READ_TIMEOUT_S = 10.0
_DIGITS = re.compile(r"[0-9]{1,12}")


class BadRequest(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def proxy_event(
    method: str, raw_path: str, headers: dict[str, str], body: bytes | None
) -> dict[str, Any]:
    parts = urlsplit(raw_path)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    return {
        "resource": "/{proxy+}", "path": parts.path, "httpMethod": method, "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} or None,
        "pathParameters": {"proxy": parts.path.lstrip("/")}, "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}", "httpMethod": method, "path": parts.path, "stage": "local",
            "requestId": str(uuid.uuid4()), "identity": {"sourceIp": "127.0.0.1"}, "accountId": "000000000000",
            "apiId": "local",
        },
        "body": body.decode("utf-8", "replace") if body else None, "isBase64Encoded": False,
    }  # fmt: skip


class _Adapter(BaseHTTPRequestHandler):
    lambda_handler: Handler
    timeout = READ_TIMEOUT_S  # a client that stops sending gets a 408, not a thread held forever
    server_version = "loader-local"
    error_content_type = "application/json"

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """What BaseHTTPRequestHandler answers itself (a broken request line, say), as JSON."""
        name = self.responses.get(code, ("Error",))[0].replace(" ", "")
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.0"  # not parsed yet: still answer with a status line
        self._reply(code, {"error": name, "message": message or explain or name}, close=True)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):  # every method reaches the API, which answers 405 where due
            return self._serve
        raise AttributeError(name)

    def _serve(self) -> None:
        try:
            body = self._body()
        except BadRequest as exc:
            self._reply(exc.status, {"error": exc.code, "message": exc.message}, close=True)
            return
        event = proxy_event(self.command, self.path, dict(self.headers.items()), body)
        outcome = run("api", self.lambda_handler, event, EmulatedContext("loader-api", 29), 29)
        failed = outcome.error or outcome.killed
        if failed:  # API Gateway's answer to a function that fails or is killed
            status, headers = 502, {"Content-Type": "application/json"}
            payload = json.dumps(
                {"error": "BadGateway", "message": f"the API failed: {failed}"}
            ).encode()
        else:
            result = outcome.result or {}
            status = int(result.get("statusCode", 502))
            payload = (result.get("body") or "").encode()
            headers = dict(result.get("headers") or {})
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() != "content-length":
                self.send_header(key, str(value))
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._chunked()
        raw = self.headers.get("Content-Length")
        if raw is None:
            return None
        raw = raw.strip()
        if not _DIGITS.fullmatch(raw):
            raise BadRequest(
                400, "InvalidContentLength", f"Content-Length {raw[:40]!r} is not a length"
            )
        length = int(raw)
        if length > MAX_BODY_BYTES:
            raise BadRequest(413, "PayloadTooLarge", f"the body is over {MAX_BODY_BYTES} bytes")
        return self._read(length) if length else None

    def _chunked(self) -> bytes:
        body = bytearray()
        while True:
            line = self._readline()
            size_text = line.split(b";", 1)[0].strip()
            if not re.fullmatch(rb"[0-9a-fA-F]{1,8}", size_text):
                raise BadRequest(400, "InvalidChunk", "a chunk size is not hexadecimal")
            size = int(size_text, 16)
            if size == 0:
                while self._readline().strip():  # trailers
                    pass
                return bytes(body)
            if len(body) + size > MAX_BODY_BYTES:
                raise BadRequest(413, "PayloadTooLarge", f"the body is over {MAX_BODY_BYTES} bytes")
            body += self._read(size)
            if self._readline().strip():
                raise BadRequest(400, "InvalidChunk", "a chunk is longer than its size says")

    def _read(self, n: int) -> bytes:
        try:
            data = self.rfile.read(n)
        except (TimeoutError, OSError) as exc:
            raise BadRequest(408, "RequestTimeout", "the body did not arrive in time") from exc
        if len(data) < n:
            raise BadRequest(
                400, "IncompleteBody", f"the body ended after {len(data)} of {n} bytes"
            )
        return data

    def _readline(self) -> bytes:
        try:
            line = self.rfile.readline(1024)
        except (TimeoutError, OSError) as exc:
            raise BadRequest(408, "RequestTimeout", "the body did not arrive in time") from exc
        if not line:
            raise BadRequest(400, "IncompleteBody", "the chunked body ended early")
        return line

    def _reply(self, status: int, doc: dict[str, str], close: bool = False) -> None:
        payload = json.dumps(doc).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if getattr(self, "command", None) != "HEAD":
                self.wfile.write(payload)
        except OSError:
            self.close_connection = True  # the client has gone: nobody to answer

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the API logs itself
        pass


class ApiServer:
    def __init__(
        self,
        handler: Handler,
        port: int,
        host: str = "127.0.0.1",
        read_timeout: float = READ_TIMEOUT_S,
    ) -> None:
        adapter = type(
            "Adapter",
            (_Adapter,),
            {"lambda_handler": staticmethod(handler), "timeout": read_timeout},
        )
        self._server = ThreadingHTTPServer((host, port), adapter)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="api-http", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
