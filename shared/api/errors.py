"""API errors: each carries its HTTP status and a stable code; the handler maps them in one place."""

from __future__ import annotations

from shared.domain.errors import LoaderError


class ApiError(LoaderError):
    status = 400
    code = "BadRequest"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class BadRequestError(ApiError):
    status, code = 400, "BadRequest"


class NotFoundError(ApiError):
    status, code = 404, "NotFound"


class ConflictError(ApiError):
    status, code = 409, "Conflict"
