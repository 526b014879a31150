"""The receiver library's typed event data (``receiver/src/keyhook_receiver/events.py``),
generated from the event catalog (:mod:`keyhook.domain.events`) by ``keyhook
receiver-events``, so the library's types and docs/events.md come from one table.

A pure function from the catalog to Python source; no I/O.
"""

from __future__ import annotations

import re
import textwrap

from keyhook.domain.events import EVENT_TYPES

_HEADER = '''"""Typed ``eventData`` of every Keyhook event type, one frozen dataclass each.

Generated from Keyhook's event catalog by ``keyhook receiver-events``; do not edit by
hand (a test checks it is current). Members are the catalog's, in snake_case, each
holding the JSON value as sent (``None`` when a delivery lacks it); ``raw`` keeps the
whole object, for members newer than this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class EventData:
    """The ``eventData`` of an event type this module does not know: ``raw`` only."""

    raw: Mapping[str, Any] = field(default_factory=dict)
'''


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _class_name(event_type: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[._]", event_type)) + "Data"


def _docstring(text: str, indent: str = "    ") -> list[str]:
    """A docstring of ``text`` wrapped to the project's line length."""
    lines = textwrap.wrap(text, width=100 - len(indent) - 6)  # room for the quotes
    if len(lines) == 1:
        return [f'{indent}"""{lines[0]}"""']
    return [f'{indent}"""{lines[0]}', *(indent + line for line in lines[1:]), f'{indent}"""']


def receiver_events_python() -> str:
    """The source of ``keyhook_receiver/events.py``."""
    out = [_HEADER.rstrip("\n")]
    names = []
    for event in sorted(EVENT_TYPES.values(), key=lambda e: e.name):
        cls = _class_name(event.name)
        names.append((event.name, cls))
        out += ["", "", "@dataclass(frozen=True)", f"class {cls}(EventData):"]
        out += _docstring(f"``{event.name}``: {event.description}")
        for member, meaning in event.data_fields.items():
            out += [
                "",
                f"    {_snake(member)}: Any = None",
                *_docstring(f"``{member}``: {meaning}"),
            ]
    out += ["", "", "#: Each event type's data class, by the type's name."]
    out.append("EVENT_DATA: dict[str, type[EventData]] = {")
    out += [f'    "{name}": {cls},' for name, cls in names]
    out += ["}", "", "#: The catalog's member names (camelCase, as sent) of each data class."]
    out.append("MEMBERS: dict[str, dict[str, str]] = {")
    for event in sorted(EVENT_TYPES.values(), key=lambda e: e.name):
        if not event.data_fields:
            out.append(f'    "{event.name}": {{}},')
            continue
        out.append(f'    "{event.name}": {{')
        out += [f'        "{m}": "{_snake(m)}",' for m in event.data_fields]
        out.append("    },")
    out += [
        "}",
        "",
        "",
        "def event_data(event_type: str, data: Mapping[str, Any]) -> EventData:",
        '    """``data`` as its type\'s class (an :class:`EventData` for a type not known)."""',
        "    cls = EVENT_DATA.get(event_type)",
        "    if cls is None:",
        "        return EventData(raw=data)",
        "    members = MEMBERS[event_type]",
        "    values = {attr: data.get(name) for name, attr in members.items()}",
        "    return cls(raw=data, **values)",
    ]
    return "\n".join(out) + "\n"
