"""Projects and OIDC applications: what is stored, shown once, refused."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.support.api import Api


async def project(api: Api) -> str:
    return str(
        (await api.post("/v2beta/projects", {"name": f"p-{secrets.token_hex(3)}"})).ok()["id"]
    )


def oidc(**overrides: Any) -> dict[str, Any]:
    return {
        "redirectUris": ["https://app.example.com/callback"],
        "grantTypes": ["OIDC_GRANT_TYPE_AUTHORIZATION_CODE", "OIDC_GRANT_TYPE_REFRESH_TOKEN"],
        "postLogoutRedirectUris": ["https://app.example.com/"],
        **overrides,
    }


async def test_confidential_app_secret_is_shown_once(api: Api) -> None:
    project_id = await project(api)
    created = (
        await api.post(
            "/v2beta/applications", {"projectId": project_id, "name": "web", "oidcRequest": oidc()}
        )
    ).ok()
    secret = created["oidcResponse"]["clientSecret"]
    assert len(secret) >= 40
    app = (await api.get(f"/v2beta/applications/{created['appId']}")).ok()["app"]
    config = app["oidcConfig"]
    assert config["clientId"] == created["oidcResponse"]["clientId"]
    assert config["authMethodType"] == "OIDC_AUTH_METHOD_TYPE_BASIC"
    assert config["grantTypes"] == [
        "OIDC_GRANT_TYPE_AUTHORIZATION_CODE",
        "OIDC_GRANT_TYPE_REFRESH_TOKEN",
    ]
    assert config["pkceRequired"] is False
    assert secret not in str(app)
    events = (await api.post("/v2/events/search", {"aggregateId": created["appId"]})).ok()
    assert secret not in str(events) and "clientSecretHash" not in str(events)


async def test_public_app_has_no_secret_and_needs_pkce(api: Api) -> None:
    project_id = await project(api)
    created = (
        await api.post(
            "/v2beta/applications",
            {
                "projectId": project_id,
                "name": "spa",
                "oidcRequest": oidc(
                    appType="OIDC_APP_TYPE_USER_AGENT",
                    authMethodType="OIDC_AUTH_METHOD_TYPE_NONE",
                    redirectUris=["http://localhost:5173/callback"],
                ),
            },
        )
    ).ok()
    assert "clientSecret" not in created["oidcResponse"]
    app = (await api.get(f"/v2beta/applications/{created['appId']}")).ok()["app"]
    assert app["oidcConfig"]["pkceRequired"] is True


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"redirectUris": []}, "redirectUris"),
        ({"redirectUris": ["http://app.example.com/cb"]}, "redirectUris[0]"),
        ({"redirectUris": ["myapp:/cb"]}, "redirectUris[0]"),
        ({"redirectUris": ["https://app.example.com/cb#frag"]}, "redirectUris[0]"),
        ({"grantTypes": ["OIDC_GRANT_TYPE_IMPLICIT"]}, "grantTypes[0]"),
        ({"grantTypes": ["OIDC_GRANT_TYPE_REFRESH_TOKEN"]}, "grantTypes"),
        ({"appType": "OIDC_APP_TYPE_NATIVE"}, "authMethodType"),
        ({"appType": "OIDC_APP_TYPE_TOASTER"}, "appType"),
    ],
)
async def test_bad_settings_are_refused_by_name(
    api: Api, overrides: dict[str, Any], field: str
) -> None:
    project_id = await project(api)
    reply = await api.post(
        "/v2beta/applications",
        {"projectId": project_id, "name": "bad", "oidcRequest": oidc(**overrides)},
    )
    assert reply.status == 400, reply.body
    assert f"oidcRequest.{field}" in reply.body["message"]


async def test_native_app_may_use_a_custom_scheme(api: Api) -> None:
    project_id = await project(api)
    (
        await api.post(
            "/v2beta/applications",
            {
                "projectId": project_id,
                "name": "ios",
                "oidcRequest": oidc(
                    appType="OIDC_APP_TYPE_NATIVE",
                    authMethodType="OIDC_AUTH_METHOD_TYPE_NONE",
                    redirectUris=["com.example.app:/callback"],
                ),
            },
        )
    ).ok()


async def test_deleting_a_project_removes_its_apps(api: Api) -> None:
    project_id = await project(api)
    app_id = (
        await api.post(
            "/v2beta/applications", {"projectId": project_id, "name": "gone", "oidcRequest": oidc()}
        )
    ).ok()["appId"]
    listed = (await api.post("/v2beta/applications/search", {"projectId": project_id})).ok()
    assert [a["id"] for a in listed["applications"]] == [app_id]
    (await api.delete(f"/v2beta/projects/{project_id}")).ok()
    assert (await api.get(f"/v2beta/applications/{app_id}")).status == 404
    assert (await api.get(f"/v2beta/projects/{project_id}")).status == 404
    unknown = await api.post(
        "/v2beta/applications", {"projectId": project_id, "name": "orphan", "oidcRequest": oidc()}
    )
    assert unknown.status == 404 and "project" in unknown.body["message"]


async def test_project_names_are_unique_per_organization(api: Api) -> None:
    name = f"same-{secrets.token_hex(3)}"
    (await api.post("/v2beta/projects", {"name": name})).ok()
    again = await api.post("/v2beta/projects", {"name": name})
    assert again.status == 409


async def project_count(api: Api) -> int:
    found = (await api.post("/v2beta/projects/search", {"query": {"limit": 1}})).ok()
    return int(found["pagination"]["totalResult"])


async def test_create_project_refuses_an_organization_that_does_not_exist(api: Api) -> None:
    # Issue 8, finding 13: the project used to be stored under the unknown id.
    name = f"orphan-{secrets.token_hex(3)}"
    before = await project_count(api)
    reply = await api.post(
        "/v2beta/projects", {"name": name, "organizationId": "1234567890123456789"}
    )
    assert reply.status == 404, reply.body
    assert reply.body["code"] == "not_found"
    assert reply.body["message"] == "organization 1234567890123456789 does not exist"
    assert reply.body["details"] == [{"field": "organizationId", "problem": "unknown"}]
    assert await project_count(api) == before
    # Nothing was claimed either: the name is free in the caller's organization.
    created = (await api.post("/v2beta/projects", {"name": name})).ok()
    got = (await api.get(f"/v2beta/projects/{created['id']}")).ok()["project"]
    # ... and naming that (existing) organization explicitly works.
    again = await api.post(
        "/v2beta/projects", {"name": name + "-2", "organizationId": got["organizationId"]}
    )
    assert again.status == 200, again.body
