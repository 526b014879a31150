"""The console's **API reference** (``/ui/console/api``): the OpenAPI document the
server serves at ``/openapi.json`` rendered as a browsable page.

Rendered by the server, not by a script library: the console's CSP allows no inline
script, the page is read without script, and a screen reader gets plain headings,
lists and tables. Everything on it comes from :func:`keyhook.api.openapi.build_openapi`
over the same registry the API routes, so it cannot drift from what is served.

What does not depend on the person (the operations, their fields, the schemas) is
read from the document once; each operation's HTML is rendered once per "may call
it" answer and kept, so a page is a filter, one authorization per distinct
permission and a join. May touch the API layer's OpenAPI builder and registry
(through the console), nothing below.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import groupby
from typing import TYPE_CHECKING, Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from keyhook.api.openapi import build_openapi
from keyhook.console.session import COOKIE_PATH, ConsoleSession

if TYPE_CHECKING:
    from jinja2 import Environment

    from keyhook.console.app import Console, Page

SCHEMA_PREFIX = "#/components/schemas/"
NESTING = 4  # levels of nested objects shown inline under a field; deeper: the link
MAX_QUERY = 200  # characters of the filter that are read
PARTS = "reference_parts.html"


@dataclass(frozen=True)
class Segment:
    """A piece of a field's type: text, linked to a schema when ``ref`` names one."""

    text: str
    ref: str | None = None


@dataclass(frozen=True)
class FieldRow:
    path: str  # ``user.profile.givenName``; ``metadata[].key`` inside an array
    depth: int
    type: tuple[Segment, ...]
    required: bool
    details: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class HttpRoute:
    verb: str
    path: str
    rpc: bool  # the Connect/gRPC form, POST /<full method>
    parameters: tuple[str, ...]


@dataclass(frozen=True)
class Answer:
    status: str
    description: str
    type: tuple[Segment, ...]
    fields: tuple[FieldRow, ...]


@dataclass(frozen=True)
class Operation:
    full_method: str
    name: str
    service: str
    summary: str
    permission: str
    org_permission: str | None
    recovery: bool  # never wrapped by request or response executions
    routes: tuple[HttpRoute, ...]
    request: str | None  # the request message's schema name
    request_description: str
    fields: tuple[FieldRow, ...]
    answers: tuple[Answer, ...]
    schemas: frozenset[str]  # every schema it refers to, transitively
    anchor: str
    haystack: str  # what the filter searches, lower case

    def matches(self, words: Iterable[str]) -> bool:
        return all(word in self.haystack for word in words)


@dataclass(frozen=True)
class Schema:
    name: str
    anchor: str
    description: str
    type: tuple[Segment, ...]
    fields: tuple[FieldRow, ...]


@dataclass
class Reference:
    """The document read once: the operations by service, the schemas by name."""

    operations: list[Operation]
    schemas: dict[str, Schema]
    version: str
    _html: dict[tuple[str, bool], Markup] = field(default_factory=dict)
    _schema_html: dict[str, Markup] = field(default_factory=dict)

    def matching(self, query: str) -> list[Operation]:
        words = query.lower().split()
        return [op for op in self.operations if op.matches(words)]

    def operation_html(self, env: Environment, op: Operation, allowed: bool) -> Markup:
        key = (op.full_method, allowed)
        found = self._html.get(key)
        if found is None:
            found = self._html[key] = _macro(env, "operation")(op, allowed)
        return found

    def schema_html(self, env: Environment, name: str) -> Markup:
        found = self._schema_html.get(name)
        if found is None:
            found = self._schema_html[name] = _macro(env, "schema")(self.schemas[name])
        return found


def _macro(env: Environment, name: str) -> Callable[..., Markup]:
    """A macro of ``reference_parts.html``: called from here, it returns escaped HTML
    (the environment autoescapes), which the page template then inserts as it is."""
    macro: Callable[..., Markup] = getattr(env.get_template(PARTS).module, name)
    return macro


def schema_anchor(name: str) -> str:
    return f"schema-{name}"


def operation_anchor(full_method: str) -> str:
    """``zitadel.action.v2.ActionService.CreateTarget``: unique, and readable in a URL."""
    return full_method.strip("/").replace("/", ".")


