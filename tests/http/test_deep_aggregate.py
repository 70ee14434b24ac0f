"""``deep[rel][_aggregate]`` / ``deep[rel][_groupBy]`` on an o2m branch: each parent's list becomes its
aggregate rows (what the Data Studio's roles page asks for its user counts:
``deep[users][_aggregate][count]=id&deep[users][_groupBy][0]=role``). Expected answers recorded from
Directus 12.4.1 on ``wf_topics`` (o2m ``notes``) / ``wf_notes`` seeded as below."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.http.accounts_support import error, make_policy, make_user, ok
from tests.support.live import LiveServer, live_server, scratch_database

PK = {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}, "meta": {}}
NOTES = [
    {"status": "draft", "n": 1, "topic": 1},
    {"status": "draft", "n": 2, "topic": 1},
    {"status": "published", "n": 5, "topic": 1},
    {"status": "draft", "n": 7, "topic": 2},
    {"status": "draft", "n": 9, "topic": None},
]


def _field(name: str, kind: str) -> dict[str, Any]:
    return {"field": name, "type": kind, "meta": {}, "schema": {}}


def _build(admin: httpx.Client) -> None:
    topics = {"collection": "wf_topics", "meta": {}, "schema": {}, "fields": [PK, _field("name", "string")]}
    ok(admin.post("/collections", json=topics))
    note_fields = [PK, _field("status", "string"), _field("n", "integer"), _field("topic", "integer")]
    ok(admin.post("/collections", json={"collection": "wf_notes", "meta": {}, "schema": {}, "fields": note_fields}))
    relation = {"collection": "wf_notes", "field": "topic", "related_collection": "wf_topics"}
    ok(admin.post("/relations", json={**relation, "meta": {"one_field": "notes"}}))
    ok(admin.post("/fields/wf_topics", json={"field": "notes", "type": "alias", "meta": {"special": ["o2m"]}}))
    ok(admin.post("/items/wf_topics", json=[{"name": "a"}, {"name": "b"}, {"name": "c"}]))
    ok(admin.post("/items/wf_notes", json=NOTES))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str, str]]:
    """(server, token of a reader of topics and notes without ``n``, token of a reader of topics only)."""
    with scratch_database(tmp_path_factory.mktemp("deepagg")) as env, live_server(env) as server:
        with server.client() as admin:
            _build(admin)
            both = make_policy(
                admin,
                {"collection": "wf_topics", "action": "read", "fields": ["*"]},
                {"collection": "wf_notes", "action": "read", "fields": ["id", "status", "topic"]},
            )
            topics = make_policy(admin, {"collection": "wf_topics", "action": "read", "fields": ["*"]})
            _, both_token = make_user(admin, policies=(both,))
            _, topics_token = make_user(admin, policies=(topics,))
        yield server, both_token, topics_token


def _get(server: LiveServer, params: dict[str, str], token: str | None = None) -> httpx.Response:
    with server.client(token=token) if token else server.client() as client:
        return client.get("/items/wf_topics", params=params)


# (query, Directus 12.4.1's data)
RECORDED: list[tuple[dict[str, str], list[dict[str, Any]]]] = [
    (
        {"fields": "id,notes", "deep[notes][_aggregate][count]": "id", "deep[notes][_groupBy][0]": "topic"},
        [
            {"id": 1, "notes": [{"count": {"id": 3}}]},
            {"id": 2, "notes": [{"count": {"id": 1}}]},
            {"id": 3, "notes": []},
        ],
    ),
    (
        {"fields": "id,notes", "deep[notes][_aggregate][count]": "*", "deep[notes][_groupBy]": "topic"},
        [{"id": 1, "notes": [{"count": 3}]}, {"id": 2, "notes": [{"count": 1}]}, {"id": 3, "notes": []}],
    ),
    (
        {
            "fields": "id,notes",
            "deep[notes][_aggregate][sum]": "n",
            "deep[notes][_aggregate][max]": "status",
            "deep[notes][_groupBy]": "topic",
        },
        [
            {"id": 1, "notes": [{"sum": {"n": 8}, "max": {"status": "published"}}]},
            {"id": 2, "notes": [{"sum": {"n": 7}, "max": {"status": "draft"}}]},
            {"id": 3, "notes": []},
        ],
    ),
    (
        {
            "fields": "id,notes",
            "deep[notes][_aggregate][count]": "id",
            "deep[notes][_groupBy]": "topic",
            "deep[notes][_filter][status][_eq]": "draft",
        },
        [
            {"id": 1, "notes": [{"count": {"id": 2}}]},
            {"id": 2, "notes": [{"count": {"id": 1}}]},
            {"id": 3, "notes": []},
        ],
    ),
    (
        {
            "fields": "id,name,notes",
            "deep[notes][_aggregate][avg]": "n",
            "deep[notes][_groupBy]": "topic",
            "filter[id][_lte]": "2",
        },
        [
            {"id": 1, "name": "a", "notes": [{"avg": {"n": 2.6666666666666665}}]},
            {"id": 2, "name": "b", "notes": [{"avg": {"n": 7}}]},
        ],
    ),
    (
        {
            "fields": "id,notes",
            "deep[notes][_aggregate][count]": "id",
            "deep[notes][_groupBy]": "topic",
            "deep[notes][_sort]": "-count.id",
        },
        [
            {"id": 1, "notes": [{"count": {"id": 3}}]},
            {"id": 2, "notes": [{"count": {"id": 1}}]},
            {"id": 3, "notes": []},
        ],
    ),
]


@pytest.mark.parametrize(("params", "expected"), RECORDED, ids=[str(i) for i in range(len(RECORDED))])
def test_deep_aggregate_answers_as_directus(
    world: tuple[LiveServer, str, str], params: dict[str, str], expected: list[dict[str, Any]]
) -> None:
    server, _, _ = world
    assert ok(_get(server, params)) == expected


def test_an_unknown_aggregated_field_is_forbidden_naming_the_branch(world: tuple[LiveServer, str, str]) -> None:
    server, _, _ = world
    params = {"fields": "id,notes", "deep[notes][_aggregate][count]": "nope", "deep[notes][_groupBy]": "topic"}
    assert error(_get(server, params), 403, "FORBIDDEN") == (
        'You don\'t have permission to access field "nope" in collection "wf_notes" or it does not exist. '
        'Queried in "notes".'
    )


def test_a_limited_user_counts_what_it_may_read_and_no_more(world: tuple[LiveServer, str, str]) -> None:
    server, both_token, topics_token = world
    count = {"fields": "id,notes", "deep[notes][_aggregate][count]": "id", "deep[notes][_groupBy]": "topic"}
    assert ok(_get(server, count, both_token)) == RECORDED[0][1]
    summed = {"fields": "id,notes", "deep[notes][_aggregate][sum]": "n", "deep[notes][_groupBy]": "topic"}
    assert 'field "n"' in error(_get(server, summed, both_token), 403, "FORBIDDEN")
    # notes are not readable at all: the o2m is left out, as a plain read leaves it out.
    assert ok(_get(server, count, topics_token)) == [{"id": 1}, {"id": 2}, {"id": 3}]


def test_the_roles_page_gets_its_user_counts(world: tuple[LiveServer, str, str]) -> None:
    """The Data Studio's roles list: a count per role of the users in it, across system collections."""
    server, _, _ = world
    params = {
        "fields": "id,name,users",
        "deep[users][_aggregate][count]": "id",
        "deep[users][_groupBy][0]": "role",
        "filter[name][_eq]": "Administrator",
    }
    with server.client() as admin:
        roles = ok(admin.get("/roles", params=params))
        admins = ok(admin.get("/users", params={"filter[role][name][_eq]": "Administrator", "aggregate[count]": "id"}))
    assert roles[0]["users"] == [{"count": {"id": admins[0]["count"]["id"]}}]
    assert roles[0]["users"][0]["count"]["id"] >= 1


def test_sorting_by_the_foreign_key_orders_nothing(world: tuple[LiveServer, str, str]) -> None:
    """The Data Studio's roles list adds ``deep[users][_sort]=role``: one value per parent, accepted."""
    server, _, _ = world
    params = {
        "fields": "id,notes",
        "deep[notes][_aggregate][count]": "id",
        "deep[notes][_groupBy][0]": "topic",
        "deep[notes][_sort]": "topic",
        "deep[notes][_limit]": "-1",
    }
    assert ok(_get(server, params)) == RECORDED[0][1]
