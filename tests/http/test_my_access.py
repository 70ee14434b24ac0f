"""The caller's own access over real HTTP, answered as Directus 12.4.1 answers them (recorded from it as admin,
as a limited user with read + create on ``messages``, and as the public): ``/permissions/me``,
``/permissions/me/{collection}[/{id}]``, ``/roles/me``, ``/policies/me/globals``, ``/auth``,
``/users/me/track/page`` and the ``users/me`` fields the Data Studio reads."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.http.accounts_support import error, make_policy, make_role, make_user, ok
from tests.support.live import LiveServer
from tests.support.servers import messages_collection, module_server

srv = module_server("my_access", seed=messages_collection)

FORBIDDEN = "You don't have permission to access this."
NO_ACCESS = {"update": {"access": False}, "delete": {"access": False}, "share": {"access": False}}
ALL_ACCESS = {"update": {"access": True}, "delete": {"access": True}, "share": {"access": True}}


@dataclass
class Limited:
    user: str
    role: str
    token: str


@pytest.fixture(scope="module")
def limited(srv: LiveServer) -> Limited:
    """The seed guide's user: no app access, read and create on ``messages``."""
    with srv.client() as admin:
        policy = make_policy(
            admin,
            {"collection": "messages", "action": "read", "fields": ["*"]},
            {"collection": "messages", "action": "create", "fields": ["*"]},
        )
        role = make_role(admin, policy)
        user, token = make_user(admin, role=role)
    return Limited(user, role, token)


