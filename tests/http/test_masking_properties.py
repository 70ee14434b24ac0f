"""Property (issue 7 item 4): for random rows, random pairs of read permissions (field lists × item rules) and
random filters, ``GET /items/notes?filter=…`` returns exactly the rows that a plain-Python evaluation of the
filter picks from the rows of an unfiltered read, where hidden fields are already ``null``. So a filter can
never see a value that the read does not show."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.http.accounts_support import make_policy, make_user, ok
from tests.http.masking_reference import ids
from tests.http.masking_support import build_schema
from tests.support.examples import examples
from tests.support.live import LiveServer, live_server, scratch_database

NOTES = ("a-1", "a-2", "b-1", "HIDDEN-1", "")
FIELDS = ("text", "owner", "note", "n")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str, str, str]]:
    with scratch_database(tmp_path_factory.mktemp("maskprops")) as env, live_server(env) as server:
        with server.client() as admin:
            build_schema(admin)
            policy = make_policy(admin)
            user, token = make_user(admin, policies=(policy,))
        yield server, policy, user, token


rows_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "owner": st.sampled_from(["me", "other"]),
            "note": st.one_of(st.none(), st.sampled_from(NOTES)),
            "n": st.one_of(st.none(), st.integers(0, 9)),
            "text": st.sampled_from(["x", "y"]),
        }
    ),
    min_size=3,
    max_size=8,
)
rules = st.sampled_from(
    [
        {},
        {"owner": {"_eq": "$CURRENT_USER"}},
        {"text": {"_eq": "x"}},
        {"n": {"_gte": 5}},
        {"_or": [{"owner": {"_eq": "$CURRENT_USER"}}, {"text": {"_eq": "y"}}]},
    ]
)
field_lists = st.one_of(
    st.just(["*"]), st.lists(st.sampled_from(FIELDS), max_size=3, unique=True).map(lambda f: ["id", *f])
)
leaf = st.one_of(
    st.builds(
        lambda op, v: {"note": {op: v}},
        st.sampled_from(["_eq", "_neq", "_starts_with", "_contains"]),
        st.sampled_from(NOTES[:4]),
    ),
    st.builds(lambda v: {"note": {"_in": list(v)}}, st.lists(st.sampled_from(NOTES[:4]), min_size=1, max_size=2)),
    st.builds(lambda op, v: {"n": {op: v}}, st.sampled_from(["_eq", "_neq", "_lt", "_gte"]), st.integers(0, 9)),
    st.builds(lambda f, op: {f: {op: True}}, st.sampled_from(["note", "n"]), st.sampled_from(["_null", "_nnull"])),
    st.just({"note": {"_empty": True}}),
)
filters = st.one_of(
    leaf, st.builds(lambda a, b: {"_and": [a, b]}, leaf, leaf), st.builds(lambda a, b: {"_or": [a, b]}, leaf, leaf)
)


def _store(admin: Any, rows: list[dict[str, Any]], user: str) -> None:
    ok(admin.request("DELETE", "/items/notes", json={"query": {"limit": -1}}), 204)
    stored = [{**row, "owner": user if row["owner"] == "me" else "other"} for row in rows]
    ok(admin.post("/items/notes", json=stored))


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=rows_strategy,
    grants=st.tuples(rules, st.tuples(field_lists, rules)).map(lambda g: [(["*"], g[0]), g[1]]),
    filter=filters,
)
def test_filtered_read_is_the_filter_over_the_masked_read(
    world: tuple[LiveServer, str, str, str],
    rows: list[dict[str, Any]],
    grants: list[tuple[list[str], dict[str, Any]]],
    filter: dict[str, Any],
) -> None:
    server, policy, user, token = world
    granted = {f for fields, _ in grants for f in (FIELDS if "*" in fields else fields)}
    if not {"note", "n"} & granted or any(key in json.dumps(filter) for key in {"note", "n"} - granted):
        filter = {"id": {"_nnull": True}}  # a filter on a field never granted is FORBIDDEN, not the property
    body = [{"collection": "notes", "action": "read", "fields": f, "permissions": r} for f, r in grants]
    with server.client() as admin, server.client(token=token) as client:
        ok(admin.patch(f"/policies/{policy}", json={"permissions": body}))
        _store(admin, rows, user)
        wanted = ",".join(["id", *sorted(granted & {"note", "n"})])
        seen = ok(client.get("/items/notes", params={"fields": wanted, "limit": "-1"}))
        picked = ok(client.get("/items/notes", params={"fields": "id", "limit": "-1", "filter": json.dumps(filter)}))
        count = client.get("/items/notes", params={"limit": "0", "meta": "filter_count", "filter": json.dumps(filter)})
    masked = [{"note": None, "n": None, **row} for row in seen]
    assert [r["id"] for r in picked] == ids(masked, filter)
    assert count.json()["meta"]["filter_count"] == len(picked)
