"""Field functions and operators Directus 12.4.1 has and Tidepool lacked: ``json(field, path)`` in ``fields``
and ``sort``, ``sort`` by any function (``-year(published_at)``, ``-count(comments)``), ``_contains`` /
``_ncontains`` (and ``_empty``) on timestamps, the string operators refused on uuids (Directus 12.4.1 answers
400 for them), and an unknown aggregate function as an error.

Runs on SQLite, and on PostgreSQL/MariaDB with TIDEPOOL_TEST_DB=pg|mysql (every case is about SQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from tests.http.accounts_support import error, ok
from tests.support.live import LiveServer
from tests.support.servers import module_server

UUID1 = "0b7e6a57-0000-4000-8000-000000000001"
UUID2 = "0b7e6a57-0000-4000-8000-000000000002"

POSTS = [
    {"title": "a", "published_at": "2023-05-01T10:00:00.000Z", "u": UUID1, "data": {"a": {"b": "x"}, "n": 3}},
    {"title": "b", "published_at": "2025-01-02T00:00:00.000Z", "u": UUID2, "data": {"a": {"b": "y"}, "tags": [1]}},
    {"title": "c", "published_at": "2024-12-31T23:30:00.000Z", "u": None, "data": [1, {"k": True}]},
    {"title": "d", "published_at": None, "u": None, "data": None},
]
COMMENTS_PER_POST = {1: 1, 2: 3, 3: 0, 4: 2}


def _field(name: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"field": name, "type": kind, "meta": {}, "schema": {}, **extra}


def _posts_and_comments(server: LiveServer) -> None:
    with server.client() as admin:
        pk = _field("id", "integer", schema={"is_primary_key": True, "has_auto_increment": True})
        posts = [pk, _field("title", "string"), _field("published_at", "timestamp")]
        posts += [_field("u", "uuid"), _field("data", "json")]
        ok(admin.post("/collections", json={"collection": "posts", "meta": {}, "schema": {}, "fields": posts}))
        comments = [pk, _field("body", "string"), _field("post", "integer")]
        ok(admin.post("/collections", json={"collection": "comments", "meta": {}, "schema": {}, "fields": comments}))
        ok(admin.post("/fields/posts", json={"field": "comments", "type": "alias", "meta": {"special": ["o2m"]}}))
        relation = {"collection": "comments", "field": "post", "related_collection": "posts"}
        ok(admin.post("/relations", json={**relation, "meta": {"one_field": "comments"}, "schema": {}}))
        ok(admin.post("/items/posts", json=POSTS))
        rows = [{"body": f"c{p}-{i}", "post": p} for p, n in COMMENTS_PER_POST.items() for i in range(n)]
        ok(admin.post("/items/comments", json=rows))


srv = module_server("functions", seed=_posts_and_comments)


@pytest.fixture
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


def read(client: httpx.Client, **params: str) -> list[dict[str, Any]]:
    response = client.get("/items/posts", params=params)
    assert response.status_code == 200, (params, response.text)
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def ids(client: httpx.Client, **params: str) -> list[int]:
    return [row["id"] for row in read(client, fields="id", **params)]


# ------------------------------------------------------------------------------------ json(field, path)


@pytest.mark.parametrize(
    ("function", "key", "values"),
    [
        ("json(data,a.b)", "data_a_b_json", ["x", "y", None, None]),
        ("json(data, a.b)", "data_a_b_json", ["x", "y", None, None]),
        ("json(data,a)", "data_a_json", [{"b": "x"}, {"b": "y"}, None, None]),
        ("json(data,n)", "data_n_json", [3, None, None, None]),
        ("json(data,[0])", "data_0_json", [None, None, 1, None]),
        ("json(data,[1].k)", "data_1_k_json", [None, None, True, None]),
        ("json(data,tags[0])", "data_tags_0_json", [None, 1, None, None]),
    ],
)
def test_json_function_in_fields(admin: httpx.Client, function: str, key: str, values: list[Any]) -> None:
    rows = read(admin, fields=f"id,{function}", sort="id")
    assert rows == [{"id": i + 1, key: value} for i, value in enumerate(values)]


@pytest.mark.parametrize("index", ["2147483648", "99999999999999999999"])
def test_an_array_index_past_int4_finds_nothing(admin: httpx.Client, index: str) -> None:
    """No array is that long: the value is null and a filter on it matches nothing, as Directus 12.4.1 answers
    (asked of it on SQLite). PostgreSQL binds ``jsonb -> n`` as int4: both were a 500 there."""
    rows = read(admin, fields=f"id,json(data,tags[{index}]),json(data,[{index}].k)", sort="id")
    assert rows == [{"id": i, f"data_tags_{index}_json": None, f"data_{index}_k_json": None} for i in (1, 2, 3, 4)]
    node = {"_or": [{f"tags[{index}]": {"_gte": 1}}, {f"[{index}].k": {"_eq": "true"}}]}
    assert ids(admin, filter=orjson.dumps({"data": {"_json": node}}).decode()) == []
    missing = {"data": {"_json": {f"tags[{index}]": {"_null": True}}}}
    assert ids(admin, filter=orjson.dumps(missing).decode()) == [1, 2, 3, 4]


def test_json_function_as_the_only_field(admin: httpx.Client) -> None:
    rows = read(admin, fields="json(data,a.b)", sort="id", limit="1")
    assert rows == [{"data_a_b_json": "x"}]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ("json(data)", "Invalid json() syntax: requires json(field, path) format"),
        ("json(data,a..b)", "Invalid JSON path: unsupported path expression"),
        ("json(data,*)", "Invalid JSON path: unsupported path expression"),
        ("json(data,a[-1])", "Invalid JSON path: unsupported path expression"),
        ("json(data,a.b.c.d.e.f.g.h.i.j.k)", "JSON path depth (11) exceeds allowed maximum of 10"),
        ("json(title,a)", 'Invalid function specified "json"'),
    ],
)
def test_json_function_errors_are_directus_errors(admin: httpx.Client, fields: str, reason: str) -> None:
    message = error(admin.get("/items/posts", params={"fields": fields}), 400, "INVALID_QUERY")
    assert message == f"Invalid query. {reason}."


# ------------------------------------------------------------------------------------ sort by functions


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-year(published_at)", [2, 3, 1, 4]),  # NULL smallest: last when descending
        ("year(published_at)", [4, 1, 3, 2]),
        ("-month(published_at),id", [3, 1, 2, 4]),
        ("-count(comments)", [2, 4, 1, 3]),
        ("count(comments)", [3, 1, 4, 2]),
        ("-json(data,a.b)", [2, 1, 3, 4]),
    ],
)
def test_sort_by_functions(admin: httpx.Client, sort: str, expected: list[int]) -> None:
    assert ids(admin, sort=sort) == expected


def test_sort_by_function_of_an_unknown_field_is_forbidden(admin: httpx.Client) -> None:
    error(admin.get("/items/posts", params={"sort": "-year(nope)"}), 403, "FORBIDDEN")


# ----------------------------------------------------------------------------- text operators, timestamps, uuids


@pytest.mark.parametrize(
    ("field", "operator", "value", "expected"),
    [
        ("published_at", "_contains", "2024-12", [3]),
        ("published_at", "_contains", "T23:30", [3]),
        ("published_at", "_contains", ".000Z", [1, 2, 3]),
        ("published_at", "_ncontains", "2024", [1, 2]),  # NULL never matches a negated operator
        ("published_at", "_empty", "true", [4]),
        ("published_at", "_nempty", "true", [1, 2, 3]),
    ],
)
def test_text_operators_on_timestamps(
    admin: httpx.Client, field: str, operator: str, value: str, expected: list[int]
) -> None:
    assert ids(admin, **{f"filter[{field}][{operator}]": value, "sort": "id"}) == expected


@pytest.mark.parametrize(
    ("field", "field_type", "operator"),
    [("published_at", "timestamp", "_icontains"), ("u", "uuid", "_contains"), ("u", "uuid", "_starts_with")],
)
def test_operators_directus_refuses_on_timestamps_and_uuids(
    admin: httpx.Client, field: str, field_type: str, operator: str
) -> None:
    """Directus 12.4.1 takes equality only on uuids (``_in`` too), and only ``_contains``/``_ncontains`` of the
    text operators on timestamps (tests/http/test_operator_matrix.py has every type)."""
    message = error(admin.get("/items/posts", params={f"filter[{field}][{operator}]": "0b7e"}), 400, "INVALID_QUERY")
    assert message == f'Invalid query. "{field_type}" field type does not contain the "{operator}" filter operator.'


# ------------------------------------------------------------------------------------ aggregate


@pytest.mark.parametrize("params", [{"aggregate[bogus]": "*"}, {"aggregate[count]": "*", "aggregate[avgg]": "id"}])
def test_unknown_aggregate_function_is_an_error(admin: httpx.Client, params: dict[str, str]) -> None:
    name = "bogus" if "aggregate[bogus]" in params else "avgg"
    message = error(admin.get("/items/posts", params=params), 400, "INVALID_QUERY")
    assert message == f'Invalid query. "{name}" is not a valid aggregate function.'


def test_json_function_is_not_a_filter_key(admin: httpx.Client) -> None:
    """Directus 12.4.1 reads the call's argument as a field name (filters on JSON paths use ``_json``)."""
    response = admin.get("/items/posts", params={"filter[json(data,n)][_eq]": "3"})
    message = error(response, 403, "FORBIDDEN")
    assert message == (
        'You don\'t have permission to access field "data,n" in collection "posts" or it does not exist. '
        "Queried in root."
    )


