"""A query string's ``Query`` is parsed once and kept (``tidepool.http.query.parse_query_string``): what is kept
is what parsing the string afresh gives, under the settings it was parsed with, and a string that fails to
parse fails again every time with the same error."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest
from starlette.datastructures import QueryParams

from tidepool.errors import InvalidQueryError
from tidepool.http.query import parse_query_string
from tidepool.query.parse import parse_query_params

STRINGS = [
    b"",
    b"limit=10",
    b"limit=-1",
    b"fields=id,text&sort=-id&limit=3&offset=2",
    b"fields[]=id&fields[]=text&filter[text][_contains]=a%20b&meta=*",
    b"filter=" + quote('{"_and":[{"id":{"_gt":"1"}},{"user":{"_eq":"$CURRENT_USER"}}]}').encode(),
    b"deep[rel][_limit]=2&deep[rel][_filter][x][_eq]=1&alias[y]=id&search=hi&page=2&version=draft",
    b"aggregate[count]=*&groupBy[]=user&export=json&access_token=abc",
]


@pytest.mark.parametrize("raw", STRINGS)
@pytest.mark.parametrize(("max_limit", "max_complexity"), [(None, None), (5, None), (100, 3)])
def test_a_kept_query_is_what_parsing_the_string_afresh_gives(
    raw: bytes, max_limit: int | None, max_complexity: int | None
) -> None:
    def fresh() -> object:
        items = QueryParams(raw).multi_items()
        return parse_query_params(items, max_limit=max_limit, max_complexity=max_complexity)

    try:
        expected = fresh()
    except InvalidQueryError as error:
        for _ in range(2):
            with pytest.raises(InvalidQueryError) as raised:
                parse_query_string(raw, max_limit, max_complexity)
            assert raised.value.entries()[0].to_rest() == error.entries()[0].to_rest()
        return
    assert parse_query_string(raw, max_limit, max_complexity) == expected
    assert parse_query_string(raw, max_limit, max_complexity) == expected  # the kept one


def test_the_settings_are_part_of_what_is_kept() -> None:
    assert parse_query_string(b"limit=-1", None, None).limit == -1
    assert parse_query_string(b"limit=-1", 7, None).limit == 7


def test_a_bad_query_string_is_refused_each_time(admin: httpx.Client) -> None:
    answers = [admin.get("/users", params={"limit": "ten"}).json() for _ in range(3)]
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["errors"][0]["extensions"]["code"] == "INVALID_QUERY"
