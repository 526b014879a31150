"""The one table from Keyhook errors to HTTP, and the one error body shape."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.responses import Response

from keyhook import errors

log = logging.getLogger("keyhook.api")

STATUS: dict[type[errors.KeyhookError], int] = {
    errors.InvalidArgument: 400,
    errors.FailedPrecondition: 400,
    errors.Unauthenticated: 401,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.AlreadyExists: 409,
    errors.Conflict: 409,
    errors.Internal: 500,
}


class PayloadTooLarge(errors.InvalidArgument):
    code = "resource_exhausted"


STATUS[PayloadTooLarge] = 413


def status_of(error: errors.KeyhookError) -> int:
    if isinstance(error, errors.TargetError):
        return error.status
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def from_validation(exc: ValidationError, prefix: str = "") -> errors.InvalidArgument:
    """A pydantic error list as one message naming every field and problem."""
    details: list[dict[str, Any]] = []
    for item in exc.errors(include_url=False):
        field = ".".join(str(part) for part in (prefix, *item["loc"]) if part != "")
        details.append({"field": field or "body", "problem": item["msg"]})
    message = "; ".join(f"{d['field']}: {d['problem']}" for d in details[:5])
    return errors.InvalidArgument(message or "the request is not valid", details=details)


def error_response(error: errors.KeyhookError) -> Response:
    status = status_of(error)
    body = {"code": error.code, "message": error.message, "details": error.details}
    headers = {"WWW-Authenticate": 'Bearer realm="keyhook"'} if status == 401 else None
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def unexpected_response(exc: BaseException) -> Response:
    log.exception("unexpected error", exc_info=exc)
    return error_response(errors.Internal("internal error; the server log has the details"))
