"""A ``validation`` rule never lets a payload through unjudged (it failed open before).

A permission's ``validation`` (and a field's ``meta.validation``) is judged on the payload. Before, any
condition the payload evaluator could not decide passed: a condition through an m2o
(``{"team": {"name": {"_eq": "red"}}}``) let every team through, ``year(due)`` was never computed, and rules a
query quietly drops (``_between`` with one bound, ``_in`` with one value, ``_some`` on an o2m, ``$FOLLOW``,
``count()``) passed every payload. Now, as Directus 12.4.1 (``validatePayload``/``generateJoi``): an m2o
condition fails whenever its field is sent (the payload holds a key where the Joi schema wants an object:
``required``), a date function is computed from the payload and fails without its field; and what cannot be
judged on a payload at all is refused when saved, ignored when found stored, and a closed
``FAILED_VALIDATION`` in a field's stored ``meta.validation``. Writes go over REST (one, batch, by keys)
and the WebSocket. Runs on SQLite, and on PostgreSQL/MariaDB with TIDEPOOL_TEST_DB=pg|mysql.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.http.accounts_support import error, make_policy, make_role, make_user, ok
from tests.realtime.wsclient import WS
from tests.support.live import LiveServer
from tests.support.servers import module_server
from tidepool.db import system

INTEGER = {"type": "integer", "meta": {}, "schema": {}}
STRING = {"type": "string", "meta": {}, "schema": {}}


def _collection(admin: httpx.Client, name: str, *fields: dict[str, Any]) -> None:
    pk = {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}}
    ok(admin.post("/collections", json={"collection": name, "meta": {}, "schema": {}, "fields": [pk, *fields]}))


def _world(server: LiveServer) -> None:
    """``teams`` (red, blue) and ``tasks`` (title, code, score, due, team → teams with the o2m
    ``teams.tasks``, owner → directus_users)."""
    with server.client() as admin:
        _collection(admin, "teams", {"field": "name", **STRING})
        _collection(
            admin,
            "tasks",
            {"field": "title", **STRING},
            {"field": "code", **STRING},
            {"field": "score", **INTEGER},
            {"field": "due", "type": "timestamp", "meta": {}, "schema": {}},
            {"field": "team", **INTEGER},
            {"field": "owner", "type": "uuid", "meta": {}, "schema": {}},
        )
        for field, related, one in (("team", "teams", "tasks"), ("owner", "directus_users", None)):
            body = {"collection": "tasks", "field": field, "related_collection": related, "meta": {"one_field": one}}
            ok(admin.post("/relations", json=body))
        ok(admin.post("/items/teams", json=[{"id": 1, "name": "red"}, {"id": 2, "name": "blue"}]))
        ok(admin.post("/items/tasks", json={"id": 1, "title": "seed", "team": 1, "due": "2024-06-01T00:00:00"}))


srv = module_server("validation_closed", seed=[_world])


@pytest.fixture
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


def _grant(collection: str, validation: Any = None, presets: Any = None) -> list[dict[str, Any]]:
    rule = {"collection": collection, "fields": ["*"], "permissions": {}}
    writes = [{**rule, "action": a, "validation": validation, "presets": presets} for a in ("create", "update")]
    return [{**rule, "action": "read"}, *writes]


def _user(admin: httpx.Client, collection: str, validation: Any = None, presets: Any = None) -> tuple[str, str]:
    return make_user(admin, policies=(make_policy(admin, *_grant(collection, validation, presets)),))


def _tasks(admin: httpx.Client) -> list[dict[str, Any]]:
    return list(ok(admin.get("/items/tasks", params={"sort": "id", "fields": "id,title,team,owner,due"})))


def _failed(response: httpx.Response) -> dict[str, Any]:
    error(response, 400, "FAILED_VALIDATION")
    extensions: dict[str, Any] = response.json()["errors"][0]["extensions"]
    return extensions


RED_TEAM = {"team": {"name": {"_eq": "red"}}}


# ---- a condition through an m2o fails when its field is sent, as in Directus ------------------------------


@pytest.mark.parametrize("team", [1, 2, None])
def test_m2o_condition_fails_whenever_the_field_is_sent(srv: LiveServer, admin: httpx.Client, team: Any) -> None:
    """Directus's Joi wants ``team`` to be an object holding ``name``; the payload holds a key (or null), so the
    rule fails for every value, the red team's key included (before: every team passed)."""
    _, token = _user(admin, "tasks", RED_TEAM)
    before = _tasks(admin)
    with srv.client(token=token) as client:
        extensions = _failed(client.post("/items/tasks", json={"title": "t", "team": team}))
        assert extensions == {"field": "team", "path": [], "type": "required", "code": "FAILED_VALIDATION"}
        assert client.post("/items/tasks", json={"title": "t"}).status_code == 200  # not sent: passes, as Directus
    assert len(_tasks(admin)) == len(before) + 1


