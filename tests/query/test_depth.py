"""How ``MAX_RELATIONAL_DEPTH`` counts, case by case as Directus's ``validateQuery`` (the REST and WebSocket
behaviour is in tests/http/test_relational_depth.py)."""

from __future__ import annotations

import pytest

from tidepool.errors import InvalidQueryError
from tidepool.query.depth import check_relational_depth, path_depth
from tidepool.query.model import Query


@pytest.mark.parametrize(
    ("path", "depth"),
    [
        ("id", 1),
        ("author.posts.title", 3),
        ("*.*.*", 3),
        ("year(date_created)", 1),
        ("count(comments)", 1),
        ("json(metadata, a.b.c.d.e)", 1),
        ("json(category.metadata, a.b)", 2),
        ("a.b.json(c.metadata, key)", 4),
    ],
)
def test_path_depth(path: str, depth: int) -> None:
    assert path_depth(path) == depth


def refused(**query: object) -> bool:
    try:
        check_relational_depth(Query(**query), 3)  # type: ignore[arg-type]
    except InvalidQueryError as exc:
        assert exc.message == "Invalid query. Max relational depth exceeded."
        return True
    return False


def test_filter_counts_field_keys_not_operators() -> None:
    assert not refused(filter={"_and": [{"_or": [{"a": {"b": {"c": {"_eq": 1}}}}]}]})
    assert refused(filter={"_and": [{"a": {"b": {"c": {"d": {"_null": True}}}}}]})
    assert not refused(filter={"a": {"_some": {"b": {"c": {"_in": [1, 2, 3]}}}}})
    assert not refused(filter={"id": {"_in": list(range(1000))}})


def test_deep_counts_keys_and_sort_paths() -> None:
    assert not refused(deep={"a": {"b": {"_filter": {"c": {"_eq": 1}}}}})
    assert refused(deep={"a": {"b": {"_filter": {"c": {"d": {"_eq": 1}}}}}})
    assert not refused(deep={"a": {"_sort": ["-b.c"]}})
    assert refused(deep={"a": {"_sort": "b.c.d"}})


def test_fields_sort_group_by_and_aggregate() -> None:
    assert refused(fields=("a.b.c.d",)) and refused(sort=("-a.b.c.d",))
    assert not refused(fields=("a.b.c.d",), aggregate={"count": ("*",)})  # no fields under aggregate
    assert refused(fields=("id",), group_by=("a.b.c.d",))
    assert not refused(fields=("x",), alias={"x": "json(a.b, p.q.r.s)"})
    assert not refused()  # fields default to "*"


def test_limit_is_at_least_two() -> None:
    check_relational_depth(Query(fields=("a.b",)), 0)
    with pytest.raises(InvalidQueryError):
        check_relational_depth(Query(fields=("a.b.c",)), 1)
