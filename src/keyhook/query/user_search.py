"""ListUsers' search queries (ZITADEL's ``SearchQuery``) as one SQL condition.

A query is a tree: :class:`Text` (a column against text, by a TextQueryMethod),
:class:`Equals`, :class:`OneOf`, and :class:`All` / :class:`AnyOf` / :class:`Not` of
others. Every method means the same on SQLite and PostgreSQL: the case-sensitive
ones compare characters (``substr``, ``replace``) rather than trusting ``LIKE``, which
ignores case on SQLite; the ``…_IGNORE_CASE`` ones compare ``lower()`` of both sides
(ASCII only on SQLite).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count
from typing import Any

# Search members → ``users`` columns (a login name is the user name in Keyhook).
COLUMNS = {
    "userName": "user_name",
    "firstName": "given_name",
    "lastName": "family_name",
    "nickName": "nick_name",
    "displayName": "display_name",
    "email": "email",
    "loginName": "user_name",
    "phone": "phone",
    "state": "state",
    "kind": "kind",
    "id": "id",
    "org": "org_id",
}
SORTING = {
    "USER_FIELD_NAME_UNSPECIFIED": "id",
    "USER_FIELD_NAME_USER_NAME": "user_name",
    "USER_FIELD_NAME_FIRST_NAME": "given_name",
    "USER_FIELD_NAME_LAST_NAME": "family_name",
    "USER_FIELD_NAME_NICK_NAME": "nick_name",
    "USER_FIELD_NAME_DISPLAY_NAME": "display_name",
    "USER_FIELD_NAME_EMAIL": "email",
    "USER_FIELD_NAME_STATE": "state",
    "USER_FIELD_NAME_TYPE": "kind",
    "USER_FIELD_NAME_CREATION_DATE": "created_at",
}


@dataclass(frozen=True)
class Text:
    member: str
    value: str
    method: str = "TEXT_QUERY_METHOD_EQUALS"


@dataclass(frozen=True)
class Equals:
    member: str
    value: str


@dataclass(frozen=True)
class OneOf:
    member: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class All:
    queries: tuple[Query, ...]


@dataclass(frozen=True)
class AnyOf:
    queries: tuple[Query, ...]


@dataclass(frozen=True)
class Not:
    query: Query


Query = Text | Equals | OneOf | All | AnyOf | Not


@dataclass
class Condition:
    """SQL text and its parameters, named ``q0``, ``q1``, …"""

    params: dict[str, Any] = field(default_factory=dict)
    _names: count[int] = field(default_factory=count)

    def param(self, value: Any) -> str:
        name = f"q{next(self._names)}"
        self.params[name] = value
        return f":{name}"

    def sql(self, query: Query) -> str:
        if isinstance(query, Text):
            return self._text(query)
        if isinstance(query, Equals):
            return f"{COLUMNS[query.member]} = {self.param(query.value)}"
        if isinstance(query, OneOf):
            if not query.values:
                return "1 = 0"
            return f"{COLUMNS[query.member]} IN ({self.param(list(query.values))})"
        if isinstance(query, Not):
            return f"NOT ({self.sql(query.query)})"
        parts = [f"({self.sql(q)})" for q in query.queries]
        if not parts:
            return "1 = 1" if isinstance(query, All) else "1 = 0"
        return (" AND " if isinstance(query, All) else " OR ").join(parts)

    def _text(self, query: Text) -> str:
        column, value, method = COLUMNS[query.member], query.value, query.method
        if method.endswith("_IGNORE_CASE"):
            column, value = f"lower({column})", value.lower()
            method = method.removesuffix("_IGNORE_CASE")
        test = method.removeprefix("TEXT_QUERY_METHOD_")
        if test == "EQUALS":
            return f"{column} = {self.param(value)}"
        if not value:
            return "1 = 1"  # every text starts with, ends with and contains ""
        v, n = self.param(value), self.param(len(value))
        if test == "STARTS_WITH":
            return f"substr({column}, 1, {n}) = {v}"
        if test == "ENDS_WITH":
            return f"length({column}) >= {n} AND substr({column}, length({column}) - {n} + 1) = {v}"
        return f"replace({column}, {v}, '') <> {column}"  # CONTAINS


def where(query: Query) -> tuple[str, dict[str, Any]]:
    """The condition of ``query`` and its parameters."""
    condition = Condition()
    return condition.sql(query), condition.params
