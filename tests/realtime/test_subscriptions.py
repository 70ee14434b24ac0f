"""Subscriptions over real sockets: the Directus scenarios (transcripts d, g, h) and each improvement.

One server per module on the transcripts' seed (``messages`` readable by the messages user, ``secrets``
unreadable). Writes go through REST as admin or through the socket's ``items`` messages, exactly as users do.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.realtime.test_subscriptions_helpers import (
    add_bob,
    create,
    registered,
    wait_dispatched,
    wait_until,
    ws,
)
from tests.support.live import ADMIN_TOKEN, LiveServer
from tests.support.seed import seed_messages
from tests.support.servers import module_server

srv = module_server("subs", seed=[seed_messages, add_bob])


@pytest.fixture
def rest(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


def without_seq(frame: dict[str, Any]) -> dict[str, Any]:
    assert isinstance(frame.get("seq"), int), frame
    return {k: v for k, v in frame.items() if k != "seq"}


def data_without_dates(frame: dict[str, Any]) -> Any:
    rows = frame["data"]

    def strip(row: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in row.items() if k != "date_created"}

    return [strip(r) for r in rows] if isinstance(rows, list) else strip(rows)


# ------------------------------------------------------------------------------- transcript d


def test_init_and_events_carry_string_uids_seq_and_reread_rows(srv: LiveServer, rest: httpx.Client) -> None:
    with ws(srv) as a, ws(srv, ADMIN_TOKEN) as b:
        init = a.request({"type": "subscribe", "collection": "messages", "query": {"fields": ["id", "text"]}, "uid": 7})
        assert init["type"] == "subscription" and init["event"] == "init" and init["uid"] == "7"
        assert list(init) == ["type", "event", "data", "uid", "seq"]
        start = init["seq"]
        reply = b.request({"type": "items", "collection": "messages", "action": "create", "data": {"text": "d1"}})
        key = reply["data"]["id"]
        created = a.recv()
        assert without_seq(created) == {
            "type": "subscription",
            "event": "create",
            "data": [{"id": key, "text": "d1"}],
            "uid": "7",
        }
        b.request({"type": "items", "collection": "messages", "action": "update", "id": key, "data": {"text": "d2"}})
        updated = a.recv()
        assert updated["event"] == "update" and updated["data"] == [{"id": key, "text": "d2"}]
        b.request({"type": "items", "collection": "messages", "action": "delete", "id": key})
        deleted = a.recv()
        assert without_seq(deleted) == {"type": "subscription", "event": "delete", "data": [key], "uid": "7"}
        assert start < created["seq"] < updated["seq"] < deleted["seq"]


def test_rest_writes_batch_creates_and_multi_key_updates(srv: LiveServer, rest: httpx.Client) -> None:
    with ws(srv) as a:
        a.request({"type": "subscribe", "collection": "messages", "query": {"fields": "id,user"}, "uid": "s"})
        keys = [row["id"] for row in rest.post("/items/messages", json=[{"user": "x1"}, {"user": "x2"}]).json()["data"]]
        assert [a.recv()["data"] for _ in keys] == [[{"id": keys[0], "user": "x1"}], [{"id": keys[1], "user": "x2"}]]
        rest.patch("/items/messages", json={"keys": keys, "data": {"user": "x3"}})
        assert a.recv()["data"] == [{"id": k, "user": "x3"} for k in keys]
        assert rest.delete(f"/items/messages/{keys[0]}").status_code == 204
        assert a.recv()["data"] == [str(keys[0])]  # a REST path key is a string, as in Directus
        a.quiet(0.2)


def test_subscription_without_uid_has_no_uid_key(srv: LiveServer, rest: httpx.Client) -> None:
    with ws(srv) as a:
        init = a.request({"type": "subscribe", "collection": "messages", "query": {"fields": ["id"], "limit": 1}})
        assert "uid" not in init
        key = create(rest, text="no uid")
        assert without_seq(a.recv()) == {"type": "subscription", "event": "create", "data": [{"id": key}]}


# ------------------------------------------------------------------------------- transcript g


def test_unsubscribe_by_uid_all_and_unknown(srv: LiveServer, rest: httpx.Client) -> None:
    with ws(srv) as a:
        for uid in ("s1", "s2"):
            a.request({"type": "subscribe", "collection": "messages", "query": {"fields": ["id"]}, "uid": uid})
        assert a.request({"type": "unsubscribe", "uid": "s1"}) == {
            "type": "subscription",
            "event": "unsubscribe",
            "uid": "s1",
        }
        key = create(rest, text="g1")
        assert without_seq(a.recv()) == {"type": "subscription", "event": "create", "data": [{"id": key}], "uid": "s2"}
        a.quiet(0.2)
        assert a.request({"type": "unsubscribe", "uid": "never"})["uid"] == "never"
        assert a.request({"type": "unsubscribe"}) == {"type": "subscription", "event": "unsubscribe"}
        create(rest, text="g2")
        a.quiet(0.3)


def test_same_uid_replaces_and_numeric_uid_unsubscribes(srv: LiveServer, rest: httpx.Client) -> None:
    with ws(srv) as a:
        a.request({"type": "subscribe", "collection": "messages", "query": {"fields": ["id"], "limit": 1}, "uid": "d"})
        again = {"type": "subscribe", "collection": "messages", "query": {"fields": ["id", "text"], "limit": 1}}
        a.request({**again, "uid": "d"})
        a.request({**again, "uid": "d"})  # the SDK re-sends every subscription twice after a reconnect
        init = a.request({"type": "subscribe", "collection": "messages", "event": "create", "uid": 5})
        assert without_seq(init) == {"type": "subscription", "event": "init", "uid": "5"}
        assert a.request({"type": "unsubscribe", "uid": 5}) == {
            "type": "subscription",
            "event": "unsubscribe",
            "uid": 5,
        }
        key = create(rest, text="g3")
        assert a.recv()["data"] == [{"id": key, "text": "g3"}]
        a.quiet(0.3)


# ------------------------------------------------------------------------------- transcript h


def test_event_filter_and_query_filter(srv: LiveServer, rest: httpx.Client) -> None:
    with ws(srv) as a:
        a.request({"type": "subscribe", "collection": "messages", "event": "create", "uid": "only-create"})
        key = create(rest, text="h1")
        assert a.recv()["event"] == "create"
        rest.patch(f"/items/messages/{key}", json={"text": "h1 edited"})
        rest.delete(f"/items/messages/{key}")
        a.quiet(0.3)


def test_errors_echo_uid_and_schema_errors_do_not(srv: LiveServer) -> None:
    with ws(srv) as a:
        forbidden = a.request({"type": "subscribe", "collection": "secrets", "uid": "np"})
        assert forbidden == {
            "type": "subscribe",
            "status": "error",
            "error": {
                "code": "FORBIDDEN",
                "message": 'You don\'t have permission to access collection "secrets" or it does not exist. '
                "Queried in root.",
            },
            "uid": "np",
        }
        bad_field = a.request({"type": "subscribe", "collection": "messages", "query": {"fields": ["nope"]}, "uid": 1})
        assert bad_field["error"]["code"] == "FORBIDDEN" and bad_field["uid"] == 1
        no_collection = a.request({"type": "subscribe", "uid": "x"})
        assert no_collection["error"]["code"] == "INVALID_PAYLOAD" and "uid" not in no_collection
        bad_op = a.request(
            {"type": "subscribe", "collection": "messages", "query": {"filter": {"text": {"_bogus": 1}}}}
        )
        assert bad_op["error"]["code"] == "INVALID_QUERY"
    wait_until(lambda: registered(srv) == 0)


@pytest.mark.parametrize("fields", [["*.*"], ["*.*", "text"]])
def test_wildcard_paths_keep_the_primary_key_in_events(srv: LiveServer, rest: httpx.Client, fields: list[str]) -> None:
    """``*.*`` includes the primary key in init and REST; events too (issue 7, item 8)."""
    with ws(srv) as a:
        init = a.request({"type": "subscribe", "collection": "messages", "query": {"fields": fields}, "uid": "all"})
        assert all("id" in row for row in init["data"]), init
        key = create(rest, text="wild")
        created = a.recv()
        expected = rest.get(f"/items/messages/{key}", params={"fields": ",".join(fields)}).json()["data"]
        assert created["event"] == "create" and created["data"] == [expected] and expected["id"] == key
        rest.patch(f"/items/messages/{key}", json={"text": "wilder"})
        assert a.recv()["data"] == [{**expected, "text": "wilder"}]


# ------------------------------------------------------------------------------- improvements


def test_item_subscription_matches_numeric_keys_written_over_the_socket(srv: LiveServer, rest: httpx.Client) -> None:
    key = create(rest, text="single")
    with ws(srv) as a, ws(srv, ADMIN_TOKEN) as b:
        init = a.request({"type": "subscribe", "collection": "messages", "item": key, "uid": "one"})
        assert data_without_dates(init)["id"] == key and isinstance(init["data"], dict)
        b.request({"type": "items", "collection": "messages", "action": "update", "id": key, "data": {"text": "e"}})
        update = a.recv()
        assert update["event"] == "update" and update["data"]["text"] == "e"  # an object, numeric key matched
        create(rest, text="other")  # another key: nothing
        b.request({"type": "items", "collection": "messages", "action": "delete", "id": key})
        assert without_seq(a.recv()) == {"type": "subscription", "event": "delete", "data": str(key), "uid": "one"}


def test_deletes_do_not_leak(srv: LiveServer, rest: httpx.Client) -> None:
    """Bob may read only rows whose user is bob; a filtered subscriber only its filter's rows."""
    mine, other = create(rest, user="bob", text="m"), create(rest, user="alice", text="o")
    with ws(srv, "bob-token") as bob, ws(srv) as filtered:
        bob.request({"type": "subscribe", "collection": "messages", "query": {"fields": ["id"]}, "uid": "b"})
        filtered.request({"type": "subscribe", "collection": "messages", "query": {"filter": {"text": {"_eq": "m"}}}})
        rest.delete(f"/items/messages/{other}")
        rest.delete(f"/items/messages/{mine}")
        assert bob.recv()["data"] == [str(mine)]
        assert filtered.recv()["data"] == [str(mine)]
        bob.quiet(0.2)
        filtered.quiet(0.2)


