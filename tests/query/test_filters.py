"""The filter compiler on a real database: every operator on every type it supports, NULLs, unicode and
case, relational filters, permission rules inside relational subqueries, errors and SQL injection.

Runs on SQLite by default; ``TIDEPOOL_TEST_DB=pg`` / ``mysql`` runs the same cases on PostgreSQL / MariaDB,
so one expected answer per case is also the proof that the three engines agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tests.query.conftest import UUIDS, QueryDb, items, sample_rows
from tidepool.context import Access, Accountability, Action, Permission
from tidepool.errors import ForbiddenError, InvalidQueryError
from tidepool.query.filters import read_rule_filter
from tidepool.query.operators import OPERATORS

ALL = [1, 2, 3, 4, 5, 6, 7]

# (filter, ids of the sample rows it matches). Row 5 is all NULLs; row 6 has s = "".
STRING_CASES: list[tuple[dict[str, Any], list[int]]] = [
    ({"s": {"_eq": "Hello World"}}, [1]),
    ({"s": "hello world"}, [2]),
    ({"s": {"_eq": "trailing"}}, []),  # trailing spaces count (MySQL's PAD SPACE is bypassed)
    ({"s": {"_eq": "HELLO WORLD"}}, []),  # case counts (MySQL's _ci collation is bypassed)
    ({"s": {"_neq": "Hello World"}}, [2, 3, 4, 6, 7]),  # NULL never matches a negated operator
    ({"s": {"_eq": None}}, [5]),
    ({"s": {"_neq": None}}, [1, 2, 3, 4, 6, 7]),
    ({"s": {"_null": True}}, [5]),
    ({"s": {"_null": False}}, [1, 2, 3, 4, 6, 7]),
    ({"s": {"_nnull": True}}, [1, 2, 3, 4, 6, 7]),
    ({"s": {"_empty": True}}, [5, 6]),
    ({"s": {"_empty": False}}, [1, 2, 3, 4, 7]),
    ({"s": {"_nempty": True}}, [1, 2, 3, 4, 7]),
    ({"s": {"_contains": "World"}}, [1]),
    ({"s": {"_contains": "world"}}, [2]),
    ({"s": {"_ncontains": "World"}}, [2, 3, 4, 6, 7]),
    ({"s": {"_icontains": "WORLD"}}, [1, 2]),
    ({"s": {"_contains": "%"}}, [3]),  # wildcards are literal
    ({"s": {"_contains": "_"}}, [3]),
    ({"s": {"_contains": "[x]*?"}}, [3]),
    ({"s": {"_contains": "*"}}, [3]),
    ({"s": {"_icontains": "_SURE_"}}, [3]),
    ({"s": {"_starts_with": "hello"}}, [2]),
    ({"s": {"_istarts_with": "hello"}}, [1, 2]),
    ({"s": {"_nstarts_with": "hello"}}, [1, 3, 4, 6, 7]),
    ({"s": {"_nistarts_with": "HELLO"}}, [3, 4, 6, 7]),
    ({"s": {"_ends_with": "World"}}, [1]),
    ({"s": {"_iends_with": "WORLD"}}, [1, 2]),
    ({"s": {"_nends_with": " "}}, [1, 2, 3, 4, 6]),
    ({"s": {"_niends_with": "world"}}, [3, 4, 6, 7]),
    ({"s": {"_icontains": "ÜBER"}}, [4]),  # case folding beyond ASCII, on every engine
    ({"s": {"_istarts_with": "ärger"}}, [4]),
    ({"t": {"_contains": "ÜBER"}}, [4]),
    ({"t": {"_contains": "über"}}, []),
    ({"s": {"_contains": "😀"}}, [4]),
    ({"s": {"_in": ["Hello World", "trailing "]}}, [1, 7]),
    ({"s": {"_in": "Hello World,"}}, [1, 6]),  # CSV string form
    ({"s": {"_nin": ["Hello World"]}}, [2, 3, 4, 6, 7]),
]

NUMBER_CASES: list[tuple[dict[str, Any], list[int]]] = [
    ({"n": {"_eq": "5"}}, [1]),
    ({"n": 5}, [1]),
    ({"n": {"_neq": 5}}, [2, 3, 4, 6, 7]),
    ({"n": {"_gt": 2}}, [1, 4, 7]),
    ({"n": {"_gte": "2"}}, [1, 4, 6, 7]),
    ({"n": {"_lt": 0}}, [2]),
    ({"n": {"_lte": 0}}, [2, 3]),
    ({"n": {"_gt": 1, "_lt": 7}}, [1, 6, 7]),
    ({"n": {"_in": [0, 7]}}, [3, 4]),
    ({"n": {"_in": "0,7"}}, [3, 4]),
    ({"n": {"_nin": [0, 7]}}, [1, 2, 6, 7]),
    ({"n": {"_in": []}}, []),
    ({"n": {"_nin": []}}, ALL),  # as Directus: an empty NOT IN is 1 = 1
    ({"n": {"_between": [0, 3]}}, [3, 6, 7]),
    ({"n": {"_nbetween": [0, 3]}}, [1, 2, 4]),
    ({"n": {"_null": True}}, [5]),
    ({"big": {"_gt": "40000000000"}}, [1, 4]),
    ({"big": {"_eq": 50000000000}}, [1]),
    ({"f": {"_eq": 1.25}}, [1]),
    ({"f": {"_lt": 0}}, [2]),
    ({"d": {"_eq": "0.625"}}, [1]),
    ({"d": {"_gte": 0.375}}, [1, 4, 7]),
    ({"flag": {"_eq": True}}, [1, 2, 4, 7]),
    ({"flag": "false"}, [3, 6]),
    ({"flag": {"_neq": True}}, [3, 6]),
    ({"flag": {"_null": True}}, [5]),
]

DATE_CASES: list[tuple[dict[str, Any], list[int]]] = [
    ({"day": {"_eq": "2024-01-31"}}, [1]),
    ({"day": {"_gt": "2024-01-01"}}, [1, 4, 7]),
    ({"day": {"_between": ["2023-01-01", "2024-01-31"]}}, [1, 2]),
    ({"day": {"_lt": "2022-01-01"}}, [6]),
    ({"day": {"_in": ["2024-02-29", "2021-01-03"]}}, [6, 7]),
    ({"dt": {"_gte": "2024-01-31T23:30:00"}}, [1, 4, 7]),
    ({"dt": {"_eq": "2024-01-31T23:30:00"}}, [1]),
    ({"ts": {"_eq": "2024-02-01T01:30:00+02:00"}}, [1]),  # an instant, whatever the offset
    ({"ts": {"_lt": "2024-01-31T23:30:00.001Z"}}, [1, 2, 6]),
    ({"ts": {"_nbetween": ["2023-01-01T00:00:00Z", "2024-12-31T00:00:00Z"]}}, [6]),
    ({"at": {"_gt": "03:00"}}, [1, 2, 4, 7]),
    ({"at": {"_eq": "03:30:15"}}, [2, 7]),
    ({"year(day)": 2024}, [1, 4, 7]),
    ({"month(day)": {"_in": [1, 12]}}, [1, 4, 6]),
    ({"day(day)": 29}, [7]),
    ({"week(day)": 1}, [4]),  # ISO week: 2024-12-30 is week 1 of 2025
    ({"week(day)": 53}, [6]),
    ({"weekday(day)": 0}, [6]),  # 0 = Sunday
    ({"weekday(day)": {"_eq": "3"}}, [1]),
    ({"hour(at)": 3}, [2, 7]),
    ({"minute(dt)": 30}, [1, 2, 4, 6, 7]),
    ({"second(at)": {"_gte": 15}}, [1, 2, 3, 4, 6, 7]),
    ({"hour(ts)": 23}, [1, 2, 4, 6, 7]),
    ({"year(ts)": {"_lt": 2024}}, [2, 6]),
]

OTHER_CASES: list[tuple[dict[str, Any], list[int]]] = [
    ({"u": UUIDS[0]}, [2, 4, 6]),
    ({"u": {"_in": [UUIDS[1].upper()]}}, [1, 3, 7]),
    ({"u": {"_neq": UUIDS[0]}}, [1, 3, 7]),
    ({"tags": {"_in": ["a"]}}, [1, 7]),  # csv: one entry equals the value
    ({"tags": {"_nin": ["a"]}}, [2, 3, 4, 6]),
    ({"tags": {"_intersects": ["c", "b"]}}, [1, 3, 6, 7]),
    ({"tags": {"_nintersects": "c,b"}}, [2, 4]),
    ({"tags": {"_contains": "a"}}, [1, 2, 6, 7]),
    ({"tags": {"_empty": True}}, [4, 5]),
    ({"secret": {"_null": False}}, [1, 3, 5, 7]),
    ({"secret": {"_nempty": True}}, [1, 3, 5, 7]),
    ({"data": {"_null": True}}, [5]),
    ({"data": {"_nnull": True}}, [1, 2, 3, 4, 6, 7]),
]

LOGICAL_CASES: list[tuple[dict[str, Any], list[int]]] = [
    ({}, ALL),
    ({"_or": [{"n": 5}, {"n": 7}]}, [1, 4]),
    ({"_and": [{"n": {"_gt": 0}}, {"s": {"_icontains": "o"}}]}, [1]),
    ({"_and": [{"_or": [{"n": 2}, {"n": 3}]}, {"flag": True}]}, [7]),
    ({"_or": []}, ALL),  # Directus drops empty groups
    ({"_and": []}, ALL),
    ({"_or": [{}, {"n": 5}]}, ALL),  # {} matches every row
    ({"_or": [{"s": {"_null": True}}, {"s": {"_ncontains": "o"}}]}, [3, 4, 5, 6, 7]),
]

RELATIONAL_CASES: list[tuple[dict[str, Any], list[int]]] = [
    ({"author": {"name": {"_eq": "Ada"}}}, [1, 4]),
    ({"author": {"_eq": 2}}, [2, 7]),
    ({"author": {"_null": True}}, [3, 6]),
    ({"author": {"active": {"_eq": False}}}, [2, 5, 7]),
    ({"author": {"_nnull": True, "name": {"_starts_with": "B"}}}, [2, 7]),
    ({"comments": {"body": {"_eq": "secret"}}}, [1, 4]),
    ({"comments": {"_some": {"visible": True}}}, [1, 2]),
    ({"comments": {"_none": {"visible": False}}}, [2, 3, 5, 6, 7]),
    ({"comments": {"_some": {}}}, [1, 2, 4]),
    ({"children": {"s": {"_icontains": "sure"}}}, [1]),  # self-relation (aliased subquery)
    ({"parent": {"n": 5}}, [2, 3]),
    ({"parent": {"author": {"name": "Ada"}}}, [2, 3]),
    ({"comments": {"item": {"n": 5}}}, [1]),
    ({"count(comments)": {"_gte": 2}}, [1]),
    ({"count(comments)": 0}, [3, 5, 6, 7]),
    ({"count(children)": 2}, [1]),
    ({"_or": [{"comments": {"body": "nice"}}, {"author": {"name": "Ada"}}]}, [1, 2, 4]),
]

CASES = STRING_CASES + NUMBER_CASES + DATE_CASES + OTHER_CASES + LOGICAL_CASES


@pytest.fixture(scope="module")
def db(query_db: QueryDb) -> Iterator[QueryDb]:
    query_db.replace_rows(sample_rows())
    yield query_db


def _id(case: tuple[dict[str, Any], list[int]]) -> str:
    return str(case[0])[:60]


@pytest.mark.parametrize("case", CASES + RELATIONAL_CASES, ids=_id)
def test_operator_cases(db: QueryDb, case: tuple[dict[str, Any], list[int]]) -> None:
    filter, expected = case
    assert db.ids(filter) == expected


def test_every_sql_operator_is_covered_by_a_case() -> None:
    used = {op for f, _ in CASES + RELATIONAL_CASES for op in _operators(f)}
    compiled = {name for name, spec in OPERATORS.items() if spec.sql is not None}
    assert compiled - used == set()


def _operators(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("_"):
                yield key
            yield from _operators(value)
    elif isinstance(node, list):
        for item in node:
            yield from _operators(item)


# ------------------------------------------------------------------ errors, exactly as Directus words them

ERROR_CASES: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"nope": {"_eq": 1}}, ForbiddenError, 'field "nope" in collection "items"'),
    ({"s": {"_bogus": 1}}, InvalidQueryError, '"string" field type does not contain the "_bogus" filter operator.'),
    ({"n": {"_contains": "1"}}, InvalidQueryError, '"integer" field type does not contain the "_contains" filter'),
    ({"flag": {"_gt": True}}, InvalidQueryError, '"boolean" field type does not contain the "_gt" filter'),
    ({"data": {"_eq": 1}}, InvalidQueryError, '"json" field type does not contain the "_eq" filter operator'),
    ({"secret": {"_eq": "x"}}, InvalidQueryError, '"hash" field type does not contain the "_eq" filter operator'),
    ({"s": {"_regex": "x"}}, InvalidQueryError, '"string" field type does not contain the "_regex" filter'),
    ({"n": {"_eq": "abc"}}, InvalidQueryError, 'Invalid value for field "n" of type "integer"'),
    ({"day": {"_gt": "yesterday"}}, InvalidQueryError, 'Invalid value for field "day" of type "date"'),
    ({"u": "not-a-uuid"}, InvalidQueryError, 'Invalid value for field "u" of type "uuid"'),
    ({"flag": "maybe"}, InvalidQueryError, 'Invalid value for field "flag" of type "boolean"'),
    ({"author": {"_some": {"name": "x"}}}, InvalidQueryError, '"_some" can only be used with top level relational'),
    ({"comments": {"_eq": 1}}, InvalidQueryError, '"alias" field type does not contain the "_eq" filter'),
    ({"s": {"name": {"_eq": 1}}}, InvalidQueryError, '"string" field type does not contain the "name" filter'),
    ({"year(s)": 2024}, InvalidQueryError, 'Invalid filter key "year(s)" on "items"'),
    ({"foo(day)": 1}, InvalidQueryError, 'Invalid function "foo"'),
    ({"count(author)": 1}, InvalidQueryError, 'Invalid filter key "count(author)" on "items"'),
    ({"_or": {"n": 1}}, InvalidQueryError, '"_or" has to be an array'),
    ({"author": {"nope": 1}}, ForbiddenError, 'field "nope" in collection "authors"'),
]


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda c: str(c[0])[:50])
def test_errors(db: QueryDb, case: tuple[dict[str, Any], type[Exception], str]) -> None:
    filter, error, text = case
    with pytest.raises(error) as raised:
        db.condition(filter)
    assert text in str(raised.value)


def test_unknown_operator_message_is_directus_text(db: QueryDb) -> None:
    with pytest.raises(InvalidQueryError) as raised:
        db.condition({"s": {"_bogus": 1}})
    assert raised.value.message == 'Invalid query. "string" field type does not contain the "_bogus" filter operator.'
    assert raised.value.code == "INVALID_QUERY"


def test_unknown_field_message_is_directus_text(db: QueryDb) -> None:
    with pytest.raises(ForbiddenError) as raised:
        db.condition({"nope": 1})
    assert raised.value.message == (
        'You don\'t have permission to access field "nope" in collection "items" or it does not exist. Queried in root.'
    )


# ------------------------------------------------------------------ permissions


def _access(*permissions: Permission) -> Access:
    grouped: dict[tuple[str, Action], list[Permission]] = {}
    for permission in permissions:
        grouped.setdefault((permission.collection, permission.action), []).append(permission)
    return Access(Accountability(user="u1", role="r1"), admin=False, permissions=grouped)


USER = _access(
    Permission("items", Action.READ, frozenset({"id", "s", "n", "author", "comments", "children", "parent"})),
    Permission("authors", Action.READ, frozenset({"id", "name"}), rule={"active": {"_eq": True}}),
    Permission("comments", Action.READ, None, rule={"visible": {"_eq": True}}),
)

PERMISSION_CASES: list[tuple[dict[str, Any], list[int], list[int]]] = [
    # (filter, ids for the restricted user, ids for admin)
    ({"author": {"name": {"_eq": "Bob"}}}, [], [2, 7]),  # Bob is inactive: hidden by the authors rule
    ({"author": {"name": {"_eq": "Ada"}}}, [1, 4], [1, 4]),
    ({"comments": {"body": {"_eq": "secret"}}}, [], [1, 4]),  # invisible comments never match
    ({"comments": {"_none": {"body": "secret"}}}, ALL, [2, 3, 5, 6, 7]),
    ({"count(comments)": 1}, [1, 2], [2, 4]),
    ({"n": {"_gt": 2}}, [1, 4, 7], [1, 4, 7]),
]


@pytest.mark.parametrize("case", PERMISSION_CASES, ids=lambda c: str(c[0])[:50])
def test_related_read_rules_apply_inside_subqueries(
    db: QueryDb, case: tuple[dict[str, Any], list[int], list[int]]
) -> None:
    filter, user_ids, admin_ids = case
    assert db.ids(filter, access=USER) == user_ids
    assert db.ids(filter) == admin_ids


@pytest.mark.parametrize(
    ("filter", "text"),
    [
        ({"t": {"_eq": "x"}}, 'field "t" in collection "items"'),
        ({"author": {"active": {"_eq": False}}}, 'field "active" in collection "authors"'),
        ({"_or": [{"n": 1}, {"flag": True}]}, 'field "flag" in collection "items"'),
    ],
)
def test_unreadable_fields_are_forbidden(db: QueryDb, filter: dict[str, Any], text: str) -> None:
    with pytest.raises(ForbiddenError) as raised:
        db.condition(filter, access=USER)
    assert text in raised.value.message


def test_related_collection_without_permission_is_forbidden(db: QueryDb) -> None:
    access = _access(Permission("items", Action.READ))
    with pytest.raises(ForbiddenError) as raised:
        db.condition({"author": {"name": "Ada"}}, access=access)
    assert 'collection "authors"' in raised.value.message
    assert db.ids({"author": 1}, access=access) == [1, 4]  # the key itself is readable


def test_read_rule_filter() -> None:
    assert read_rule_filter("items", Access.full()) is None
    assert read_rule_filter("items", USER) is None
    assert read_rule_filter("authors", USER) == {"active": {"_eq": True}}
    two = _access(
        Permission("authors", Action.READ, rule={"id": 1}),
        Permission("authors", Action.READ, rule={"id": 2}),
    )
    assert read_rule_filter("authors", two) == {"_or": [{"id": 1}, {"id": 2}]}
    with pytest.raises(ForbiddenError):
        read_rule_filter("comments", two)


def test_rule_on_own_collection_via_read_rule_filter(db: QueryDb) -> None:
    access = _access(Permission("items", Action.READ, rule={"_or": [{"n": {"_lt": 0}}, {"author": {"name": "Ada"}}]}))
    assert db.ids({}, access=access) == [1, 2, 4]


# ------------------------------------------------------------------ SQL injection: names are resolved, values bound

HOSTILE_NAMES = [
    "s; DROP TABLE items; --",
    's" OR 1=1 --',
    "s) OR (1=1",
    "items.s",
    "*",
    "year(day); DROP TABLE items",
    "count(comments) OR 1=1",
    "",
]
HOSTILE_OPERATORS = ["_eq; DROP TABLE items", "_eq OR 1=1", "__eq", "_EQ", "eq", "_lt'"]
HOSTILE_VALUES = [
    "'; DROP TABLE items; --",
    "' OR '1'='1",
    "%' OR 1=1 --",
    '" OR ""="',
    "\\",
    "\\'",
    "1 UNION SELECT secret FROM items",
    "*",
    "?",
    "[a-z]*",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_field_names_are_forbidden(db: QueryDb, name: str) -> None:
    with pytest.raises((ForbiddenError, InvalidQueryError)):
        db.ids({name: {"_eq": "x"}})
    assert _row_count(db) == 7


@pytest.mark.parametrize("operator", HOSTILE_OPERATORS)
def test_hostile_operators_are_invalid(db: QueryDb, operator: str) -> None:
    with pytest.raises(InvalidQueryError):
        db.ids({"s": {operator: "x"}})
    assert _row_count(db) == 7


@pytest.mark.parametrize("value", HOSTILE_VALUES)
@pytest.mark.parametrize("operator", ["_eq", "_contains", "_icontains", "_starts_with", "_nends_with", "_in", "_neq"])
def test_hostile_values_match_literally(db: QueryDb, operator: str, value: str) -> None:
    ids = db.ids({"s": {operator: value}})
    expected = {
        "_eq": [],
        "_contains": [3] if value in ("*", "?") else [],
        "_icontains": [3] if value in ("*", "?") else [],
        "_starts_with": [],
        "_nends_with": [1, 2, 3, 4, 6, 7] if value != "?" else [1, 2, 4, 6, 7],
        "_in": [],
    }
    if operator in expected:
        assert ids == expected[operator]
    assert _row_count(db) == 7


def _row_count(db: QueryDb) -> int:
    async def go() -> int:
        async with db.engine.connect() as conn:
            return int(await conn.scalar(sa.select(sa.func.count()).select_from(items)) or 0)

    return db.run(go())