# ------------------------------------------------------------------------------------ _json filters


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ({"a.b": {"_eq": "x"}}, [1]),
        ({"a.b": {"_in": ["x", "y"]}}, [1, 2]),
        ({"a.b": {"_contains": "y"}}, [2]),
        ({"a.b": {"_null": True}}, [3, 4]),
        ({"n": {"_gt": 2}}, [1]),
        ({"n": {"_eq": 3}}, [1]),
        ({"n": {"_eq": "3"}}, [1]),  # text: the number as written
        ({"[0]": {"_eq": 1}}, [3]),
        ({"[1].k": {"_eq": "true"}}, [3]),
        ({"tags[0]": {"_gte": 1}}, [2]),
        ({"_or": [{"a.b": {"_eq": "x"}}, {"n": {"_null": False}}]}, [1]),
        ({"_or": [{"a.b": {"_eq": "y"}}, {"[0]": {"_eq": 1}}]}, [2, 3]),
        ({"a.b": {"_eq": "x"}, "n": {"_lt": 3}}, []),
    ],
)
def test_json_operator_filters_on_paths(admin: httpx.Client, node: dict[str, Any], expected: list[int]) -> None:
    import json

    assert ids(admin, filter=json.dumps({"data": {"_json": node}}), sort="id") == expected