def test_enter_and_leave_by_filter_and_by_permission(srv: LiveServer, rest: httpx.Client) -> None:
    key = create(rest, user="carol", text="y")
    with ws(srv, "bob-token") as bob, ws(srv) as filtered:
        bob.request({"type": "subscribe", "collection": "messages", "query": {"fields": ["id", "user"]}})
        filtered.request(
            {
                "type": "subscribe",
                "collection": "messages",
                "query": {"fields": ["id"], "filter": {"text": {"_eq": "x"}}},
            }
        )
        rest.patch(f"/items/messages/{key}", json={"user": "bob", "text": "x"})
        assert without_seq(bob.recv()) == {
            "type": "subscription",
            "event": "create",
            "data": [{"id": key, "user": "bob"}],
        }
        assert filtered.recv()["event"] == "create"
        rest.patch(f"/items/messages/{key}", json={"text": "x!"})
        assert bob.recv()["event"] == "update"
        assert without_seq(filtered.recv()) == {"type": "subscription", "event": "delete", "data": [key]}
        rest.patch(f"/items/messages/{key}", json={"user": "dave"})
        assert bob.recv()["event"] == "delete"
        filtered.quiet(0.2)
        bob.quiet(0.2)


def test_paginated_subscriptions_do_not_lose_events(srv: LiveServer, rest: httpx.Client) -> None:
    with ws(srv) as a:
        init = a.request(
            {
                "type": "subscribe",
                "collection": "messages",
                "query": {"fields": ["id"], "limit": 1, "offset": 1, "sort": "-id"},
            }
        )
        assert len(init["data"]) <= 1
        keys = [create(rest, text=f"p{i}") for i in range(3)]
        assert [a.recv()["data"] for _ in keys] == [[{"id": k}] for k in keys]
        rest.patch("/items/messages", json={"keys": keys, "data": {"text": "q"}})
        assert a.recv()["data"] == [{"id": k} for k in keys]


