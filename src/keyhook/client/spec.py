"""The operations the server serves, read from the generated ``operations.json``.

Data only (``keyhook operations-spec`` writes the file from the registry); this
module gives it types. It touches nothing but that file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SPEC_FILE = Path(__file__).with_name("operations.json")


@dataclass(frozen=True)
class Field:
    name: str  # the wire name (lowerCamelCase)
    type: str  # a JSON type: string, integer, boolean, number, array, object, any
    required: bool
    choices: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class Operation:
    full_method: str
    routes: tuple[tuple[str, str], ...]
    path_fields: tuple[str, ...]
    permission: str
    summary: str
    fields: tuple[Field, ...]

    @property
    def name(self) -> str:
        return self.full_method.rsplit("/", 1)[1]

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


def _operation(full_method: str, raw: dict[str, Any]) -> Operation:
    return Operation(
        full_method=full_method,
        routes=tuple((verb, path) for verb, path in raw["routes"]),
        path_fields=tuple(raw["pathFields"]),
        permission=raw["permission"],
        summary=raw["summary"],
        fields=tuple(
            Field(f["name"], f["type"], f["required"], tuple(f["choices"]), f["description"])
            for f in raw["fields"]
        ),
    )


@cache
def operations() -> dict[str, Operation]:
    """Every operation by its short name (``CreateTarget``). A name served in two
    versions is the first in full-method order: ``zitadel.action.v2.ActionService``'s
    before its beta twin's (``v2.`` sorts before ``v2beta.``), Keyhook's fuller form."""
    raw = json.loads(SPEC_FILE.read_text())
    found: dict[str, Operation] = {}
    for method in sorted(raw):
        op = _operation(method, raw[method])
        found.setdefault(op.name, op)
    return found


def operation(name: str) -> Operation:
    return operations()[name]
