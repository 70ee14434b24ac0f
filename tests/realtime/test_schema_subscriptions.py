"""Subscriptions to the schema's own collections (``directus_collections``, ``directus_fields``,
``directus_relations``) describe no more than ``/collections``, ``/fields`` and ``/relations`` answer the same
user: an app user reads these collections (Directus's app-access minimum), and a subscription used to list every
row of them, naming the collections the user may not read and the fields its permissions hide."""

from __future__ import annotations

from typing import Any

import httpx

from tests.http.accounts_support import make_policy, make_user, ok
from tests.realtime.wsclient import WS
from tests.support.live import LiveServer

PK = {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}}


def _string(name: str) -> dict[str, Any]:
    return {"field": name, "type": "string", "meta": {}, "schema": {}}


def _schema(admin: httpx.Client) -> None:
    closed = {"collection": "closed", "meta": {}, "schema": {}, "fields": [PK, _string("note")]}
    ok(admin.post("/collections", json=closed))
    fields = [PK, _string("name"), _string("hidden_note"), {**_string("closed_ref"), "type": "integer"}]
    ok(admin.post("/collections", json={"collection": "open", "meta": {}, "schema": {}, "fields": fields}))
    ok(admin.post("/relations", json={"collection": "open", "field": "closed_ref", "related_collection": "closed"}))


def _init(ws: WS, collection: str) -> list[dict[str, Any]]:
    query = {"fields": ["*"], "limit": -1}
    init = ws.request({"type": "subscribe", "collection": collection, "query": query, "uid": collection})
    assert init["event"] == "init", init
    rows: list[dict[str, Any]] = init["data"]
    return rows


def test_schema_subscriptions_list_only_what_the_schema_endpoints_show(server: LiveServer, admin: httpx.Client) -> None:
    _schema(admin)
    read_open = {"collection": "open", "action": "read", "fields": ["id", "name", "closed_ref"], "permissions": {}}
    _, token = make_user(admin, policies=(make_policy(admin, read_open, app_access=True),))
    with server.client(token=token) as user:
        shown = {(f["collection"], f["field"]) for f in ok(user.get("/fields")) if f["meta"] is not None}
        relations = ok(user.get("/relations"))
    assert ("open", "name") in shown and ("open", "hidden_note") not in shown
    with WS(server.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": token})["status"] == "ok"
        fields = {(row["collection"], row["field"]) for row in _init(ws, "directus_fields")}
        collections = {row["collection"] for row in _init(ws, "directus_collections")}
        related = _init(ws, "directus_relations")
    assert fields <= shown  # /fields also lists system fields the table holds no row for
    assert {(c, f) for c, f in fields if c in ("open", "closed")} == {(c, f) for c, f in shown if c == "open"}
    assert "open" in collections and "closed" not in collections
    assert [r for r in related if "closed" in (r["many_collection"], r["one_collection"])] == []
    assert [r for r in relations if "closed" in (r["collection"], r["related_collection"])] == []
