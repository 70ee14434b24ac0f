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


def _events(ws: WS, count: int) -> list[dict[str, Any]]:
    """The next ``count`` events, then nothing more for a moment (an event that should not come would)."""
    found = [ws.recv_until(lambda f: f.get("type") == "subscription") for _ in range(count)]
    ws.quiet(0.3)
    return found


def test_field_events_reach_subscribers_as_the_rows_they_may_read(server: LiveServer, admin: httpx.Client) -> None:
    """A field's create, update and delete reach a ``directus_fields`` subscriber as the row it changed (the
    key the row has in ``init``), for an admin and for an app user limited to the collections it may read.
    Before, the event carried the field's name, the reader looked it up as the row's integer id, and no
    subscriber ever got a field event."""
    _schema(admin)
    read_open = {"collection": "open", "action": "read", "fields": ["*"], "permissions": {}}
    _, token = make_user(admin, policies=(make_policy(admin, read_open, app_access=True),))
    with WS(server.ws_url) as boss, WS(server.ws_url) as user:
        assert user.request({"type": "auth", "access_token": token})["status"] == "ok"
        assert boss.request({"type": "auth", "access_token": "admin-static-token"})["status"] == "ok"
        _init(boss, "directus_fields")
        _init(user, "directus_fields")
        ok(admin.post("/fields/open", json={**_string("added"), "meta": {"note": "one"}}))
        ok(admin.post("/fields/closed", json={**_string("secret"), "meta": {"note": "two"}}))
        created = {"boss": _events(boss, 2), "user": _events(user, 1)}
        assert [[(r["collection"], r["field"]) for r in e["data"]] for e in created["boss"]] == [
            [("open", "added")],
            [("closed", "secret")],
        ]
        assert [e["event"] for e in created["boss"]] == ["create", "create"]
        assert [[(r["collection"], r["field"]) for r in e["data"]] for e in created["user"]] == [[("open", "added")]]
        row_id = created["boss"][0]["data"][0]["id"]
        ok(admin.patch("/fields/open/added", json={"meta": {"note": "changed"}}))
        ok(admin.patch("/fields/closed/secret", json={"meta": {"note": "changed"}}))
        for ws in (boss, user):
            updated = _events(ws, 2 if ws is boss else 1)
            assert updated[0]["event"] == "update" and updated[0]["data"][0]["note"] == "changed", updated
        assert admin.delete("/fields/open/added").status_code == 204
        assert admin.delete("/fields/closed/secret").status_code == 204
        gone = {"boss": _events(boss, 2), "user": _events(user, 1)}
        assert [e["event"] for e in gone["boss"]] == ["delete", "delete"]
        assert [(e["event"], e["data"]) for e in gone["user"]] == [("delete", [row_id])]


