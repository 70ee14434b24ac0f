"""``/schema/snapshot``, ``/schema/diff`` and ``/schema/apply`` over real HTTP on the engine under test.

The fixture ``tests/fixtures/directus-12.4.1-snapshot.json`` is a snapshot taken from a live Directus 12.4.1
(its ``messages`` and ``schema_*`` collections, made by ``schema_support``'s requests): applied to a fresh
Tidepool it must create the same collections, fields and relations, after which the diff is empty. The error
answers are Directus's, recorded from the same server.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.http.accounts_support import error, ok
from tests.support import live
from tests.support.live import LiveServer, live_server, scratch_database
from tests.support.servers import module_server

FIXTURE = Path(__file__).parent.parent / "fixtures" / "directus-12.4.1-snapshot.json"
ENGINE = live.test_db_client()
# The recording comes from Directus on SQLite: another engine takes it with ?force (vendor check), as Directus.
FORCE = "" if ENGINE == "sqlite3" else "?force"
USER_TOKEN = "schema-migrations-user"

srv = module_server("migrations", seed=lambda s: _seed(s))


def _seed(server: LiveServer) -> None:
    with server.client() as admin:
        ok(admin.post("/users", json={"email": "plain@example.com", "token": USER_TOKEN}))


@pytest.fixture(scope="module")
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


def recorded() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text())
    return data


def diff_of(admin: httpx.Client, snapshot: dict[str, Any], query: str = FORCE) -> dict[str, Any] | None:
    response = admin.post(f"/schema/diff{query}", json=snapshot)
    if response.status_code == 204:
        return None
    result: dict[str, Any] = ok(response)
    return result


def snapshot_of(admin: httpx.Client) -> dict[str, Any]:
    result: dict[str, Any] = ok(admin.get("/schema/snapshot"))
    return result


# --- Directus's snapshot on a fresh Tidepool (the tests below build on it, in file order) ---------------------


def test_directus_snapshot_creates_the_same_schema(admin: httpx.Client) -> None:
    fixture = recorded()
    planned = diff_of(admin, fixture)
    assert planned is not None
    kinds = {section: [e["diff"][0]["kind"] for e in planned["diff"][section]] for section in planned["diff"]}
    assert kinds == {"collections": ["N"] * 4, "fields": ["N"] * 15, "systemFields": [], "relations": ["N"]}
    assert admin.post("/schema/apply", json=planned).status_code == 204
    assert diff_of(admin, fixture) is None  # nothing left to change
    ours = snapshot_of(admin)
    assert ours["collections"] == fixture["collections"]
    shaped = [(f["collection"], f["field"], f["type"], f["meta"]) for f in ours["fields"]]
    assert shaped == [(f["collection"], f["field"], f["type"], f["meta"]) for f in fixture["fields"]]
    assert [(r["collection"], r["field"], r["related_collection"], r["meta"]) for r in ours["relations"]] == [
        (r["collection"], r["field"], r["related_collection"], r["meta"]) for r in fixture["relations"]
    ]


def test_applied_schema_serves_items_and_relations(admin: httpx.Client) -> None:
    name = ok(admin.get("/fields/schema_authors/name"))["schema"]
    assert (name["default_value"], name["max_length"], name["is_nullable"]) == ("anon", 120, False)
    assert ok(admin.get("/fields/schema_authors/email"))["schema"]["is_unique"] is True
    relation = ok(admin.get("/relations/schema_posts/author"))
    assert (relation["meta"]["one_field"], relation["schema"]["on_delete"]) == ("posts", "SET NULL")
    assert ok(admin.get("/collections/schema_folder"))["schema"] is None
    author = ok(admin.post("/items/schema_authors", json={"email": "ann@example.com"}))
    assert author["name"] == "anon"
    post = ok(admin.post("/items/schema_posts", json={"title": "Hi", "author": author["id"], "tags": ["a"]}))
    assert len(post["id"]) == 36  # the uuid key is generated (special "uuid")
    read = ok(admin.get(f"/items/schema_authors/{author['id']}", params={"fields": "posts.title"}))
    assert read == {"posts": [{"title": "Hi"}]}


def test_a_tidepool_snapshot_round_trips_through_yaml(srv: LiveServer, admin: httpx.Client, tmp_path: Path) -> None:
    """Another Tidepool made from the same recording, plus one field: its YAML export, uploaded as a file,
    brings exactly that field, after which both servers' snapshots are equal."""
    with scratch_database(tmp_path) as env, live_server(env) as other, other.client() as remote:
        assert remote.post("/schema/apply", json=diff_of(remote, recorded())).status_code == 204
        ok(remote.post("/fields/schema_posts", json={"field": "rating", "type": "integer", "meta": {"note": "1-5"}}))
        exported = remote.get("/schema/snapshot", params={"export": "yaml"})
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/yaml")
        assert exported.headers["content-disposition"].startswith('attachment; filename="Export ')
        theirs = snapshot_of(remote)
    assert yaml.safe_load(exported.text) == theirs
    files = {"file": ("schema.yaml", exported.content, "text/yaml")}
    planned = ok(admin.post("/schema/diff", files=files))
    entries = [(e["collection"], e.get("field"), e["diff"][0]["kind"]) for s in planned["diff"].values() for e in s]
    assert entries == [("schema_posts", "rating", "N")]
    assert admin.post("/schema/apply", json=planned).status_code == 204
    assert ok(admin.get("/fields/schema_posts/rating"))["meta"]["note"] == "1-5"
    assert diff_of(admin, theirs, "") is None
    assert snapshot_of(admin) == theirs


