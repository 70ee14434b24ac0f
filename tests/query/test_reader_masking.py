"""Field masking in queries on every engine (``TIDEPOOL_TEST_DB``): ``views`` and ``price`` of posts are readable
only where ``author`` is 1, so everywhere else they are NULL to filter, sort, search, aggregate, groupBy, meta
and relational filters, exactly as they read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.query.reader_fixtures import Reader, access, blog_server, can_read

# posts (id: author, views, status): 1: 1, 10, published · 2: 1, 5, draft · 3: 2, 30, published
# 4: None, None, archived · 5: 1, 1, draft  → visible views: 10, 5, None, None, 1
WHO = access(
    can_read("posts", None, {"author": {"_eq": 1}}),
    can_read("posts", ["id", "title", "status", "author", "comments"]),
    can_read("comments"),
    can_read("authors"),
)


@pytest.fixture(scope="module")
def rd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reader]:
    with blog_server(Path(tmp_path_factory.mktemp("masking"))) as server:
        yield Reader(server)


def ids(rows: list[dict[str, object]]) -> list[object]:
    return [r["id"] for r in rows]


def test_filters_see_hidden_values_as_null(rd: Reader) -> None:
    def where(filter: dict[str, object]) -> list[object]:
        return ids(rd.query("posts", WHO, fields=("id",), filter=filter))

    assert where({"views": {"_gt": 20}}) == []
    assert where({"views": {"_eq": 30}}) == []
    assert where({"views": {"_null": True}}) == [3, 4]
    assert where({"views": {"_nnull": True}}) == [1, 2, 5]
    assert where({"views": {"_neq": 10}}) == [2, 5]
    assert where({"price": {"_between": ["3", "4"]}}) == []
    assert where({"_or": [{"views": {"_gte": 30}}, {"status": {"_eq": "archived"}}]}) == [4]


def test_sort_meta_search_and_aggregates_see_hidden_values_as_null(rd: Reader) -> None:
    assert ids(rd.query("posts", WHO, fields=("id",), sort=("views", "id"))) == [3, 4, 5, 2, 1]
    assert ids(rd.query("posts", WHO, fields=("id",), sort=("-views", "id"))) == [1, 2, 5, 3, 4]
    assert rd.meta("posts", ["filter_count"], WHO, filter={"views": {"_gte": 30}}) == {"filter_count": 0}
    assert rd.query("posts", WHO, aggregate={"sum": ("views",), "max": ("views",)}) == [
        {"sum": {"views": 16}, "max": {"views": 10}}
    ]
    assert rd.query("posts", WHO, aggregate={"count": ("*",)}, filter={"views": {"_gte": 30}}) == [{"count": 0}]
    assert rd.query("posts", WHO, aggregate={"count": ("*",)}, group_by=("views",), filter={"id": {"_lt": 4}}) == [
        {"views": None, "count": 1},
        {"views": 5, "count": 1},
        {"views": 10, "count": 1},
    ]


def test_relational_filters_and_m2o_sort_see_hidden_values_as_null(rd: Reader) -> None:
    # authors whose posts include one with views 30 (post 3, hidden): none
    assert ids(rd.query("authors", WHO, fields=("id",), filter={"posts": {"views": {"_eq": 30}}})) == []
    # comments on a post with views over 20: none visible (post 3's views are hidden)
    assert ids(rd.query("comments", WHO, fields=("id",), filter={"post": {"views": {"_gt": 20}}})) == []
    # comments by post views descending: post 1 (10) then post 2 (5), then post 3 (hidden) last, ties by id
    ordered = rd.query("comments", WHO, fields=("id",), sort=("-post.views", "id"))
    assert ids(ordered) == [1, 2, 3, 4, 5, 6]
    assert ids(rd.query("comments", WHO, fields=("id",), sort=("post.views", "id"))) == [5, 6, 4, 1, 2, 3]


def test_an_o2m_list_hidden_on_some_rows_has_no_rows_there(rd: Reader) -> None:
    """``comments`` reads null on posts 3 and 4 (not authored by 1): ``_some`` fails there, ``_none`` holds,
    ``count()`` is null."""
    who = access(
        can_read("posts", None, {"author": {"_eq": 1}}), can_read("posts", ["id", "title"]), can_read("comments")
    )

    def where(filter: dict[str, object]) -> list[object]:
        return ids(rd.query("posts", who, fields=("id",), filter=filter))

    assert [r["comments"] for r in rd.query("posts", who, fields=("comments",), sort=("id",))][2:4] == [None, None]
    assert where({"comments": {"_some": {"votes": {"_gte": 0}}}}) == [1, 2]
    assert where({"comments": {"_none": {"votes": {"_gte": 0}}}}) == [3, 4, 5]
    assert where({"count(comments)": {"_gt": 0}}) == [1, 2]
    assert where({"count(comments)": {"_null": True}}) == [3, 4]


def test_deep_sort_with_a_per_parent_limit_sees_hidden_values_as_null(rd: Reader) -> None:
    """The ROW_NUMBER() window of an o2m branch orders by the masked value too: Ada's drafts (posts 2 and 5,
    views 5 and 1) have hidden views, so ascending they come first as NULLs, in key order."""
    published = access(
        can_read("posts", None, {"status": {"_eq": "published"}}),
        can_read("posts", ["id", "title", "status", "author"]),
        can_read("authors"),
    )
    deep = {"posts": {"_sort": ["views", "id"], "_limit": 2}}
    rows = rd.query("authors", published, fields=("id", "posts.id"), deep=deep, filter={"id": {"_eq": 1}})
    assert rows == [{"id": 1, "posts": [{"id": 2}, {"id": 5}]}]
