"""API Lambda (API Gateway REST, IAM-authorized when deployed): routes -> JobsApi; errors mapped once."""

from __future__ import annotations

import re
from typing import Any

import orjson
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFound
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.errors import ApiError, BadRequestError
from shared.api.wiring import jobs_api
from shared.functions.observability import logger, tracer

app = APIGatewayRestResolver()


def _error(status: int, code: str, message: str) -> Response[str]:
    body = orjson.dumps({"error": code, "message": message}).decode()
    return Response(status_code=status, content_type="application/json", body=body)


@app.exception_handler(ApiError)
def api_error(exc: ApiError) -> Response[str]:
    return _error(exc.status, exc.code, exc.message)


# Each route's path and the methods it takes, for a 405 that names them.
_ROUTES = (
    (re.compile(r"/jobs/?"), "GET"),
    (re.compile(r"/jobs/[^/]+/?"), "GET"),
    (re.compile(r"/jobs/[^/]+/records/?"), "GET"),
    (re.compile(r"/jobs/[^/]+/retry/?"), "POST"),
)


@app.not_found
def no_route(exc: RouteNotFound) -> Response[str]:
    method, path = app.current_event.http_method, app.current_event.path
    allowed = [m for pattern, m in _ROUTES if pattern.fullmatch(path)]
    if allowed:
        response = _error(
            405, "MethodNotAllowed", f"{path} takes {', '.join(allowed)}, not {method}"
        )
        response.headers["Allow"] = ", ".join(allowed)
        return response
    return _error(404, "NoSuchRoute", f"no route for {method} {path}")


@app.exception_handler(Exception)
def unexpected(exc: Exception) -> Response[str]:
    logger.exception("unexpected error")
    return _error(500, "InternalError", "the request could not be completed; see the API's logs")


def _query(name: str) -> str | None:
    return app.current_event.get_query_string_value(name)


@app.get("/jobs")
def list_jobs() -> dict[str, Any]:
    page = jobs_api().list_jobs(
        _query("key"),
        _query("limit"),
        _query("next_token"),
        _query("key_prefix"),
        _query("id_prefix"),
    )
    return {"jobs": page.items, "next_token": page.next_token}


@app.get("/jobs/<job_id>")
def get_job(job_id: str) -> dict[str, Any]:
    return jobs_api().get_job(job_id)


@app.get("/jobs/<job_id>/records")
def list_records(job_id: str) -> dict[str, Any]:
    page = jobs_api().list_records(job_id, _query("status"), _query("limit"), _query("next_token"))
    return {"records": page.items, "next_token": page.next_token}


@app.post("/jobs/<job_id>/retry")
def retry(job_id: str) -> Response[str]:
    raw = app.current_event.decoded_body
    try:
        body = orjson.loads(raw) if raw and raw.strip() else None
    except orjson.JSONDecodeError as exc:
        raise BadRequestError(f"the body is not JSON: {exc}", "InvalidBody") from exc
    result = jobs_api().request_retry(job_id, body)
    return Response(
        status_code=202, content_type="application/json", body=orjson.dumps(result).decode()
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
