"""The schema endpoints never reveal a collection the caller cannot read (issue 7 #13).

A reader of ``posts`` whose m2o ``author`` points at the unreadable ``authors`` sees the field, but not
where it points: ``schema.foreign_key_table``/``foreign_key_column`` are ``null``, no relation names
``authors``, and ``/relations/authors`` answers exactly as ``/relations/<no such collection>`` does.
"""

from __future__ import annotations

import httpx

from tests.http.accounts_support import make_policy, make_user, ok
from tests.support.live import LiveServer

SECRET_NAME = "hidden_authors"


def _setup(server: LiveServer, admin: httpx.Client) -> httpx.Client:
    for name, fields in (
        (SECRET_NAME, [{"field": "name", "type": "string"}]),
        ("posts", [{"field": "title", "type": "string"}, {"field": "author", "type": "integer"}]),
    ):
        ok(admin.post("/collections", json={"collection": name, "schema": {}, "meta": {}, "fields": fields}))
    relation = {"collection": "posts", "field": "author", "related_collection": SECRET_NAME}
    ok(admin.post("/relations", json={**relation, "meta": {"one_field": "posts"}, "schema": {"on_delete": "SET NULL"}}))
    for field in ("item", "item_collection"):
        ok(admin.post("/fields/posts", json={"field": field, "type": "string"}))
    m2a = {"one_allowed_collections": [SECRET_NAME, "posts"], "one_collection_field": "item_collection"}
    ok(admin.post("/relations", json={"collection": "posts", "field": "item", "related_collection": None, "meta": m2a}))
    policy = make_policy(admin, {"collection": "posts", "action": "read", "fields": ["*"]}, app_access=True)
    _, token = make_user(admin, policies=(policy,))
    return server.client(token=token)


def test_fields_and_relations_do_not_name_an_unreadable_collection(server: LiveServer, admin: httpx.Client) -> None:
    with _setup(server, admin) as reader:
        author = ok(reader.get("/fields/posts/author"))
        assert author["schema"]["foreign_key_table"] is None
        assert author["schema"]["foreign_key_column"] is None
        for path in ("/fields", "/fields/posts", "/fields/posts/author", "/relations", "/collections"):
            response = reader.get(path)
            assert response.status_code == 200, (path, response.text)
            assert SECRET_NAME not in response.text, path
        unreadable = reader.get(f"/relations/{SECRET_NAME}")
        missing = reader.get("/relations/no_such_collection")
        assert (unreadable.status_code, unreadable.json()) == (missing.status_code, missing.json())
        assert unreadable.status_code == 403
        for path in (f"/fields/{SECRET_NAME}", "/relations/posts/author"):
            assert reader.get(path).status_code == 403, path
        assert ok(reader.get("/relations/posts/item"))["meta"]["one_allowed_collections"] == ["posts"]
    # the admin still sees everything
    assert ok(admin.get("/fields/posts/author"))["schema"]["foreign_key_table"] == SECRET_NAME
    assert ok(admin.get("/relations/posts/item"))["meta"]["one_allowed_collections"] == [SECRET_NAME, "posts"]