def test_updates_and_deletes(admin: httpx.Client) -> None:
    target = copy.deepcopy(snapshot_of(admin))
    authors = next(c for c in target["collections"] if c["collection"] == "schema_authors")
    authors["meta"]["note"] = "Writers"
    name = next(f for f in target["fields"] if (f["collection"], f["field"]) == ("schema_authors", "name"))
    name["meta"]["note"] = "Full name"
    name["schema"]["max_length"] = 200
    target["collections"] = [c for c in target["collections"] if c["collection"] != "schema_folder"]
    target["fields"] = [f for f in target["fields"] if (f["collection"], f["field"]) != ("schema_posts", "body")]
    merged = diff_of(admin, target, "?mode=merge")
    assert merged is not None
    assert all(e["diff"][0]["kind"] != "D" or "path" in e["diff"][0] for s in merged["diff"].values() for e in s)
    planned = diff_of(admin, target, "")
    assert planned is not None
    entries = {(e["collection"], e.get("field"), e["diff"][0]["kind"]) for s in planned["diff"].values() for e in s}
    assert {("schema_folder", None, "D"), ("schema_posts", "body", "D"), ("schema_authors", None, "E")} <= entries
    assert admin.post("/schema/apply", json=planned).status_code == 204
    assert ok(admin.get("/collections/schema_authors"))["meta"]["note"] == "Writers"
    field = ok(admin.get("/fields/schema_authors/name"))
    assert (field["meta"]["note"], field["schema"]["max_length"]) == ("Full name", 200)
    assert admin.get("/collections/schema_folder").status_code == 403
    assert admin.get("/fields/schema_posts/body").status_code == 403
    assert diff_of(admin, target, "") is None


def test_a_failing_apply_leaves_a_clear_error(admin: httpx.Client) -> None:
    """A new collection, then a relation on a field it does not have: the relation step fails. SQLite and
    PostgreSQL roll the whole apply back; MySQL/MariaDB commit each DDL on their own, so the collection stays
    (README: schema migrations)."""
    before = snapshot_of(admin)
    target = copy.deepcopy(before)
    target["collections"].append(
        {"collection": "schema_new", "meta": {"collection": "schema_new"}, "schema": {"name": "schema_new"}}
    )
    target["fields"].append(
        {
            "collection": "schema_new",
            "field": "id",
            "type": "integer",
            "meta": {"collection": "schema_new", "field": "id", "hidden": True},
            "schema": {"is_primary_key": True, "has_auto_increment": True},
        }
    )
    planned = diff_of(admin, target, "")
    assert planned is not None
    planned["diff"]["relations"].append(
        {
            "collection": "schema_new",
            "field": "missing",
            "related_collection": "schema_authors",
            "diff": [{"kind": "N", "rhs": {"collection": "schema_new", "field": "missing"}}],
        }
    )
    message = error(admin.post("/schema/apply", json=planned), 400, "INVALID_PAYLOAD")
    assert message == 'Invalid payload. Field "missing" doesn\'t exist in collection "schema_new".'
    if ENGINE == "mysql":
        assert ok(admin.get("/collections/schema_new"))["collection"] == "schema_new"
        assert admin.delete("/collections/schema_new").status_code == 204
    else:
        assert admin.get("/collections/schema_new").status_code == 403
        assert snapshot_of(admin) == before


