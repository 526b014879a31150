"""The Connect protocol's unary JSON form: ``POST /<full method>``.

What a Connect client (ZITADEL's, generated from its published definitions)
needs of the route beside the REST one, in this one place:

- the request: ``Content-Type: application/json`` (or none); binary protobuf, gRPC
  and gRPC-Web are ``415`` naming what Keyhook speaks; ``Connect-Protocol-Version``
  ``1`` if sent; ``Connect-Timeout-Ms`` the call's deadline, which bounds the waits
  for targets (never the operation halfway, :meth:`Pipeline.run`), past which the
  answer is ``deadline_exceeded``;
- the message: for a method ZITADEL's definitions have, proto3 JSON in and out
  (:mod:`keyhook.api.protojson`); for Keyhook's own methods, Keyhook's JSON;
- errors: Connect's error JSON, ``{"code", "message", "details"}``, with Connect's
  code names and HTTP statuses (:data:`CONNECT_STATUS`). Each of Keyhook's details
  (``{"field", "problem", "allowed"}`` …) is one Connect detail: a
  ``google.protobuf.Struct`` holding it (``value``, base64 protobuf, which
  Connect clients decode) and the same object as ``debug``.
"""

from __future__ import annotations

import asyncio
import base64
import re
import struct
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from keyhook import errors
from keyhook.api.errors import log_unexpected, status_of
from keyhook.api.pipeline import Pipeline, bearer_token, read_message
from keyhook.api.protojson import Schema
from keyhook.api.registry import Operation

# Connect's code -> HTTP status (connectrpc.com/docs/protocol#error-codes).
CONNECT_STATUS = {
    "canceled": 499,
    "unknown": 500,
    "invalid_argument": 400,
    "deadline_exceeded": 504,
    "not_found": 404,
    "already_exists": 409,
    "permission_denied": 403,
    "resource_exhausted": 429,
    "failed_precondition": 400,
    "aborted": 409,
    "out_of_range": 400,
    "unimplemented": 501,
    "internal": 500,
    "unavailable": 503,
    "data_loss": 500,
    "unauthenticated": 401,
}

# A failing target's HTTP status -> the Connect code its caller gets (ZITADEL maps a
# forwarded status the same way); any other 4xx is failed_precondition.
_TARGET_CODES = {
    400: "invalid_argument",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    409: "already_exists",
    412: "failed_precondition",
    422: "invalid_argument",
    429: "resource_exhausted",
    502: "unavailable",
    503: "unavailable",
    504: "deadline_exceeded",
}

ACCEPTS = "application/json"
LEFT_OUT = "Keyhook-Left-Out"
_TIMEOUT = re.compile(r"[0-9]{1,10}")
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_FULL_METHOD = re.compile(rf"/{_NAME}(\.{_NAME})+/{_NAME}")


class Unimplemented(errors.KeyhookError):
    code = "unimplemented"


def connect_code(error: errors.KeyhookError) -> str:
    if isinstance(error, errors.TargetError):
        if error.status in _TARGET_CODES:
            return _TARGET_CODES[error.status]
        return "failed_precondition" if 400 <= error.status < 500 else "unavailable"
    if isinstance(error, errors.OAuthError):
        return "unauthenticated" if error.status == 401 else "invalid_argument"
    if error.code in CONNECT_STATUS:
        return error.code
    return "unknown" if status_of(error) >= 500 else "invalid_argument"


def connect_error(
    error: errors.KeyhookError, *, status: int | None = None, headers: dict[str, str] | None = None
) -> Response:
    code = connect_code(error)
    details = list(error.details)
    if isinstance(error, errors.TargetError):
        details.append({"targetId": error.target_id, "targetStatus": error.status})
    body = {
        "code": code,
        "message": error.message,
        "details": [
            {"type": "google.protobuf.Struct", "value": _struct_b64(d), "debug": d} for d in details
        ],
    }
    extra = dict(headers or {})
    if code == "unauthenticated":
        extra.setdefault("WWW-Authenticate", 'Bearer realm="keyhook"')
    if isinstance(error, errors.TooManyAttempts):
        extra["Retry-After"] = str(error.retry_after)
    return Response(
        orjson.dumps(body),
        status_code=status or CONNECT_STATUS[code],
        media_type="application/json",
        headers=extra or None,
    )


def unimplemented(path: str) -> Response:
    """A ``POST /<package>.<Service>/<Method>`` Keyhook does not serve."""
    return connect_error(
        Unimplemented(
            f"{path} is not served by Keyhook; docs/api.md lists every ZITADEL method and "
            "whether it is served (GET /v2/actions/executions/methods lists Keyhook's)"
        )
    )