def test_json_operator_in_the_bracket_form(admin: httpx.Client) -> None:
    assert ids(admin, **{"filter[data][_json][a.b][_eq]": "y"}) == [2]


@pytest.mark.parametrize(
    ("node", "reason"),
    [
        ({"a..b": {"_eq": "x"}}, "Invalid JSON path: unsupported path expression"),
        (
            {"a": {"b": {"_eq": "x"}}},
            '"_json" path "a" cannot contain a nested path "b"; use a single flat path like "a.b"',
        ),
        ({"a": "x"}, "Invalid filter object"),  # Directus's sanitizer refuses these shapes first
        ({"_or": {"a": {"_eq": 1}}}, "Invalid filter object"),
    ],
)
def test_json_operator_errors(admin: httpx.Client, node: dict[str, Any], reason: str) -> None:
    import json

    response = admin.get("/items/posts", params={"filter": json.dumps({"data": {"_json": node}})})
    assert error(response, 400, "INVALID_QUERY") == f"Invalid query. {reason}."


def test_json_operator_only_on_json_fields(admin: httpx.Client) -> None:
    response = admin.get("/items/posts", params={"filter[title][_json][a][_eq]": "x"})
    message = error(response, 400, "INVALID_QUERY")
    assert message == 'Invalid query. "string" field type does not contain the "_json" filter operator.'
