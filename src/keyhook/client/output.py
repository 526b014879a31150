"""What a command prints: a plain-text table on a terminal, JSON when piped.

``--output table|json`` chooses; without it, standard output being a terminal
decides. Tables show a list answer's rows with their scalar members (nested
objects as compact JSON, long cells cut); ``json`` prints the server's answer
as it came. It touches standard output only.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

TABLE = "table"
JSON = "json"
_MAX_CELL = 40
_MAX_COLUMNS = 7
# Not in tables, which are for looking over many rows (and shoulders): the key is in
# `get`'s answer and in -o json. Dates go last: the row's own members come first.
_NOT_IN_TABLES = frozenset({"signingKey", "previousSigningKeys", "headers"})
_LAST = ("creationDate", "changeDate")


def chosen(given: str | None) -> str:
    if given:
        return given
    return TABLE if sys.stdout.isatty() else JSON


def rows_of(answer: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The rows of a list answer (its one member that is a list of objects)."""
    lists = [v for k, v in answer.items() if isinstance(v, list) and k != "details"]
    if len(lists) == 1 and all(isinstance(row, dict) for row in lists[0]):
        return lists[0]
    return None


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


def table(rows: list[dict[str, Any]]) -> str:
    """``rows`` as aligned columns: the members of the first rows, in order."""
    columns: list[str] = []
    for row in rows:
        for key in row:
            if key not in columns and key not in _NOT_IN_TABLES:
                columns.append(key)
    columns = [c for c in columns if c not in _LAST] + [c for c in _LAST if c in columns]
    columns = columns[:_MAX_COLUMNS]
    cells = [[c.upper() for c in columns]]
    cells += [[_cell(row.get(c, "")) if c in row else "" for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    )


def pairs(answer: dict[str, Any], indent: str = "") -> str:
    """One object as ``key: value`` lines, nested objects indented."""
    lines = []
    for key, value in answer.items():
        if isinstance(value, dict) and value:
            lines.append(f"{indent}{key}:")
            lines.append(pairs(value, indent + "  "))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            lines.append(f"{indent}{key}:")
            lines += [f"{indent}  - {json.dumps(v, ensure_ascii=False)}" for v in value]
        else:
            lines.append(f"{indent}{key}: {_cell(value) if not isinstance(value, str) else value}")
    return "\n".join(lines)


def show(answer: dict[str, Any], output: str | None) -> None:
    if chosen(output) == JSON:
        click.echo(json.dumps(answer, indent=2, ensure_ascii=False))
        return
    rows = rows_of(answer)
    if rows is None:
        click.echo(pairs(answer) if answer else "ok")
    elif rows:
        click.echo(table(rows))
    else:
        click.echo("(none)")
