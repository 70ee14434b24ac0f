"""Property: the ``_json`` operator selects the same rows in SQL as ``matches`` does in Python, for random JSON
documents (objects, arrays, numbers, booleans, nulls) and random path conditions, on every engine.
Run with TIDEPOOL_TEST_DB=pg / mysql for the other engines.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.query.conftest import ITEM_TYPES, QueryDb, api_rows, items
from tests.support.examples import examples
from tidepool.query.evaluate import matches

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.5, 2.5, -1.5]),
    st.sampled_from(["x", "X", "xy", "1", "true", "b"]),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "n"]), inner, max_size=3),
    ),
    max_leaves=6,
)
PATHS = ["a", "a.b", "n", "[0]", "[1].a", "a[0]", "b.n"]
TEXT_OPERATORS = [
    "_eq",
    "_neq",
    "_contains",
    "_ncontains",
    "_icontains",
    "_starts_with",
    "_in",
    "_nin",
    "_null",
    "_nnull",
]
NUMBER_OPERATORS = ["_eq", "_neq", "_gt", "_lte", "_in", "_between"]
texts = st.sampled_from(["x", "X", "1", "true", "false", "b", "2.5"])
numbers = st.one_of(st.integers(-3, 3), st.sampled_from([0.5, 2.5]))


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    path = draw(st.sampled_from(PATHS))
    if draw(st.booleans()):
        operator = draw(st.sampled_from(NUMBER_OPERATORS))
        value: Any = draw(st.lists(numbers, min_size=1, max_size=2)) if operator == "_in" else draw(numbers)
        if operator == "_between":
            value = sorted(draw(st.lists(numbers, min_size=2, max_size=2)))
    else:
        operator = draw(st.sampled_from(TEXT_OPERATORS))
        if operator in ("_null", "_nnull"):
            value = draw(st.booleans())
        elif operator in ("_in", "_nin"):
            value = draw(st.lists(texts, min_size=1, max_size=2))
        else:
            value = draw(texts)
    return {path: {operator: value}}


json_nodes = st.recursive(
    conditions(),
    lambda inner: st.one_of(
        st.builds(lambda xs: {"_or": xs}, st.lists(inner, min_size=1, max_size=2)),
        st.builds(lambda xs: {"_and": xs}, st.lists(inner, min_size=1, max_size=2)),
        st.builds(lambda a, b: {**a, **b}, inner, inner),
    ),
    max_leaves=3,
)


@pytest.fixture(scope="module")
def db(query_db: QueryDb) -> QueryDb:
    return query_db


@settings(
    max_examples=examples(50),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    report_multiple_bugs=False,
)
@given(data=st.lists(documents, max_size=6), node=json_nodes)
def test_json_operator_sql_equals_python(db: QueryDb, data: list[Any], node: dict[str, Any]) -> None:
    db.replace_rows({items: [{"id": i + 1, "data": document} for i, document in enumerate(data)]})
    filter_ = {"data": {"_json": node}}
    from_sql = db.ids(filter_)
    stored = api_rows(db, items, ITEM_TYPES)
    from_python = [row["id"] for row in stored if matches(filter_, row, "items", db.schema)]
    assert from_sql == from_python, (node, data)
