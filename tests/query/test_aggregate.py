"""``aggregate`` and ``groupBy`` through the reader: Directus's output shapes, numbers on every engine,
date functions, sorting and limits, and field permissions inside aggregates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.query.reader_fixtures import Reader, access, blog_server, can_read
from tidepool.errors import ForbiddenError, InvalidQueryError


@pytest.fixture(scope="module")
def rd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reader]:
    with blog_server(Path(tmp_path_factory.mktemp("aggregate"))) as server:
        yield Reader(server)


def test_count_star_is_flat_and_a_number(rd: Reader) -> None:
    rows = rd.query("posts", aggregate={"count": ("*",)})
    assert rows == [{"count": 5}]
    assert type(rows[0]["count"]) is int


def test_field_aggregates_nest_under_the_function(rd: Reader) -> None:
    rows = rd.query(
        "posts",
        aggregate={
            "count": ("id", "views"),
            "countDistinct": ("status",),
            "sum": ("views", "price"),
            "avg": ("views",),
            "min": ("views", "price"),
            "max": ("views",),
        },
    )
    assert rows == [
        {
            "count": {"id": 5, "views": 4},
            "countDistinct": {"status": 3},
            "sum": {"views": 46, "price": "7.50"},
            "avg": {"views": 11.5},
            "min": {"views": 1, "price": "0.75"},
            "max": {"views": 30},
        }
    ]


def test_distinct_variants(rd: Reader) -> None:
    rows = rd.query("comments", aggregate={"sumDistinct": ("post",), "avgDistinct": ("post",)})
    assert rows == [{"sumDistinct": {"post": 6}, "avgDistinct": {"post": 2.0}}]


def test_group_by_puts_group_values_beside_the_aggregates(rd: Reader) -> None:
    rows = rd.query("posts", aggregate={"count": ("id",)}, group_by=("status",))
    assert rows == [
        {"status": "archived", "count": {"id": 1}},
        {"status": "draft", "count": {"id": 2}},
        {"status": "published", "count": {"id": 2}},
    ]


def test_group_by_sorted_by_aggregate_and_limited(rd: Reader) -> None:
    rows = rd.query("posts", aggregate={"count": ("*",)}, group_by=("author",), sort=("-count", "author"))
    assert rows == [{"author": 1, "count": 3}, {"author": None, "count": 1}, {"author": 2, "count": 1}]
    assert len(rd.query("posts", aggregate={"count": ("*",)}, group_by=("author",), limit=1)) == 1


def test_group_by_date_function(rd: Reader) -> None:
    rows = rd.query("authors", aggregate={"count": ("*",)}, group_by=("year(joined)",))
    assert rows == [{"joined_year": None, "count": 2}, {"joined_year": 2025, "count": 1}]


def test_aggregate_respects_filter_and_search(rd: Reader) -> None:
    assert rd.query("posts", aggregate={"sum": ("views",)}, filter={"status": {"_eq": "published"}}) == [
        {"sum": {"views": 40}}
    ]
    assert rd.query("posts", aggregate={"count": ("*",)}, search="ada") == [{"count": 1}]


def test_empty_sets_give_zero_counts_and_null_sums(rd: Reader) -> None:
    rows = rd.query("posts", aggregate={"count": ("*",), "sum": ("views",)}, search="no-such-thing")
    assert rows == [{"count": 0, "sum": {"views": None}}]


def test_hidden_values_are_not_aggregated(rd: Reader) -> None:
    who = access(can_read("posts", ["id", "status"]), can_read("posts", ["views"], {"status": {"_eq": "published"}}))
    rows = rd.query("posts", who, aggregate={"sum": ("views",), "count": ("views",), "countAll": ()})
    assert rows == [{"sum": {"views": 40}, "count": {"views": 2}, "countAll": 5}]


def test_rows_outside_the_rules_are_not_aggregated(rd: Reader) -> None:
    who = access(can_read("posts", None, {"status": {"_eq": "draft"}}))
    assert rd.query("posts", who, aggregate={"count": ("*",)}) == [{"count": 2}]


def test_bad_aggregates_are_refused(rd: Reader) -> None:
    with pytest.raises(ForbiddenError):
        rd.query("posts", aggregate={"sum": ("nope",)})
    with pytest.raises(InvalidQueryError):
        rd.query("posts", aggregate={"median": ("views",)})
    with pytest.raises(InvalidQueryError):
        rd.query("posts", aggregate={"count": ("*",)}, group_by=("year(title)",))
    with pytest.raises(InvalidQueryError):
        rd.query("posts", aggregate={"count": ("*",)}, group_by=("status",), sort=("views",))
