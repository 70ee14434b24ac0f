"""Relational reads: m2o objects, o2m lists, two levels, ``*.*``, backlink, deep, relational alias,
permissions on branches, and the statement count that proves there is no N+1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.query.reader_fixtures import COMMENTS, POSTS, Reader, access, blog_server, can_read
from tidepool.errors import ForbiddenError, InvalidQueryError
from tidepool.query.parse_filter import normalize_filter


@pytest.fixture(scope="module")
def rd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reader]:
    with blog_server(Path(tmp_path_factory.mktemp("relations"))) as server:
        yield Reader(server)


def test_m2o_sub_fields_give_objects_and_null_without_a_key(rd: Reader) -> None:
    rows = rd.query("posts", fields=("id", "author.name"))
    assert rows == [
        {"id": 1, "author": {"name": "Ada"}},
        {"id": 2, "author": {"name": "Ada"}},
        {"id": 3, "author": {"name": "Bob"}},
        {"id": 4, "author": None},
        {"id": 5, "author": {"name": "Ada"}},
    ]


def test_m2o_star_gives_the_whole_related_item(rd: Reader) -> None:
    author = rd.one("posts", 3, fields=("author.*",))["author"]
    assert author["name"] == "Bob" and author["posts"] == [3] and author["active"] is False


def test_o2m_without_sub_fields_lists_keys_and_with_sub_fields_lists_items(rd: Reader) -> None:
    rows = rd.query("posts", fields=("id", "comments"))
    assert [r["comments"] for r in rows] == [[1, 2, 3], [4], [5, 6], [], []]
    bodies = rd.query("posts", fields=("comments.body",), limit=3)
    assert bodies == [
        {"comments": [{"body": "first!"}, {"body": "nice"}, {"body": "thanks"}]},
        {"comments": [{"body": "draft?"}]},
        {"comments": [{"body": "go bob"}, {"body": "meh"}]},
    ]


def test_two_levels_both_directions(rd: Reader) -> None:
    post = rd.one("posts", 1, fields=("comments.author.name", "author.posts.title"))
    assert post["comments"] == [
        {"author": {"name": "Bob"}},
        {"author": {"name": "Cy_100%"}},
        {"author": {"name": "Ada"}},
    ]
    assert post["author"] == {"posts": [{"title": "Hello world"}, {"title": "Second post"}, {"title": "Ada again"}]}


def test_star_star_expands_one_level_and_backlink_false_drops_the_way_back(rd: Reader) -> None:
    post = rd.one("posts", 3, fields=("*.*",))
    assert post["author"]["posts"] == [3] and post["editor"]["name"] == "Ada"
    assert [c["post"] for c in post["comments"]] == [3, 3]
    trimmed = rd.one("posts", 3, fields=("*.*",), backlink=False)
    assert "posts" not in trimmed["author"] and "name" in trimmed["author"]
    assert all("post" not in c and "body" in c for c in trimmed["comments"])


def test_deep_limits_sorts_and_offsets_per_parent(rd: Reader) -> None:
    deep = {"comments": {"_limit": 1, "_sort": ["-votes"]}}
    rows = rd.query("posts", fields=("id", "comments.id"), deep=deep, limit=3)
    assert [r["comments"] for r in rows] == [[{"id": 3}], [{"id": 4}], [{"id": 5}]]
    deep = {"comments": {"_limit": 2, "_offset": 1}}
    rows = rd.query("posts", fields=("comments",), deep=deep, limit=3)
    assert [r["comments"] for r in rows] == [[2, 3], [], [6]]


def test_deep_filter_on_o2m_and_m2o(rd: Reader) -> None:
    rows = rd.query("posts", fields=("comments",), deep={"comments": {"_filter": {"votes": {"_gte": 2}}}}, limit=3)
    assert [r["comments"] for r in rows] == [[1, 3], [], [5]]
    rows = rd.query("posts", fields=("author.name",), deep={"author": {"_filter": {"name": {"_eq": "Bob"}}}}, limit=3)
    assert [r["author"] for r in rows] == [None, None, {"name": "Bob"}]


def test_nested_deep_reaches_the_second_level(rd: Reader) -> None:
    deep = {"posts": {"_sort": ["-id"], "_limit": 2, "comments": {"_limit": 1}}}
    ada = rd.one("authors", 1, fields=("posts.id", "posts.comments"), deep=deep)
    assert ada["posts"] == [{"id": 5, "comments": []}, {"id": 2, "comments": [4]}]


def test_relational_alias_with_its_own_deep(rd: Reader) -> None:
    rows = rd.query(
        "posts",
        fields=("id", "comments", "top.body"),
        alias={"top": "comments"},
        deep={"top": {"_limit": 1, "_sort": ["-votes"]}},
        limit=1,
    )
    assert rows == [{"id": 1, "comments": [1, 2, 3], "top": [{"body": "thanks"}]}]


def test_statements_per_read_do_not_depend_on_the_number_of_rows(rd: Reader) -> None:
    fields = ("*", "author.*", "editor.name", "comments.*", "comments.author.name")
    counts = []
    for limit in (1, -1):
        with rd.statements() as seen:
            rows = rd.query("posts", fields=fields, limit=limit)
        counts.append(len(seen))
        assert rows
    assert counts == [6, 6]  # root, author, author.posts (in author.*), editor, comments, comments.author


def test_windowed_o2m_is_still_one_statement(rd: Reader) -> None:
    with rd.statements() as seen:
        rd.query("authors", fields=("posts.comments",), deep={"posts": {"_limit": 1}})
    assert len(seen) == 3


# -- permissions on branches ------------------------------------------------------------------------------------


def test_related_fields_follow_the_related_permissions(rd: Reader) -> None:
    who = access(can_read("posts"), can_read("authors", ["id", "name"]))
    assert rd.one("posts", 1, who, fields=("author.*",))["author"] == {"id": 1, "name": "Ada"}
    with pytest.raises(ForbiddenError) as exc:
        rd.one("posts", 1, who, fields=("author.email",))
    assert exc.value.message == (
        'You don\'t have permission to access field "email" in collection "authors" or it does not exist. '
        'Queried in "author".'
    )


def test_unreadable_related_collection_is_left_out_at_any_depth(rd: Reader) -> None:
    """Directus 11+: left out of the answer (no 403); filtering through it stays FORBIDDEN."""
    who = access(can_read("posts"))
    assert rd.query("posts", who, fields=("id", "comments.author.name"), limit=1) == [{"id": 1}]
    both = access(can_read("posts"), can_read("comments"))
    rows = rd.query("posts", both, fields=("id", "comments.id", "comments.author.name"), limit=1)
    assert rows == [{"id": 1, "comments": [{"id": 1}, {"id": 2}, {"id": 3}]}]
    with pytest.raises(ForbiddenError) as exc:
        rd.query("posts", who, filter={"comments": {"body": {"_eq": "x"}}})
    assert exc.value.message.startswith('You don\'t have permission to access collection "comments"')
    assert rd.query("posts", who, fields=("author",), limit=1) == [{"author": 1}]


def test_related_row_rules_apply_inside_branches(rd: Reader) -> None:
    who = access(
        can_read("posts"),
        can_read("comments", None, {"votes": {"_gte": 2}}),
        can_read("authors", None, {"id": {"_eq": 2}}),
    )
    rows = rd.query("posts", who, fields=("id", "comments", "author.name"), limit=3)
    assert rows == [
        {"id": 1, "comments": [1, 3], "author": None},
        {"id": 2, "comments": [], "author": None},
        {"id": 3, "comments": [5], "author": {"name": "Bob"}},
    ]


def test_o2m_field_granted_on_some_rows_only_is_null_elsewhere(rd: Reader) -> None:
    who = access(
        can_read("posts", ["id"]),
        can_read("posts", ["comments"], {"status": {"_eq": "published"}}),
        can_read("comments"),
    )
    rows = rd.query("posts", who, fields=("id", "comments"), limit=3)
    assert rows == [{"id": 1, "comments": [1, 2, 3]}, {"id": 2, "comments": None}, {"id": 3, "comments": [5, 6]}]


def test_star_leaves_out_relations_to_unreadable_collections(rd: Reader) -> None:
    """Directus (convert-wildcards + parse-fields): ``*`` lists readable fields, and an o2m whose related
    collection the caller cannot read is dropped, not a 403; with ``*.*`` so is an m2o into such a collection."""
    who = access(can_read("posts"))
    post = rd.one("posts", 1, who)
    assert list(post) == ["id", "title", "status", "views", "price", "author", "editor"]
    assert post["author"] == 1
    deep = rd.one("posts", 1, who, fields=("*.*",))
    assert list(deep) == ["id", "title", "status", "views", "price"]
    partly = access(can_read("posts"), can_read("comments", ["body"]))
    assert rd.one("posts", 1, partly, fields=("*.*",))["comments"] == [
        {"body": "first!"},
        {"body": "nice"},
        {"body": "thanks"},
    ]
    assert list(rd.one("posts", 1, partly, fields=("*.*",))) == ["id", "title", "status", "views", "price", "comments"]
    # asked for by name it is left out too (Directus 11+: no 403 for the whole read)
    assert rd.one("posts", 1, who, fields=("id", "comments", "author.name")) == {"id": 1}


def test_roles_star_over_http_without_access_to_directus_access(rd: Reader) -> None:
    """``GET /roles?fields=*`` for a user who may read ``directus_roles`` only: the o2m lists into collections
    they can't read (``policies`` → ``directus_access``, ``users``) are left out, no 403; ``children`` (roles
    again) stays."""
    from tests.http.accounts_support import make_policy, make_user, ok

    with rd.server.client() as admin:
        policy = make_policy(admin, {"collection": "directus_roles", "action": "read", "fields": ["*"]})
        _, token = make_user(admin, policies=(policy,))
        role = ok(admin.post("/roles", json={"name": "Readers"}))["id"]
    with rd.server.client(token=token) as client:
        roles = ok(client.get("/roles", params={"fields": "*", "filter[id][_eq]": role}))
        assert roles == [
            {
                "id": role,
                "name": "Readers",
                "icon": "supervised_user_circle",
                "description": None,
                "parent": None,
                "children": [],
            }
        ]


# -- o2m quantifiers with a logical group inside (issue 7, "o2m _some with _or inside") -------------------------

OR_INSIDE = {"_or": [{"body": {"_eq": "meh"}}, {"votes": {"_eq": 5}}]}
AND_INSIDE = {"_and": [{"votes": {"_gte": 1}}, {"author": {"_eq": 3}}]}


def _posts_with_a_comment(test: object) -> list[int]:
    """Computed from the fixture rows in Python, independently of the compiler."""
    assert callable(test)
    return sorted({c["post"] for c in COMMENTS if test(c)})


@pytest.mark.parametrize(
    ("inner", "test"),
    [
        (OR_INSIDE, lambda c: c["body"] == "meh" or c["votes"] == 5),
        (AND_INSIDE, lambda c: (c["votes"] or 0) >= 1 and c["author"] == 3),
    ],
)
def test_some_and_none_with_a_logical_group_inside(rd: Reader, inner: dict[str, object], test: object) -> None:
    """``_some``/``_none`` over an ``_or``/``_and`` group mean "some / no related row matches the group".

    Directus 12.4.1 drops such a quantifier altogether (every parent row matches, also those without any
    related row); Tidepool evaluates it (docs/query-language.md), consistently with the same group written
    without a quantifier, which Directus does evaluate."""
    some = _posts_with_a_comment(test)
    none = [p["id"] for p in POSTS if p["id"] not in some]
    assert some and len(some) < len(POSTS)
    for filter, expected in (
        ({"comments": {"_some": inner}}, some),
        ({"comments": inner}, some),
        ({"comments": {"_none": inner}}, none),
    ):
        parsed = normalize_filter(filter)  # as the REST and WebSocket parsers hand it over
        assert [r["id"] for r in rd.query("posts", fields=("id",), filter=parsed)] == expected, filter


def test_conditions_on_one_o2m_in_an_and_group_hold_on_the_same_related_row(rd: Reader) -> None:
    """As Directus 12.4.1 answers (recorded on the same rows): without a quantifier, the conditions on one o2m
    field in one ``_and`` group are one "some related row matches all of them"; with explicit ``_some`` each
    is its own, and in an ``_or`` group either may hold."""
    votes, by_cy = {"votes": {"_gte": 1}}, {"author": {"_eq": 3}}
    cases = [
        ({"comments": {"votes": {"_gte": 1}, "author": {"_eq": 3}}}, [1]),
        ({"_and": [{"comments": votes}, {"comments": by_cy}]}, [1]),
        ({"_and": [{"comments": {"_some": votes}}, {"comments": {"_some": by_cy}}]}, [1, 3]),
        ({"_or": [{"comments": {"votes": {"_gte": 4}}}, {"comments": by_cy}]}, [1, 3]),
        ({"comments": votes, "title": {"_nnull": True}}, [1, 3]),
    ]
    for filter, expected in cases:
        rows = rd.query("posts", fields=("id",), filter=normalize_filter(filter))
        assert [r["id"] for r in rows] == expected, filter
    with pytest.raises(InvalidQueryError, match='"alias" field type does not contain the "_eq" filter operator'):
        rd.query("posts", fields=("id",), filter={"_and": [{"comments": {"_eq": 1}}, {"id": {"_gt": 0}}]})
