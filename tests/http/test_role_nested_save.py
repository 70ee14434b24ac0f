"""The Data Studio's role save: one PATCH that creates a policy (through the ``directus_access`` junction, its
``policy`` given as an object with nested ``permissions``) and a user of the role. Expected answers recorded
from Directus 12.4.1 (``wf role``/``wf policy`` on ``wf_notes``); runs on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.http.accounts_support import error, make_policy, make_user, ok
from tests.support.live import LiveServer
from tests.support.servers import messages_collection, module_server

srv = module_server("rolesave", seed=messages_collection)


def nested_save(policy: str, email: str, actions: tuple[str, ...] = ("create", "read")) -> dict[str, Any]:
    permissions = [
        {"collection": "messages", "action": action, "fields": ["*"], "permissions": {}, "validation": {}}
        for action in actions
    ]
    return {
        "policies": {
            "create": [
                {"policy": {"name": policy, "permissions": {"create": permissions, "update": [], "delete": []}}}
            ],
            "update": [],
            "delete": [],
        },
        "users": {"create": [{"email": email, "password": "walker-pass"}], "update": [], "delete": []},
    }


@pytest.fixture
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


def _role(admin: httpx.Client, name: str) -> str:
    return str(ok(admin.post("/roles", json={"name": name}))["id"])


def test_a_role_save_creates_its_policy_permissions_and_user(srv: LiveServer, admin: httpx.Client) -> None:
    role = _role(admin, "wf role")
    saved = admin.patch(f"/roles/{role}", params={"fields": "name"}, json=nested_save("wf policy", "wf-a@example.com"))
    assert ok(saved) == {"name": "wf role"}
    fields = (
        "name,users.email,users.status,users.role,policies.policy.name,policies.policy.permissions.action,"
        "policies.policy.permissions.collection,policies.sort,policies.user"
    )
    assert ok(admin.get(f"/roles/{role}", params={"fields": fields})) == {
        "name": "wf role",
        "users": [{"email": "wf-a@example.com", "status": "active", "role": role}],
        "policies": [
            {
                "policy": {
                    "name": "wf policy",
                    "permissions": [
                        {"action": "create", "collection": "messages"},
                        {"action": "read", "collection": "messages"},
                    ],
                },
                "sort": 1,
                "user": None,
            }
        ],
    }
    # The new user signs in (the password was hashed) and may now read and create messages.
    login = httpx.post(f"{srv.url}/auth/login", json={"email": "wf-a@example.com", "password": "walker-pass"})
    token = ok(login)["access_token"]
    with srv.client(token=token) as user:
        ok(user.post("/items/messages", json={"text": "from the nested user"}))
        assert "from the nested user" in [row["text"] for row in ok(user.get("/items/messages"))]


def test_a_user_deselected_from_a_role_stays_without_it(admin: httpx.Client) -> None:
    role = _role(admin, "wf role 2")
    ok(admin.patch(f"/roles/{role}", json=nested_save("wf policy 2", "wf-b@example.com")))
    user = ok(admin.get("/users", params={"filter[email][_eq]": "wf-b@example.com", "fields": "id"}))[0]["id"]
    ok(admin.patch(f"/roles/{role}", json={"users": {"create": [], "update": [], "delete": [user]}}))
    assert ok(admin.get(f"/users/{user}", params={"fields": "email,role"})) == {
        "email": "wf-b@example.com",
        "role": None,
    }


def test_a_bad_nested_permission_writes_nothing(admin: httpx.Client) -> None:
    role = _role(admin, "wf role 3")
    body = nested_save("wf policy 3", "wf-c@example.com", actions=("read", "fly"))
    error(admin.patch(f"/roles/{role}", json=body), 400, "INVALID_PAYLOAD")
    assert ok(admin.get("/policies", params={"filter[name][_eq]": "wf policy 3"})) == []
    assert ok(admin.get("/users", params={"filter[email][_eq]": "wf-c@example.com"})) == []
    assert ok(admin.get(f"/roles/{role}", params={"fields": "policies,users"})) == {"policies": [], "users": []}


def test_an_existing_policy_given_with_its_key_is_attached_and_updated(admin: httpx.Client) -> None:
    role = _role(admin, "wf role 4")
    policy = ok(admin.post("/policies", json={"name": "wf policy 4"}))["id"]
    body = {"policies": {"create": [{"policy": {"id": policy, "app_access": True}}], "update": [], "delete": []}}
    ok(admin.patch(f"/roles/{role}", json=body))
    row = ok(admin.get(f"/roles/{role}", params={"fields": "policies.policy.id,policies.policy.app_access"}))
    assert row == {"policies": [{"policy": {"id": policy, "app_access": True}}]}


def _follow(admin: httpx.Client, role: str, quantifier: str = "_some", target: str = "directus_access,policy") -> Any:
    key = f"filter[$FOLLOW({target})][{quantifier}][role][_eq]"
    return admin.get("/policies", params={"fields": "name", "sort": "name", key: role})


def test_follow_finds_a_roles_policies_through_the_access_rows(admin: httpx.Client) -> None:
    """The role page lists the role's policies with ``$FOLLOW(directus_access,policy)`` (recorded: Directus
    answers the policy attached to the role for ``_some``, every other one for ``_none``)."""
    role = _role(admin, "wf role 5")
    ok(admin.patch(f"/roles/{role}", json=nested_save("wf policy 5", "wf-e@example.com")))
    assert ok(_follow(admin, role)) == [{"name": "wf policy 5"}]
    others = [row["name"] for row in ok(_follow(admin, role, "_none"))]
    assert "wf policy 5" not in others
    assert "Administrator" in others


def test_follow_names_are_checked(srv: LiveServer, admin: httpx.Client) -> None:
    role = _role(admin, "wf role 6")
    message = error(_follow(admin, role, target="nope,policy"), 403, "FORBIDDEN")
    assert message == 'You don\'t have permission to access collection "nope" or it does not exist. Queried in root.'
    # Directus answers 500 (SQLITE_ERROR: no such column) here; Tidepool names the field.
    assert '"nope"' in error(_follow(admin, role, target="directus_access,nope"), 403, "FORBIDDEN")
    # A user who may read policies but not the access rows cannot follow them.
    policy = make_policy(admin, {"collection": "directus_policies", "action": "read", "fields": ["*"]})
    _, token = make_user(admin, policies=(policy,))
    with srv.client(token=token) as user:
        error(_follow(user, role), 403, "FORBIDDEN")


def test_follow_under_a_relation_reads_as_an_o2m(admin: httpx.Client) -> None:
    """Through an m2o, a missing row is asked about ``$FOLLOW`` as about an o2m without rows."""
    role = _role(admin, "wf role 7")
    ok(admin.patch(f"/roles/{role}", json=nested_save("wf policy 7", "wf-g@example.com")))
    key = "filter[policy][$FOLLOW(directus_access,policy)][_some][role][_eq]"
    rows = ok(admin.get("/access", params={"fields": "policy.name", key: role}))
    assert rows == [{"policy": {"name": "wf policy 7"}}]


def test_policies_list_their_access_rows_as_roles_and_users(admin: httpx.Client) -> None:
    """Directus 12.4.1 answers both aliases with the policy's access rows (``roles`` and ``users`` alike; the
    Data Studio tells them apart by the junction filter), and lists ``directus_access.policy`` twice."""
    role = _role(admin, "wf role 8")
    ok(admin.patch(f"/roles/{role}", json=nested_save("wf policy 8", "wf-h@example.com")))
    policy = ok(admin.get("/policies", params={"filter[name][_eq]": "wf policy 8", "fields": "roles,users"}))[0]
    access = ok(admin.get("/access", params={"filter[role][_eq]": role, "fields": "id"}))
    assert policy == {"roles": [access[0]["id"]], "users": [access[0]["id"]]}
    sides = {
        (r["meta"]["one_field"], r["meta"]["junction_field"])
        for r in ok(admin.get("/relations/directus_access"))
        if r["field"] == "policy"
    }
    assert sides == {("roles", "role"), ("users", "user")}
