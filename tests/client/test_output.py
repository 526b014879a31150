"""Tables and pairs: what a terminal shows of an answer."""

from __future__ import annotations

from keyhook.client.output import pairs, rows_of, table


def test_a_list_answer_is_a_table_without_signing_keys() -> None:
    answer = {
        "pagination": {"totalResult": "2"},
        "targets": [
            {"id": "1", "name": "a", "signingKey": "whsec_secret", "creationDate": "t1"},
            {"id": "22", "name": "bb", "signingKey": "whsec_other", "creationDate": "t2"},
        ],
    }
    rows = rows_of(answer)
    assert rows is not None
    shown = table(rows)
    assert shown.splitlines() == [
        "ID  NAME  CREATIONDATE",
        "1   a     t1",
        "22  bb    t2",
    ]
    assert "whsec_" not in shown


def test_an_object_answer_is_key_value_lines() -> None:
    shown = pairs({"id": "1", "reading": {"outcome": "failed"}, "tried": [{"set": False}]})
    assert shown.splitlines() == [
        "id: 1",
        "reading:",
        "  outcome: failed",
        "tried:",
        '  - {"set": false}',
    ]


def test_long_cells_are_cut() -> None:
    shown = table([{"endpoint": "https://" + "x" * 100}])
    assert max(len(line) for line in shown.splitlines()) <= 40
