"""UserService v2's CreateUser (human and machine), UpdateUser and the calls on one user's
email, phone, metadata and sign-in methods: what each stores, answers and refuses, in
both URL forms, with request and response executions, and for organization-scoped
callers. Every answer is checked member by member against the proto's message."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from argon2 import PasswordHasher

from tests.support.api import Api, Reply
from tests.support.proto_json import response_problems
from tests.support.receiver import Answer, Received, Receiver

USERS = "/zitadel.user.v2.UserService/"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def email() -> str:
    return f"v2-{secrets.token_hex(4)}@example.com"


def proto(method: str, reply: Reply) -> Any:
    """The answer of a successful call, refused unless a strict decoder reads it."""
    body = reply.ok()
    assert response_problems(method, body) == [], body
    return body


def human(address: str, **extra: Any) -> dict[str, Any]:
    return {
        "human": {
            "profile": {"givenName": "Ada", "familyName": "Lovelace"},
            "email": {"email": address},
            **extra,
        }
    }


async def create(api: Api, body: dict[str, Any], **kw: Any) -> str:
    return str(proto("CreateUser", await api.post("/v2/users/new", body, **kw))["id"])


async def events_of(api: Api, user_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (
        await api.post("/v2/events/search", {"aggregateId": user_id})
    ).ok()["events"]
    return found


async def metadata_of(api: Api, user_id: str) -> dict[str, str]:
    found = proto("ListUserMetadata", await api.post(f"/v2/users/{user_id}/metadata/search", {}))
    return {m["key"]: base64.b64decode(m["value"]).decode() for m in found["metadata"]}


async def signs_in(api: Api, login_name: str, password: str) -> bool:
    checks = {"user": {"loginName": login_name}, "password": {"password": password}}
    reply = await api.post("/v2/sessions", {"checks": checks})
    assert reply.status in (200, 201, 400, 401, 412), reply.body
    return reply.status in (200, 201)


def details_of(reply: Reply) -> list[dict[str, Any]]:
    """Keyhook's details of an error: as they are on the REST form, each Connect detail's
    ``debug`` on the Connect form."""
    return [d.get("debug", d) for d in reply.body["details"]]


def field_of(reply: Reply) -> str:
    assert reply.status == 400, (reply.status, reply.body)
    return str(details_of(reply)[0]["field"])


# --- CreateUser ---------------------------------------------------------------------


async def test_create_human_user_over_rest_stores_everything(api: Api) -> None:
    address = email()
    org_id = (await api.post("/v2/organizations", {"name": f"v2-{secrets.token_hex(3)}"})).ok()[
        "organizationId"
    ]
    body = {
        "organizationId": org_id,
        "username": "ada-" + secrets.token_hex(3),
        **human(
            address,
            phone={"phone": "+41791234567", "isVerified": True},
            password={"password": "Analytical-Engine-1843", "changeRequired": False},
            metadata=[{"key": "department", "value": b64("Engineering")}],
        ),
    }
    body["human"]["email"]["isVerified"] = True
    body["human"]["profile"].update(displayName="Countess", preferredLanguage="en")
    reply = await api.post("/v2/users/new", body)
    answer = proto("CreateUser", reply)
    assert set(answer) == {"id", "creationDate"}, "no codes: Keyhook sends and returns none"
    user_id = answer["id"]

    user = proto("GetUserByID", await api.get(f"/v2/users/{user_id}"))["user"]
    assert user["username"] == body["username"]
    assert user["details"]["resourceOwner"] == org_id
    assert user["human"]["profile"]["displayName"] == "Countess"
    assert user["human"]["profile"]["preferredLanguage"] == "en"
    assert user["human"]["email"] == {"email": address, "isVerified": True}
    assert user["human"]["phone"] == {"phone": "+41791234567", "isVerified": True}
    assert await metadata_of(api, user_id) == {"department": "Engineering"}
    assert await signs_in(api, body["username"], "Analytical-Engine-1843")

    added = (await events_of(api, user_id))[0]
    assert added["eventType"] == "user.human.added"
    assert added["eventData"]["metadata"] == [{"key": "department", "value": "Engineering"}]
    assert "hashedPassword" not in str(added)


async def test_create_human_user_with_an_imported_argon2_hash(api: Api) -> None:
    address = email()
    hashed = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("imported-secret")
    user_id = await create(api, human(address, hashedPassword={"hash": hashed}))
    assert await signs_in(api, address, "imported-secret")
    assert not await signs_in(api, address, "another-secret")
    methods = proto(
        "ListAuthenticationMethodTypes",
        await api.get(f"/v2/users/{user_id}/authentication_methods"),
    )
    assert methods["authMethodTypes"] == ["AUTHENTICATION_METHOD_TYPE_PASSWORD"]
    assert methods["details"]["totalResult"] == "1"


async def test_create_machine_user_in_the_connect_form_with_its_own_id(api: Api) -> None:
    chosen = str(secrets.randbelow(10**17) + 10**17)
    reply = await api.post(
        USERS + "CreateUser",
        {"userId": chosen, "machine": {"name": "Build robot", "description": "CI"}},
    )
    assert proto("CreateUser", reply)["id"] == chosen
    user = proto("GetUserByID", await api.get(f"/v2/users/{chosen}"))["user"]
    assert user["username"] == chosen, "without a username a machine user is named by its id"
    assert user["machine"] == {
        "name": "Build robot",
        "description": "CI",
        "accessTokenType": "ACCESS_TOKEN_TYPE_BEARER",
        "hasSecret": False,
    }
    assert (await events_of(api, chosen))[0]["eventType"] == "user.machine.added"
    again = await api.post(USERS + "CreateUser", {"userId": chosen, "machine": {"name": "Twin"}})
    assert again.status == 409
    assert details_of(again) == [{"field": "userId", "problem": "taken"}]
    none = proto(
        "ListAuthenticationMethodTypes",
        await api.get(f"/v2/users/{chosen}/authentication_methods"),
    )
    assert none["authMethodTypes"] == [] and none["details"]["totalResult"] == "0"


async def test_create_user_refuses_naming_the_member(api: Api) -> None:
    address = email()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"username": "x"}, "human"),
        ({**human(address), "machine": {"name": "M"}}, "human"),
        (human("not-an-address"), "human.email.email"),
        ({**human(address), "username": "has space"}, "username"),
        ({**human(address), "userId": "abc"}, "userId"),
        (human(address, metadata=[{"key": "k", "value": "***"}]), "human.metadata.0.value"),
        (human(address, metadata=[{"key": "", "value": b64("v")}]), "human.metadata[0].key"),
        (human(address, password={"password": "short"}), "human.password.password"),
        (human(address, hashedPassword={"hash": "$2b$10$bcrypt"}), "human.hashedPassword.hash"),
        (human(address, idpLinks=[{"idpId": "1"}]), "human.idpLinks"),
        (human(address, totpSecret="JBSWY3DP"), "human.totpSecret"),
        ({"machine": {"name": ""}}, "machine.name"),
        ({"machine": {"name": "M"}, "username": "12@client"}, "username"),
    ]
    for body, member in cases:
        reply = await api.post("/v2/users/new", body)
        assert field_of(reply) == member, (body, reply.body)
    codes = human(address)
    codes["human"]["email"]["returnCode"] = {}
    reply = await api.post("/v2/users/new", codes)
    assert field_of(reply) == "human.email.returnCode"
    assert "isVerified" in reply.body["message"]


async def test_request_and_response_executions_see_create_user(
    clean_actions: Api, receiver: Receiver
) -> None:
    api = clean_actions
    path = f"/create-user-{secrets.token_hex(3)}"
    seen: list[Received] = []

    async def record(received: Received) -> Answer:
        seen.append(received)
        return Answer(200, {"status": "success"})

    target = await api.create_target(receiver.endpoint(path, record), interrupt=True)
    for kind in ("request", "response"):
        await api.set_execution({kind: {"method": USERS + "CreateUser"}}, [target["id"]])
    address = email()
    user_id = await create(api, human(address, password={"password": "never-leaves-1"}))
    before, after = (r.json for r in await receiver.wait_for(path, 2))
    assert before["fullMethod"] == after["fullMethod"] == USERS + "CreateUser"
    assert before["request"]["human"]["email"]["email"] == address
    assert "password" not in before["request"]["human"], "secrets never reach a target"
    assert "never-leaves-1" not in str(before) + str(after)
    assert after["response"]["id"] == user_id
    assert after["userID"] == user_id, "the response's subject is the new user"


async def test_a_request_target_can_refuse_create_user(
    clean_actions: Api, receiver: Receiver
) -> None:
    api = clean_actions
    path = f"/refuse-{secrets.token_hex(3)}"

    async def refuse(received: Received) -> Answer:
        domain = received.json["request"]["human"]["email"]["email"].split("@")[1]
        return Answer(400, {"status": "error", "message": f"Email domain {domain} is not allowed"})

    target = await api.create_target(receiver.endpoint(path, refuse), interrupt=True)
    await api.set_execution({"request": {"method": USERS + "CreateUser"}}, [target["id"]])
    reply = await api.post(USERS + "CreateUser", human("x@blocked.example"))
    assert reply.status == 400
    assert reply.body["message"] == "Email domain blocked.example is not allowed"


# --- UpdateUser, SetEmail, SetPhone, RemovePhone --------------------------------------


async def test_update_user_changes_a_human(api: Api) -> None:
    address = email()
    user_id = await create(api, human(address, password={"password": "first-password"}))
    changed = proto(
        "UpdateUser",
        await api.call(
            "PATCH",
            f"/v2/users/{user_id}",
            {
                "username": "renamed-" + secrets.token_hex(3),
                "human": {
                    "profile": {"nickName": "Ada"},
                    "email": {"email": "new-" + address, "isVerified": True},
                    "phone": {"phone": "+4411111111"},
                    "password": {
                        "password": {"password": "second-password"},
                        "currentPassword": "first-password",
                    },
                },
            },
        ),
    )
    assert set(changed) == {"changeDate"}
    user = proto("GetUserByID", await api.get(f"/v2/users/{user_id}"))["user"]
    assert user["username"].startswith("renamed-")
    assert user["human"]["profile"]["nickName"] == "Ada"
    assert user["human"]["profile"]["givenName"] == "Ada", "unnamed members stay"
    assert user["human"]["email"] == {"email": "new-" + address, "isVerified": True}
    assert user["human"]["phone"] == {"phone": "+4411111111", "isVerified": False}
    assert await signs_in(api, user["username"], "second-password")
    wrong = await api.post(
        USERS + "UpdateUser",
        {
            "userId": user_id,
            "human": {
                "password": {"password": {"password": "third-password"}, "currentPassword": "no"}
            },
        },
    )
    assert field_of(wrong) == "human.password.currentPassword"
    assert (
        field_of(
            await api.post(
                USERS + "UpdateUser", {"userId": user_id, "human": {"email": {"email": "x"}}}
            )
        )
        == "human.email.email"
    )


async def test_update_user_changes_a_machine(api: Api) -> None:
    user_id = await create(
        api, {"username": f"bot-{secrets.token_hex(3)}", "machine": {"name": "Bot"}}
    )
    proto(
        "UpdateUser",
        await api.post(
            USERS + "UpdateUser",
            {"userId": user_id, "machine": {"name": "Deploy bot", "description": "deploys"}},
        ),
    )
    renamed = f"deployer-{secrets.token_hex(3)}"
    proto("UpdateUser", await api.call("PATCH", f"/v2/users/{user_id}", {"username": renamed}))
    user = proto("GetUserByID", await api.get(f"/v2/users/{user_id}"))["user"]
    assert user["username"] == renamed
    assert user["machine"]["name"] == "Deploy bot"
    assert user["machine"]["description"] == "deploys"
    changes = [e for e in await events_of(api, user_id) if e["eventType"] == "user.machine.changed"]
    assert [e["eventData"]["changed"] for e in changes] == [
        {"name": "Deploy bot", "description": "deploys"},
        {"userName": renamed},
    ]
    as_human = await api.call(
        "PATCH", f"/v2/users/{user_id}", {"human": {"profile": {"nickName": "x"}}}
    )
    assert as_human.status == 400 and "machine user" in as_human.body["message"]


async def test_email_and_phone_are_set_and_removed(api: Api) -> None:
    user_id = await create(api, human(email()))
    new_address = email()
    answer = proto(
        "SetEmail",
        await api.post(f"/v2/users/{user_id}/email", {"email": new_address, "isVerified": True}),
    )
    assert set(answer) == {"details"} and answer["details"]["resourceOwner"]
    proto("SetPhone", await api.post(USERS + "SetPhone", {"userId": user_id, "phone": "+1555"}))
    user = proto("GetUserByID", await api.get(f"/v2/users/{user_id}"))["user"]
    assert user["human"]["email"] == {"email": new_address, "isVerified": True}
    assert user["human"]["phone"] == {"phone": "+1555", "isVerified": False}
    proto("RemovePhone", await api.call("DELETE", f"/v2/users/{user_id}/phone", {}))
    user = proto("GetUserByID", await api.get(f"/v2/users/{user_id}"))["user"]
    assert user["human"]["phone"] == {"phone": "", "isVerified": False}
    again = await api.call("DELETE", f"/v2/users/{user_id}/phone", {})
    assert again.status == 400 and "no phone number" in again.body["message"]
    changes = [
        e["eventData"]["changed"]
        for e in await events_of(api, user_id)
        if e["eventType"] == "user.human.changed"
    ]
    assert changes == [
        {"email": new_address, "emailVerified": True},
        {"phone": "+1555", "phoneVerified": False},
        {"phone": "", "phoneVerified": False},
    ]
    assert field_of(await api.post(f"/v2/users/{user_id}/email", {"email": "nope"})) == "email"
    assert field_of(await api.post(f"/v2/users/{user_id}/phone", {"phone": " "})) == "phone"
    send = await api.post(f"/v2/users/{user_id}/email", {"email": new_address, "sendCode": {}})
    assert field_of(send) == "email.sendCode"
    machine = await create(api, {"machine": {"name": "M"}})
    on_machine = await api.post(f"/v2/users/{machine}/email", {"email": new_address})
    assert on_machine.status == 400 and "machine user" in on_machine.body["message"]


# --- metadata, sign-in methods ----------------------------------------------------------


async def test_metadata_is_listed_filtered_and_deleted(api: Api) -> None:
    user_id = await create(api, human(email()))
    items = [{"key": k, "value": v} for k, v in (("team", "blue"), ("floor", "3"), ("tag", "ü"))]
    assert set((await api.post(f"/v2/users/{user_id}/metadata", {"metadata": items})).ok())
    assert await metadata_of(api, user_id) == {"team": "blue", "floor": "3", "tag": "ü"}
    page = proto(
        "ListUserMetadata",
        await api.post(
            USERS + "ListUserMetadata",
            {
                "userId": user_id,
                "pagination": {"limit": 1, "asc": True},
                "filters": [
                    {
                        "keyFilter": {
                            "key": "T",
                            "method": "TEXT_FILTER_METHOD_STARTS_WITH_IGNORE_CASE",
                        }
                    }
                ],
            },
        ),
    )
    assert page["pagination"] == {"totalResult": "2", "appliedLimit": "1"}
    assert page["metadata"] == [{"key": "tag", "value": b64("ü")}]
    gone = proto(
        "DeleteUserMetadata",
        await api.call("DELETE", f"/v2/users/{user_id}/metadata", {"keys": ["team", "tag"]}),
    )
    assert set(gone) == {"deletionDate"}
    assert await metadata_of(api, user_id) == {"floor": "3"}
    removed = [
        e for e in await events_of(api, user_id) if e["eventType"] == "user.metadata.removed"
    ]
    assert [e["eventData"]["key"] for e in removed] == ["team", "tag"]
    unknown = await api.post(USERS + "DeleteUserMetadata", {"userId": user_id, "keys": ["team"]})
    assert unknown.status == 404
    assert details_of(unknown) == [{"field": "keys[0]", "problem": "unknown"}]
    assert (
        field_of(await api.post(USERS + "DeleteUserMetadata", {"userId": user_id, "keys": []}))
        == "keys"
    )


async def test_sign_in_methods_and_factors(api: Api) -> None:
    without = await create(api, human(email()))
    listed = proto(
        "ListAuthenticationMethodTypes",
        await api.get(f"/v2/users/{without}/authentication_methods"),
    )
    assert listed["authMethodTypes"] == []
    factors = proto(
        "ListAuthenticationFactors",
        await api.post(f"/v2/users/{without}/authentication_factors/_search", {}),
    )
    assert factors == {"result": []}
    missing = "9" * 18
    assert (await api.get(f"/v2/users/{missing}/authentication_methods")).status == 404
    passkeys = await api.post(
        USERS + "ListAuthenticationMethodTypes",
        {"userId": without, "domainQuery": {"domain": "example.com"}},
    )
    assert field_of(passkeys) == "domainQuery.domain"
    # What Keyhook has no flow for is no operation at all (docs/api.md's coverage table).
    for absent in ("VerifyEmail", "RegisterPasskey", "AddKey", "PasswordReset"):
        reply = await api.post(USERS + absent, {"userId": without})
        assert (reply.status, reply.body["code"]) == (501, "unimplemented"), (absent, reply.body)


# --- AddHumanUser as ZITADEL's clients send it -------------------------------------------


async def test_add_human_user_in_zitadel_flat_form_with_ids_hashes_and_bytes(api: Api) -> None:
    address = email()
    chosen = str(secrets.randbelow(10**17) + 10**17)
    hashed = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("flat-secret")
    org_id = (await api.post("/v2/organizations", {"name": f"flat-{secrets.token_hex(3)}"})).ok()[
        "organizationId"
    ]
    reply = await api.post(
        USERS + "AddHumanUser",
        {
            "userId": chosen,
            "organization": {"orgId": org_id},
            "profile": {"givenName": "Flat", "familyName": "Client"},
            "email": {"email": address, "isVerified": True},
            "metadata": [{"key": "note", "value": b64("日本語")}],
            "hashedPassword": {"hash": hashed},
        },
    )
    assert proto("AddHumanUser", reply)["userId"] == chosen
    user = proto("GetUserByID", await api.get(f"/v2/users/{chosen}"))["user"]
    assert user["details"]["resourceOwner"] == org_id
    assert await api.metadata(chosen) == [{"key": "note", "value": "日本語"}]
    assert await signs_in(api, address, "flat-secret")
    not_bytes = await api.post(
        "/v2/users/human",
        {"email": {"email": email()}, "metadata": [{"key": "k", "value": "not base64!"}]},
    )
    assert field_of(not_bytes) == "metadata[0].value"
    # The seed's nested form keeps text values.
    nested = (
        await api.add_user(email(), metadata=[{"key": "department", "value": "Engineering"}])
    ).ok()
    assert await api.metadata(nested["userId"]) == [{"key": "department", "value": "Engineering"}]


# --- every answer as the proto's message ----------------------------------------------------


async def test_every_user_service_answer_is_the_protos_message(api: Api) -> None:
    """The existing operations as well as the new ones: what a strict decoder reads."""
    address = email()
    user_id = (await api.add_user(address, password={"password": "first-password"})).ok()["userId"]
    path = f"/v2/users/{user_id}"
    calls: list[tuple[str, str, str, Any]] = [
        ("GetUserByID", "GET", path, None),
        ("ListUsers", "POST", "/v2/users", {"query": {"limit": 2}}),
        ("ListUsers", "POST", "/v2/users/search", {"text": address}),
        ("UpdateHumanUser", "PUT", f"/v2/users/human/{user_id}", {"profile": {"nickName": "n"}}),
        ("SetPassword", "POST", f"{path}/password", {"newPassword": {"password": "2nd-password"}}),
        ("SetUserMetadata", "POST", f"{path}/metadata", {"metadata": [{"key": "a", "value": "b"}]}),
        ("ListUserMetadata", "POST", f"{path}/metadata/search", {}),
        ("LockUser", "POST", f"{path}/lock", None),
        ("UnlockUser", "POST", f"{path}/unlock", None),
        ("DeactivateUser", "POST", f"{path}/deactivate", None),
        ("ReactivateUser", "POST", f"{path}/reactivate", None),
        ("DeleteUser", "DELETE", path, None),
    ]
    machine = await create(api, {"machine": {"name": "Answers"}})
    mpath = f"/v2/users/{machine}"
    calls += [
        ("GetUserByID", "GET", mpath, None),
        ("AddSecret", "POST", f"{mpath}/secret", None),
        ("RemoveSecret", "DELETE", f"{mpath}/secret", None),
        ("AddPersonalAccessToken", "POST", f"{mpath}/pats", {}),
        ("ListPersonalAccessTokens", "POST", "/v2/users/pats/search", {}),
    ]
    wrong: dict[str, list[str]] = {}
    for method, verb, where, body in calls:
        reply = await api.call(verb, where, body)
        assert 200 <= reply.status < 300, (method, reply.status, reply.body)
        problems = response_problems(method, reply.body)
        if problems:
            wrong[method] = problems
    assert wrong == {}


# --- organization-scoped callers -------------------------------------------------------------


async def test_an_org_user_manager_creates_and_changes_in_its_organization_only(api: Api) -> None:
    org_b = (await api.post("/v2/organizations", {"name": f"B-{secrets.token_hex(3)}"})).ok()[
        "organizationId"
    ]
    manager = await api.add_machine_user(
        f"manager-{secrets.token_hex(4)}", "Manager", organizationId=org_b
    )
    token = (await api.post(f"/v2/users/{manager}/pats", {})).ok()["token"]
    grant = {
        "userId": manager,
        "resource": {"organizationId": org_b},
        "roles": ["ORG_USER_MANAGER"],
    }
    (await api.post("/v2/administrators", grant)).ok()
    outside = await create(api, human(email()))  # in the default organization
    missing = "9" * 18

    async def as_manager(method: str, path: str, body: Any = None) -> Reply:
        return await api.call(method, path, body, token=token)

    created = await as_manager("POST", "/v2/users/new", human(email()))
    inside = proto("CreateUser", created)["id"]
    user = proto("GetUserByID", await as_manager("GET", f"/v2/users/{inside}"))["user"]
    assert user["details"]["resourceOwner"] == org_b, "created in the caller's organization"
    proto(
        "UpdateUser", await as_manager("PATCH", f"/v2/users/{inside}", {"username": "b-" + inside})
    )
    proto("SetPhone", await as_manager("POST", f"/v2/users/{inside}/phone", {"phone": "+1"}))
    proto("ListUserMetadata", await as_manager("POST", f"/v2/users/{inside}/metadata/search", {}))

    for method, path, body in [
        ("PATCH", "/v2/users/{id}", {"human": {"profile": {"givenName": "Mallory"}}}),
        ("POST", "/v2/users/{id}/email", {"email": "mallory@example.com"}),
        ("POST", "/v2/users/{id}/phone", {"phone": "+1"}),
        ("DELETE", "/v2/users/{id}/phone", {}),
        ("POST", "/v2/users/{id}/metadata/search", {}),
        ("DELETE", "/v2/users/{id}/metadata", {"keys": ["k"]}),
        ("GET", "/v2/users/{id}/authentication_methods", None),
    ]:
        theirs = await as_manager(method, path.format(id=outside), body)
        nobody = await as_manager(method, path.format(id=missing), body)
        assert theirs.status == nobody.status == 404, (path, theirs.body)
        assert theirs.body["message"].replace(outside, "X") == nobody.body["message"].replace(
            missing, "X"
        ), "another organization's user is one that does not exist"
    default_org = (await api.get(f"/v2/users/{outside}")).ok()["user"]["details"]["resourceOwner"]
    into_other = await as_manager(
        "POST", USERS + "CreateUser", {"organizationId": default_org, **human(email())}
    )
    assert into_other.status == 404
    assert details_of(into_other)[0]["field"] == "organizationId"


# --- ListUsers' search queries ----------------------------------------------------------------


async def test_list_users_takes_zitadels_search_queries(api: Api) -> None:
    tag = secrets.token_hex(4)
    ids = {}
    for given, family in (("Ada", "Lovelace"), ("ada", "Byron"), ("Grace", "Hopper")):
        body = {"username": f"{given}-{family}-{tag}", **human(f"{given}.{family}.{tag}@ex.com")}
        body["human"]["profile"] = {"givenName": given, "familyName": family}
        ids[(given, family)] = await create(api, body)
    machine = await create(api, {"username": f"robot-{tag}", "machine": {"name": "R"}})

    async def search(*queries: dict[str, Any], **extra: Any) -> list[str]:
        body = {
            "queries": [
                {"userNameQuery": {"userName": tag, "method": "TEXT_QUERY_METHOD_ENDS_WITH"}},
                *queries,
            ],
            **extra,
        }
        answer = proto("ListUsers", await api.post(USERS + "ListUsers", body))
        # protojson leaves a 0 and an empty list out.
        found = answer.get("result", [])
        assert answer["details"].get("totalResult", "0") == str(len(found))
        return [u["userId"] for u in found]

    ada, lady, grace = ids[("Ada", "Lovelace")], ids[("ada", "Byron")], ids[("Grace", "Hopper")]
    assert await search() == sorted([ada, lady, grace, machine])
    exact = {"firstNameQuery": {"firstName": "Ada"}}
    assert await search(exact) == [ada], "EQUALS is case-sensitive"
    loose = {
        "firstNameQuery": {"firstName": "ADA", "method": "TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE"}
    }
    assert await search(loose) == sorted([ada, lady])
    starts = {"lastNameQuery": {"lastName": "Lo", "method": "TEXT_QUERY_METHOD_STARTS_WITH"}}
    assert await search(starts) == [ada]
    lower = {"lastNameQuery": {"lastName": "lo", "method": "TEXT_QUERY_METHOD_STARTS_WITH"}}
    assert await search(lower) == [], "STARTS_WITH is case-sensitive on every database"
    contains = {
        "emailQuery": {"emailAddress": "OPPER", "method": "TEXT_QUERY_METHOD_CONTAINS_IGNORE_CASE"}
    }
    assert await search(contains) == [grace]
    assert await search({"typeQuery": {"type": "TYPE_MACHINE"}}) == [machine]
    either = {
        "orQuery": {
            "queries": [
                {"inUserIdsQuery": {"userIds": [grace]}},
                {"typeQuery": {"type": "TYPE_MACHINE"}},
            ]
        }
    }
    assert await search(either) == sorted([grace, machine])
    assert await search({"notQuery": {"query": either}}) == sorted([ada, lady])
    (await api.post(f"/v2/users/{lady}/lock")).ok()
    assert await search({"stateQuery": {"state": "USER_STATE_LOCKED"}}) == [lady]
    by_name = await search(sortingColumn="USER_FIELD_NAME_LAST_NAME", query={"asc": False})
    assert by_name[:3] == [ada, grace, lady], "Lovelace, Hopper, Byron; the machine's is empty"
    two = await api.post(USERS + "ListUsers", {"queries": [{**exact, **starts}]})
    assert two.status == 400 and "exactly one member" in two.body["message"]
