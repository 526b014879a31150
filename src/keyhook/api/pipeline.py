"""The interceptor chain around one operation (DESIGN.md §4):

parse → authenticate → authorize (the operation's permission, from the caller's
roles; an organization's administrator is kept to its organizations) → validate
(the message's shape) → request executions (the operation's field rules before
the first target and after each target's change) → handler (one transaction; its
command applies the same field rules, which answer alone when no target runs) →
response executions → answer. A target cannot redirect a call to another object
by rewriting the path's members (pinned in either URL form), nor change what the
operation pins (``Operation.pinned``: roles granted, credentials set). An
operation of the recovery set (``Operation.recovery``) skips both execution steps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from keyhook.actions.engine import ActionsEngine, CallContext
from keyhook.api.errors import PayloadTooLarge, error_response, from_validation, unexpected_response
from keyhook.api.registry import Operation
from keyhook.crypto.tokens import PAT_PREFIX
from keyhook.domain.caller import Caller
from keyhook.errors import (
    DeadlineExceeded,
    InvalidArgument,
    KeyhookError,
    Unauthenticated,
    field_error,
)
from keyhook.query.auth import Authenticator
from keyhook.query.authorize import Authorizer
from keyhook.services.api_tokens import ApiTokens
from keyhook.storage.database import Database

MAX_BODY = 1024 * 1024


def _reject_nul(message: dict[str, Any]) -> None:
    """NUL cannot be stored (PostgreSQL text and jsonb refuse it): a 400, not a 500.

    Iterative, so a deeply nested body cannot exhaust the interpreter's stack.
    """
    stack: list[tuple[object, str]] = [(message, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                where = path.replace("\x00", "\\u0000") or "body"
                raise field_error(where, "must not contain NUL characters (\\u0000)")
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                stack += [(key, child), (item, child)]
        elif isinstance(value, list):
            stack += [(item, f"{path}[{i}]") for i, item in enumerate(value)]


def validate(op: Operation, message: dict[str, Any]) -> BaseModel:
    """The message's shape."""
    _reject_nul(message)
    try:
        return op.request_model.model_validate(message)
    except ValidationError as exc:
        raise from_validation(exc, model=op.request_model) from exc


def checked(op: Operation, message: dict[str, Any]) -> BaseModel:
    """The message's shape and the operation's field rules."""
    model = validate(op, message)
    if op.check is not None:
        op.check(model)
    return model


