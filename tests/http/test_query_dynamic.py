"""Dynamic variables in client filters (``$NOW``, ``$CURRENT_USER(.path)``, ``$CURRENT_ROLE(.path)``,
``$CURRENT_ROLES(.path)``, ``$CURRENT_POLICIES(.path)``): resolved for the caller on REST reads, WebSocket
``items`` reads and subscription filters, by the one resolver the permission rules use too.

Directus 12.4.1 answers these filters with the caller's values (docs/query-language.md); Tidepool answered
400 for every one of them. Runs on SQLite, and on PostgreSQL/MariaDB with TIDEPOOL_TEST_DB=pg|mysql.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from tests.http.accounts_support import make_policy, make_role, make_user, ok
from tests.realtime.wsclient import WS
from tests.support.live import LiveServer
from tests.support.servers import messages_collection, module_server

READ_ALL = {"collection": "messages", "action": "read", "fields": ["*"], "permissions": {}}


@dataclass(frozen=True)
class Caller:
    user: str
    email: str
    token: str
    role: str
    role_name: str
    parent: str
    policy: str
    policy_name: str


srv = module_server("dynamic", seed=messages_collection)


@pytest.fixture(scope="module")
def caller(srv: LiveServer) -> Caller:
    """A user of a child role whose parent role holds the read policy; rows naming each of its values."""
    with srv.client() as admin:
        policy = make_policy(admin, READ_ALL)
        parent = make_role(admin, policy)
        role = make_role(admin, parent=parent)
        user, token = make_user(admin, role=role)
        found = Caller(
            user=user,
            email=ok(admin.get(f"/users/{user}"))["email"],
            token=token,
            role=role,
            role_name=ok(admin.get(f"/roles/{role}"))["name"],
            parent=parent,
            policy=policy,
            policy_name=ok(admin.get(f"/policies/{policy}"))["name"],
        )
        rows: list[dict[str, Any]] = [
            {"text": "by-user", "user": user},
            {"text": found.email, "user": "x"},
            {"text": "by-role", "user": role},
            {"text": found.role_name, "user": "x"},
            {"text": "by-parent", "user": parent},
            {"text": "by-policy", "user": policy},
            {"text": found.policy_name, "user": "x"},
            {"text": "nobody", "user": "x"},
        ]
        ok(admin.post("/items/messages", json=rows))
        return found


def cases(who: Caller) -> list[tuple[dict[str, Any], list[str]]]:
    """(filter, texts it must return) for every variable and a path of each."""
    return [
        ({"user": {"_eq": "$CURRENT_USER"}}, ["by-user"]),
        ({"user": {"_eq": "$CURRENT_USER.id"}}, ["by-user"]),
        ({"text": {"_eq": "$CURRENT_USER.email"}}, [who.email]),
        ({"text": {"_eq": "$CURRENT_USER.role.name"}}, [who.role_name]),
        ({"user": {"_eq": "$CURRENT_ROLE"}}, ["by-role"]),
        ({"text": {"_eq": "$CURRENT_ROLE.name"}}, [who.role_name]),
        ({"user": {"_in": ["$CURRENT_ROLES"]}}, ["by-parent", "by-role"]),
        ({"user": {"_in": "$CURRENT_POLICIES"}}, ["by-policy"]),
        ({"text": {"_in": ["$CURRENT_POLICIES.name"]}}, [who.policy_name]),
        ({"date_created": {"_gte": "$NOW(-1 day)"}, "user": {"_eq": "$CURRENT_USER"}}, ["by-user"]),
        ({"date_created": {"_gte": "$NOW"}}, []),
        ({"date_created": {"_lt": "$NOW(+2 hours)"}, "text": {"_eq": "nobody"}}, ["nobody"]),
    ]


def texts(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(str(row["text"]) for row in rows)


def test_rest_reads_resolve_dynamic_variables(srv: LiveServer, caller: Caller) -> None:
    with srv.client(token=caller.token) as client:
        for filter_, expected in cases(caller):
            response = client.get("/items/messages", params={"filter": json.dumps(filter_), "fields": "text"})
            assert response.status_code == 200, (filter_, response.text)
            assert texts(response.json()["data"]) == sorted(expected), filter_


def test_rest_bracket_form_and_meta_resolve_dynamic_variables(srv: LiveServer, caller: Caller) -> None:
    with srv.client(token=caller.token) as client:
        params = {"filter[user][_eq]": "$CURRENT_USER", "fields": "text", "meta": "filter_count"}
        body = client.get("/items/messages", params=params).json()
        assert texts(body["data"]) == ["by-user"] and body["meta"] == {"filter_count": 1}
        aggregate = {"filter[user][_in]": "$CURRENT_ROLES", "aggregate[count]": "*"}
        assert ok(client.get("/items/messages", params=aggregate)) == [{"count": 2}]


def ws_for(srv: LiveServer, token: str) -> WS:
    conn = WS(srv.ws_url)
    assert conn.request({"type": "auth", "access_token": token}) == {"type": "auth", "status": "ok"}
    return conn


def test_websocket_items_reads_resolve_dynamic_variables(srv: LiveServer, caller: Caller) -> None:
    with ws_for(srv, caller.token) as conn:
        for index, (filter_, expected) in enumerate(cases(caller)):
            query = {"filter": filter_, "fields": ["text"]}
            reply = conn.request(
                {"type": "items", "collection": "messages", "action": "read", "query": query, "uid": index}
            )
            assert reply.get("type") == "items" and "data" in reply, (filter_, reply)
            assert texts(reply["data"]) == sorted(expected), filter_


def test_subscription_filters_resolve_role_and_policy_paths(srv: LiveServer, caller: Caller) -> None:
    """The realtime resolver used to skip ``$CURRENT_ROLES.<path>``/``$CURRENT_POLICIES.<path>``."""
    with ws_for(srv, caller.token) as conn, srv.client() as admin:
        filters = {
            "policy": {"text": {"_in": ["$CURRENT_POLICIES.name"]}},
            "role": {"text": {"_eq": "$CURRENT_USER.role.name"}},
            "mine": {"user": {"_eq": "$CURRENT_USER"}, "date_created": {"_gte": "$NOW(-1 hour)"}},
        }
        for uid, filter_ in filters.items():
            query = {"filter": filter_, "fields": ["text"]}
            init = conn.request({"type": "subscribe", "collection": "messages", "query": query, "uid": uid})
            assert init.get("event") == "init", init
        ok(admin.post("/items/messages", json={"text": "unrelated", "user": "x"}))
        ok(admin.post("/items/messages", json={"text": caller.policy_name, "user": "x"}))
        ok(admin.post("/items/messages", json={"text": caller.role_name, "user": "x"}))
        ok(admin.post("/items/messages", json={"text": "fresh", "user": caller.user}))
        got = {}
        for _ in range(3):
            frame = conn.recv()
            assert frame["event"] == "create", frame
            got[frame["uid"]] = texts(frame["data"])
        assert got == {"policy": [caller.policy_name], "role": [caller.role_name], "mine": ["fresh"]}
        conn.quiet(0.3)


def test_dynamic_values_are_bound_not_interpreted(srv: LiveServer, caller: Caller) -> None:
    """A resolved value is data: a user path holding filter syntax is compared as text."""
    with srv.client(token=caller.token) as client:
        response = client.get("/items/messages", params={"filter[text][_eq]": "$CURRENT_USER.nope.deeper"})
        assert response.status_code == 200 and response.json()["data"] == []


def test_admin_gets_its_own_values(srv: LiveServer, caller: Caller) -> None:
    with srv.client() as admin:
        ok(admin.post("/items/messages", json={"text": "admin@example.com", "user": "x"}))
        rows = ok(admin.get("/items/messages", params={"filter[text][_eq]": "$CURRENT_USER.email", "fields": "text"}))
        assert rows == [{"text": "admin@example.com"}]
