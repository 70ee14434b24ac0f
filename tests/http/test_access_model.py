"""The Directus 11 access model end to end over /items: public policy, nested roles, user-level access rows,
ip_access, admin policies, dynamic variables, field rules and cache invalidation.
Runs on SQLite, and on PostgreSQL/MariaDB with TIDEPOOL_TEST_DB=pg|mysql."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.http.accounts_support import error, make_policy, make_role, make_user, ok
from tests.support.live import LiveServer
from tests.support.servers import messages_collection, module_server

READ_ALL = {"collection": "messages", "action": "read", "fields": ["*"], "permissions": {}}


srv = module_server("access", seed=messages_collection)


@pytest.fixture
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        client.request("DELETE", "/items/messages", json={"query": {"limit": -1}})
        yield client


def texts(client: httpx.Client, **params: str) -> list[str]:
    return sorted(row["text"] for row in ok(client.get("/items/messages", params={"fields": "text", **params})))


def seed(admin: httpx.Client, *rows: dict[str, object]) -> None:
    ok(admin.post("/items/messages", json=list(rows)))


def test_no_policy_means_forbidden(srv: LiveServer, admin: httpx.Client) -> None:
    _, token = make_user(admin)
    with srv.client(token=token) as client:
        message = error(client.get("/items/messages"), 403, "FORBIDDEN")
        assert 'collection "messages"' in message


def test_public_policy_applies_to_anonymous_and_changes_apply_at_once(srv: LiveServer, admin: httpx.Client) -> None:
    seed(admin, {"text": "hello"})
    with srv.client(token=None) as anon:
        error(anon.get("/items/messages"), 403, "FORBIDDEN")
        public = "abf8a154-5b1c-4a46-ac9c-7300570f4f17"
        permission = ok(admin.post("/permissions", json={"policy": public, **READ_ALL}))
        assert texts(anon) == ["hello"]
        assert admin.delete(f"/permissions/{permission['id']}").status_code == 204
        error(anon.get("/items/messages"), 403, "FORBIDDEN")


def test_nested_roles_inherit_policies(srv: LiveServer, admin: httpx.Client) -> None:
    seed(admin, {"text": "a"})
    parent = make_role(admin, make_policy(admin, READ_ALL))
    child = make_role(admin, parent=parent)
    _, token = make_user(admin, role=child)
    with srv.client(token=token) as client:
        assert texts(client) == ["a"]
        ok(admin.patch(f"/roles/{child}", json={"parent": None}))
        error(client.get("/items/messages"), 403, "FORBIDDEN")


def test_user_level_access_rows(srv: LiveServer, admin: httpx.Client) -> None:
    seed(admin, {"text": "b"})
    user_id, token = make_user(admin)
    with srv.client(token=token) as client:
        error(client.get("/items/messages"), 403, "FORBIDDEN")
        ok(admin.post("/access", json={"user": user_id, "policy": make_policy(admin, READ_ALL)}))
        assert texts(client) == ["b"]


def test_admin_access_policy_bypasses_permissions(srv: LiveServer, admin: httpx.Client) -> None:
    seed(admin, {"text": "c"})
    _, token = make_user(admin, policies=(make_policy(admin, admin_access=True),))
    with srv.client(token=token) as client:
        assert texts(client) == ["c"]
        ok(client.post("/roles", json={"name": "made-by-admin-policy"}))


def test_ip_access_filters_policies(srv: LiveServer, admin: httpx.Client) -> None:
    seed(admin, {"text": "d"})
    far = make_policy(admin, READ_ALL, ip_access=["10.0.0.0/8"])
    near = make_policy(admin, {**READ_ALL, "fields": ["id"]}, ip_access=["127.0.0.1"])
    _, token = make_user(admin, policies=(far, near))
    with srv.client(token=token) as client:
        error(client.get("/items/messages", params={"fields": "text"}), 403, "FORBIDDEN")
        assert len(ok(client.get("/items/messages", params={"fields": "id"}))) == 1


def test_field_rules_return_null_outside_the_union(srv: LiveServer, admin: httpx.Client) -> None:
    seed(admin, {"text": "mine", "number": 1}, {"text": "other", "number": 2})
    everything = {**READ_ALL, "fields": ["id", "text"], "permissions": {}}
    numbers = {**READ_ALL, "fields": ["number"], "permissions": {"number": {"_eq": 1}}}
    _, token = make_user(admin, policies=(make_policy(admin, everything, numbers),))
    with srv.client(token=token) as client:
        rows = ok(client.get("/items/messages", params={"fields": "text,number", "sort": "text"}))
        assert rows == [{"text": "mine", "number": 1}, {"text": "other", "number": None}]


def test_current_user_and_paths(srv: LiveServer, admin: httpx.Client) -> None:
    own = {
        **READ_ALL,
        "permissions": {"_or": [{"user": {"_eq": "$CURRENT_USER"}}, {"text": {"_eq": "$CURRENT_USER.email"}}]},
    }
    user_id, token = make_user(admin, policies=(make_policy(admin, own),))
    email = ok(admin.get(f"/users/{user_id}"))["email"]
    seed(admin, {"text": "own", "user": user_id}, {"text": email}, {"text": "other", "user": "someone"})
    with srv.client(token=token) as client:
        assert texts(client) == sorted(["own", email])


def test_current_role_roles_and_policies(srv: LiveServer, admin: httpx.Client) -> None:
    policy = make_policy(admin)
    parent = make_role(admin)
    role = make_role(admin, parent=parent)
    role_name = ok(admin.get(f"/roles/{role}"))["name"]
    rule = {
        "_or": [
            {"user": {"_eq": "$CURRENT_ROLE"}},
            {"text": {"_eq": "$CURRENT_ROLE.name"}},
            {"user": {"_in": ["$CURRENT_ROLES"]}},
            {"user": {"_in": ["$CURRENT_POLICIES"]}},
        ]
    }
    ok(admin.post("/permissions", json={"policy": policy, **READ_ALL, "permissions": rule}))
    ok(admin.post("/access", json={"role": parent, "policy": policy}))
    seed(
        admin,
        {"text": "role", "user": role},
        {"text": role_name},
        {"text": "parent", "user": parent},
        {"text": "policy", "user": policy},
        {"text": "none", "user": "x"},
    )
    _, token = make_user(admin, role=role)
    with srv.client(token=token) as client:
        assert texts(client) == sorted(["role", role_name, "parent", "policy"])


def test_now_in_rules(srv: LiveServer, admin: httpx.Client) -> None:
    recent = {**READ_ALL, "permissions": {"date_created": {"_gte": "$NOW(-1 hour)"}}}
    future = {**READ_ALL, "permissions": {"date_created": {"_gte": "$NOW(+1 hour)"}}}
    seed(admin, {"text": "new"})
    _, recent_token = make_user(admin, policies=(make_policy(admin, recent),))
    _, future_token = make_user(admin, policies=(make_policy(admin, future),))
    with srv.client(token=recent_token) as a, srv.client(token=future_token) as b:
        assert texts(a) == ["new"]
        assert texts(b) == []


def test_permission_change_is_seen_by_the_next_request(srv: LiveServer, admin: httpx.Client) -> None:
    seed(admin, {"text": "x", "number": 1}, {"text": "y", "number": 2})
    policy = make_policy(admin)
    permission = ok(
        admin.post("/permissions", json={"policy": policy, **READ_ALL, "permissions": {"number": {"_eq": 1}}})
    )
    _, token = make_user(admin, policies=(policy,))
    with srv.client(token=token) as client:
        assert texts(client) == ["x"]
        ok(admin.patch(f"/permissions/{permission['id']}", json={"permissions": {"number": {"_eq": 2}}}))
        assert texts(client) == ["y"]
        ok(admin.patch(f"/policies/{policy}", json={"admin_access": True}))
        assert texts(client) == ["x", "y"]


def test_create_permission_with_presets(srv: LiveServer, admin: httpx.Client) -> None:
    create = {"collection": "messages", "action": "create", "fields": ["text"], "presets": {"number": 7}}
    user_id, token = make_user(admin, policies=(make_policy(admin, READ_ALL, create),))
    with srv.client(token=token) as client:
        created = ok(client.post("/items/messages", json={"text": "posted"}))
        assert created["number"] == 7
        error(client.post("/items/messages", json={"text": "t", "user": "forged"}), 403, "FORBIDDEN")
        error(client.patch(f"/items/messages/{created['id']}", json={"text": "edit"}), 403, "FORBIDDEN")