@pytest.fixture
def anon(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client(token=None) as client:
        yield client


@pytest.fixture
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


@pytest.fixture
def user(srv: LiveServer, limited: Limited) -> Iterator[httpx.Client]:
    with srv.client(token=limited.token) as client:
        yield client


def test_auth_providers_list_is_empty_for_everyone(anon: httpx.Client, admin: httpx.Client) -> None:
    for client in (anon, admin):
        for path in ("/auth", "/auth?sessionOnly", "/auth?sessionOnly=true"):
            response = client.get(path)
            assert response.status_code == 200
            assert response.json() == {"data": [], "disableDefault": False}


def test_policy_globals(anon: httpx.Client, admin: httpx.Client, user: httpx.Client) -> None:
    assert ok(anon.get("/policies/me/globals")) == {"app_access": False}
    assert ok(admin.get("/policies/me/globals")) == {"app_access": True, "admin_access": True, "enforce_tfa": False}
    assert ok(user.get("/policies/me/globals")) == {"app_access": False, "admin_access": False, "enforce_tfa": False}


def test_policy_globals_enforce_tfa_from_any_policy(srv: LiveServer, admin: httpx.Client) -> None:
    policy = make_policy(admin, enforce_tfa=True, app_access=True)
    _, token = make_user(admin, policies=(policy,))
    with srv.client(token=token) as client:
        assert ok(client.get("/policies/me/globals")) == {
            "app_access": True,
            "admin_access": False,
            "enforce_tfa": True,
        }


def test_roles_me(anon: httpx.Client, admin: httpx.Client, user: httpx.Client, limited: Limited) -> None:
    assert error(anon.get("/roles/me"), 403, "FORBIDDEN") == FORBIDDEN
    # A user who may not read directus_roles gets the ids of their roles, as from Directus.
    assert ok(user.get("/roles/me")) == [{"id": limited.role}]
    roles = ok(admin.get("/roles/me"))
    assert len(roles) == 1 and {"id", "name", "icon", "description", "parent"} <= set(roles[0])
    assert ok(admin.get("/roles/me", params={"fields": "name"})) == [{"name": roles[0]["name"]}]


def test_roles_me_lists_the_role_chain(srv: LiveServer, admin: httpx.Client) -> None:
    reader = make_policy(admin, {"collection": "directus_roles", "action": "read", "fields": ["id", "name"]})
    parent = make_role(admin)
    child = make_role(admin, reader, parent=parent)
    _, token = make_user(admin, role=child)
    with srv.client(token=token) as client:
        roles = ok(client.get("/roles/me", params={"fields": "id"}))
    assert sorted(r["id"] for r in roles) == sorted([parent, child])


def test_permissions_me(anon: httpx.Client, admin: httpx.Client, user: httpx.Client) -> None:
    assert error(anon.get("/permissions/me"), 403, "FORBIDDEN") == FORBIDDEN
    # The limited user: exactly as Directus 12.4.1 answered for the seed guide's user (key order included).
    response = user.get("/permissions/me")
    assert response.json() == {
        "data": {
            "messages": {
                "read": {"access": "full", "fields": ["*"]},
                "create": {"access": "full", "fields": ["*"]},
                "update": {"access": "none"},
                "delete": {"access": "none"},
                "share": {"access": "none"},
            }
        }
    }
    assert list(response.json()["data"]["messages"]) == ["read", "create", "update", "delete", "share"]
    everything = ok(admin.get("/permissions/me"))
    full = {"access": "full", "fields": ["*"]}
    assert everything["messages"] == {a: full for a in ("create", "read", "update", "delete", "share")}
    assert "directus_users" in everything


def test_permissions_me_partial_fields_and_presets(srv: LiveServer, admin: httpx.Client) -> None:
    policy = make_policy(
        admin,
        {"collection": "messages", "action": "read", "fields": ["id", "text"], "permissions": {"number": {"_gt": 1}}},
        {"collection": "messages", "action": "read", "fields": ["user"]},
        {"collection": "messages", "action": "create", "fields": ["text"], "presets": {"number": 7}},
    )
    _, token = make_user(admin, policies=(policy,))
    with srv.client(token=token) as client:
        mine = ok(client.get("/permissions/me"))["messages"]
    assert mine["read"] == {"access": "partial", "fields": ["id", "text", "user"]}
    assert mine["create"] == {"access": "full", "fields": ["text"], "presets": {"number": 7}}
    assert mine["update"] == {"access": "none"}


def test_item_permissions(srv: LiveServer, anon: httpx.Client, admin: httpx.Client, user: httpx.Client) -> None:
    for path in ("/permissions/me/messages", "/permissions/me/messages/1", "/permissions/me/nonexist"):
        assert error(anon.get(path), 403, "FORBIDDEN") == FORBIDDEN
        assert ok(admin.get(path)) == ALL_ACCESS
        assert ok(user.get(path)) == NO_ACCESS
    mine = ok(admin.post("/items/messages", json={"text": "mine", "number": 5}))["id"]
    other = ok(admin.post("/items/messages", json={"text": "other", "number": 1}))["id"]
    policy = make_policy(
        admin,
        {"collection": "messages", "action": "update", "fields": ["*"], "permissions": {"number": {"_gt": 2}}},
    )
    _, token = make_user(admin, policies=(policy,))
    with srv.client(token=token) as client:
        updatable = {"update": {"access": True}, "delete": {"access": False}, "share": {"access": False}}
        assert ok(client.get("/permissions/me/messages")) == updatable
        assert ok(client.get(f"/permissions/me/messages/{mine}")) == updatable
        assert ok(client.get(f"/permissions/me/messages/{other}")) == NO_ACCESS
        assert ok(client.get("/permissions/me/messages/999999")) == NO_ACCESS


def test_admin_reads_of_me_routes_are_not_taken_for_keys(admin: httpx.Client) -> None:
    """``readUserPermissions`` and ``readRolesMe`` answered 403 to the admin when ``me`` was read as an id."""
    assert admin.get("/permissions/me").status_code == 200
    assert admin.get("/roles/me").status_code == 200


def test_track_page(anon: httpx.Client, admin: httpx.Client, user: httpx.Client) -> None:
    assert error(anon.patch("/users/me/track/page", json={"last_page": "/x"}), 401, "INVALID_CREDENTIALS")
    assert user.patch("/users/me/track/page", json={"last_page": "/content/messages"}).status_code == 204
    message = error(user.patch("/users/me/track/page", json={}), 400, "INVALID_PAYLOAD")
    assert message == 'Invalid payload. "last_page" key is required.'
    assert admin.patch("/users/me/track/page", json={"last_page": "/settings"}).status_code == 204
    assert ok(admin.get("/users/me", params={"fields": "last_page"})) == {"last_page": "/settings"}


def test_users_me_carries_the_data_studio_fields(srv: LiveServer, user: httpx.Client) -> None:
    """The Data Studio reads and writes these on its signed-in user (an admin here, as in the seed guide); the
    seed guide's limited user, without app access, reads only its id and may not write (Directus 12.4.1)."""
    with srv.client() as admin:
        me = ok(admin.get("/users/me"))
        assert me["text_direction"] == "auto"
        assert me["theme_light_overrides"] is None and me["theme_dark_overrides"] is None
        overrides = {"primary": "#FF0000"}
        changed = ok(admin.patch("/users/me", json={"theme_dark_overrides": overrides, "text_direction": "rtl"}))
        assert changed["theme_dark_overrides"] == overrides and changed["text_direction"] == "rtl"
        ok(admin.patch("/users/me", json={"theme_dark_overrides": None, "text_direction": "auto"}))
    assert set(ok(user.get("/users/me"))) == {"id"}
    assert error(user.patch("/users/me", json={"text_direction": "rtl"}), 403, "FORBIDDEN")
