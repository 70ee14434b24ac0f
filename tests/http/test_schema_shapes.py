"""The shapes of ``/collections``, ``/fields`` and ``/relations`` for user collections, key for key, against the
answers Directus 12.4.1 gave for the same requests (``schema_support.create_schema_collections``, recorded on
its SQLite; the engine-dependent values follow its schema inspector per engine, noted where they differ)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.http.accounts_support import make_policy, make_role, ok
from tests.http.schema_support import create_schema_collections
from tests.support import live
from tests.support.live import LiveServer
from tests.support.servers import module_server

srv = module_server("shapes", seed=lambda s: _seed(s))
ENGINE = live.test_db_client()
READER_TOKEN = "schema-shapes-reader"

# Recorded from Directus 12.4.1: GET /collections/schema_authors, GET /fields/schema_authors.
COLLECTION_META_KEYS = [
    "collection", "icon", "note", "display_template", "hidden", "singleton", "translations", "archive_field",
    "archive_app_filter", "archive_value", "unarchive_value", "sort_field", "accountability", "color",
    "item_duplication_fields", "sort", "group", "collapse", "preview_url", "versioning", "status",
    "autosave_revision_interval",
]  # fmt: skip
FIELD_META_KEYS = [
    "id", "collection", "field", "special", "interface", "options", "display", "display_options", "readonly",
    "hidden", "sort", "width", "translations", "note", "conditions", "required", "group", "validation",
    "validation_message", "searchable",
]  # fmt: skip
FIELD_SCHEMA_KEYS = {
    "name", "table", "data_type", "default_value", "max_length", "numeric_precision", "numeric_scale",
    "is_generated", "generation_expression", "is_nullable", "is_unique", "is_indexed", "is_primary_key",
    "has_auto_increment", "foreign_key_column", "foreign_key_table",
}  # fmt: skip
# Directus's schema inspector: SQLite columns have no comment; PostgreSQL and MySQL columns do.
COMMENT = set() if ENGINE == "sqlite3" else {"comment"}
# A collection's ``schema``: SQLite's CREATE TABLE text, PostgreSQL's schema and comment, MySQL's also more.
TABLE_KEYS = {
    "sqlite3": {"name", "sql"},
    "pg": {"name", "schema", "comment"},
    "mysql": {"name", "schema", "comment", "collation", "engine"},
}[ENGINE]
# (is_unique, is_indexed) of the integer auto-increment key, the uuid key and the unique email, per engine:
# SQLite reports an index it has (a uuid key has one, an INTEGER rowid key none), PostgreSQL its constraints
# (a key is unique), MySQL its COLUMN_KEY ("PRI" is not "UNI"). Recorded on SQLite: (F, F), (T, F), (T, F).
KEY_FLAGS = {
    "sqlite3": ((False, False), (True, False), (True, False)),
    "pg": ((True, False), (True, False), (True, False)),
    "mysql": ((False, False), (False, False), (True, False)),
}[ENGINE]


def _seed(server: LiveServer) -> None:
    with server.client() as admin:
        create_schema_collections(admin)
        policy = make_policy(
            admin, {"collection": "schema_posts", "action": "read", "fields": ["*"]}, app_access=True
        )  # app access: may read /collections (Directus 11)
        role = make_role(admin, policy)
        ok(admin.post("/users", json={"email": "shapes@example.com", "role": role, "token": READER_TOKEN}))


@pytest.fixture(scope="module")
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


def test_collection_meta_has_directus_keys_and_status_active(admin: httpx.Client) -> None:
    for name in ("schema_authors", "schema_posts", "schema_folder"):
        meta = ok(admin.get(f"/collections/{name}"))["meta"]
        assert list(meta) == COLLECTION_META_KEYS, name
        assert meta["status"] == "active" and meta["autosave_revision_interval"] is None
    authors = ok(admin.get("/collections/schema_authors"))
    assert (authors["meta"]["icon"], authors["meta"]["note"]) == ("person", "Authors")


def test_collection_schema_describes_the_table_as_the_engine_does(admin: httpx.Client) -> None:
    schema = ok(admin.get("/collections/schema_authors"))["schema"]
    assert set(schema) == TABLE_KEYS and schema["name"] == "schema_authors"
    if ENGINE == "sqlite3":
        assert schema["sql"].startswith("CREATE TABLE") and "schema_authors" in schema["sql"]
    assert ok(admin.get("/collections/schema_folder"))["schema"] is None


def test_field_meta_and_schema_keys(admin: httpx.Client) -> None:
    for field in ok(admin.get("/fields/schema_posts")):
        assert list(field["meta"]) == FIELD_META_KEYS, field["field"]
        assert field["meta"]["searchable"] is True
        assert set(field["schema"]) == FIELD_SCHEMA_KEYS | COMMENT, field["field"]


def test_keys_report_unique_and_indexed_as_the_engine_does(admin: httpx.Client) -> None:
    def flags(path: str) -> tuple[bool, bool]:
        schema = ok(admin.get(path))["schema"]
        return schema["is_unique"], schema["is_indexed"]

    found = (
        flags("/fields/schema_authors/id"),
        flags("/fields/schema_posts/id"),
        flags("/fields/schema_authors/email"),
    )
    assert found == KEY_FLAGS
    assert flags("/fields/schema_authors/name") == (False, False)


def test_relation_schema_names_its_constraint_where_the_engine_does(admin: httpx.Client) -> None:
    relation = ok(admin.get("/relations/schema_posts/author"))
    assert list(relation["schema"]) == [
        "table", "column", "foreign_key_table", "foreign_key_column", "constraint_name", "on_update", "on_delete"
    ]  # fmt: skip
    expected = None if ENGINE == "sqlite3" else "schema_posts_author_foreign"  # Directus on SQLite: null
    assert relation["schema"]["constraint_name"] == expected
    assert (relation["schema"]["on_update"], relation["schema"]["on_delete"]) == ("NO ACTION", "SET NULL")


def test_o2m_field_created_after_its_relation_gets_its_meta(admin: httpx.Client) -> None:
    """Directus lets the alias be created after the relation that names it (the recording did so)."""
    posts = ok(admin.get("/fields/schema_authors/posts"))
    assert posts["type"] == "alias" and posts["schema"] is None
    assert posts["meta"]["special"] == ["o2m"] and posts["meta"]["interface"] == "list-o2m"


def test_sql_text_is_for_admins_only(srv: LiveServer) -> None:
    """The CREATE TABLE text names the tables its foreign keys reach: a reader of posts must not learn of
    schema_authors through it (Directus shows it; Tidepool keeps collections a user cannot read unnamed)."""
    with srv.client(token=READER_TOKEN) as reader:
        schema = ok(reader.get("/collections/schema_posts"))["schema"]
    assert "sql" not in schema and schema["name"] == "schema_posts"
