"""The console's list pages: which page a query asks for, and the links to its
neighbours keeping every filter."""

from __future__ import annotations

from urllib.parse import parse_qs

from keyhook.console.forms import LAST_PAGE, PAGE_SIZE, offset_of, page_number, pages


def test_the_page_asked_for() -> None:
    assert page_number({}) == 1
    assert page_number({"page": "3"}) == 3
    assert page_number({"page": "0"}) == 1
    assert page_number({"page": "-4"}) == 1
    assert page_number({"page": "many"}) == 1
    assert page_number({"page": str(10**9)}) == LAST_PAGE
    assert offset_of(1) == 0 and offset_of(3) == 2 * PAGE_SIZE


def test_links_keep_the_filters_and_stop_at_the_ends() -> None:
    q = {"target": "42", "status": "failed", "page": "2"}
    middle = pages(q, 2, 3 * PAGE_SIZE)
    assert (middle.number, middle.count) == (2, 3)
    assert parse_qs(middle.previous[1:]) == {"target": ["42"], "status": ["failed"], "page": ["1"]}
    assert parse_qs(middle.following[1:])["page"] == ["3"]
    first = pages({}, 1, PAGE_SIZE + 1)
    assert first.previous == "" and first.count == 2
    last = pages({}, 2, PAGE_SIZE + 1)
    assert last.following == ""
    empty = pages({}, 1, "0")
    assert empty.count == 1 and empty.previous == empty.following == ""