def test_apply_checks_the_hash(admin: httpx.Client) -> None:
    target = copy.deepcopy(snapshot_of(admin))
    authors = next(c for c in target["collections"] if c["collection"] == "schema_authors")
    authors["meta"]["note"] = "Later"
    planned = diff_of(admin, target, "")
    assert planned is not None
    # the schema moves on (a field with its meta row: one without is not in the snapshot, so not in its hash)
    ok(admin.post("/fields/schema_authors", json={"field": "moved", "type": "string", "meta": {}}))
    message = error(admin.post("/schema/apply", json=planned), 400, "INVALID_PAYLOAD")
    assert message == (
        "Invalid payload. Provided hash does not match the current instance's schema hash, indicating the schema "
        "has changed after this diff was generated. Please generate a new diff and try again or use the "
        '"force" query parameter to bypass this check.'
    )
    assert admin.post("/schema/apply?force", json=planned).status_code == 204
    assert ok(admin.get("/collections/schema_authors"))["meta"]["note"] == "Later"


def test_deleting_a_collection_others_point_at(admin: httpx.Client) -> None:
    """As Directus: the relations to it go, the fields holding its keys stay."""
    target = copy.deepcopy(snapshot_of(admin))
    target["collections"] = [c for c in target["collections"] if c["collection"] != "schema_authors"]
    target["fields"] = [f for f in target["fields"] if f["collection"] != "schema_authors"]
    target["relations"] = [r for r in target["relations"] if r["related_collection"] != "schema_authors"]
    author = next(f for f in target["fields"] if (f["collection"], f["field"]) == ("schema_posts", "author"))
    author["schema"].update(foreign_key_table=None, foreign_key_column=None)  # as the field now reads
    planned = diff_of(admin, target, "")
    assert planned is not None
    assert admin.post("/schema/apply", json=planned).status_code == 204
    assert admin.get("/collections/schema_authors").status_code == 403
    assert admin.get("/relations/schema_posts/author").status_code == 403
    assert ok(admin.get("/fields/schema_posts/author"))["schema"]["foreign_key_table"] is None
    assert diff_of(admin, target, "") is None


def test_a_key_without_meta_comes_back_as_directus_brings_it_back(admin: httpx.Client) -> None:
    """A primary key sent without ``meta`` has no row, so the snapshot leaves it out; applied where the
    collection is gone, the collection is made again with an injected ``id`` that has its meta, as Directus
    12.4.1 answered the same requests (hidden, numeric, read-only, sort 1; ``title`` keeps its sort 1)."""
    key = {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}}
    title = {"field": "title", "type": "string", "meta": {}, "schema": {}}
    ok(admin.post("/collections", json={"collection": "schema_bare", "schema": {}, "meta": {}, "fields": [key, title]}))
    target = snapshot_of(admin)
    assert [f["field"] for f in target["fields"] if f["collection"] == "schema_bare"] == ["title"]
    assert admin.delete("/collections/schema_bare").status_code == 204
    planned = diff_of(admin, target, "")
    assert planned is not None
    assert admin.post("/schema/apply", json=planned).status_code == 204
    fields = {f["field"]: f["meta"] for f in ok(admin.get("/fields/schema_bare"))}
    assert {k: fields["id"][k] for k in ("hidden", "interface", "readonly", "sort")} == {
        "hidden": True,
        "interface": "numeric",
        "readonly": True,
        "sort": 1,
    }
    assert fields["title"]["sort"] == 1
    assert admin.delete("/collections/schema_bare").status_code == 204


# --- answers recorded from Directus 12.4.1 ---------------------------------------------------------------------

_BYPASS = 'You can bypass this check by passing the "force" query parameter.'
_EMPTY_DIFF: dict[str, list[Any]] = {"collections": [], "fields": [], "systemFields": [], "relations": []}


