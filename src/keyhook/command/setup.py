"""First start: the instance, its default organization, and its first two
administrators, both ``IAM_OWNER``: a machine user with a PAT (for scripts and the
first API calls) and a human user with a generated initial password it must change at
its first sign-in (for the login page and the console)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from keyhook.command.administrators import AdministratorCommands
from keyhook.command.orgs import ORG_NAME
from keyhook.command.pats import PatCommands
from keyhook.command.users import machine_user_added, name_claims
from keyhook.command.writer import Writer
from keyhook.config import DEFAULT_ADMIN_EMAIL
from keyhook.crypto.tokens import new_personal_access_token, token_hash
from keyhook.domain.caller import Caller
from keyhook.eventstore.store import PendingEvent, UniqueClaim

KEY_CHECK = "keyhook master key check"


@dataclass(frozen=True)
class SetUp:
    caller: Caller
    admin_token: str
    human_admin_id: str
    admin_password: str


async def set_up_instance(
    writer: Writer, instance_name: str = "Keyhook", admin_email: str = DEFAULT_ADMIN_EMAIL
) -> SetUp:
    instance_id = writer.ids.new()
    org_id = writer.ids.new()
    admin_id = writer.ids.new()
    human_id = writer.ids.new()
    system = Caller(instance_id=instance_id, user_id="system", org_id=org_id, default_org_id=org_id)
    token = new_personal_access_token()
    password = secrets.token_urlsafe(18)
    hashed = await writer.passwords.ahash(password)
    human = {
        "userId": human_id,
        "userName": admin_email,
        "givenName": "Keyhook",
        "familyName": "Administrator",
        "displayName": "Keyhook Administrator",
        "nickName": "",
        "preferredLanguage": "",
        "email": admin_email,
        "emailVerified": True,
        "phone": "",
        "phoneVerified": False,
        "metadata": [],
        "hashedPassword": hashed,
        "passwordChangeRequired": True,
    }
    async with writer.db.write() as conn:
        await writer.commit(
            conn,
            system,
            [
                PendingEvent(
                    "instance.added",
                    "instance",
                    instance_id,
                    instance_id,
                    {
                        "instanceId": instance_id,
                        "name": instance_name,
                        "defaultOrgId": org_id,
                        "adminUserId": admin_id,
                        # Lets a later start tell whether its master key is this instance's.
                        "sealedKeyCheck": writer.box.seal(KEY_CHECK),
                    },
                ),
                PendingEvent(
                    "org.added", "org", org_id, org_id, {"orgId": org_id, "name": "Default"}
                ),
                machine_user_added(admin_id, org_id, "admin", "Administrator"),
                PendingEvent("user.human.added", "user", human_id, org_id, human),
            ],
            claims=[
                *name_claims(org_id, "admin"),
                *name_claims(org_id, admin_email),
                UniqueClaim(ORG_NAME, "default"),
            ],
        )
        await PatCommands(writer).add(conn, system, admin_id, token_hash(token))
        administrators = AdministratorCommands(writer)
        await administrators.grant_owner(conn, system, admin_id)
        await administrators.grant_owner(conn, system, human_id)
    admin = Caller(instance_id=instance_id, user_id=admin_id, org_id=org_id, default_org_id=org_id)
    return SetUp(caller=admin, admin_token=token, human_admin_id=human_id, admin_password=password)
