"""An HTTP server that hands each request to the API Lambda as an API Gateway REST proxy event."""

from __future__ import annotations

import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from loader.local.emulator import EmulatedContext, Handler


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


class ApiServer:
    def __init__(self, handler: Handler, port: int, host: str = "127.0.0.1") -> None:
        lambda_handler = handler

        class Adapter(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                event = proxy_event(self.command, self.path, dict(self.headers.items()), body)
                result = lambda_handler(event, EmulatedContext("loader-api", 29))
                payload = (result.get("body") or "").encode()
                self.send_response(int(result.get("statusCode", 500)))
                for key, value in (result.get("headers") or {}).items():
                    self.send_header(key, str(value))
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

            def log_message(self, format: str, *args: Any) -> None:  # quiet: the API logs itself
                pass

        self._server = ThreadingHTTPServer((host, port), Adapter)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="api-http", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
