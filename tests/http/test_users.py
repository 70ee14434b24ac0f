"""/users, /roles, /policies, /permissions, /access over real HTTP: Directus shapes, admin-only writes,
static token masking, /users/me, inline policies."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.http.accounts_support import error, make_policy, make_role, make_user, ok
from tests.support.live import LiveServer
from tests.support.servers import module_server

srv = module_server("users")


@pytest.fixture
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


def test_create_user_hashes_password_and_masks_secrets(srv: LiveServer, admin: httpx.Client) -> None:
    user = ok(admin.post("/users", json={"email": "Ann@Example.com", "password": "s3cret", "token": "ann-token"}))
    assert user["email"] == "ann@example.com"
    assert user["password"] == "**********" and user["token"] == "**********"
    assert user["status"] == "active" and user["provider"] == "default"
    with srv.client(token=None) as anon:
        ok(anon.post("/auth/login", json={"email": "ann@example.com", "password": "s3cret"}))
    with srv.client(token="ann-token") as ann:
        assert ok(ann.get("/users/me"))["id"] == user["id"]


def test_list_filter_sort_meta_and_fields(admin: httpx.Client) -> None:
    for name in ("zed", "amy"):
        ok(admin.post("/users", json={"email": f"{name}@list.test", "first_name": name}))
    listed = admin.get(
        "/users",
        params={"filter[email][_ends_with]": "@list.test", "sort": "first_name", "fields": "first_name", "meta": "*"},
    )
    body = listed.json()
    assert body["data"] == [{"first_name": "amy"}, {"first_name": "zed"}]
    assert body["meta"]["filter_count"] == 2


def test_batch_create_update_delete(admin: httpx.Client) -> None:
    created = ok(admin.post("/users", json=[{"email": "b1@batch.test"}, {"email": "b2@batch.test"}]))
    ids = [u["id"] for u in created]
    updated = ok(admin.patch("/users", json={"keys": ids, "data": {"title": "T"}}))
    assert [u["title"] for u in updated] == ["T", "T"]
    assert admin.request("DELETE", "/users", json=ids).status_code == 204
    assert ok(admin.get("/users", params={"filter[email][_ends_with]": "@batch.test"})) == []


def test_duplicate_email_is_record_not_unique(admin: httpx.Client) -> None:
    ok(admin.post("/users", json={"email": "dup@example.com"}))
    error(admin.post("/users", json={"email": "dup@example.com"}), 400, "RECORD_NOT_UNIQUE")


def test_patch_token_sets_a_working_static_token(srv: LiveServer, admin: httpx.Client) -> None:
    user_id, old = make_user(admin)
    assert ok(admin.patch(f"/users/{user_id}", json={"token": "fresh-token"}))["token"] == "**********"
    with srv.client(token="fresh-token") as fresh, srv.client(token=old) as stale:
        assert ok(fresh.get("/users/me"))["id"] == user_id
        error(stale.get("/users/me"), 401, "INVALID_CREDENTIALS")
    assert ok(admin.patch(f"/users/{user_id}", json={"token": None}))["token"] is None


def test_users_me(srv: LiveServer, admin: httpx.Client) -> None:
    """Without app access or a permission row a user reads only its id and changes nothing (Directus 12.4.1);
    with app access it reads its own record (tests/http/test_system_collections.py has the rest)."""
    user_id, token = make_user(admin, first_name="Me")
    with srv.client(token=token) as client:
        assert ok(client.get("/users/me", params={"fields": "id,first_name"})) == {"id": user_id}
        error(client.patch("/users/me", json={"first_name": "Changed"}), 403, "FORBIDDEN")
        error(client.patch("/users/me", json={"role": None}), 403, "FORBIDDEN")
        error(client.patch("/users/me", json={"status": "active"}), 403, "FORBIDDEN")
        error(client.get("/users"), 403, "FORBIDDEN")
        error(client.get(f"/users/{user_id}"), 403, "FORBIDDEN")
    with srv.client(token=None) as anon:
        error(anon.get("/users/me"), 401, "INVALID_CREDENTIALS")


@pytest.mark.parametrize("path", ["/users", "/roles", "/policies", "/permissions", "/access"])
def test_non_admin_writes_are_forbidden(srv: LiveServer, admin: httpx.Client, path: str) -> None:
    _, token = make_user(admin)
    with srv.client(token=token) as client:
        error(client.post(path, json={"name": "x"}), 403, "FORBIDDEN")
        error(client.patch(f"{path}/1", json={"name": "x"}), 403, "FORBIDDEN")
        error(client.delete(f"{path}/1"), 403, "FORBIDDEN")


def test_roles_nest_and_carry_policies(admin: httpx.Client) -> None:
    policy = make_policy(admin)
    parent = make_role(admin, policy)
    child = ok(admin.post("/roles", json={"name": "Child", "parent": parent}))
    assert child["parent"] == parent and child["icon"] == "supervised_user_circle"
    parent_row = ok(admin.get(f"/roles/{parent}", params={"fields": "id,children,policies.policy"}))
    assert parent_row["children"] == [child["id"]]
    assert parent_row["policies"] == [{"policy": policy}]
    ok(admin.patch(f"/roles/{parent}", json={"policies": []}))
    assert ok(admin.get(f"/roles/{parent}", params={"fields": "policies"}))["policies"] == []


def test_policy_and_permissions_shapes(admin: httpx.Client) -> None:
    policy = ok(admin.post("/policies", json={"name": "Readers", "ip_access": ["10.0.0.0/8"], "app_access": True}))
    assert policy["ip_access"] == ["10.0.0.0/8"]
    assert (policy["admin_access"], policy["app_access"], policy["enforce_tfa"]) == (False, True, False)
    permission = ok(
        admin.post(
            "/permissions",
            json={
                "policy": policy["id"],
                "collection": "messages",
                "action": "read",
                "fields": ["id", "text"],
                "permissions": {"user": {"_eq": "$CURRENT_USER"}},
            },
        )
    )
    assert permission["fields"] == ["id", "text"]
    assert permission["permissions"] == {"user": {"_eq": "$CURRENT_USER"}}
    assert isinstance(permission["id"], int)
    listed = ok(admin.get("/permissions", params={"filter[policy][_eq]": policy["id"]}))
    assert [p["id"] for p in listed] == [permission["id"]]
    bad = admin.post("/permissions", json={"policy": policy["id"], "collection": "m", "action": "fly"})
    error(bad, 400, "INVALID_PAYLOAD")
    nested = ok(admin.get(f"/policies/{policy['id']}", params={"fields": "permissions.action"}))
    assert nested["permissions"] == [{"action": "read"}]


def test_access_rows_attach_policies_to_users(admin: httpx.Client) -> None:
    policy = make_policy(admin)
    user_id, _ = make_user(admin)
    row = ok(admin.post("/access", json={"policy": policy, "user": user_id}))
    assert row["user"] == user_id and row["role"] is None
    mine = ok(admin.get(f"/users/{user_id}", params={"fields": "policies.policy"}))
    assert mine["policies"] == [{"policy": policy}]
    error(
        admin.post("/access", json={"policy": policy, "user": user_id, "role": make_role(admin)}),
        400,
        "INVALID_PAYLOAD",
    )
    assert admin.delete(f"/access/{row['id']}").status_code == 204
    assert ok(admin.get(f"/users/{user_id}", params={"fields": "policies"}))["policies"] == []


def test_deleting_a_role_keeps_its_users(admin: httpx.Client) -> None:
    role = make_role(admin)
    user_id, _ = make_user(admin, role=role)
    assert admin.delete(f"/roles/{role}").status_code == 204
    assert ok(admin.get(f"/users/{user_id}"))["role"] is None
    error(admin.get(f"/roles/{role}"), 403, "FORBIDDEN")
