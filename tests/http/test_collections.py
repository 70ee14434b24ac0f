"""/collections over real HTTP on the configured engine (SQLite, or TIDEPOOL_TEST_DB=pg|mysql)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.support.live import LiveServer, live_server, scratch_database
from tests.support.servers import module_server
from tidepool.db import system
from tidepool.security import hash_token

# The body from spec §9.4: the seed guide's "messages" collection, exactly as the Data Studio sends it.
MESSAGES: dict[str, Any] = {
    "collection": "messages",
    "meta": {"icon": "chat", "note": None, "singleton": False, "sort_field": None, "archive_field": None},
    "schema": {},
    "fields": [
        {
            "field": "id",
            "type": "integer",
            "meta": {"hidden": True, "interface": "input", "readonly": True},
            "schema": {"is_primary_key": True, "has_auto_increment": True},
        },
        {
            "field": "date_created",
            "type": "timestamp",
            "meta": {
                "special": ["date-created"],
                "interface": "datetime",
                "readonly": True,
                "hidden": True,
                "width": "half",
                "display": "datetime",
                "display_options": {"relative": True},
            },
            "schema": {},
        },
        {"field": "text", "type": "string", "meta": {}, "schema": {}},
        {"field": "user", "type": "string", "meta": {}, "schema": {}},
    ],
}
USER_TOKEN = "plain-user-token"


def _plain_user(server: LiveServer) -> None:
    server.run(_add_plain_user(server))


srv = module_server("db", seed=_plain_user)


async def _add_plain_user(server: LiveServer) -> None:
    """A user with no role and no policy: authenticated, but neither admin nor allowed anything."""
    async with server.runtime.engine.begin() as conn:
        await conn.execute(
            system.users.insert().values(
                id=str(uuid.uuid4()), email="plain@example.com", status="active", token=hash_token(USER_TOKEN)
            )
        )


@pytest.fixture(scope="module")
def api(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


@pytest.fixture(scope="module")
def messages(api: httpx.Client) -> dict[str, Any]:
    response = api.post("/collections", json=MESSAGES)
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()["errors"][0]
    return response.status_code, body["extensions"]["code"], body["message"]


def test_seed_guide_messages_collection(api: httpx.Client, messages: dict[str, Any]) -> None:
    assert messages["collection"] == "messages"
    assert messages["meta"]["icon"] == "chat"
    assert messages["schema"]["name"] == "messages"  # its other keys per engine: test_schema_shapes.py
    fields = {f["field"]: f for f in api.get("/fields/messages").json()["data"]}
    assert list(fields) == ["id", "date_created", "text", "user"]
    assert fields["id"]["schema"]["is_primary_key"] and fields["id"]["schema"]["has_auto_increment"]
    assert fields["date_created"]["type"] == "timestamp"
    assert "date-created" in fields["date_created"]["meta"]["special"]
    assert fields["date_created"]["meta"]["display_options"] == {"relative": True}
    assert fields["text"]["type"] == "string" and fields["text"]["schema"]["max_length"] == 255
    assert [fields[f]["meta"]["sort"] for f in fields] == [1, 2, 3, 4]


def test_created_table_takes_rows(srv: LiveServer, messages: dict[str, Any]) -> None:
    async def insert_and_count() -> int:
        table = srv.runtime.schemas.current.collections["messages"].table
        async with srv.runtime.engine.begin() as conn:
            await conn.execute(table.insert().values(text="Hello", user="Ben"))
            return int(await conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)

    assert srv.run(insert_and_count()) >= 1


def test_get_one_collection(api: httpx.Client, messages: dict[str, Any]) -> None:
    response = api.get("/collections/messages")
    assert response.status_code == 200
    assert response.json()["data"]["meta"]["collection"] == "messages"


def test_missing_primary_key_gets_hidden_auto_increment_id(api: httpx.Client) -> None:
    assert api.post("/collections", json={"collection": "notes", "schema": {}, "fields": []}).status_code == 200
    field = api.get("/fields/notes/id").json()["data"]
    assert field["type"] == "integer"
    assert field["schema"]["is_primary_key"] and field["schema"]["has_auto_increment"]
    assert field["meta"]["hidden"] and field["meta"]["readonly"] and field["meta"]["interface"] == "numeric"


def test_a_field_sent_without_meta_gets_no_meta_row(api: httpx.Client) -> None:
    """As Directus 12.4.1 (recorded: the first hour's ``sw_hour``): a field sent without ``meta`` has
    ``meta: null``, the others are numbered from 1 without it, and the snapshot leaves it out. A bare field
    whose column alone would read back as another type (json is TEXT on SQLite, uuid a VARCHAR) keeps its
    type through a row with no sort."""
    fields = [
        {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}},
        {"field": "title", "type": "string", "meta": {}, "schema": {}},
        {"field": "doc", "type": "json", "schema": {}},
        {"field": "ref", "type": "uuid", "schema": {}},
        {"field": "plain", "type": "integer", "schema": {}},
        {"field": "sort", "type": "integer", "meta": {"hidden": True}, "schema": {}},
    ]
    assert api.post("/collections", json={"collection": "bare_pk", "schema": {}, "fields": fields}).status_code == 200
    listed = {f["field"]: f for f in api.get("/fields/bare_pk").json()["data"]}
    assert listed["id"]["meta"] is None and listed["id"]["type"] == "integer"
    assert listed["plain"]["meta"] is None and listed["plain"]["type"] == "integer"
    assert (listed["title"]["meta"]["sort"], listed["sort"]["meta"]["sort"]) == (1, 2)
    assert (listed["doc"]["type"], listed["doc"]["meta"]["sort"]) == ("json", None)
    assert (listed["ref"]["type"], listed["ref"]["meta"]["sort"]) == ("uuid", None)
    created = api.post("/items/bare_pk", json={"title": "a", "doc": {"k": [1]}, "plain": 3}).json()["data"]
    assert (created["id"], created["doc"]) == (1, {"k": [1]})
    snapshot = api.get("/schema/snapshot").json()["data"]
    assert [f["field"] for f in snapshot["fields"] if f["collection"] == "bare_pk"] == ["title", "sort", "doc", "ref"]
    # a field added later without meta: no row either (Directus's createField)
    assert api.post("/fields/bare_pk", json={"field": "later", "type": "string"}).status_code == 200
    assert api.get("/fields/bare_pk/later").json()["data"]["meta"] is None


def test_without_schema_is_a_folder_with_no_table(api: httpx.Client) -> None:
    response = api.post("/collections", json={"collection": "folder_a", "meta": {"icon": "folder"}})
    assert response.status_code == 200
    assert response.json()["data"]["schema"] is None
    assert api.get("/collections/folder_a").json()["data"]["meta"]["icon"] == "folder"
    assert error(api.get("/fields/folder_a"))[:2] == (403, "FORBIDDEN")


def test_existing_collection_is_invalid_payload(api: httpx.Client, messages: dict[str, Any]) -> None:
    assert error(api.post("/collections", json=MESSAGES)) == (
        400,
        "INVALID_PAYLOAD",
        'Invalid payload. Collection "messages" already exists.',
    )


def test_name_rules(api: httpx.Client) -> None:
    assert error(api.post("/collections", json={"collection": "directus_x", "schema": {}})) == (
        400,
        "INVALID_PAYLOAD",
        'Invalid payload. "collection" can\'t start with "directus_".',
    )
    assert error(api.post("/collections", json={"schema": {}}))[2] == 'Invalid payload. "collection" is required.'
    assert error(api.post("/collections", json={"collection": "a/b", "schema": {}}))[:2] == (400, "INVALID_PAYLOAD")


@pytest.mark.parametrize(
    "name",
    [
        'x"; DROP TABLE directus_users; --',
        "x`; DROP TABLE directus_users; --",
        "x'); DROP TABLE directus_users; --",
        "a b",
        "1abc",
        "x" * 65,
        "ümlaut",
    ],
)
def test_sql_injection_in_collection_names_is_refused(api: httpx.Client, name: str) -> None:
    response = api.post("/collections", json={"collection": name, "schema": {}, "fields": []})
    assert error(response)[:2] == (400, "INVALID_PAYLOAD")
    assert api.get("/collections/directus_users").status_code == 200


def test_array_body_creates_each(api: httpx.Client) -> None:
    body = [{"collection": "batch_a", "schema": {}}, {"collection": "batch_b", "schema": {}}]
    response = api.post("/collections", json=body)
    assert response.status_code == 200
    assert [c["collection"] for c in response.json()["data"]] == ["batch_a", "batch_b"]


def test_list_flags_system_collections_for_admins(api: httpx.Client, messages: dict[str, Any]) -> None:
    listed = {c["collection"]: c for c in api.get("/collections").json()["data"]}
    assert listed["directus_users"]["meta"]["system"] is True
    assert "system" not in listed["messages"]["meta"]
    assert "tidepool_migrations" not in listed


def test_patch_changes_meta_only(api: httpx.Client) -> None:
    api.post("/collections", json={"collection": "patched", "schema": {}, "meta": {"icon": "a"}})
    response = api.patch("/collections/patched", json={"meta": {"note": "hello", "color": "#fff"}})
    assert response.status_code == 200
    meta = response.json()["data"]["meta"]
    assert (meta["icon"], meta["note"], meta["color"]) == ("a", "hello", "#fff")
    assert api.get("/fields/patched/id").status_code == 200


def test_patch_unknown_collection_is_forbidden(api: httpx.Client) -> None:
    assert error(api.patch("/collections/nope", json={"meta": {"note": "x"}}))[:2] == (403, "FORBIDDEN")


def test_delete_drops_table_fields_and_row(srv: LiveServer, api: httpx.Client) -> None:
    api.post("/collections", json={"collection": "doomed", "schema": {}, "meta": {"icon": "x"}})
    assert api.delete("/collections/doomed").status_code == 204
    assert error(api.get("/collections/doomed"))[:2] == (403, "FORBIDDEN")
    assert error(api.get("/fields/doomed"))[:2] == (403, "FORBIDDEN")

    async def leftovers() -> tuple[bool, int]:
        async with srv.runtime.engine.connect() as conn:
            exists = await conn.run_sync(lambda c: sa.inspect(c).has_table("doomed"))
            rows = await conn.scalar(
                sa.select(sa.func.count()).select_from(system.fields).where(system.fields.c.collection == "doomed")
            )
            return exists, int(rows or 0)

    assert srv.run(leftovers()) == (False, 0)


def test_delete_unknown_is_forbidden(api: httpx.Client) -> None:
    assert error(api.delete("/collections/never_was")) == (
        403,
        "FORBIDDEN",
        "You don't have permission to access this.",
    )


def test_system_collection_cannot_be_deleted(api: httpx.Client) -> None:
    assert error(api.delete("/collections/directus_users"))[:2] == (400, "INVALID_PAYLOAD")


def test_non_admins_cannot_change_schema(srv: LiveServer, messages: dict[str, Any]) -> None:
    for token in (None, USER_TOKEN):
        with srv.client(token=token) as client:
            assert error(client.post("/collections", json={"collection": "sneaky", "schema": {}}))[:2] == (
                403,
                "FORBIDDEN",
            )
            assert error(client.patch("/collections/messages", json={"meta": {"icon": "x"}}))[:2] == (403, "FORBIDDEN")
            assert error(client.delete("/collections/messages"))[:2] == (403, "FORBIDDEN")
            assert error(client.get("/collections"))[:2] == (403, "FORBIDDEN")  # no read on directus_collections
            assert error(client.get("/collections/messages"))[:2] == (403, "FORBIDDEN")


def test_cli_creates_the_seed_guide_collection(tmp_path: Path) -> None:
    """`tidepool collections create` writes the database; a server started on it serves the collection."""
    from click.testing import CliRunner

    from tests.support.live import base_env
    from tidepool.cli import main

    with scratch_database(tmp_path) as db_env:
        env = {**base_env(), **db_env}
        runner = CliRunner()
        command = ["collections", "create", "messages", "--field", "text:string", "--field", "user:string"]
        result = runner.invoke(main, [*command, "--date-created", "--user-created"], env=env)
        assert result.exit_code == 0, result.output
        assert "created collection messages: id, text, user, date_created, user_created" in result.output
        again = runner.invoke(main, command, env=env)
        assert again.exit_code == 1 and 'Collection "messages" already exists' in again.output
        with live_server(db_env) as server, server.client() as client:
            fields = {f["field"]: f for f in client.get("/fields/messages").json()["data"]}
            assert fields["date_created"]["meta"]["special"][0] == "date-created"
            assert fields["user_created"]["schema"]["foreign_key_table"] == "directus_users"
            assert client.get("/collections/messages").json()["data"]["meta"]["collection"] == "messages"
