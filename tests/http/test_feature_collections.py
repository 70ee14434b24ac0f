"""The system collections of the Directus features Tidepool does not run (extensions, Directus's migration log,
deployments, MCP OAuth) over real HTTP: listed to whoever may read them, under the same access model as every
system collection (the admin everything; an app-access user Directus's app minimum, which names none of
them; the seed guide's user nothing), and their routes answered as a Directus 12.4.1 with none of it
configured answers them."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.http.accounts_support import error, make_policy, make_role, make_user, ok
from tests.support.live import LiveServer
from tests.support.seed import USER_TOKEN, seed_guide
from tests.support.servers import module_server

FEATURE_COLLECTIONS = (
    "directus_extensions", "directus_migrations", "directus_deployments", "directus_deployment_projects",
    "directus_deployment_runs", "directus_oauth_clients", "directus_oauth_codes", "directus_oauth_consents",
    "directus_oauth_tokens",
)  # fmt: skip
TOKENS: dict[str, str] = {}


def _seed(server: LiveServer) -> None:
    with server.client() as admin:
        seed_guide(admin)
        _, TOKENS["app"] = make_user(admin, role=make_role(admin, make_policy(admin, app_access=True)))


srv = module_server("feature_collections", seed=_seed)


@pytest.fixture
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


@pytest.fixture
def app_user(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client(token=TOKENS["app"]) as client:
        yield client


@pytest.fixture
def limited(srv: LiveServer) -> Iterator[httpx.Client]:
    """The seed guide's user: no app access, read and create on ``messages`` only."""
    with srv.client(token=USER_TOKEN) as client:
        yield client


def _no_action(collection: str) -> str:
    return f'You don\'t have permission to perform "read" for collection "{collection}" or it does not exist.'


def _no_access(collection: str) -> str:
    return f'You don\'t have permission to access collection "{collection}" or it does not exist. Queried in root.'


# -- listings -----------------------------------------------------------------------------------------------


def test_the_admin_lists_them_all(admin: httpx.Client) -> None:
    names = {c["collection"] for c in ok(admin.get("/collections"))}
    assert set(FEATURE_COLLECTIONS) <= names
    for collection in FEATURE_COLLECTIONS:
        assert ok(admin.get(f"/collections/{collection}"))["meta"]["system"] is True
        assert ok(admin.get(f"/fields/{collection}"))
        assert ok(admin.get(f"/relations/{collection}")) is not None


# What an app-access user with no permission row of its own lists on Directus 12.4.1 (its app minimum).
APP_LISTED = [
    "directus_activity", "directus_collections", "directus_comments", "directus_fields", "directus_notifications",
    "directus_presets", "directus_relations", "directus_roles", "directus_settings", "directus_shares",
    "directus_translations", "directus_users",
]  # fmt: skip


def test_an_app_user_sees_none_of_them(app_user: httpx.Client) -> None:
    assert sorted(c["collection"] for c in ok(app_user.get("/collections"))) == APP_LISTED
    assert sorted({f["collection"] for f in ok(app_user.get("/fields"))}) == APP_LISTED
    relations = {r["collection"] for r in ok(app_user.get("/relations"))}
    assert not set(FEATURE_COLLECTIONS) & relations
    for collection in FEATURE_COLLECTIONS:  # the answers of Directus 12.4.1 to such a user
        assert error(app_user.get(f"/collections/{collection}"), 403, "FORBIDDEN") == _no_action(collection)
        assert (
            error(app_user.get(f"/fields/{collection}"), 403, "FORBIDDEN")
            == "You don't have permission to access this."
        )
        # Directus answers [] here; Tidepool's relations never tell an unreadable collection from a missing one
        error(app_user.get(f"/relations/{collection}"), 403, "FORBIDDEN")
    for path in ("/deployments", "/deployments/vercel"):
        assert error(app_user.get(path), 403, "FORBIDDEN") == _no_access("directus_deployments")


def test_the_limited_user_lists_nothing(limited: httpx.Client) -> None:
    error(limited.get("/collections"), 403, "FORBIDDEN")
    for collection in FEATURE_COLLECTIONS:
        error(limited.get(f"/collections/{collection}"), 403, "FORBIDDEN")
        error(limited.get(f"/fields/{collection}"), 403, "FORBIDDEN")


@pytest.mark.parametrize("collection", FEATURE_COLLECTIONS)
def test_their_items_are_not_served_under_items(admin: httpx.Client, collection: str) -> None:
    assert error(admin.get(f"/items/{collection}"), 403, "FORBIDDEN") == "You don't have permission to access this."