def test_collection_and_relation_deletes_reach_subscribers(server: LiveServer, admin: httpx.Client) -> None:
    """Deleting a collection's row or a relation reaches ``directus_collections`` / ``directus_relations``
    subscribers with the deleted row's key (its ``init`` key); creates and updates arrive as rows. Before, a
    delete carried no image of the row, so no subscriber could be shown to have seen it and none got it, and
    a relation's delete named the field instead of the row."""
    _schema(admin)
    with WS(server.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": "admin-static-token"})["status"] == "ok"
        _init(ws, "directus_collections")
        relations = {row["many_field"]: row["id"] for row in _init(ws, "directus_relations")}
        ok(admin.patch("/relations/open/closed_ref", json={"meta": {"one_deselect_action": "delete"}}))
        updated = _events(ws, 1)[0]
        assert (updated["event"], updated["data"][0]["id"], updated["data"][0]["one_deselect_action"]) == (
            "update",
            relations["closed_ref"],
            "delete",
        )
        assert admin.delete("/relations/open/closed_ref").status_code == 204
        assert [(e["event"], e["data"], e["uid"]) for e in _events(ws, 1)] == [
            ("delete", [relations["closed_ref"]], "directus_relations")
        ]
        ok(admin.post("/collections", json={"collection": "folder", "meta": {}}))
        created = _events(ws, 1)[0]
        assert (created["event"], [r["collection"] for r in created["data"]]) == ("create", ["folder"])
        assert admin.delete("/collections/folder").status_code == 204
        assert admin.delete("/collections/closed").status_code == 204
        gone = _events(ws, 2)
        assert [(e["event"], e["data"], e["uid"]) for e in gone] == [
            ("delete", ["folder"], "directus_collections"),
            ("delete", ["closed"], "directus_collections"),
        ]


def _by_uid(frames: list[dict[str, Any]]) -> dict[str, list[tuple[str, Any]]]:
    """Each subscription's events in order: a delete's keys, or the created or updated rows' names."""
    found: dict[str, list[tuple[str, Any]]] = {}
    for frame in frames:
        data = frame["data"]
        if frame["event"] != "delete":
            data = [(r["collection"], r["field"]) if "field" in r else r.get("collection", r.get("id")) for r in data]
        found.setdefault(frame["uid"], []).append((frame["event"], data))
    return found


def test_rows_a_schema_change_writes_with_it_reach_their_subscribers(server: LiveServer, admin: httpx.Client) -> None:
    """A collection's creation sends the ``create`` of each ``directus_fields`` row it writes; dropping a field
    sends the ``delete`` of its relation's row and of the o2m alias row on the other side; deleting a collection
    sends the ``delete`` of its field rows, of its relations' rows and of the fields elsewhere that pointed at
    it, of its permissions, and the ``update`` of the folders it held; creating a relation sends the ``update``
    of the field row it flags ``m2o``. Before, only the change's own row had an event, so a subscriber kept
    rows that were gone or stale (and never saw the new collection's fields)."""
    with WS(server.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": "admin-static-token"})["status"] == "ok"
        _init(ws, "directus_fields")
        _init(ws, "directus_relations")
        _init(ws, "directus_collections")
        _init(ws, "directus_permissions")
        keyed = {**PK, "meta": {"hidden": True}}
        ok(admin.post("/collections", json={"collection": "folder", "meta": {}}))
        things = {"collection": "things", "meta": {"group": "folder"}, "schema": {}}
        ok(admin.post("/collections", json={**things, "fields": [keyed, _string("name")]}))
        created = _by_uid(_events(ws, 4))
        assert created == {
            "directus_collections": [("create", ["folder"]), ("create", ["things"])],
            "directus_fields": [("create", [("things", "id")]), ("create", [("things", "name")])],
        }
        ref = {**_string("thing"), "type": "integer"}
        ok(admin.post("/collections", json={"collection": "other", "meta": {}, "schema": {}, "fields": [PK, ref]}))
        ok(admin.post("/fields/other", json={**ref, "field": "thing2"}))
        for field in ("thing", "thing2"):
            link = {"collection": "other", "field": field, "related_collection": "things", "meta": {"one_field": field}}
            ok(admin.post("/relations", json=link))
            ok(admin.post("/fields/things", json={"field": field, "type": "alias", "meta": {"special": ["o2m"]}}))
        ok(admin.post("/collections", json={"collection": "inner", "meta": {"group": "things"}}))
        make_policy(admin, {"collection": "things", "action": "read", "fields": ["*"]})
        # other and its field, thing2, per relation its row, the m2o flag on its field and the alias field, inner,
        # the permission
        linked = _by_uid(_events(ws, 11))
        flagged = [e for e in linked["directus_fields"] if e[0] == "update"]
        assert flagged == [("update", [("other", "thing")]), ("update", [("other", "thing2")])], linked
        permission = ok(admin.get("/permissions", params={"filter[collection][_eq]": "things"}))[0]["id"]
        fields = {
            (r["collection"], r["field"]): r["meta"]["id"]
            for r in ok(admin.get("/fields"))
            if r["meta"] and r["meta"].get("id")
        }
        relations = {r["field"]: r["meta"]["id"] for r in ok(admin.get("/relations/other"))}
        assert admin.delete("/fields/other/thing").status_code == 204
        assert _by_uid(_events(ws, 3)) == {
            "directus_relations": [("delete", [relations["thing"]])],
            "directus_fields": [("delete", [fields["things", "thing"]]), ("delete", [fields["other", "thing"]])],
        }
        assert admin.delete("/collections/things").status_code == 204
        gone = _events(ws, 7)
        assert [f["seq"] for f in gone] == sorted({f["seq"] for f in gone})  # one number each, in commit order
        assert _by_uid(gone) == {
            "directus_relations": [("delete", [relations["thing2"]])],
            "directus_fields": [
                ("delete", [fields["things", "thing2"]]),
                ("delete", [fields["other", "thing2"]]),
                ("delete", [fields["things", "id"], fields["things", "name"]]),
            ],
            "directus_collections": [("delete", ["things"]), ("update", ["inner"])],
            "directus_permissions": [("delete", [permission])],
        }