def looks_like_full_method(path: str) -> bool:
    return _FULL_METHOD.fullmatch(path) is not None


class ConnectEndpoint:
    """``POST /<full method>`` for one operation."""

    def __init__(self, pipeline: Pipeline, op: Operation, schema: Schema) -> None:
        self.pipeline = pipeline
        self.op = op
        self.schema = schema if schema.has(op.full_method) else None

    async def respond(self, request: Request) -> Response:
        try:
            return await self._handle(request)
        except errors.KeyhookError as error:
            return connect_error(error)
        except Exception as exc:  # the one place unexpected errors become a 500 here
            log_unexpected(exc)
            return connect_error(errors.Internal("internal error; the server log has the details"))

    async def _handle(self, request: Request) -> Response:
        refused = _unsupported(request)
        if refused is not None:
            return refused
        timeout = _deadline(request.headers.get("connect-timeout-ms"))
        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        caller = await self.pipeline.admitted(self.op, bearer_token(request))
        message = await read_message(request)
        if self.schema is not None:
            message = self.schema.incoming(self.op.full_method, message)
        if self.op.connect_message is not None:
            message = self.op.connect_message(message)
        result = await self.pipeline.run(
            self.op, caller, message, {}, request.headers.get("traceparent"), deadline
        )
        headers = None
        if self.schema is not None:
            result, left_out = self.schema.written(self.op.full_method, result)
            if left_out:
                # What Keyhook's answer had that the proto message has not (its
                # additions, which the REST form keeps): visible, not silently gone.
                headers = {LEFT_OUT: ", ".join(left_out[:50])}
        return Response(orjson.dumps(result), media_type="application/json", headers=headers)


def _unsupported(request: Request) -> Response | None:
    version = request.headers.get("connect-protocol-version")
    if version is not None and version.strip() != "1":
        return connect_error(
            errors.field_error(
                "Connect-Protocol-Version", f"{version!r} is not a version Keyhook speaks", "1"
            )
        )
    content_type = request.headers.get("content-type")
    media = (content_type or ACCEPTS).split(";", 1)[0].strip().lower()
    if media != ACCEPTS:
        return connect_error(
            Unimplemented(
                f"Content-Type {media!r} is not served: Keyhook speaks the Connect protocol's "
                f"unary JSON form only (Content-Type: {ACCEPTS}); binary protobuf, gRPC and "
                "gRPC-Web are not served",
                details=[{"field": "Content-Type", "problem": "not served", "allowed": ACCEPTS}],
            ),
            status=415,
            headers={"Accept-Post": ACCEPTS},
        )
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding != "identity":
        return connect_error(
            Unimplemented(
                f"Content-Encoding {encoding!r} is not served; send the body uncompressed",
                details=[
                    {"field": "Content-Encoding", "problem": "not served", "allowed": "identity"}
                ],
            )
        )
    return None


def _deadline(header: str | None) -> float | None:
    if header is None:
        return None
    if not _TIMEOUT.fullmatch(header.strip()):
        raise errors.field_error(
            "Connect-Timeout-Ms",
            f"{header!r} is not a timeout",
            "a positive whole number of milliseconds, at most 10 digits",
        )
    return int(header.strip()) / 1000


# --- google.protobuf.Struct in protobuf's binary form ---------------------------------


def _struct_b64(value: dict[str, Any]) -> str:
    return base64.b64encode(_struct(value)).decode()


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        byte = number & 0x7F
        number >>= 7
        if number:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _len(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _struct(value: dict[str, Any]) -> bytes:
    # Struct { map<string, Value> fields = 1 }: one entry message per member.
    return b"".join(
        _len(1, _len(1, str(key).encode()) + _len(2, _value(item))) for key, item in value.items()
    )


def _value(item: Any) -> bytes:
    if item is None:
        return _varint(1 << 3 | 0) + _varint(0)
    if isinstance(item, bool):
        return _varint(4 << 3 | 0) + _varint(int(item))
    if isinstance(item, int | float):
        return _varint(2 << 3 | 1) + struct.pack("<d", float(item))
    if isinstance(item, str):
        return _len(3, item.encode())
    if isinstance(item, dict):
        return _len(5, _struct(item))
    if isinstance(item, list | tuple):
        return _len(6, b"".join(_len(1, _value(v)) for v in item))
    return _len(3, str(item).encode())
