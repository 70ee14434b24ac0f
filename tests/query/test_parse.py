"""parse_query / parse_query_params: every form a Directus query arrives in gives the same ``Query``.

Pure functions, so no server: the JSON object form, the SDK's string form and the URL query string
(plain and bracket notation) are checked against each other, and every error against Directus's text.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.services import items_server
from tests.support.examples import examples
from tidepool.errors import InvalidQueryError
from tidepool.query.model import Query
from tidepool.query.parse import parse_query, parse_query_params
from tidepool.query.parse_qs import parse_qs_items


def url(text: str, **kwargs: Any) -> Query:
    """Parse a query string the way Starlette hands it over (decoded pairs, blanks kept)."""
    return parse_query_params(parse_qsl(text, keep_blank_values=True), **kwargs)


def qs(text: str) -> dict[str, Any]:
    return parse_qs_items(parse_qsl(text, keep_blank_values=True))


def error_of(raw: Any, **kwargs: Any) -> str:
    with pytest.raises(InvalidQueryError) as caught:
        parse_query(raw, **kwargs)
    assert caught.value.code == "INVALID_QUERY" and caught.value.status == 400
    return caught.value.message


# ------------------------------------------------------------------------------------------ basics


def test_nothing_given_is_the_empty_query() -> None:
    assert parse_query(None) == Query()
    assert parse_query({}) == Query()
    assert url("") == Query()


def test_sdk_string_form() -> None:
    query = parse_query({"fields": "id,text", "filter": '{"status":{"_eq":"x"}}', "limit": "10"})
    assert query == Query(fields=("id", "text"), filter={"status": {"_eq": "x"}}, limit=10)


def test_unknown_keys_are_ignored() -> None:
    assert parse_query({"bogus": 1, "limit": 2}) == Query(limit=2)
    assert url("access_token=abc&limit=2") == Query(limit=2)


def test_query_must_be_an_object() -> None:
    assert error_of(["fields"]) == 'Invalid query. "query" must be of type object.'


# ------------------------------------------------------------------------------------------- fields


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("id, title ,author.name", ("id", "title", "author.name")),
        (["id", "author.*"], ("id", "author.*")),
        (["id,title", "*.*"], ("id", "title", "*.*")),  # fields[]=id,title
        ("count(comments),year(date_created)", ("count(comments)", "year(date_created)")),
        ("json(data, a.b),id", ("json(data, a.b)", "id")),  # commas inside parentheses do not split
        ("a,,b,", ("a", "b")),
        ("*", ("*",)),
    ],
)
def test_fields_forms(raw: Any, expected: tuple[str, ...]) -> None:
    assert parse_query({"fields": raw}).fields == expected


def test_empty_fields_are_not_given() -> None:
    assert parse_query({"fields": ""}).fields is None
    assert parse_query({"fields": []}).fields is None


def test_fields_errors() -> None:
    assert error_of({"fields": {"a": 1}}) == 'Invalid query. "fields" must be a string or array.'
    assert error_of({"fields": ["a", 5]}) == 'Invalid query. "fields[1]" must be a string.'
    assert error_of({"groupBy": 5}) == 'Invalid query. "fields" must be a string or array.'
    assert error_of({"groupBy": ["a", None]}) == 'Invalid query. "group[1]" must be a string.'


def test_group_by_forms() -> None:
    assert parse_query({"groupBy": "status, year(date)"}).group_by == ("status", "year(date)")
    assert url("groupBy[]=a&groupBy[]=b").group_by == ("a", "b")


# --------------------------------------------------------------------------------------------- sort


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("-date, title", ("-date", "title")), (["-a", "b"], ("-a", "b")), (["-a,b"], ("-a", "b")), ("", None)],
)
def test_sort_forms(raw: Any, expected: tuple[str, ...] | None) -> None:
    assert parse_query({"sort": raw}).sort == expected


def test_sort_of_another_type_is_ignored_like_directus() -> None:
    assert parse_query({"sort": 5}).sort is None
    assert error_of({"sort": ["a", 1]}) == 'Invalid query. "sort[1]" must be a string.'


# ---------------------------------------------------------------------------------- limit/offset/page


@pytest.mark.parametrize(
    ("raw", "expected"), [(10, 10), ("10", 10), (" 25 ", 25), (-1, -1), ("-1", -1), (0, 0), ("1e2", 100), (None, None)]
)
def test_limit_forms(raw: Any, expected: int | None) -> None:
    assert parse_query({"limit": raw}).limit == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("abc", '"limit" must be a number'),
        ([1], '"limit" must be a number'),
        (1.5, '"limit" must be an integer'),
        ("2.5", '"limit" must be an integer'),
        (-2, '"limit" must be greater than or equal to -1'),
        ("Infinity", '"limit" cannot be infinity'),
        (2**60, '"limit" must be a safe number'),
    ],
)
def test_limit_errors(raw: Any, message: str) -> None:
    assert error_of({"limit": raw}) == f"Invalid query. {message}."


def test_max_limit() -> None:
    assert parse_query({"limit": -1}, max_limit=50).limit == 50
    assert parse_query({"limit": "50"}, max_limit=50).limit == 50
    assert parse_query({}, max_limit=50).limit is None  # not given: the reader applies the default
    assert error_of({"limit": 51}, max_limit=50) == 'Invalid query. "limit" must be less than or equal to 50.'
    assert url("limit=-1", max_limit=7).limit == 7


def test_offset_and_page() -> None:
    assert parse_query({"offset": "5", "page": "2"}) == Query(offset=5, page=2)
    assert parse_query({"offset": 0}).offset == 0
    assert parse_query({"page": 0}).page is None  # 0 is falsy in Directus: no page
    assert parse_query({"page": "0"}).page is None  # "0" passes but means no page either
    assert error_of({"offset": -1}) == 'Invalid query. "offset" must be greater than or equal to 0.'
    assert error_of({"offset": "x"}) == 'Invalid query. "offset" must be a number.'
    assert error_of({"page": -3}) == 'Invalid query. "page" must be greater than or equal to 0.'
    assert error_of({"page": 1.5}) == 'Invalid query. "page" must be an integer.'


# ------------------------------------------------------------------------------------ meta / search


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("*", ("total_count", "filter_count")),
        ("total_count", ("total_count",)),
        ("filter_count,total_count", ("filter_count", "total_count")),
        (["total_count"], ("total_count",)),
    ],
)
def test_meta_forms(raw: Any, expected: tuple[str, ...]) -> None:
    assert parse_query({"meta": raw}).meta == expected


def test_meta_errors() -> None:
    reason = "must be one of [total_count, filter_count]"
    assert error_of({"meta": "bogus"}) == f'Invalid query. "meta[0]" {reason}.'
    assert error_of({"meta": ["total_count", "x"]}) == f'Invalid query. "meta[1]" {reason}.'
    assert error_of({"meta": 5}) == 'Invalid query. "meta" must be an array.'


def test_search_is_trimmed_and_only_a_string() -> None:
    assert parse_query({"search": "  hello world "}).search == "hello world"
    assert parse_query({"search": "   "}).search == "   "  # Directus keeps a blank search and searches for it
    assert parse_query({"search": 5}).search is None


# ---------------------------------------------------------------------------------------- filter


def test_filter_json_string_and_object_agree() -> None:
    raw = {"title": {"_contains": "x"}}
    assert parse_query({"filter": raw}).filter == parse_query({"filter": orjson.dumps(raw).decode()}).filter == raw


def test_filter_invalid_json() -> None:
    assert error_of({"filter": "{nope"}) == "Invalid query. Invalid JSON for filter object."


@pytest.mark.parametrize(
    "raw",
    [
        {"_and": "x"},
        {"_or": {"a": 1}},
        {"status": None},
        [{"a": {"_eq": 1}}],
        '"text"',
        "5",
        {"a": {"_intersects": "{"}},
    ],
)
def test_invalid_filter_objects(raw: Any) -> None:
    assert error_of({"filter": raw}) == "Invalid query. Invalid filter object."


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # a bare value means _eq
        ({"status": "x"}, {"status": {"_eq": "x"}}),
        ({"author": {"name": "x"}}, {"author": {"name": {"_eq": "x"}}}),
        # several keys become _and
        ({"a": {"_eq": 1}, "b": {"_eq": 2}}, {"_and": [{"a": {"_eq": 1}}, {"b": {"_eq": 2}}]}),
        ({"a": {"_gt": 1, "_lt": 5}}, {"_and": [{"a": {"_gt": 1}}, {"a": {"_lt": 5}}]}),
        # a logical operator under a field is lifted above it
        (
            {"author": {"_or": [{"name": {"_eq": "a"}}, {"age": {"_gt": 3}}]}},
            {"_or": [{"author": {"name": {"_eq": "a"}}}, {"author": {"age": {"_gt": 3}}}]},
        ),
        # leaf strings true/false/null/NULL are coerced, everywhere
        ({"a": {"_eq": "true"}}, {"a": {"_eq": True}}),
        ({"a": {"_neq": "false"}}, {"a": {"_neq": False}}),
        ({"a": {"_eq": "NULL"}}, {"a": {"_eq": None}}),
        ({"a": {"_in": ["null", "x"]}}, {"a": {"_in": [None, "x"]}}),
        ({"a": {"_null": "true"}}, {"a": {"_null": True}}),
        # list operators: CSV strings and qs index objects become lists, scalars one-element lists
        ({"a": {"_in": "1,2,3"}}, {"a": {"_in": ["1", "2", "3"]}}),
        ({"a": {"_nin": {"0": "x", "1": "y"}}}, {"a": {"_nin": ["x", "y"]}}),
        ({"a": {"_between": [1, 5]}}, {"a": {"_between": [1, 5]}}),
        ({"a": {"_in": 5}}, {"a": {"_in": [5]}}),
        # quantifiers keep their sub-filter, normalized
        ({"comments": {"_some": {"text": "x"}}}, {"comments": {"_some": {"text": {"_eq": "x"}}}}),
        # geometry arguments may be JSON strings
        (
            {"loc": {"_intersects": '{"type":"Point","coordinates":[1,2]}'}},
            {"loc": {"_intersects": {"type": "Point", "coordinates": [1, 2]}}},
        ),
        # _json keeps its path keys
        ({"data": {"_json": {"a.b": {"_eq": "x"}}}}, {"data": {"_json": {"a.b": {"_eq": "x"}}}}),
        # functions in keys and dynamic variables pass through untouched
        ({"year(date)": {"_eq": 2024}}, {"year(date)": {"_eq": 2024}}),
        ({"owner": {"_eq": "$CURRENT_USER"}}, {"owner": {"_eq": "$CURRENT_USER"}}),
    ],
)
def test_filter_normalization(raw: Mapping[str, Any], expected: Mapping[str, Any]) -> None:
    assert parse_query({"filter": raw}).filter == expected


def test_empty_filter_is_not_given() -> None:
    assert parse_query({"filter": {}}).filter is None
    assert parse_query({"filter": "{}"}).filter is None
    assert parse_query({"filter": ""}).filter is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"a": {"_eq": ""}}, 'You can\'t filter for an empty string in "_eq". Use "_empty" or "_nempty" instead.'),
        ({"a": ""}, 'You can\'t filter for an empty string in "_eq". Use "_empty" or "_nempty" instead.'),
        (
            {"a": {"_contains": ""}},
            'You can\'t filter for an empty string in "_contains". Use "_empty" or "_nempty" instead.',
        ),
        ({"a": {"_in": []}}, '"_in" has to be an array of values.'),
        ({"a": {"_nbetween": {}}}, '"_nbetween" has to be an array of values.'),
        ({"a": {"_null": 1}}, '"_null" has to be a boolean.'),
        ({"a": {"_nempty": "yes"}}, '"_nempty" has to be a boolean.'),
        ({"a": {"_eq": {"x": 1}}}, 'The filter value for "_eq" has to be a string, number, or boolean.'),
        ({"a": {"_gt": [1]}}, 'The filter value for "_gt" has to be a string, number, or boolean.'),
        ({"a": {"_eq": 2**60}}, 'The filter value for "_eq" is not a valid number.'),
        ({"a": {"_intersects": {"type": "Nope"}}}, '"_intersects" has to be a valid GeoJSON object.'),
        ({"_and": [{"a": {"_in": []}}]}, '"_in" has to be an array of values.'),
        (
            {"rel": {"_some": {"a": {"_eq": ""}}}},
            'You can\'t filter for an empty string in "_eq". Use "_empty" or "_nempty" instead.',
        ),
    ],
)
def test_filter_validation_errors(raw: Mapping[str, Any], message: str) -> None:
    assert error_of({"filter": raw}) == f"Invalid query. {message}"


def test_filter_validation_accepts_nulls_and_empty_booleans() -> None:
    assert parse_query({"filter": {"a": {"_eq": None}}}).filter == {"a": {"_eq": None}}
    assert parse_query({"filter": {"a": {"_null": ""}}}).filter == {"a": {"_null": ""}}
    assert parse_query({"filter": {"a": {"_empty": False}}}).filter == {"a": {"_empty": False}}


def test_filter_error_wins_over_a_limit_error_like_directus() -> None:
    message = error_of({"limit": "x", "filter": {"a": {"_eq": ""}}})
    assert message.startswith("Invalid query. You can't filter for an empty string")


# -------------------------------------------------------------------------------------- aggregate


def test_aggregate_forms() -> None:
    expected = {"count": ("*",), "sum": ("price", "qty")}
    assert parse_query({"aggregate": {"count": "*", "sum": "price,qty"}}).aggregate == expected
    assert parse_query({"aggregate": {"count": ["*"], "sum": ["price", "qty"]}}).aggregate == expected
    assert parse_query({"aggregate": '{"count":"*","sum":["price","qty"]}'}).aggregate == expected
    assert url("aggregate[count]=*&aggregate[sum]=price,qty").aggregate == expected
    assert url("aggregate[count][]=*&aggregate[sum][]=price&aggregate[sum][]=qty").aggregate == expected


def test_every_aggregate_function_and_unknown_ones_refused() -> None:
    functions = ["count", "countDistinct", "countAll", "sum", "sumDistinct", "avg", "avgDistinct", "min", "max"]
    raw = {name: "f" for name in functions}
    assert parse_query({"aggregate": raw}).aggregate == {name: ("f",) for name in functions}
    refused = 'Invalid query. "median" is not a valid aggregate function.'
    assert error_of({"aggregate": {**raw, "median": "f"}}) == refused


def test_aggregate_errors() -> None:
    assert error_of({"aggregate": "{bad"}) == 'Invalid query. "aggregate" must be of type object.'
    assert error_of({"aggregate": ["count"]}) == 'Invalid query. "aggregate" must be of type object.'
    assert error_of({"aggregate": {"sum": 5}}) == 'Invalid query. "aggregate.sum" must be a string or array.'


# ------------------------------------------------------------------------------------------- deep


def test_deep_is_sanitized_per_level() -> None:
    raw = {"comments": {"_limit": "5", "_sort": "-id", "_filter": {"a": "x"}, "author": {"_fields": "id,name"}}}
    expected = {
        "comments": {
            "_limit": 5,
            "_sort": ("-id",),
            "_filter": {"a": {"_eq": "x"}},
            "author": {"_fields": ("id", "name")},
        }
    }
    assert parse_query({"deep": raw}).deep == expected
    assert parse_query({"deep": orjson.dumps(raw).decode()}).deep == expected
    assert (
        url(
            "deep[comments][_limit]=5&deep[comments][_sort]=-id&deep[comments][_filter][a]=x"
            "&deep[comments][author][_fields]=id,name"
        ).deep
        == expected
    )


def test_deep_errors_and_ignored_forms() -> None:
    assert parse_query({"deep": "{bad"}).deep is None  # Directus only logs a warning
    assert parse_query({"deep": {"rel": 5}}).deep is None
    assert parse_query({"deep": {"rel": {"_limit": -1}}}, max_limit=9).deep == {"rel": {"_limit": 9}}
    assert error_of({"deep": {"rel": {"_limit": "x"}}}) == 'Invalid query. "limit" must be a number.'
    assert error_of({"deep": {"rel": {"_filter": "{x"}}}) == "Invalid query. Invalid JSON for filter object."


# ------------------------------------------------------------------------------------------ alias


def test_alias_forms() -> None:
    assert parse_query({"alias": {"n": "name"}}).alias == {"n": "name"}
    assert parse_query({"alias": '{"n":"name"}'}).alias == {"n": "name"}
    assert url("alias[n]=name").alias == {"n": "name"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{bad", '"alias" has to be an object.'),
        ('["a"]', '"alias" has to be an object.'),
        ({"a.b": "c"}, '"alias" key/value can\'t contain a period character `.`.'),
        ({"a": "b.c"}, '"alias" key/value can\'t contain a period character `.`.'),
        ({"a": 5}, '"alias" value has to be a string. "number" given.'),
    ],
)
def test_alias_errors(raw: Any, message: str) -> None:
    assert error_of({"alias": raw}) == f"Invalid query. {message}"


# ------------------------------------------------------------------------- backlink and the extras


@pytest.mark.parametrize(
    ("raw", "expected"), [(False, False), ("false", False), (True, True), ("true", True), ("x", True)]
)
def test_backlink(raw: Any, expected: bool) -> None:
    assert parse_query({"backlink": raw}).backlink is expected


def test_version_and_export_are_kept_in_extra() -> None:
    query = parse_query({"version": "draft", "versionRaw": "true", "export": "csv"})
    assert query.extra == {"version": "draft", "versionRaw": True, "export": "csv"}
    assert parse_query({"version": "draft"}).extra == {"version": "draft", "versionRaw": False}
    assert error_of({"export": "pdf"}) == 'Invalid query. "export" must be one of [csv, csv_utf8, json, xml, yaml].'
    assert error_of({"version": 5}) == 'Invalid query. "version" must be a string.'


# ----------------------------------------------------------------------------- qs bracket parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("filter[status][_eq]=x", {"filter": {"status": {"_eq": "x"}}}),
        (
            "filter[_and][0][a][_eq]=1&filter[_and][1][b][_eq]=2",
            {"filter": {"_and": [{"a": {"_eq": "1"}}, {"b": {"_eq": "2"}}]}},
        ),
        ("fields[]=a&fields[]=b", {"fields": ["a", "b"]}),
        ("fields=a&fields=b", {"fields": ["a", "b"]}),
        ("fields=a&fields[]=b", {"fields": ["a", "b"]}),
        ("sort[0]=a&sort[1]=b", {"sort": ["a", "b"]}),
        ("sort[1]=b&sort[0]=a", {"sort": ["a", "b"]}),
        ("sort[3]=b&sort[1]=a", {"sort": ["a", "b"]}),  # sparse indices are compacted
        ("x[0]=a&x[k]=b", {"x": {"0": "a", "k": "b"}}),  # mixed keys make an object
        ("a[b]=1&a[c]=2", {"a": {"b": "1", "c": "2"}}),
        ("a[0][b]=1&a[0][c]=2", {"a": [{"b": "1", "c": "2"}]}),
        ("a[b]=1&a[b]=2", {"a": {"b": ["1", "2"]}}),
        ("meta=*", {"meta": "*"}),
        ("a=", {"a": ""}),
        ("[x]=1", {"x": "1"}),
    ],
)
def test_qs_structures(text: str, expected: dict[str, Any]) -> None:
    assert qs(text) == expected


def test_qs_depth_limit_keeps_the_rest_as_one_key() -> None:
    key = "a" + "".join(f"[{c}]" for c in "bcdefghijklm")
    node: Any = qs(f"{key}=1")
    for segment in "abcdefghijk":
        node = node[segment]
    assert node == {"[l][m]": "1"}


def test_bracket_query_string_end_to_end() -> None:
    query = url(
        "filter[status][_eq]=published&filter[author][name][_in]=a,b&fields[]=id&fields[]=author.name"
        "&sort[]=-id&limit=5&offset=10&meta=*&search=hi&alias[n]=title&aggregate[count]=*&groupBy=status"
        "&deep[comments][_limit]=2&backlink=false"
    )
    assert query == Query(
        fields=("id", "author.name"),
        filter={"_and": [{"status": {"_eq": "published"}}, {"author": {"name": {"_in": ["a", "b"]}}}]},
        sort=("-id",),
        limit=5,
        offset=10,
        search="hi",
        meta=("total_count", "filter_count"),
        aggregate={"count": ("*",)},
        group_by=("status",),
        deep={"comments": {"_limit": 2}},
        alias={"n": "title"},
        backlink=False,
    )


def test_repeated_scalar_parameter_is_not_a_number() -> None:
    with pytest.raises(InvalidQueryError, match='"limit" must be a number'):
        url("limit=1&limit=2")


# ------------------------------------------------------------------------------ round-trip property

_NAMES = st.sampled_from(["id", "title", "status", "author", "date_created", "price", "tags"])
_FIELD = st.builds(lambda parts: ".".join(parts), st.lists(_NAMES, min_size=1, max_size=3)) | st.just("*")
# String leaves only: the query string cannot carry types, and "true"/"null"… are coerced alike in every form.
_TEXT = st.text(alphabet="abcxyz019 -_:é", min_size=1, max_size=8).filter(lambda s: s.strip() == s and s != "")
_PRIMITIVE_OPS = st.sampled_from(["_eq", "_neq", "_lt", "_gte", "_contains", "_starts_with", "_icontains"])


def _leaf() -> st.SearchStrategy[dict[str, Any]]:
    primitive = st.builds(lambda op, value: {op: value}, _PRIMITIVE_OPS, _TEXT)
    listed = st.builds(
        lambda op, values: {op: values},
        st.sampled_from(["_in", "_nin"]),
        st.lists(_TEXT.filter(lambda s: "," not in s), min_size=1, max_size=3),
    )
    boolean = st.builds(lambda op, flag: {op: flag}, st.sampled_from(["_null", "_nnull"]), st.booleans())
    return primitive | listed | boolean


_FILTER = st.recursive(
    st.builds(lambda name, leaf: {name: leaf}, _NAMES, _leaf()),
    lambda inner: (
        st.builds(
            lambda op, items: {op: items}, st.sampled_from(["_and", "_or"]), st.lists(inner, min_size=1, max_size=3)
        )
        | st.builds(lambda name, sub: {name: sub}, _NAMES, inner)
    ),
    max_leaves=6,
)

_QUERY = st.fixed_dictionaries(
    {},
    optional={
        "fields": st.lists(_FIELD, min_size=1, max_size=4),
        "filter": _FILTER,
        "sort": st.lists(
            st.builds(lambda desc, name: ("-" if desc else "") + name, st.booleans(), _NAMES), min_size=1, max_size=3
        ),
        "limit": st.integers(min_value=-1, max_value=500),
        "offset": st.integers(min_value=0, max_value=500),
        "page": st.integers(min_value=1, max_value=50),
        "search": _TEXT,
        "meta": st.lists(st.sampled_from(["total_count", "filter_count"]), min_size=1, max_size=2, unique=True),
        "aggregate": st.dictionaries(
            st.sampled_from(["count", "sum", "avg", "min"]), st.lists(_NAMES, min_size=1, max_size=2), min_size=1
        ),
        "groupBy": st.lists(_NAMES, min_size=1, max_size=2),
        "deep": st.dictionaries(
            _NAMES, st.fixed_dictionaries({"_limit": st.integers(min_value=-1, max_value=50)}), min_size=1, max_size=2
        ),
        "alias": st.dictionaries(st.sampled_from(["x", "y", "z"]), _NAMES, min_size=1),
        "backlink": st.booleans(),
    },
)


def _string_form(raw: Mapping[str, Any]) -> dict[str, str]:
    """What the SDK's queryToParams sends: CSV for lists, JSON for objects, text for numbers."""
    out: dict[str, str] = {}
    for key, value in raw.items():
        if isinstance(value, list):
            out[key] = ",".join(value)
        elif isinstance(value, dict):
            out[key] = orjson.dumps(value).decode()
        else:
            out[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


def _brackets(value: Any, prefix: str) -> list[tuple[str, str]]:
    """PHP/qs bracket notation for any JSON value."""
    if isinstance(value, dict):
        return [pair for key, item in value.items() for pair in _brackets(item, f"{prefix}[{key}]")]
    if isinstance(value, list):
        return [pair for index, item in enumerate(value) for pair in _brackets(item, f"{prefix}[{index}]")]
    return [(prefix, str(value).lower() if isinstance(value, bool) else str(value))]


def _bracket_form(raw: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [pair for key, value in raw.items() for pair in _brackets(value, key)]


@settings(max_examples=examples(300), deadline=None)
@given(_QUERY)
def test_json_string_and_bracket_forms_agree(raw: dict[str, Any]) -> None:
    from_json = parse_query(raw)
    assert parse_query(_string_form(raw)) == from_json
    # Through a real URL: encode, then decode as Starlette does.
    encoded = urlencode(_bracket_form(raw))
    assert parse_query_params(parse_qsl(encoded, keep_blank_values=True)) == from_json


# ------------------------------------------------------------------------- over HTTP (live server)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """One live server for the module, with QUERY_LIMIT_MAX=3 and five articles."""
    with items_server(tmp_path_factory.mktemp("parse"), {"QUERY_LIMIT_MAX": "3"}) as server:
        with server.client() as client:
            created = client.post("/items/articles", json=[{"title": t, "views": i} for i, t in enumerate("abcde")])
            assert created.status_code == 200, created.text
            yield client


def _invalid_query(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INVALID_QUERY"
    message: str = error["message"]
    return message


def test_http_bracket_filter_and_fields(api: httpx.Client) -> None:
    response = api.get("/items/articles?filter[title][_in][]=b&filter[title][_in][]=d&fields[]=title&sort[]=-title")
    assert response.json() == {"data": [{"title": "d"}, {"title": "b"}]}


def test_http_json_filter_string_and_csv_fields(api: httpx.Client) -> None:
    params = {"filter": '{"views":{"_gte":"3"}}', "fields": "title, views", "sort": "views"}
    assert api.get("/items/articles", params=params).json() == {
        "data": [{"title": "d", "views": 3}, {"title": "e", "views": 4}]
    }


def test_http_limit_max(api: httpx.Client) -> None:
    assert len(api.get("/items/articles", params={"limit": "-1"}).json()["data"]) == 3
    message = _invalid_query(api.get("/items/articles", params={"limit": "4"}))
    assert message == 'Invalid query. "limit" must be less than or equal to 3.'


def test_http_errors(api: httpx.Client) -> None:
    assert _invalid_query(api.get("/items/articles?filter={oops")) == "Invalid query. Invalid JSON for filter object."
    assert _invalid_query(api.get("/items/articles?filter[title][_eq]=")) == (
        'Invalid query. You can\'t filter for an empty string in "_eq". Use "_empty" or "_nempty" instead.'
    )
    assert _invalid_query(api.get("/items/articles?limit=ten")) == 'Invalid query. "limit" must be a number.'
