"""proto3 JSON in and out of the Connect form, by ZITADEL's published definitions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from keyhook.api import protojson
from keyhook.api.protojson import protojson_duration, zitadel_schema
from keyhook.errors import InvalidArgument
from tests.support.zitadel_client import run_node

CREATE = "/zitadel.action.v2beta.ActionService/CreateTarget"
GET = "/zitadel.action.v2beta.ActionService/GetTarget"
LIST = "/zitadel.action.v2beta.ActionService/ListTargets"
LIST_EXECUTIONS = "/zitadel.action.v2beta.ActionService/ListExecutions"


def test_original_names_numbers_as_strings_and_enums_by_number_are_read() -> None:
    schema = zitadel_schema()
    read = schema.incoming(
        LIST,
        {
            "pagination": {"offset": "20", "limit": "5", "asc": True},
            "sorting_column": 4,
            "filters": [{"target_name_filter": {"target_name": "gate", "method": 5}}],
        },
    )
    assert read == {
        "pagination": {"offset": 20, "limit": 5, "asc": True},
        "sortingColumn": "TARGET_FIELD_NAME_NAME",
        "filters": [
            {
                "targetNameFilter": {
                    "targetName": "gate",
                    "method": "TEXT_FILTER_METHOD_CONTAINS_IGNORE_CASE",
                }
            }
        ],
    }
    # null is absent; a member Keyhook's message does not know is left for it to name.
    assert schema.incoming(CREATE, {"name": None, "colour": "blue"}) == {"colour": "blue"}


def test_a_member_under_both_names_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="rest_webhook"):
        zitadel_schema().incoming(CREATE, {"restWebhook": {}, "rest_webhook": {}})


def test_answers_are_exactly_the_proto_message() -> None:
    schema = zitadel_schema()
    answer = {
        "target": {
            "id": "1",
            "name": "gate",
            "endpoint": "https://example.com/hook",
            "timeout": "500ms",
            "restAsync": {},
            "signingKey": "",
            "headers": {"X-Api-Key": "********"},
            "paused": False,
            "previousSigningKeys": [],
        }
    }
    assert schema.outgoing(GET, answer) == {
        "target": {
            "id": "1",
            "name": "gate",
            "endpoint": "https://example.com/hook",
            "timeout": "0.500s",
            "restAsync": {},  # a oneof member is written even when empty
        }
    }
    assert schema.left_out(GET, answer) == [
        "target.headers",
        "target.paused",
        "target.previousSigningKeys",
    ]
    listed = schema.outgoing(
        LIST_EXECUTIONS,
        {
            "pagination": {"totalResult": 3, "appliedLimit": "100"},
            "executions": [
                {"condition": {"event": {"all": True}}, "targets": [], "targetNames": []}
            ],
        },
    )
    assert listed == {
        "pagination": {"totalResult": "3", "appliedLimit": "100"},  # uint64: strings
        "executions": [{"condition": {"event": {"all": True}}}],  # [] is the default
    }


@pytest.mark.parametrize(
    ("keyhook", "protojson"),
    [("10s", "10s"), ("500ms", "0.500s"), ("1m", "60s"), ("1.5s", "1.500s"), ("2h", "7200s")],
)
def test_durations_in_protojson_form(keyhook: str, protojson: str) -> None:
    assert protojson_duration(keyhook) == protojson


async def test_the_schema_is_what_zitadel_s_published_definitions_say(tmp_path: Path) -> None:
    """src/keyhook/api/zitadel_protos.json is generated (tests/node/zitadel/schema.mjs)
    from the pinned @zitadel/proto for the methods Keyhook serves; regenerate it with
    ``node tests/node/zitadel/schema.mjs <(keyhook operations-spec | jq keys)``."""
    here = Path(protojson.__file__)
    served = sorted(json.loads((here.parent.parent / "client" / "operations.json").read_text()))
    methods = tmp_path / "served.json"
    methods.write_text(json.dumps(served))
    generated = await run_node("schema.mjs", str(methods))
    committed = (here.parent / "zitadel_protos.json").read_text()
    assert json.loads(generated) == json.loads(committed)


def test_a_number_too_long_for_any_integer_is_left_for_the_message_to_refuse() -> None:
    long = "1" * 5000
    read = zitadel_schema().incoming(LIST, {"pagination": {"offset": long}})
    assert read == {"pagination": {"offset": long}}