def test_concurrent_writers_events_arrive_in_seq_order_and_init_has_no_gap(srv: LiveServer) -> None:
    """Writers run while subscribers join: each subscriber's init + events = every row, once, in order."""
    created: list[int] = []
    stop = threading.Event()

    def writer() -> None:
        with srv.client() as client:
            while not stop.is_set():
                created.append(client.post("/items/messages", json={"text": "race"}).json()["data"]["id"])

    threads = [threading.Thread(target=writer) for _ in range(3)]
    for t in threads:
        t.start()
    subscribers = []
    try:
        for _ in range(4):
            conn = ws(srv)
            init = conn.request(
                {
                    "type": "subscribe",
                    "collection": "messages",
                    "query": {"fields": ["id"], "filter": {"text": {"_eq": "race"}}, "limit": -1},
                }
            )
            subscribers.append((conn, init))
            wait_until(lambda: len(created) > 3 * len(subscribers), 10)
    finally:
        stop.set()
        for t in threads:
            t.join()
    wait_dispatched(srv)
    for conn, init in subscribers:
        seen = [row["id"] for row in init["data"]]
        seqs = [init["seq"]]
        while len(seen) < len(created):
            frame = conn.recv()
            assert frame["event"] == "create"
            seqs.append(frame["seq"])
            seen.extend(row["id"] for row in frame["data"])
        assert sorted(seen) == sorted(created)  # nothing missing, nothing twice
        assert seqs == sorted(set(seqs))
        conn.quiet(0.1)
        conn.close()


def test_no_subscription_outlives_its_socket(srv: LiveServer) -> None:
    # Sockets of earlier tests on this module's server are released asynchronously: start from none.
    wait_until(lambda: registered(srv) == 0, timeout=15)
    before = 0
    for i in range(30):
        conn = ws(srv)
        conn.send({"type": "subscribe", "collection": "messages", "uid": f"x{i}"})
        if i % 3:
            conn.send({"type": "subscribe", "collection": "messages", "event": "update"})
        conn.close()
    with ws(srv) as live:
        live.request({"type": "subscribe", "collection": "messages", "uid": "stays"})
        wait_until(lambda: registered(srv) == before + 1, timeout=15)
    wait_until(lambda: registered(srv) == before, timeout=15)
