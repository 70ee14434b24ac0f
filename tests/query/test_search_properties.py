"""Property: ``search`` in SQL (reads) and in Python (the realtime "visible before?" check) select the same
rows, for random rows, random search texts and random read permissions (field lists, rules).

Both forms come from one table (``tidepool.query.search.MATCHERS``); this checks they stay one. Run with
TIDEPOOL_TEST_DB=pg / mysql for the other engines.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.query.conftest import ITEM_TYPES, UUIDS, QueryDb, api_rows, items
from tests.query.test_filter_properties import ROW_VALUES, texts
from tests.support.examples import examples
from tidepool.context import Access, Accountability, Action, Permission
from tidepool.query.compile import Level, conjunction
from tidepool.query.evaluate import matches
from tidepool.query.parse import parse_query
from tidepool.query.search import search_condition, search_filter

NUMBER_TEXTS = [
    "1",
    "0.123456",
    "99999.99999",
    "100000",
    "01",
    "-3",
    "2",
    "0",
    "-0",
    "0.25",
    "2.5",
    "1.50",
    "-1.5",
    "2.125",
    "1e3",
    "30000000000",
]
searches = st.one_of(
    texts,
    st.sampled_from(NUMBER_TEXTS),
    st.sampled_from([*UUIDS, UUIDS[0].upper(), UUIDS[1][:8]]),
    st.builds(lambda pad, word: pad + word, st.sampled_from([" ", "  "]), st.sampled_from(["a", "1", "é", ""])),
).map(lambda raw: parse_query({"search": raw}).search)

ROWS = {**ROW_VALUES, "big": st.sampled_from([-3, 2, 30_000_000_000])}
rows = st.lists(
    st.fixed_dictionaries({name: st.one_of(st.none(), strategy) for name, strategy in ROWS.items()}),
    max_size=8,
)


def _reader(*permissions: tuple[frozenset[str] | None, dict[str, Any] | None]) -> Access:
    perms = tuple(Permission("items", Action.READ, fields=f, rule=r) for f, r in permissions)
    return Access(Accountability(user="u"), permissions={("items", Action.READ): perms})


ACCESSES = [
    Access.full(),
    _reader((None, {"n": {"_gte": 0}})),
    _reader((frozenset({"id", "s", "f"}), None)),
    _reader((None, {"n": {"_gt": 0}}), (frozenset({"id", "t", "n", "big"}), {"s": {"_nnull": True}})),
    _reader((frozenset({"id", "d", "u"}), {"flag": {"_eq": True}}), (frozenset({"id", "s"}), None)),
]


@pytest.fixture(scope="module")
def db(query_db: QueryDb) -> QueryDb:
    return query_db


def _sql_ids(db: QueryDb, access: Access, search: str | None) -> list[int]:
    level = Level.open(db.schema, access, db.dialect, "items")
    where = conjunction(level.row_condition(), search_condition(level, search))
    statement = sa.select(level.column(level.pk)).order_by(level.column(level.pk))
    if where is not None:
        statement = statement.where(where)

    async def go() -> list[int]:
        async with db.engine.connect() as conn:
            return [row[0] for row in await conn.execute(statement)]

    return db.run(go())


def _python_ids(db: QueryDb, access: Access, search: str | None) -> list[int]:
    info = db.schema.collections["items"]
    rules = [p.rule for p in access.rules("items", Action.READ)]
    found = search_filter(info, search, access) if search else {}
    out: list[int] = []
    for row in api_rows(db, items, ITEM_TYPES):
        permitted = access.admin or any(not rule or matches(rule, row, "items", db.schema) for rule in rules)
        if permitted and found is not None and matches(found, row, "items", db.schema):
            out.append(row["id"])
    return out


@settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    report_multiple_bugs=False,
)
@given(data=rows, search=searches, access=st.sampled_from(range(len(ACCESSES))))
def test_search_sql_equals_python(db: QueryDb, data: list[dict[str, Any]], search: str | None, access: int) -> None:
    db.replace_rows({items: [{"id": i + 1, **row} for i, row in enumerate(data)]})
    chosen = ACCESSES[access]
    assert _sql_ids(db, chosen, search) == _python_ids(db, chosen, search), (search, access)


def test_numbers_match_only_as_javascript_prints_them(db: QueryDb) -> None:
    """Fixed examples of Directus's parseNumericString on integer (the key too), float and decimal fields."""
    db.replace_rows({items: [{"id": 1, "n": 1, "f": 0.25, "d": 2}, {"id": 2, "n": 10, "f": 2.5, "d": None}]})
    cases = {"1": [1], "01": [], "1.0": [], "0.25": [1], ".25": [], "2": [1, 2], "2.0": [], "10": [2], "1e1": []}
    for text, expected in cases.items():
        assert _sql_ids(db, Access.full(), text) == expected, text
        assert _python_ids(db, Access.full(), text) == expected, text