async def read_message(request: Request) -> dict[str, Any]:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY:
        raise PayloadTooLarge(f"the body is larger than {MAX_BODY} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise PayloadTooLarge(f"the body is larger than {MAX_BODY} bytes")
    if not raw.strip():
        return {}
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidArgument(
            f"the body is not valid JSON: {exc}",
            details=[{"field": "body", "problem": "invalid JSON"}],
        ) from exc
    if not isinstance(message, dict):
        raise InvalidArgument(
            "the body must be a JSON object",
            details=[{"field": "body", "problem": "not an object"}],
        )
    _within_depth(message)
    return message


MAX_DEPTH = 32


def _within_depth(message: dict[str, Any]) -> None:
    """No message is nested deeper than :data:`MAX_DEPTH` levels: every parser after this
    one (proto3 JSON's, pydantic's, a search's SQL) then works within its stack.
    Iterative, so the check itself cannot run out of stack."""
    stack: list[tuple[object, int]] = [(message, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InvalidArgument(
                f"the body is nested deeper than {MAX_DEPTH} levels",
                details=[
                    {
                        "field": "body",
                        "problem": "nested too deeply",
                        "allowed": f"at most {MAX_DEPTH} levels",
                    }
                ],
            )
        if isinstance(value, dict):
            stack += [(item, depth + 1) for item in value.values()]
        elif isinstance(value, list):
            stack += [(item, depth + 1) for item in value]


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "missing or malformed Authorization header; "
            "send Authorization: Bearer <personal access token or OIDC access token>"
        )
    return token.strip()


def _subject(caller: Caller, *sources: tuple[dict[str, Any], str | None]) -> str:
    for source, key in sources:
        if key and isinstance(source.get(key), str):
            return str(source[key])
    return caller.user_id


T = TypeVar("T")


def _past_deadline() -> DeadlineExceeded:
    return DeadlineExceeded("the call did not finish within its deadline (Connect-Timeout-Ms)")


async def _within(deadline: float | None, waited: Awaitable[T]) -> T:
    """``waited``, cancelled at ``deadline`` (the event loop's clock)."""
    if deadline is None:
        return await waited
    try:
        async with asyncio.timeout_at(deadline):
            return await waited
    except TimeoutError:
        raise _past_deadline() from None


class Pipeline:
    def __init__(
        self, db: Database, engine: ActionsEngine, access_tokens: ApiTokens | None = None
    ) -> None:
        self.db = db
        self.engine = engine
        self.authenticator = Authenticator(db)
        self.access_tokens = access_tokens
        self.authorizer = Authorizer(db)

    async def authenticate(self, token: str) -> Caller:
        """A personal access token's user, or an OIDC access token's (JWT or opaque)."""
        if token.startswith(PAT_PREFIX) or self.access_tokens is None:
            return await self.authenticator.authenticate(token)
        return await self.access_tokens.authenticate(token)

    async def handle(self, op: Operation, request: Request) -> Response:
        try:
            return await self._handle(op, request)
        except KeyhookError as error:
            return error_response(error)
        except Exception as exc:  # the one place unexpected errors become a 500
            return unexpected_response(exc)

    async def _handle(self, op: Operation, request: Request) -> Response:
        caller = await self.admitted(op, bearer_token(request))
        message = await read_message(request)  # only a caller allowed the call gets here
        result = await self.run(
            op, caller, message, dict(request.path_params), request.headers.get("traceparent")
        )
        return Response(orjson.dumps(result), media_type="application/json")

    async def admitted(self, op: Operation, token: str) -> Caller:
        """Authenticate and authorize: the caller, allowed ``op``, or the error why not."""
        caller = await self.authenticate(token)
        return await self.authorizer.authorize(caller, op.permission, op.org_permission)

    async def call(
        self,
        op: Operation,
        token: str,
        message: dict[str, Any],
        path: dict[str, str] | None = None,
        trace: str | None = None,
    ) -> dict[str, Any]:
        """The whole chain for a caller inside this process (the console): the same steps
        as an HTTP call, the answer as a dict, errors raised as Keyhook errors."""
        caller = await self.admitted(op, token)
        return await self.run(op, caller, dict(message), dict(path or {}), trace)

    async def run(
        self,
        op: Operation,
        caller: Caller,
        message: dict[str, Any],
        path: dict[str, str],
        trace: str | None,
        deadline: float | None = None,
    ) -> dict[str, Any]:
        """From validation to the answer, for an admitted caller.

        ``deadline`` (the event loop's clock) bounds the waits for targets: past it the
        call ends with ``DeadlineExceeded``, before the handler (nothing is written) or
        after it (what it wrote stays; the response targets are not waited for). The
        handler itself is never cut off halfway, which could leave a write half done."""
        message.update(path)
        model = validate(op, message)
        # Targets see the message in its one canonical form (the seed's field names), whatever
        # form the caller used, e.g. ZITADEL's flat AddHumanUser.
        message = model.model_dump(by_alias=True, exclude_unset=True)
        ctx = CallContext(
            caller, op.full_method, _subject(caller, (message, op.subject_field)), trace
        )

        original = message

        def kept(changed: dict[str, Any]) -> dict[str, Any]:
            """A target's change with what it may not change as the caller sent it."""
            return op.keep(original, changed) | path

        def check(changed: dict[str, Any]) -> dict[str, Any]:
            model = checked(op, kept(changed))
            return model.model_dump(by_alias=True, exclude_unset=True)

        changed = (
            None
            if op.recovery
            else await _within(deadline, self.engine.run_request(ctx, message, check))
        )
        if deadline is not None and asyncio.get_running_loop().time() >= deadline:
            raise _past_deadline()
        if changed is not None:
            message = kept(changed)
            model = validate(op, message)
        result = await op.handler(caller, model)
        await self.engine.enqueue_deferred(ctx)
        if op.changes_actions:
            self.engine.catalog.invalidate()
        response_ctx = CallContext(
            caller,
            op.full_method,
            _subject(caller, (result, op.response_subject_field), (message, op.subject_field)),
            trace,
        )
        if not op.recovery:
            changed_result = await _within(
                deadline, self.engine.run_response(response_ctx, message, result)
            )
            if changed_result is not None:
                result = changed_result
        return result