# -- deployments: Directus with no provider configured -----------------------------------------------------


def test_the_admin_lists_no_deployment(admin: httpx.Client) -> None:
    assert ok(admin.get("/deployments")) == []
    assert ok(admin.request("SEARCH", "/deployments", json={"query": {"limit": 1}})) == []
    listed = admin.get("/deployments", params={"meta": "total_count"}).json()
    assert listed == {"data": [], "meta": {"total_count": 0}}


def test_other_users_may_not_list_deployments(app_user: httpx.Client, limited: httpx.Client) -> None:
    for client in (app_user, limited):
        assert error(client.get("/deployments"), 403, "FORBIDDEN") == _no_access("directus_deployments")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/deployments/vercel"),
        ("PATCH", "/deployments/netlify"),
        ("DELETE", "/deployments/vercel"),
        ("GET", "/deployments/vercel/projects"),
        ("GET", "/deployments/netlify/projects/1"),
        ("GET", "/deployments/vercel/dashboard"),
        ("GET", "/deployments/vercel/projects/1/runs"),
        ("POST", "/deployments/vercel/runs/1/cancel"),
    ],
)
def test_a_provider_that_is_not_configured(admin: httpx.Client, method: str, path: str) -> None:
    assert error(admin.request(method, path), 403, "FORBIDDEN") == "You don't have permission to access this."
    unknown = path.replace("vercel", "heroku").replace("netlify", "heroku")
    message = error(admin.request(method, unknown), 400, "INVALID_PATH_PARAMETER")
    assert message == "Invalid path parameter. heroku is not a supported provider."


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], '"value" must be of type object'),
        ({}, '"provider" is required'),
        ({"provider": 1}, '"provider" must be one of [vercel, netlify]'),
        ({"provider": "heroku", "credentials": {}}, '"provider" must be one of [vercel, netlify]'),
        ({"provider": "vercel"}, '"credentials" is required'),
        ({"provider": "vercel", "credentials": "x"}, '"credentials" must be of type object'),
        ({"provider": "vercel", "credentials": {"a": 1}, "options": 2}, '"options" must be of type object'),
        ({"provider": "vercel", "credentials": {}}, "Credentials are required"),
    ],
)
def test_a_new_deployment_is_checked_as_directus_checks_it(admin: httpx.Client, body: object, reason: str) -> None:
    response = admin.post("/deployments", json=body)
    assert error(response, 400, "INVALID_PAYLOAD") == f"Invalid payload. {reason}."


def test_a_valid_deployment_cannot_be_stored(admin: httpx.Client, limited: httpx.Client) -> None:
    body = {"provider": "vercel", "credentials": {"access_token": "t"}}
    response = admin.post("/deployments", json=body)
    assert (response.status_code, response.json()) == (
        503,
        {
            "errors": [
                {
                    "message": "Invalid config.",
                    "extensions": {
                        "provider": "vercel",
                        "reason": "Invalid config connection",
                        "code": "INVALID_PROVIDER_CONFIG",
                    },
                }
            ]
        },
    )
    error(limited.post("/deployments", json=body), 403, "FORBIDDEN")
    assert ok(admin.get("/deployments")) == []


def test_webhooks_find_no_configuration(srv: LiveServer) -> None:
    json = {"content-type": "application/json"}
    with srv.client(token=None) as anon:
        for provider, headers, status, text in [
            ("vercel", json, 404, "Not Found"),
            ("netlify", json, 404, "Not Found"),
            ("heroku", json, 404, "Not Found"),
            ("heroku", {}, 404, "Not Found"),
            ("vercel", {}, 400, "Bad Request"),  # Directus: no raw JSON body, before looking for a configuration
        ]:
            response = anon.post(f"/deployments/webhooks/{provider}", content=b"{}", headers=headers)
            assert (response.status_code, response.text) == (status, text), (provider, headers)


# -- OAuth (MCP_OAUTH_ENABLED is off in Directus by default: no routes) -------------------------------------


@pytest.mark.parametrize(
    "path", ["/mcp-oauth/clients", "/mcp-oauth/authorize", "/.well-known/oauth-authorization-server"]
)
def test_oauth_has_no_routes(admin: httpx.Client, path: str) -> None:
    assert error(admin.get(path), 404, "ROUTE_NOT_FOUND") == f"Route {path} doesn't exist."