def _with(**changes: Any) -> dict[str, Any]:
    snapshot = {k: v for k, v in recorded().items() if k not in changes or changes[k] is not None}
    snapshot.update({k: v for k, v in changes.items() if v is not None})
    return snapshot


@pytest.mark.parametrize(
    ("path", "body", "status", "code", "message"),
    [
        ("/schema/diff", {}, 400, "INVALID_PAYLOAD", "Invalid payload. No data was included in the body."),
        (
            "/schema/diff?force=false",
            _with(directus="12.0.0"),
            400,
            "INVALID_PAYLOAD",
            "Invalid payload. Provided snapshot's directus version 12.0.0 does not match the current instance's "
            f"version 12.4.1. {_BYPASS}",
        ),
        (
            "/schema/diff",
            {k: v for k, v in recorded().items() if k != "vendor"},
            400,
            "INVALID_PAYLOAD",
            f'Invalid payload. Provided snapshot does not contain the "vendor" property. {_BYPASS}',
        ),
        (
            "/schema/diff",
            {"directus": "12.4.1", "vendor": "sqlite", "collections": [], "fields": [], "relations": []},
            400,
            "INVALID_PAYLOAD",
            'Invalid payload. "version" is required.',
        ),
        ("/schema/apply", {"diff": _EMPTY_DIFF}, 400, "INVALID_PAYLOAD", 'Invalid payload. "hash" is required.'),
        (
            "/schema/apply",
            {
                "hash": "abc",
                "diff": {**_EMPTY_DIFF, "collections": [{"collection": "schema_posts", "diff": [{"kind": "N"}]}]},
            },
            400,
            "INVALID_PAYLOAD",
            'Invalid payload. Provided diff is trying to create collection "schema_posts" but it already exists. '
            "Please generate a new diff and try again.",
        ),
    ],
)
def test_refusals_as_directus(admin: httpx.Client, path: str, body: Any, status: int, code: str, message: str) -> None:
    assert error(admin.post(path, json=body), status, code) == message


def test_vendor_mismatch_as_directus(admin: httpx.Client) -> None:
    vendor = {"sqlite3": "sqlite", "pg": "postgres", "mysql": "mysql"}[ENGINE]
    other = "postgres" if vendor != "postgres" else "sqlite"
    message = error(admin.post("/schema/diff", json=_with(vendor=other)), 400, "INVALID_PAYLOAD")
    assert message == (
        f"Invalid payload. Provided snapshot's vendor {other} does not match the current instance's vendor "
        f"{vendor}. {_BYPASS}"
    )


def test_empty_apply_and_same_snapshot_answer_204(admin: httpx.Client) -> None:
    assert admin.post("/schema/apply", json={"hash": "abc", "diff": _EMPTY_DIFF}).status_code == 204
    assert admin.post("/schema/diff", json=snapshot_of(admin)).status_code == 204


def test_other_media_types_are_refused(admin: httpx.Client) -> None:
    response = admin.post("/schema/diff", content=b"hello", headers={"Content-Type": "text/plain"})
    assert (
        error(response, 415, "UNSUPPORTED_MEDIA_TYPE") == 'Unsupported media type "text/plain" in Content-Type header.'
    )
    assert response.json()["errors"][0]["extensions"] == {
        "mediaType": "text/plain",
        "where": "Content-Type header",
        "code": "UNSUPPORTED_MEDIA_TYPE",
    }
    broken = {"file": ("schema.yaml", b"collections: [unclosed", "text/yaml")}
    assert error(admin.post("/schema/diff", files=broken), 400, "INVALID_PAYLOAD") == (
        "Invalid payload. Uploaded file is not valid YAML."
    )


def test_schema_endpoints_are_for_admins(srv: LiveServer) -> None:
    with srv.client(token=USER_TOKEN) as user, srv.client(token=None) as anon:
        for client in (user, anon):
            assert (
                error(client.get("/schema/snapshot"), 403, "FORBIDDEN") == "You don't have permission to access this."
            )
            error(client.post("/schema/diff", json=recorded()), 403, "FORBIDDEN")
            error(client.post("/schema/apply", json={"hash": "abc", "diff": {}}), 403, "FORBIDDEN")
