from __future__ import annotations

import pytest

from keyhook.domain.session import Session
from keyhook.errors import NotFound

ADDED = {"sessionId": "500", "userId": "300", "userName": "john", "passwordCheckedAt": None}


def test_a_session_exists_from_added_until_removed() -> None:
    session = Session(id="500")
    with pytest.raises(NotFound) as caught:
        session.ensure_exists()
    assert caught.value.details[0]["field"] == "sessionId"
    session.apply("session.added", ADDED, 1, "200")
    session.ensure_exists()
    assert (session.user_id, session.user_name, session.org_id) == ("300", "john", "200")
    session.apply("session.removed", {"sessionId": "500"}, 2, "200")
    assert session.sequence == 2
    with pytest.raises(NotFound):
        session.ensure_exists()
