"""The reader on a real database: fields, value formats, sort, pagination, search, meta, permissions, errors,
and SQL-injection attempts in every place a name or text reaches the compiler."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.query.reader_fixtures import ADMIN, UID_ADA, Reader, access, blog_server, can_read, filters_available
from tidepool.errors import ForbiddenError, InvalidQueryError, TidepoolError

needs_filters = pytest.mark.skipif(not filters_available(), reason="query/filters.py not landed yet")


@pytest.fixture(scope="module")
def rd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reader]:
    with blog_server(Path(tmp_path_factory.mktemp("reader"))) as server:
        yield Reader(server)


def _forbidden(exc: pytest.ExceptionInfo[TidepoolError]) -> str:
    assert exc.value.code == "FORBIDDEN"
    return exc.value.message


# -- fields and values ---------------------------------------------------------------------------------------


def test_values_come_back_in_directus_formats_on_every_engine(rd: Reader) -> None:
    ada = rd.one("authors", 1)
    assert ada["joined"] == "2025-01-02T10:30:15.250Z"
    assert ada["local_time"] == "2025-01-02T11:00:00"
    assert ada["born"] == "1815-12-10"
    assert ada["wakes"] == "06:30:00"
    assert ada["active"] is True
    assert ada["tags"] == ["math", "engines"]
    assert ada["profile"] == {"lang": "en", "n": [1, 2]}
    assert ada["rating"] == "4.50"
    assert ada["big"] == "9007199254740993"
    assert ada["score"] == 42 and ada["ratio"] == 0.25
    assert ada["uid"] == UID_ADA
    assert ada["password"] == "**********"
    bob = rd.one("authors", 2)
    assert bob["active"] is False and bob["tags"] == [] and bob["password"] is None and bob["joined"] is None


def test_default_fields_are_all_columns_and_o2m_keys_in_schema_order(rd: Reader) -> None:
    post = rd.one("posts", 1)
    assert list(post) == ["id", "title", "status", "views", "price", "author", "editor", "comments"]
    assert post["author"] == 1 and post["comments"] == [1, 2, 3]


def test_explicit_fields_keep_request_order(rd: Reader) -> None:
    assert rd.query("posts", fields=("title", "id"), limit=2) == [
        {"title": "Hello world", "id": 1},
        {"title": "Second post", "id": 2},
    ]


def test_alias_renames_a_field(rd: Reader) -> None:
    rows = rd.query("posts", fields=("id", "headline"), alias={"headline": "title"}, limit=1)
    assert rows == [{"id": 1, "headline": "Hello world"}]


def test_system_collection_is_read_through_the_same_path(rd: Reader) -> None:
    users = rd.query("directus_users", fields=("email", "password", "token"))
    assert users == [{"email": "admin@example.com", "password": "**********", "token": "**********"}]


# -- sort, limit, offset, page -------------------------------------------------------------------------------


def test_default_order_is_primary_key(rd: Reader) -> None:
    assert [r["id"] for r in rd.query("posts", fields=("id",))] == [1, 2, 3, 4, 5]


def test_sort_multiple_keys_and_descending(rd: Reader) -> None:
    rows = rd.query("posts", fields=("id",), sort=("status", "-views"))
    assert [r["id"] for r in rows] == [4, 2, 5, 3, 1]


def test_nulls_sort_first_ascending_and_last_descending(rd: Reader) -> None:
    assert [r["id"] for r in rd.query("posts", fields=("id",), sort=("views",))] == [4, 5, 2, 1, 3]
    assert [r["id"] for r in rd.query("posts", fields=("id",), sort=("-views",))] == [3, 1, 2, 5, 4]


def test_sort_on_m2o_path_joins_the_related_table(rd: Reader) -> None:
    rows = rd.query("posts", fields=("id",), sort=("-author.name", "id"))
    assert [r["id"] for r in rows] == [3, 1, 2, 5, 4]


@pytest.mark.parametrize(("sort", "first"), [(None, [1, 2]), (("id",), [1, 2]), (("-id",), [5, 4])])
def test_a_page_in_key_order_walks_the_key_index_on_postgresql(
    rd: Reader, sort: tuple[str, ...] | None, first: list[int]
) -> None:
    """The primary key is never NULL, so ordering by it (the default order, ``sort=id``, ``sort=-id``) names
    no NULLS placement: PostgreSQL then reads a page off the key's B-tree instead of sorting every row of the
    table (``ASC NULLS FIRST`` is not a B-tree's order). With sorting disabled, the plan shows which it is."""
    engine = rd.server.runtime.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("the NULLS placement is PostgreSQL's")
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if "posts" in statement:
            seen.append((statement, params))

    sa.event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        assert [r["id"] for r in rd.query("posts", fields=("id",), sort=sort, limit=2)] == first
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", record)
    [(statement, params)] = seen

    async def plan() -> str:
        async with engine.connect() as conn:
            await conn.exec_driver_sql("SET LOCAL enable_sort = off")
            return "\n".join(row[0] for row in await conn.exec_driver_sql(f"EXPLAIN {statement}", params))

    explained = rd.run(plan())
    assert "using posts_pkey" in explained and "Sort" not in explained, explained


def test_limit_offset_page_and_all(rd: Reader) -> None:

    def ids(**q: Any) -> list[int]:
        return [r["id"] for r in rd.query("posts", fields=("id",), **q)]

    assert ids(limit=2) == [1, 2]
    assert ids(limit=2, offset=3) == [4, 5]
    assert ids(limit=2, page=2) == [3, 4]
    assert ids(limit=-1) == [1, 2, 3, 4, 5]
    assert ids(limit=-1, offset=4) == [5]
    assert ids(limit=0) == []


def test_default_limit_is_query_limit_default(rd: Reader) -> None:
    ctx = rd.ctx()
    small = ctx.settings.with_overrides(QUERY_LIMIT_DEFAULT=2)
    from dataclasses import replace

    from tidepool.query.model import Query
    from tidepool.services import reader

    rows = rd.run(reader.read_by_query(replace(ctx, settings=small), "posts", Query(fields=("id",))))
    assert [r["id"] for r in rows] == [1, 2]


# -- read_one / read_many ------------------------------------------------------------------------------------


def test_read_many_keeps_query_order_and_limits_to_the_keys(rd: Reader) -> None:
    assert [r["id"] for r in rd.many("posts", ["5", 2, "x"], fields=("id",))] == [2, 5]
    assert rd.many("posts", [], fields=("id",)) == []


def test_read_one_missing_is_plain_forbidden(rd: Reader) -> None:
    with pytest.raises(ForbiddenError) as exc:
        rd.one("posts", 999)
    assert exc.value.message == "You don't have permission to access this."


# -- search ----------------------------------------------------------------------------------------------------


def test_search_is_case_insensitive_substring_and_numeric_equality(rd: Reader) -> None:
    assert [r["id"] for r in rd.query("posts", fields=("id",), search="WORLD")] == [1]
    assert [r["id"] for r in rd.query("posts", fields=("id",), search="30")] == [3]
    assert [r["id"] for r in rd.query("posts", fields=("id",), search="again")] == [5]
    assert rd.query("posts", fields=("id",), search="  again ") == []  # the parser trims, not the reader


def test_search_matches_wildcards_literally_and_skips_concealed(rd: Reader) -> None:
    assert [r["id"] for r in rd.query("authors", fields=("id",), search="%")] == [3]
    assert [r["id"] for r in rd.query("authors", fields=("id",), search="_")] == [3]
    assert rd.query("authors", fields=("id",), search="argon2") == []
    assert [r["id"] for r in rd.query("authors", fields=("id",), search=UID_ADA)] == [1]


def test_search_skips_fields_the_caller_cannot_read(rd: Reader) -> None:
    who = access(can_read("authors", ["id", "name"]))
    assert rd.query("authors", who, fields=("id",), search="bob@") == []
    assert [r["id"] for r in rd.query("authors", who, fields=("id",), search="bob")] == [2]


# -- meta -------------------------------------------------------------------------------------------------------


def test_meta_counts(rd: Reader) -> None:
    assert rd.meta("posts", ["total_count", "filter_count"], search="post") == {"total_count": 5, "filter_count": 1}
    assert rd.meta("posts", ["*"]) == {"total_count": 5, "filter_count": 5}
    assert rd.meta("posts", ["filter_count"], search="nothing-matches") == {"filter_count": 0}


@needs_filters
def test_meta_filter_count_uses_filter_and_total_uses_permissions(rd: Reader) -> None:
    who = access(can_read("posts", None, {"status": {"_eq": "published"}}))
    counts = rd.meta("posts", ["*"], who, filter={"views": {"_gt": 15}})
    assert counts == {"total_count": 2, "filter_count": 1}


# -- permissions ------------------------------------------------------------------------------------------------


def test_unknown_or_unreadable_collection_is_the_same_forbidden(rd: Reader) -> None:
    message = 'You don\'t have permission to access collection "{}" or it does not exist. Queried in root.'
    with pytest.raises(ForbiddenError) as exc:
        rd.query("nope")
    assert exc.value.message == message.format("nope")
    with pytest.raises(ForbiddenError) as exc:
        rd.query("posts", access(can_read("authors")))
    assert exc.value.message == message.format("posts")


def test_unknown_field_is_forbidden_for_admins_too(rd: Reader) -> None:
    with pytest.raises(ForbiddenError) as exc:
        rd.query("posts", fields=("id", "nope"))
    assert exc.value.message == (
        'You don\'t have permission to access field "nope" in collection "posts" or it does not exist. Queried in root.'
    )


def test_field_permissions_limit_star_and_refuse_explicit_fields(rd: Reader) -> None:
    who = access(can_read("posts", ["id", "title"]))
    assert rd.query("posts", who, limit=1) == [{"id": 1, "title": "Hello world"}]
    for place in ({"fields": ("views",)}, {"sort": ("views",)}, {"aggregate": {"sum": ("views",)}}):
        with pytest.raises(ForbiddenError) as exc:
            rd.query("posts", who, **place)
        assert '"views" in collection "posts"' in exc.value.message


@needs_filters
def test_row_rules_hide_rows(rd: Reader) -> None:
    who = access(can_read("posts", None, {"status": {"_eq": "published"}}))
    assert [r["id"] for r in rd.query("posts", who, fields=("id",))] == [1, 3]
    with pytest.raises(ForbiddenError):
        rd.one("posts", 2, who)


@needs_filters
def test_field_granted_by_a_narrower_rule_is_null_elsewhere(rd: Reader) -> None:
    who = access(
        can_read("posts", ["id", "title"]),
        can_read("posts", ["views"], {"status": {"_eq": "published"}}),
    )
    rows = rd.query("posts", who, fields=("id", "views"))
    assert rows == [
        {"id": 1, "views": 10},
        {"id": 2, "views": None},
        {"id": 3, "views": 30},
        {"id": 4, "views": None},
        {"id": 5, "views": None},
    ]
    assert [r["id"] for r in rd.query("posts", who, fields=("id",), search="5")] == [5]  # post 2 has views=5, hidden


@needs_filters
def test_filter_is_applied(rd: Reader) -> None:
    rows = rd.query("posts", fields=("id",), filter={"status": {"_eq": "draft"}})
    assert [r["id"] for r in rows] == [2, 5]


# -- injection corpus -------------------------------------------------------------------------------------------

NASTY = [
    "id; DROP TABLE posts",
    'title" FROM posts; --',
    "1=1 OR",
    "(select 1)",
    "title`",
    "'",
    "posts.id",
    "*/ --",
    "id)",
]


@pytest.mark.parametrize("nasty", NASTY)
def test_injection_in_names_never_reaches_sql(rd: Reader, nasty: str) -> None:
    attempts: list[dict[str, Any]] = [
        {"fields": (nasty,)},
        {"sort": (nasty,)},
        {"sort": ("-" + nasty,)},
        {"group_by": (nasty,)},
        {"aggregate": {"sum": (nasty,)}},
        {"aggregate": {nasty: ("id",)}},
        {"alias": {"x": nasty}, "fields": ("x",)},
        {"deep": {nasty: {"_limit": 1}}},
    ]
    for query in attempts:
        with rd.statements() as seen, pytest.raises((ForbiddenError, InvalidQueryError)):
            rd.query("posts", **query)
        assert seen == [], (query, seen)
    with pytest.raises(ForbiddenError):
        rd.query(nasty)
    assert rd.meta("posts", ["total_count"]) == {"total_count": 5}


@pytest.mark.parametrize("nasty", NASTY + ["%' OR '1'='1", "\\"])
def test_injection_in_search_is_matched_literally(rd: Reader, nasty: str) -> None:
    assert rd.query("posts", fields=("id",), search=nasty) == []


def test_admin_constant_is_admin() -> None:
    assert ADMIN.admin


# -- function fields --------------------------------------------------------------------------------------------


def test_function_fields_are_keyed_like_directus(rd: Reader) -> None:
    rows = rd.query("authors", fields=("id", "year(joined)", "month(born)", "count(posts)"))
    assert rows == [
        {"id": 1, "joined_year": 2025, "born_month": 12, "posts_count": 3},
        {"id": 2, "joined_year": None, "born_month": None, "posts_count": 1},
        {"id": 3, "joined_year": None, "born_month": None, "posts_count": 0},
    ]


def test_count_function_counts_only_readable_related_rows(rd: Reader) -> None:
    who = access(can_read("authors"), can_read("posts", None, {"status": {"_eq": "draft"}}))
    rows = rd.query("authors", who, fields=("count(posts)",))
    assert rows == [{"posts_count": 2}, {"posts_count": 0}, {"posts_count": 0}]
    with pytest.raises(InvalidQueryError):
        rd.query("authors", fields=("year(name)",))


# -- internal columns need no permission ------------------------------------------------------------------------


def test_reading_without_the_primary_key_permission(rd: Reader) -> None:
    """The reader selects and orders by the primary key for itself; only what the caller asks needs a grant."""
    who = access(can_read("posts", ["title"]))
    assert rd.query("posts", who, fields=("title",), limit=2) == [{"title": "Hello world"}, {"title": "Second post"}]
    assert rd.query("posts", who, limit=1) == [{"title": "Hello world"}]
    assert rd.one("posts", 3, who, fields=("title",)) == {"title": "Bob writes"}
    with pytest.raises(ForbiddenError) as exc:
        rd.query("posts", who, fields=("id",))
    assert '"id" in collection "posts"' in exc.value.message
    with pytest.raises(ForbiddenError):
        rd.query("posts", who, fields=("title",), sort=("id",))


def test_o2m_branch_without_the_related_primary_key_permission(rd: Reader) -> None:
    who = access(can_read("posts"), can_read("comments", ["body"]))
    assert rd.one("posts", 1, who, fields=("comments.body",)) == {
        "comments": [{"body": "first!"}, {"body": "nice"}, {"body": "thanks"}]
    }


# -- default limit ------------------------------------------------------------------------------------------------


def test_default_limit_is_capped_by_query_limit_max(rd: Reader) -> None:
    from dataclasses import replace

    from tidepool.query.model import Query
    from tidepool.services import reader

    ctx = rd.ctx()
    capped = replace(ctx, settings=ctx.settings.with_overrides(QUERY_LIMIT_DEFAULT=100, QUERY_LIMIT_MAX=3))
    rows = rd.run(reader.read_by_query(capped, "posts", Query(fields=("id",))))
    assert [r["id"] for r in rows] == [1, 2, 3]
    nested = rd.run(reader.read_one(capped, "posts", 1, Query(fields=("id", "comments"))))
    assert nested["comments"] == [1, 2, 3]
    explicit = rd.run(reader.read_by_query(capped, "posts", Query(fields=("id",), limit=2)))
    assert [r["id"] for r in explicit] == [1, 2]
    higher_max = replace(ctx, settings=ctx.settings.with_overrides(QUERY_LIMIT_DEFAULT=2, QUERY_LIMIT_MAX=4))
    rows = rd.run(reader.read_by_query(higher_max, "posts", Query(fields=("id",))))
    assert [r["id"] for r in rows] == [1, 2]


# -- kept plans -------------------------------------------------------------------------------------------------


def test_repeated_reads_reuse_one_plan_and_stay_correct(rd: Reader) -> None:
    plans = rd.server.runtime.plans
    query: dict[str, Any] = {"fields": ("id", "title", "comments.body"), "filter": {"status": {"_eq": "published"}}}
    first = rd.query("posts", **query)
    before = plans.size()
    for _ in range(3):
        assert rd.query("posts", **query) == first
    assert plans.size() == before
    other = rd.query("posts", fields=query["fields"], filter={"status": {"_eq": "draft"}})
    assert [r["id"] for r in other] == [2, 5] and [r["id"] for r in first] == [1, 3]
    assert [r["id"] for r in rd.many("posts", [3, 1], fields=("id",))] == [1, 3]
    assert [r["id"] for r in rd.many("posts", [5, 4, 2], fields=("id",))] == [2, 4, 5]


def test_kept_plans_never_cross_callers(rd: Reader) -> None:
    narrow = access(can_read("posts", ["id", "title"]))
    wide = access(can_read("posts"))
    ruled = access(can_read("posts", None, {"status": {"_eq": "draft"}}))
    assert rd.query("posts", narrow, limit=1) == [{"id": 1, "title": "Hello world"}]
    assert list(rd.query("posts", wide, limit=1)[0]) == ["id", "title", "status", "views", "price", "author", "editor"]
    assert [r["id"] for r in rd.query("posts", ruled, fields=("id",))] == [2, 5]
    assert [r["id"] for r in rd.query("posts", wide, fields=("id",))] == [1, 2, 3, 4, 5]
    assert rd.query("posts", narrow, fields=("id",), limit=1) == [{"id": 1}]
    with pytest.raises(ForbiddenError):
        rd.query("posts", narrow, fields=("views",))


def test_a_schema_change_is_seen_by_the_next_read(rd: Reader) -> None:
    import sqlalchemy as sa

    runtime = rd.server.runtime

    async def ddl(statement: str) -> None:
        async with runtime.engine.begin() as conn:
            await conn.execute(sa.text(statement))
        await runtime.schemas.reload()

    rd.run(ddl("CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR(20))"))
    rd.run(ddl("INSERT INTO notes (id, body) VALUES (1, 'x')"))
    assert rd.query("notes") == [{"id": 1, "body": "x"}]
    rd.run(ddl("ALTER TABLE notes ADD COLUMN extra VARCHAR(20)"))
    assert rd.query("notes") == [{"id": 1, "body": "x", "extra": None}]
