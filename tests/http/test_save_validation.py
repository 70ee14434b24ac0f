"""Malformed rules and schema options are refused when saved, and never break reads (issue 7, item 9).

A permission's ``permissions``/``validation``/``presets``/``fields``, a field's default value and its
``meta.validation``/``meta.options`` are checked when they are written: ``400 INVALID_PAYLOAD`` naming what
is wrong. A rule that reaches the database some other way (an older version, the CLI, a hand-written SQL
row) and cannot be evaluated means "no rows" at read time: never a 500 and never every row.
Runs on SQLite, and on PostgreSQL/MariaDB with TIDEPOOL_TEST_DB=pg|mysql.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.http.accounts_support import error, make_policy, make_user, ok
from tests.realtime.wsclient import WS
from tests.support import live
from tests.support.live import LiveServer
from tests.support.servers import messages_collection, module_server
from tidepool.db import system

READ = {"collection": "messages", "action": "read", "fields": ["*"]}


def _two_messages(server: LiveServer) -> None:
    with server.client() as admin:
        ok(admin.post("/items/messages", json=[{"text": "a", "number": 1}, {"text": "b", "number": 2}]))


srv = module_server("rules", seed=[messages_collection, _two_messages])


@pytest.fixture
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


def saved(admin: httpx.Client, **permission: Any) -> httpx.Response:
    return admin.post("/permissions", json={"policy": make_policy(admin), **READ, **permission})


@pytest.mark.parametrize(
    ("permission", "named"),
    [
        ({"permissions": "abc"}, '"permissions" must be a filter object'),
        ({"permissions": [1]}, '"permissions" must be a filter object'),
        ({"permissions": {"_or": []}}, '"permissions": "_or" must be a non-empty array'),
        ({"permissions": {"_and": "x"}}, '"permissions": "_and" must be a non-empty array'),
        ({"permissions": {"nope": {"_eq": 1}}}, '"permissions": field "nope" does not exist in collection "messages"'),
        ({"permissions": {"text": {"_bogus": 1}}}, '"permissions": "string" field type does not contain the "_bogus"'),
        ({"permissions": {"number": {"_eq": "abc"}}}, '"permissions": Invalid value for field "number"'),
        ({"permissions": {"text": {"_lt": "m"}}}, '"permissions": "string" field type does not contain the "_lt"'),
        ({"validation": {"text": {"_ieq": "a"}}}, '"validation": "string" field type does not contain the "_ieq"'),
        ({"validation": "x"}, '"validation" must be a filter object'),
        ({"validation": {"_or": []}}, '"validation": "_or" must be a non-empty array'),
        ({"presets": "x"}, '"presets" must be an object'),
        ({"presets": {"nope": 1}}, '"presets": field "nope" does not exist in collection "messages"'),
        ({"presets": {"number": "abc"}}, '"presets": "number" must be a number'),
        ({"fields": 5}, '"fields" must be an array of field names'),
        ({"fields": ["text", 3]}, '"fields" must be an array of field names'),
    ],
)
def test_malformed_permission_is_refused_naming_the_problem(
    admin: httpx.Client, permission: dict[str, Any], named: str
) -> None:
    message = error(saved(admin, **permission), 400, "INVALID_PAYLOAD")
    assert named in message, message


def test_malformed_rule_is_refused_on_update_and_inline(admin: httpx.Client) -> None:
    row = ok(saved(admin, permissions={"number": {"_eq": 1}}))
    error(admin.patch(f"/permissions/{row['id']}", json={"permissions": "abc"}), 400, "INVALID_PAYLOAD")
    assert ok(admin.get(f"/permissions/{row['id']}"))["permissions"] == {"number": {"_eq": 1}}
    inline = {"name": "inline", "permissions": [{**READ, "permissions": {"_or": []}}]}
    error(admin.post("/policies", json=inline), 400, "INVALID_PAYLOAD")


def test_wellformed_rules_with_dynamic_variables_and_relations_are_kept(admin: httpx.Client) -> None:
    rule = {"_and": [{"user": {"_eq": "$CURRENT_USER"}}, {"date_created": {"_gte": "$NOW(-1 day)"}}]}
    presets = {"number": 3, "user": "$CURRENT_USER"}
    row = ok(saved(admin, permissions=rule, validation={"number": {"_gt": 0}}, presets=presets))
    assert row["permissions"] == rule
    ok(saved(admin, permissions={"user": {"_in": ["$CURRENT_ROLES"]}}, fields="id,text"))


def _insert_raw(srv: LiveServer, policy: str, column_values: dict[str, Any]) -> None:
    """A permission row written straight into the database, bypassing the API (as a CLI or old version)."""

    async def run() -> None:
        table = system.permissions
        async with srv.runtime.engine.begin() as conn:
            await conn.execute(
                table.insert().values(policy=policy, collection="messages", action="read", fields="*", **column_values)
            )

    srv.run(run())
    srv.runtime.access_cache.invalidate()


@pytest.mark.parametrize(
    "raw_rule",
    [
        '"abc"',
        "not json at all",
        '{"_or": []}',
        '{"nope": {"_eq": 1}}',
        '{"text": {"_bogus": 1}}',
        '{"text": {"_between": ["a", "z"]}}',  # taken before Directus's operator table was followed
        "[1]",
        '{"_and": 5}',
    ],
)
def test_unevaluable_rule_in_the_database_means_no_rows(srv: LiveServer, admin: httpx.Client, raw_rule: str) -> None:
    try:
        value: Any = json.loads(raw_rule)
    except ValueError:
        if live.test_db_client() != "sqlite3":
            pytest.skip("PostgreSQL and MariaDB refuse text that is not JSON in a JSON column")
        value = sa.literal(raw_rule)
    policy = make_policy(admin)
    _insert_raw(srv, policy, {"permissions": value})
    _, token = make_user(admin, policies=(policy,))
    with srv.client(token=token) as client:
        assert ok(client.get("/items/messages")) == []
        assert ok(client.get("/items/messages", params={"aggregate[count]": "*"})) == [{"count": 0}]


def test_permission_row_that_is_not_json_is_listed_as_stored(srv: LiveServer, admin: httpx.Client) -> None:
    if live.test_db_client() != "sqlite3":
        pytest.skip("PostgreSQL and MariaDB refuse text that is not JSON in a JSON column")
    policy = make_policy(admin)
    _insert_raw(srv, policy, {"permissions": sa.literal("{not json")})
    rows = ok(admin.get("/permissions", params={"filter[policy][_eq]": policy}))
    assert [row["permissions"] for row in rows] == ["{not json"]
    assert ok(admin.get(f"/policies/{policy}", params={"fields": "permissions.permissions"}))["permissions"] == [
        {"permissions": "{not json"}
    ]


def test_unevaluable_rule_does_not_hide_what_another_permission_grants(srv: LiveServer, admin: httpx.Client) -> None:
    policy = make_policy(admin, {**READ, "permissions": {"number": {"_eq": 2}}})
    _insert_raw(srv, policy, {"permissions": {"_or": []}})
    _, token = make_user(admin, policies=(policy,))
    with srv.client(token=token) as client:
        assert [r["text"] for r in ok(client.get("/items/messages"))] == ["b"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"field": "qty", "type": "integer", "schema": {"default_value": "abc"}}, '"default_value"'),
        ({"field": "qty", "type": "boolean", "schema": {"default_value": "maybe"}}, '"default_value"'),
        ({"field": "qty", "type": "string", "meta": {"validation": "abc"}}, '"meta.validation"'),
        ({"field": "qty", "type": "string", "meta": {"validation": {"nope": {"_eq": 1}}}}, '"meta.validation"'),
        ({"field": "qty", "type": "string", "meta": {"options": "abc"}}, '"meta.options" must be an object'),
        ({"field": "qty", "type": "string", "schema": {"is_nullable": "no"}}, '"schema.is_nullable" must be a boolean'),
    ],
)
def test_malformed_field_definition_is_refused(admin: httpx.Client, body: dict[str, Any], named: str) -> None:
    message = error(admin.post("/fields/messages", json=body), 400, "INVALID_PAYLOAD")
    assert named in message, message
    assert admin.get("/items/messages").status_code == 200


def test_malformed_default_is_refused_on_update(admin: httpx.Client) -> None:
    ok(admin.post("/fields/messages", json={"field": "stock", "type": "integer", "schema": {"default_value": 4}}))
    message = error(
        admin.patch("/fields/messages/stock", json={"schema": {"default_value": "abc"}}), 400, "INVALID_PAYLOAD"
    )
    assert '"default_value"' in message
    assert {r["stock"] for r in ok(admin.get("/items/messages"))} == {4}
    assert ok(admin.get("/fields/messages/stock"))["schema"]["default_value"] == 4


def test_text_already_stored_in_a_numeric_column_is_read_as_stored(srv: LiveServer, admin: httpx.Client) -> None:
    """SQLite keeps ``'abc'`` in an INTEGER column (a default written before defaults were checked): reads
    answer it as stored, like Directus on SQLite, instead of a 500 for every read."""
    if live.test_db_client() != "sqlite3":
        pytest.skip("only SQLite stores text in a numeric column")

    async def legacy_column() -> None:
        async with srv.runtime.engine.begin() as conn:
            await conn.exec_driver_sql("ALTER TABLE messages ADD COLUMN legacy INTEGER DEFAULT 'abc'")
            await conn.exec_driver_sql("ALTER TABLE messages ADD COLUMN legacy_ratio FLOAT DEFAULT 'x'")
        await srv.runtime.schemas.reload()

    srv.run(legacy_column())
    rows = ok(admin.get("/items/messages", params={"fields": "text,legacy,legacy_ratio", "sort": "text"}))
    assert rows[:2] == [
        {"text": "a", "legacy": "abc", "legacy_ratio": "x"},
        {"text": "b", "legacy": "abc", "legacy_ratio": "x"},
    ]


def test_unevaluable_rule_gives_no_rows_over_the_websocket(srv: LiveServer, admin: httpx.Client) -> None:
    broken = make_policy(admin)
    _insert_raw(srv, broken, {"permissions": {"_or": []}})
    _, broken_token = make_user(admin, policies=(broken,))
    _, reader_token = make_user(admin, policies=(make_policy(admin, {**READ, "permissions": {}}),))
    subscribe = {"type": "subscribe", "collection": "messages", "query": {"fields": ["text"]}, "uid": "s"}
    with WS(srv.ws_url) as broken_ws, WS(srv.ws_url) as reader_ws:
        for socket, token in ((broken_ws, broken_token), (reader_ws, reader_token)):
            assert socket.request({"type": "auth", "access_token": token})["status"] == "ok"
        read = {"type": "items", "collection": "messages", "action": "read", "uid": "r"}
        assert broken_ws.request(read) == {"type": "items", "data": [], "uid": "r"}
        assert broken_ws.request(subscribe)["data"] == []
        assert reader_ws.request(subscribe)["event"] == "init"
        ok(admin.post("/items/messages", json={"text": "after"}))
        event = reader_ws.recv_until(lambda frame: frame.get("event") == "create", timeout=10)
        assert event["data"] == [{"text": "after"}]
        broken_ws.quiet(0.3, ignore=({"type": "ping"},))


def test_judged_rows_keep_dynamic_presets_and_validation(srv: LiveServer, admin: httpx.Client) -> None:
    create = {
        "collection": "messages",
        "action": "create",
        "fields": ["text", "number"],
        "presets": {"user": "$CURRENT_USER.email"},
        "validation": {"text": {"_neq": "$CURRENT_USER.email"}},
    }
    user_id, token = make_user(admin, policies=(make_policy(admin, {**READ, "permissions": {}}, create),))
    email = ok(admin.get(f"/users/{user_id}"))["email"]
    with srv.client(token=token) as client:
        assert ok(client.post("/items/messages", json={"text": "mine"}))["user"] == email
        error(client.post("/items/messages", json={"text": email}), 400, "FAILED_VALIDATION")
