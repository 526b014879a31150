"""The login page's refusals cost what a password check costs, whatever the account.

A real provider on a real database; only the password hasher is wrapped, to count
the argon2 checks each refusal makes (time itself is for benchmarks, not tests).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from keyhook.bootstrap import Core, assemble
from keyhook.command.users import HumanUserInput
from keyhook.config import from_environment
from keyhook.crypto.passwords import Passwords
from keyhook.domain.caller import Caller
from keyhook.errors import FailedPrecondition, InvalidArgument, NotFound


class CountingPasswords(Passwords):
    def __init__(self, inner: Passwords) -> None:
        self.__dict__.update(inner.__dict__)
        self.checks = 0

    def verify(self, encoded: str, password: str) -> bool:
        self.checks += 1
        return super().verify(encoded, password)


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    assembled = await assemble(from_environment({}, data_dir=tmp_path, dev=True))
    yield assembled
    await assembled.stop()


async def admin(core: Core) -> Caller:
    async with core.db.read() as conn:
        row = (await conn.execute("SELECT * FROM instances")).one()
    return Caller(row.id, row.admin_user_id, row.default_org_id, row.default_org_id)


async def test_every_refusal_costs_one_check_and_states_are_told_only_with_the_password(
    core: Core,
) -> None:
    caller = await admin(core)
    login = f"locked-{secrets.token_hex(3)}@example.com"
    created = await core.users.add_human_user(
        caller,
        HumanUserInput(
            org_id=caller.org_id,
            user_name=login,
            given_name="Ada",
            family_name="Lovelace",
            email=login,
            password="Correct horse 42!",
        ),
    )
    await core.users.lock(caller, created["userId"])
    counting = CountingPasswords(core.oidc.passwords)
    core.oidc.passwords = counting

    async def refusal(error: Exception, login_name: str, password: str) -> Exception:
        before = counting.checks
        assert isinstance(error, NotFound | InvalidArgument | FailedPrecondition)
        answer = await core.oidc._sign_in_refusal(error, login_name, password)
        assert counting.checks == before + 1, "every refusal makes exactly one argon2 check"
        return answer

    unknown = NotFound(
        "no user", details=[{"field": "checks.user.loginName", "problem": "unknown"}]
    )
    assert isinstance(await refusal(unknown, "nobody@example.com", "x"), InvalidArgument)
    no_password = FailedPrecondition("has no password", details=[])
    assert isinstance(await refusal(no_password, "robot", "x"), InvalidArgument)
    locked = FailedPrecondition(
        "locked", details=[{"field": "checks.user", "problem": "user is locked"}]
    )
    assert isinstance(await refusal(locked, login, "a wrong guess"), InvalidArgument)
    assert await refusal(locked, login, "Correct horse 42!") is locked