def test_m2o_condition_on_every_write_path(srv: LiveServer, admin: httpx.Client) -> None:
    _, token = _user(admin, "tasks", RED_TEAM)
    before = _tasks(admin)
    with srv.client(token=token) as client:
        _failed(client.post("/items/tasks", json=[{"title": "ok"}, {"title": "b", "team": 2}]))
        _failed(client.patch("/items/tasks/1", json={"team": 2}))
        _failed(client.patch("/items/tasks", json={"keys": [1], "data": {"team": 2}}))
        _failed(client.patch("/items/tasks", json=[{"id": 1, "team": 2}]))
        _failed(client.patch("/items/tasks", json={"query": {"filter": {"id": {"_eq": 1}}}, "data": {"team": 2}}))
        ok(client.patch("/items/tasks/1", json={"title": "seed"}))  # the team not sent: passes
    with WS(srv.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": token})["status"] == "ok"
        for message in (
            {"action": "create", "data": {"title": "w", "team": 2}},
            {"action": "create", "data": [{"title": "w"}, {"title": "w", "team": 2}]},
            {"action": "update", "id": 1, "data": {"team": 2}},
            {"action": "update", "ids": [1], "data": {"team": 2}},
        ):
            reply = ws.request({"type": "items", "collection": "tasks", "uid": "w", **message})
            assert reply["status"] == "error" and reply["error"]["code"] == "FAILED_VALIDATION", reply
            assert 'Validation failed for field "team". Value is required.' == reply["error"]["message"]
    assert _tasks(admin) == before


def test_users_role_condition_through_owner_fails_when_owner_is_sent(srv: LiveServer, admin: httpx.Client) -> None:
    """The finding as reported: ``{"owner": {"role": {"_eq": X}}}`` let any owner through."""
    role = make_role(admin)
    member, _ = make_user(admin, role=role)
    outsider, token = _user(admin, "tasks", {"owner": {"role": {"_eq": role}}})
    with srv.client(token=token) as client:
        for owner in (outsider, member):
            assert _failed(client.post("/items/tasks", json={"title": "o", "owner": owner}))["field"] == "owner"
    assert not [t for t in _tasks(admin) if t["owner"] in (outsider, member)]


def test_m2o_condition_judges_a_preset_as_sent(srv: LiveServer, admin: httpx.Client) -> None:
    """Presets are part of the payload the rule sees (Directus merges them first), so a preset key fails too."""
    _, token = _user(admin, "tasks", RED_TEAM, presets={"team": 1})
    with srv.client(token=token) as client:
        assert _failed(client.post("/items/tasks", json={"title": "p"}))["field"] == "team"


def test_dynamic_preset_and_rule_agree(srv: LiveServer, admin: httpx.Client) -> None:
    me, token = _user(admin, "tasks", {"owner": {"_eq": "$CURRENT_USER"}}, presets={"owner": "$CURRENT_USER"})
    other, _ = make_user(admin)
    with srv.client(token=token) as client:
        created = ok(client.post("/items/tasks", json={"title": "mine"}))
        assert created["owner"] == me
        assert _failed(client.post("/items/tasks", json={"title": "x", "owner": other}))["type"] == "eq"


# ---- date functions are computed from the payload --------------------------------------------------------


def test_date_function_is_computed_from_the_payload(srv: LiveServer, admin: httpx.Client) -> None:
    """``year(due)`` was never computed (the key ``year(due)`` is not in the payload), so every year passed."""
    _, token = _user(admin, "tasks", {"year(due)": {"_eq": 2024}})
    with srv.client(token=token) as client:
        extensions = _failed(client.post("/items/tasks", json={"title": "y", "due": "2030-01-01T00:00:00"}))
        assert extensions["field"] == "year(due)" and extensions["type"] == "in", extensions
        ok(client.post("/items/tasks", json={"title": "y", "due": "2024-03-01T10:00:00"}))
        # Without ``due`` Directus computes NaN, which no year equals: the rule fails.
        assert _failed(client.patch("/items/tasks/1", json={"title": "y"}))["field"] == "year(due)"


# ---- what cannot be judged on a payload is refused when saved ---------------------------------------------


@pytest.mark.parametrize(
    ("collection", "validation", "named"),
    [
        ("teams", {"tasks": {"_some": {"title": {"_eq": "x"}}}}, '"tasks" lists other rows'),
        ("teams", {"tasks": {"title": {"_eq": "x"}}}, '"tasks" lists other rows'),
        ("teams", {"$FOLLOW(tasks,team)": {"_none": {"title": {"_eq": "x"}}}}, "$FOLLOW reads other rows"),
        ("teams", {"count(tasks)": {"_lt": 3}}, "count() cannot be computed from a payload"),
        ("tasks", {"score": {"_between": [1]}}, '"_between" needs an array of two values'),
        ("tasks", {"score": {"_nbetween": [1, 2, 3]}}, '"_nbetween" needs an array of two values'),
        ("tasks", {"score": {"_in": 5}}, '"_in" needs an array'),
        ("tasks", {"code": {"_nin": "a,b"}}, '"_nin" needs an array'),
        ("tasks", {"code": {"_regex": "(a)\\1"}}, "Invalid regular expression"),
        ("tasks", {"_and": [{}]}, "an empty or non-object condition cannot be judged"),
        ("tasks", {"_or": [{"score": {"_gt": 1}}, {}]}, "an empty or non-object condition cannot be judged"),
        ("tasks", {"due": {"_gte": "$NOW(+1 parsec)"}}, '"$NOW(+1 parsec)" is not a date adjustment'),
        ("tasks", {"due": {"_between": ["$NOW", "$NOW(soon)"]}}, '"$NOW(soon)" is not a date adjustment'),
    ],
)
def test_validation_that_cannot_be_judged_is_refused_when_saved(
    admin: httpx.Client, collection: str, validation: dict[str, Any], named: str
) -> None:
    policy = make_policy(admin)
    body = {"policy": policy, "collection": collection, "action": "create", "fields": ["*"], "validation": validation}
    message = error(admin.post("/permissions", json=body), 400, "INVALID_PAYLOAD")
    assert '"validation"' in message and named in message, message


def test_preset_on_a_field_listing_other_rows_is_refused_when_saved(admin: httpx.Client) -> None:
    """A preset for an o2m was dropped with the payload's alias fields (nested writes are not supported)."""
    body = {"policy": make_policy(admin), "collection": "teams", "action": "create", "presets": {"tasks": [1]}}
    message = error(admin.post("/permissions", json=body), 400, "INVALID_PAYLOAD")
    assert '"presets"' in message and '"tasks"' in message, message


def test_preset_with_an_unreadable_date_adjustment_is_refused_when_saved(admin: httpx.Client) -> None:
    """Resolved, ``$NOW(+1 parsec)`` is the current instant (Directus's reading too): a silent change of the rule."""
    body = {"policy": make_policy(admin), "collection": "tasks", "action": "create", "presets": {"due": "$NOW(+1 ps)"}}
    message = error(admin.post("/permissions", json=body), 400, "INVALID_PAYLOAD")
    assert '"presets": "due": "$NOW(+1 ps)" is not a date adjustment' in message, message


def test_now_with_an_adjustment_is_judged_at_write_time(srv: LiveServer, admin: httpx.Client) -> None:
    _, token = _user(admin, "tasks", {"due": {"_gte": "$NOW(-1 day)"}})
    with srv.client(token=token) as client:
        assert _failed(client.post("/items/tasks", json={"title": "n", "due": "2020-01-01T00:00:00"}))["type"] == "gte"
        ok(client.post("/items/tasks", json={"title": "n", "due": "2999-01-01T00:00:00"}))


# ---- found stored: the permission is ignored, the field rule fails closed ------------------------------------


def _insert_permission(srv: LiveServer, policy: str, **values: Any) -> None:
    async def run() -> None:
        async with srv.runtime.engine.begin() as conn:
            await conn.execute(system.permissions.insert().values(policy=policy, fields="*", **values))

    srv.run(run())
    srv.runtime.access_cache.invalidate()


@pytest.mark.parametrize(
    ("collection", "validation", "payload"),
    [
        ("teams", {"tasks": {"_some": {"title": {"_eq": "x"}}}}, {"name": "n"}),
        ("tasks", {"score": {"_between": [100]}}, {"title": "b", "score": 5}),
        ("tasks", {"score": {"_in": 100}}, {"title": "i", "score": 5}),
        ("tasks", {"_or": [{"score": {"_gt": 100}}, {}]}, {"title": "o", "score": 5}),
    ],
)
def test_stored_validation_that_cannot_be_judged_grants_no_write(
    srv: LiveServer, admin: httpx.Client, collection: str, validation: dict[str, Any], payload: dict[str, Any]
) -> None:
    """Written around the API (an older version, SQL by hand): the permission is ignored, so the write it
    should have limited is refused, never let through unchecked."""
    policy = make_policy(admin, {"collection": collection, "action": "read", "fields": ["*"]})
    _insert_permission(srv, policy, collection=collection, action="create", validation=validation)
    _, token = make_user(admin, policies=(policy,))
    before = ok(admin.get(f"/items/{collection}", params={"aggregate[count]": "*"}))
    with srv.client(token=token) as client:
        error(client.post(f"/items/{collection}", json=payload), 403, "FORBIDDEN")
    assert ok(admin.get(f"/items/{collection}", params={"aggregate[count]": "*"})) == before


def test_field_rule_that_cannot_be_judged_fails_every_write(srv: LiveServer, admin: httpx.Client) -> None:
    """A field's ``meta.validation`` naming the o2m ``tasks`` is accepted when saved (the field check does not
    know which fields list rows) and binds admins too: it fails every write of the collection, closed."""
    ok(admin.post("/fields/teams", json={"field": "motto", **STRING}))
    rule = {"tasks": {"title": {"_eq": "x"}}}
    ok(admin.patch("/fields/teams/motto", json={"meta": {"validation": rule}}))
    try:
        for response in (
            admin.post("/items/teams", json={"name": "green"}),
            admin.patch("/items/teams/1", json={"motto": "go"}),
        ):
            extensions = _failed(response)
            assert extensions["field"] == "tasks" and extensions["type"] == "rule", extensions
        assert [t["name"] for t in ok(admin.get("/items/teams", params={"sort": "id"}))] == ["red", "blue"]
    finally:
        ok(admin.patch("/fields/teams/motto", json={"meta": {"validation": None}}))


def test_dynamic_value_that_resolves_to_the_wrong_shape_fails_closed(srv: LiveServer, admin: httpx.Client) -> None:
    """``_in`` with ``$CURRENT_USER`` (a single id, not a list) is resolved at write time; a query would read
    it as one value, a payload rule cannot: closed, never passed."""
    _, token = _user(admin, "tasks", {"owner": {"_in": "$CURRENT_USER"}})
    with srv.client(token=token) as client:
        assert _failed(client.post("/items/tasks", json={"title": "d"}))["type"] == "rule"


def test_regex_in_a_permission_validation_is_accepted_and_judged(srv: LiveServer, admin: httpx.Client) -> None:
    """``_regex`` is a validation operator (Directus's); a permission's ``validation`` was judged at save as a
    query filter, which has no ``_regex``, so ``POST /permissions`` refused it."""
    _, token = _user(admin, "tasks", {"code": {"_regex": "^[A-Z]{3}$"}})
    with srv.client(token=token) as client:
        extensions = _failed(client.post("/items/tasks", json={"title": "r", "code": "abc"}))
        assert extensions == {
            "field": "code",
            "path": [],
            "type": "regex",
            "invalid": "abc",
            "code": "FAILED_VALIDATION",
        }
        ok(client.post("/items/tasks", json={"title": "r", "code": "ABC"}))


def test_dynamic_variables_in_a_field_rule_are_the_callers(srv: LiveServer, admin: httpx.Client) -> None:
    """A field's ``meta.validation`` was run with its placeholders unresolved: ``_neq: "$CURRENT_USER"`` compared
    the owner with the text ``$CURRENT_USER`` and let the caller's own id through. Directus resolves them
    (``parseFilter``), paths read with full rights."""
    me, token = _user(admin, "tasks")
    rule = {"_and": [{"owner": {"_neq": "$CURRENT_USER"}}, {"code": {"_neq": "$CURRENT_USER.email"}}]}
    ok(admin.patch("/fields/tasks/owner", json={"meta": {"validation": rule}}))
    email = ok(admin.get(f"/users/{me}", params={"fields": "email"}))["email"]
    try:
        with srv.client(token=token) as client:
            assert _failed(client.post("/items/tasks", json={"title": "s", "owner": me}))["type"] == "neq"
            assert _failed(client.post("/items/tasks", json={"title": "s", "code": email}))["field"] == "code"
            ok(client.post("/items/tasks", json={"title": "s", "code": "x"}))
        with WS(srv.ws_url) as ws:
            assert ws.request({"type": "auth", "access_token": token})["status"] == "ok"
            reply = ws.request(
                {"type": "items", "collection": "tasks", "action": "update", "id": 1, "data": {"owner": me}}
            )
            assert reply["status"] == "error" and reply["error"]["code"] == "FAILED_VALIDATION", reply
        assert ok(admin.get("/items/tasks/1"))["owner"] is None
    finally:
        ok(admin.patch("/fields/tasks/owner", json={"meta": {"validation": None}}))