def _ref_name(schema: Mapping[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return (
        ref[len(SCHEMA_PREFIX) :]
        if isinstance(ref, str) and ref.startswith(SCHEMA_PREFIX)
        else None
    )


def _without_null(schema: Mapping[str, Any]) -> tuple[Mapping[str, Any], bool]:
    """``X`` for ``anyOf: [X, null]`` (pydantic's optional member), and whether null was one."""
    choices = schema.get("anyOf")
    if isinstance(choices, list):
        rest = [c for c in choices if c.get("type") != "null"]
        if len(rest) == 1:
            merged = {k: v for k, v in schema.items() if k != "anyOf"}
            return {**rest[0], **merged}, len(rest) < len(choices)
    return schema, False


def _type(schema: Mapping[str, Any]) -> tuple[Segment, ...]:
    schema, nullable = _without_null(schema)
    name = _ref_name(schema)
    if name is not None:
        segments: tuple[Segment, ...] = (Segment(name, name),)
    elif "anyOf" in schema or "oneOf" in schema:
        parts: list[Segment] = []
        for i, choice in enumerate(schema.get("anyOf") or schema["oneOf"]):
            if i:
                parts.append(Segment(" or "))
            parts.extend(_type(choice))
        segments = tuple(parts)
    else:
        kind = schema.get("type", "any")
        if kind == "array":
            segments = (Segment("array of "), *_type(schema.get("items", {})))
        elif kind == "object" and isinstance(schema.get("additionalProperties"), dict):
            segments = (Segment("map of string to "), *_type(schema["additionalProperties"]))
        elif isinstance(kind, list):
            segments = (Segment(" or ".join(kind)),)
        else:
            fmt = schema.get("format")
            segments = (Segment(f"{kind} ({fmt})" if fmt else str(kind)),)
    return (*segments, Segment(" or null")) if nullable else segments


def _details(schema: Mapping[str, Any]) -> tuple[str, ...]:
    schema, _ = _without_null(schema)
    found = []
    if "enum" in schema:
        found.append("one of " + ", ".join(str(v) for v in schema["enum"]))
    if "const" in schema:
        found.append(f"always {schema['const']}")
    if "default" in schema and schema["default"] is not None:
        default = schema["default"]
        shown = (
            '""'
            if default == ""
            else str(default).lower()
            if isinstance(default, bool)
            else str(default)
        )
        found.append(f"default {shown}")
    if "minLength" in schema:
        found.append(f"at least {schema['minLength']} characters")
    if "maxLength" in schema:
        found.append(f"at most {schema['maxLength']} characters")
    if "pattern" in schema:
        found.append(f"matches {schema['pattern']}")
    if "minimum" in schema:
        found.append(f"≥ {schema['minimum']}")
    if "maximum" in schema:
        found.append(f"≤ {schema['maximum']}")
    if "minItems" in schema:
        found.append(f"at least {schema['minItems']} items")
    if "maxItems" in schema:
        found.append(f"at most {schema['maxItems']} items")
    return tuple(found)


def _inner_object(schema: Mapping[str, Any]) -> tuple[str | None, str]:
    """The schema name of a member that is an object (or an array of them), and the
    path suffix its members get (``.`` or ``[].``)."""
    schema, _ = _without_null(schema)
    if schema.get("type") == "array":
        return _ref_name(_without_null(schema.get("items", {}))[0]), "[]."
    return _ref_name(schema), "."


def _fields(
    schema: Mapping[str, Any],
    schemas: Mapping[str, Any],
    *,
    prefix: str = "",
    depth: int = 0,
    nesting: int = NESTING,
    seen: frozenset[str] = frozenset(),
) -> list[FieldRow]:
    rows = []
    required = set(schema.get("required", ()))
    for member, sub in schema.get("properties", {}).items():
        plain, _ = _without_null(sub)
        rows.append(
            FieldRow(
                path=prefix + member,
                depth=depth,
                type=_type(sub),
                required=member in required,
                details=_details(sub),
                description=str(plain.get("description", "")),
            )
        )
        inner, suffix = _inner_object(sub)
        # A schema that contains itself is shown once, then by its link.
        if inner is not None and inner in schemas and inner not in seen and depth + 1 < nesting:
            rows += _fields(
                schemas[inner],
                schemas,
                prefix=prefix + member + suffix,
                depth=depth + 1,
                nesting=nesting,
                seen=seen | {inner},
            )
    return rows


def _refs(schema: Any, schemas: Mapping[str, Any], into: set[str]) -> set[str]:
    """Every schema ``schema`` refers to, transitively."""
    if isinstance(schema, dict):
        name = _ref_name(schema)
        if name is not None and name not in into:
            into.add(name)
            _refs(schemas.get(name, {}), schemas, into)
        for value in schema.values():
            _refs(value, schemas, into)
    elif isinstance(schema, list):
        for value in schema:
            _refs(value, schemas, into)
    return into


def _answers(operation: Mapping[str, Any], schemas: Mapping[str, Any]) -> tuple[Answer, ...]:
    found = []
    for status, answer in operation.get("responses", {}).items():
        schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
        name = _ref_name(schema)
        body = schemas.get(name, {}) if name else schema
        found.append(
            Answer(
                status=status,
                description=str(answer.get("description", "")),
                type=_type(schema),
                fields=tuple(_fields(body, schemas, nesting=1)),
            )
        )
    return tuple(found)


def read_document(document: Mapping[str, Any]) -> Reference:
    """The page's model of an OpenAPI document as :func:`build_openapi` writes it: an
    operation is every path entry with the same ``x-full-method``."""
    schemas: Mapping[str, Any] = document.get("components", {}).get("schemas", {})
    entries: dict[str, list[tuple[str, str, Mapping[str, Any]]]] = {}
    for path, verbs in document["paths"].items():
        for verb, operation in verbs.items():
            entries.setdefault(operation["x-full-method"], []).append(
                (verb.upper(), path, operation)
            )
    operations = []
    for full_method, routes in entries.items():
        rpc = [r for r in routes if r[1] == full_method]
        rest = [r for r in routes if r[1] != full_method]
        first = (rpc or routes)[0][2]
        body = first.get("requestBody", {}).get("content", {}).get("application/json", {})
        request = _ref_name(body.get("schema", {}))
        request_schema = schemas.get(request, {}) if request else {}
        service = first["tags"][0]
        name = full_method.rsplit("/", 1)[1]
        shown_routes = tuple(
            HttpRoute(
                verb,
                path,
                path == full_method,
                tuple(p["name"] for p in operation.get("parameters", ()) if p.get("in") == "path"),
            )
            for verb, path, operation in (*rest, *rpc)
        )
        referred = _refs(first, schemas, set())
        haystack = " ".join(
            [
                full_method,
                *(f"{r.verb} {r.path}" for r in shown_routes),
                first.get("x-permission") or "",
                first.get("x-org-permission") or "",
                first.get("summary", ""),
            ]
        )
        operations.append(
            Operation(
                full_method=full_method,
                name=name,
                service=service,
                summary=str(first.get("summary", "")),
                permission=str(first.get("x-permission") or ""),
                org_permission=first.get("x-org-permission"),
                recovery=bool(first.get("x-recovery")),
                routes=shown_routes,
                request=request,
                request_description=str(request_schema.get("description", "")),
                fields=tuple(_fields(request_schema, schemas)),
                answers=_answers(first, schemas),
                schemas=frozenset(referred),
                anchor=operation_anchor(full_method),
                haystack=haystack.lower(),
            )
        )
    operations.sort(key=lambda op: (op.service, op.name))
    return Reference(
        operations=operations,
        schemas={
            name: Schema(
                name=name,
                anchor=schema_anchor(name),
                description=str(schema.get("description", "")),
                type=_type(schema) if "properties" not in schema else (Segment("object"),),
                fields=tuple(_fields(schema, schemas, nesting=1)),
            )
            for name, schema in sorted(schemas.items())
        },
        version=str(document.get("info", {}).get("version", "")),
    )


_SPACE = re.compile(r"\s+")


def render_body(
    reference: Reference, env: Environment, allowed: frozenset[str], query: str
) -> Markup:
    """The page's content for a person who may call ``allowed`` (full methods), with
    the operations that match ``query``: the index, the operations, their schemas."""
    query = _SPACE.sub(" ", query[:MAX_QUERY]).strip()
    shown = reference.matching(query)
    by_service = [(s, list(ops)) for s, ops in groupby(shown, key=lambda op: op.service)]
    needed = set().union(*(op.schemas for op in shown)) if shown else set()
    service = _macro(env, "service")
    return _macro(env, "page")(
        query=query,
        total=len(reference.operations),
        shown=len(shown),
        services=by_service,
        allowed_count=sum(op.full_method in allowed for op in shown),
        version=reference.version,
        operations=Markup("").join(
            service(
                name,
                Markup("").join(
                    reference.operation_html(env, op, op.full_method in allowed) for op in ops
                ),
            )
            for name, ops in by_service
        ),
        schemas=Markup("").join(
            reference.schema_html(env, name) for name in reference.schemas if name in needed
        ),
    )


def api_reference(console: Console) -> Page:
    reference = read_document(build_openapi(console.registry))

    async def show(request: Request, session: ConsoleSession, sealed: str) -> Response:
        allowed = await console.allowed_methods(
            session, (op.full_method for op in reference.operations)
        )
        return console.render(
            "reference.html",
            session,
            sealed,
            active="api",
            body=render_body(
                reference, console.templates, allowed, request.query_params.get("q", "")
            ),
        )

    return show


def routes(console: Console) -> list[BaseRoute]:
    return [Route(f"{COOKIE_PATH}/api", console.page(api_reference(console)), methods=["GET"])]
