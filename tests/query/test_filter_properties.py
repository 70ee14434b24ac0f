"""Property: for random rows and random filters, the database returns exactly the rows ``matches`` accepts.

Hypothesis draws rows (NULLs, unicode, case, wildcard characters, CSV lists, dates around a year boundary)
and filters (every SQL operator allowed for each type, functions in keys, nested ``_and``/``_or``, NULL
values). Each example replaces the table's rows, runs the compiled filter, reads the rows back serialized
like the API and evaluates the filter in Python. Run with TIDEPOOL_TEST_DB=pg / mysql for the other engines.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.query.conftest import ITEM_TYPES, UUIDS, QueryDb, api_rows, items
from tests.support.examples import examples
from tidepool.query.evaluate import holds_for_missing_row, matches
from tidepool.query.operators import OPERATORS, Kind

ALPHABET = "aAbzZ %_!*?[]\\'éÉ😀,"
FIELDS = ("s", "t", "n", "f", "d", "flag", "day", "dt", "ts", "at", "u", "tags")
FUNCTIONS = ("year(day)", "month(dt)", "week(day)", "weekday(ts)", "day(dt)", "hour(ts)", "minute(at)")

DAYS = [date(2023, 12, 30) + timedelta(days=i) for i in range(5)]
MOMENTS = [datetime(2023, 12, 31, 22, 30) + timedelta(minutes=45 * i) for i in range(5)]
TIMES = [time(0, 0), time(9, 15, 30), time(12, 0), time(23, 59, 59)]

texts = st.text(ALPHABET, max_size=4)
csv_texts = st.lists(st.sampled_from(["a", "b", "a b", "é", "%"]), max_size=3).map(",".join)

# Python values stored in rows, per field.
ROW_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "s": texts,
    "t": texts,
    "n": st.integers(-3, 3),
    "f": st.sampled_from([-1.5, 0.0, 0.25, 2.5, 1.0]),
    "d": st.sampled_from([Decimal("-1.5"), Decimal("0"), Decimal("0.25"), Decimal("2.125")]),
    "flag": st.booleans(),
    "day": st.sampled_from(DAYS),
    "dt": st.sampled_from(MOMENTS),
    "ts": st.sampled_from(MOMENTS).map(lambda m: m.replace(tzinfo=UTC)),
    "at": st.sampled_from(TIMES),
    "u": st.sampled_from(UUIDS),
    "tags": csv_texts,
}

# JSON filter values, per Directus type (as a client would send them).
FILTER_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "string": texts,
    "text": texts,
    "csv": st.sampled_from(["a", "b", "a b", "é", "%", "a,b"]),
    "integer": st.one_of(st.integers(-3, 3), st.integers(-3, 3).map(str)),
    "float": st.sampled_from([-1.5, 0, 0.25, 2.5, 1, "0.25"]),
    "decimal": st.sampled_from(["-1.5", "0", "0.25", "2.125", 1]),
    "boolean": st.sampled_from([True, False, "true", "false"]),
    "date": st.sampled_from(DAYS).map(date.isoformat),
    "dateTime": st.sampled_from(MOMENTS).map(lambda m: m.isoformat()),
    "timestamp": st.builds(
        lambda m, tz: m.replace(tzinfo=UTC).astimezone(tz).isoformat(),
        st.sampled_from(MOMENTS),
        st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))]),
    ),
    "time": st.sampled_from(TIMES).map(time.isoformat),
    "uuid": st.sampled_from(UUIDS),
}


# Pieces of the API's text of timestamps and uuids, for the pattern operators on them.
TEXT_PARTS: dict[str, st.SearchStrategy[Any]] = {
    "timestamp": st.sampled_from(["2023-12-31", "2024", "T22:30", "T00:", ":00.000Z", "01-01T"]),
    "uuid": st.sampled_from(["0b7e", "0B7E", "0001", "-0000-", UUIDS[1], "ffff"]),
}


def _operators_for(field_type: str) -> list[str]:
    return sorted(name for name, spec in OPERATORS.items() if spec.sql is not None and field_type in spec.types)


def _value(kind: Kind, field_type: str) -> st.SearchStrategy[Any]:
    one = FILTER_VALUES[field_type]
    if kind is Kind.FLAG:
        return st.booleans()
    if kind is Kind.TEXT:
        return TEXT_PARTS.get(field_type, texts)
    if kind is Kind.LIST:
        return st.lists(one, max_size=3)
    if kind is Kind.PAIR:
        return st.lists(one, min_size=2, max_size=2)
    return one


@st.composite
def leaves(draw: st.DrawFn) -> dict[str, Any]:
    use_function = draw(st.integers(0, 5)) == 0
    key = draw(st.sampled_from(FUNCTIONS)) if use_function else draw(st.sampled_from(FIELDS))
    field_type = "integer" if use_function else ITEM_TYPES[key]
    operator = draw(st.sampled_from(_operators_for(field_type)))
    value = draw(_value(OPERATORS[operator].kind, field_type))
    if operator in ("_eq", "_neq") and draw(st.integers(0, 6)) == 0:
        value = None  # `_eq: null` is `_null`
    return {key: {operator: value}}


filters = st.recursive(
    leaves(),
    lambda children: st.one_of(
        st.builds(lambda xs: {"_and": xs}, st.lists(children, max_size=3)),
        st.builds(lambda xs: {"_or": xs}, st.lists(children, max_size=3)),
        st.builds(lambda a, b: {**a, **b}, children, children),
    ),
    max_leaves=5,
)

rows = st.lists(
    st.fixed_dictionaries({name: st.one_of(st.none(), strategy) for name, strategy in ROW_VALUES.items()}),
    max_size=8,
)


@pytest.fixture(scope="module")
def db(query_db: QueryDb) -> QueryDb:
    return query_db


@settings(
    max_examples=examples(80),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    report_multiple_bugs=False,
)
@given(data=rows, filter=filters)
def test_sql_equals_python(db: QueryDb, data: list[dict[str, Any]], filter: dict[str, Any]) -> None:
    db.replace_rows({items: [{"id": i + 1, **row} for i, row in enumerate(data)]})
    from_sql = db.ids(filter)
    stored = api_rows(db, items, ITEM_TYPES)
    from_python = [row["id"] for row in stored if matches(filter, row, "items", db.schema)]
    assert from_sql == from_python, filter


@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    report_multiple_bugs=False,
)
@given(data=rows, parents=st.lists(st.integers(0, 8), min_size=8, max_size=8), filter=filters)
def test_sql_equals_python_through_an_m2o_with_missing_rows(
    db: QueryDb, data: list[dict[str, Any]], parents: list[int], filter: dict[str, Any]
) -> None:
    """``{"parent": F}`` (the self-relation ``items.parent``) matches a row whose parent matches ``F``, and a row
    without a parent exactly when ``F`` holds for a row of NULLs (Directus's LEFT JOIN), which the compiler
    decides with ``holds_for_missing_row``: the SQL and that Python answer must agree."""
    count = len(data)
    db.replace_rows(
        {
            items: [
                {"id": i + 1, **row, "parent": parents[i] if 0 < parents[i] <= count else None}
                for i, row in enumerate(data)
            ]
        }
    )
    from_sql = db.ids({"parent": filter})
    stored = {row["id"]: row for row in api_rows(db, items, ITEM_TYPES)}
    missing = holds_for_missing_row(filter, "items", db.schema)
    expected = [
        i
        for i, row in stored.items()
        if (missing if row["parent"] is None else matches(filter, stored[row["parent"]], "items", db.schema))
    ]
    assert from_sql == expected, filter
