"""The one table from Keyhook errors to HTTP, and the one error body shape."""

from __future__ import annotations

import logging
from typing import Any, get_args

import orjson
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from keyhook import errors
from keyhook.api.messages import ID_PATTERN, shown

log = logging.getLogger("keyhook.api")

STATUS: dict[type[errors.KeyhookError], int] = {
    errors.InvalidArgument: 400,
    errors.FailedPrecondition: 400,
    errors.Unauthenticated: 401,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.AlreadyExists: 409,
    errors.Conflict: 409,
    errors.TooManyAttempts: 429,
    errors.Internal: 500,
    errors.DeadlineExceeded: 504,
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


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The message class inside a field's type (``X``, ``X | None``, ``list[X]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _known_fields(model: type[BaseModel] | None, loc: tuple[int | str, ...]) -> str | None:
    """The wire names of the fields of the message that holds ``loc``'s last part."""
    for part in loc[:-1]:
        if model is None:
            return None
        if isinstance(part, int):
            continue  # a list index: the same item type
        by_wire = {(f.alias or name): f for name, f in model.model_fields.items()}
        field = by_wire.get(part) or model.model_fields.get(part)
        model = None if field is None else _model_in(field.annotation)
    if model is None:
        return None
    return ", ".join(f.alias or name for name, f in model.model_fields.items())


def from_validation(
    exc: ValidationError, prefix: str = "", model: type[BaseModel] | None = None
) -> errors.InvalidArgument:
    """A pydantic error list as one message naming every field and problem.

    An unknown field (``extra="forbid"``) is reported with the fields that
    message does have, when ``model`` is given.
    """
    details: list[dict[str, Any]] = []
    for item in exc.errors(include_url=False):
        field = ".".join(str(part) for part in (prefix, *item["loc"]) if part != "")
        detail: dict[str, Any] = {"field": field or "body", "problem": _problem(item)}
        if item["type"] == "extra_forbidden":
            detail["problem"] = "is not a field of this message"
            allowed = _known_fields(model, tuple(item["loc"]))
            if allowed:
                detail["allowed"] = allowed
        details.append(detail)
    message = "; ".join(
        f"{d['field']}: {d['problem']}" + (f" (allowed: {d['allowed']})" if "allowed" in d else "")
        for d in details[:5]
    )
    return errors.InvalidArgument(message or "the request is not valid", details=details)


def _problem(item: Any) -> str:
    """Pydantic's message for one error, in Keyhook's words where they say more: what
    is wrong and what is allowed."""
    kind, given = item["type"], item.get("input")
    if kind == "missing":
        return "is required"
    if kind == "string_type":
        return f"must be a JSON string, not {shown(given)}"
    if kind == "timezone_aware":
        return 'must be an RFC 3339 time with its offset, such as "2026-01-01T00:00:00Z"'
    if kind in ("datetime_from_date_parsing", "datetime_parsing", "datetime_type"):
        return f'must be an RFC 3339 time such as "2026-01-01T00:00:00Z", not {shown(given)}'
    if kind == "string_pattern_mismatch" and item.get("ctx", {}).get("pattern") == ID_PATTERN:
        return f"must be an id (1 to 19 ASCII digits), not {shown(given)}"
    return str(item["msg"])


def error_response(error: errors.KeyhookError) -> Response:
    status = status_of(error)
    body = {"code": error.code, "message": error.message, "details": error.details}
    headers = {"WWW-Authenticate": 'Bearer realm="keyhook"'} if status == 401 else None
    if isinstance(error, errors.TooManyAttempts):
        headers = {"Retry-After": str(error.retry_after)}
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def log_unexpected(exc: BaseException) -> None:
    log.exception("unexpected error", exc_info=exc)


def unexpected_response(exc: BaseException) -> Response:
    log_unexpected(exc)
    return error_response(errors.Internal("internal error; the server log has the details"))
