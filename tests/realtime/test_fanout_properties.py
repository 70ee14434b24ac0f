"""Property: what each subscriber receives is exactly what REST reads as that subscriber imply.

Random read rules (one user per rule) × random subscription filters × random writes. Around every write the
test reads ``messages`` over REST as each subscriber (its permission + its subscription filter): a key seen
after but not before must arrive as ``create``, before and after as ``update`` (with the row as read after),
before but not after as ``delete``, and nothing else may arrive — in particular no delete of a row the
subscriber never saw. Events of one write share one ``seq``; seqs increase write after write.
"""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.realtime.test_subscriptions_helpers import add_reader, registered, wait_dispatched, wait_until
from tests.realtime.wsclient import WS
from tests.support.examples import examples
from tests.support.live import LiveServer
from tests.support.seed import seed_messages
from tests.support.servers import module_server

USERS = ("ann", "bob", "cy")
TEXTS = ("a", "b", "c")
RULES: dict[str, dict[str, Any] | None] = {
    "all": None,
    "bob-only": {"user": {"_eq": "bob"}},
    "ab-text": {"text": {"_in": ["a", "b"]}},
    "bob-or-c": {"_or": [{"user": {"_eq": "bob"}}, {"text": {"_eq": "c"}}]},
}
FILTERS: tuple[dict[str, Any] | None, ...] = (None, {"text": {"_neq": "a"}}, {"user": {"_in": ["ann", "cy"]}})
FIELDS = "id,user,text"


def _readers(server: LiveServer) -> None:
    for name, rule in RULES.items():
        add_reader(server, f"prop-{name}", rule)


# The heartbeat answers client pings (``Watcher.received``); its own pings never come during a test.
srv = module_server("prop", env={"WEBSOCKETS_HEARTBEAT_PERIOD": "600"}, seed=[seed_messages, _readers])


class Watcher:
    """One subscriber: its socket, and a REST client reading as it with its subscription filter."""

    def __init__(self, srv: LiveServer, rule: str, filter: dict[str, Any] | None, uid: str) -> None:
        token = f"prop-{rule}"
        self.filter = filter
        self.rest = srv.client(token=token)
        self.ws = WS(srv.ws_url)
        assert self.ws.request({"type": "auth", "access_token": token})["status"] == "ok"
        query: dict[str, Any] = {"fields": FIELDS.split(",")}
        if filter is not None:
            query["filter"] = filter
        init = self.ws.request({"type": "subscribe", "collection": "messages", "query": query, "uid": uid})
        assert init["event"] == "init", init
        self.seq = init["seq"]

    def visible(self) -> dict[str, dict[str, Any]]:
        params: dict[str, Any] = {"fields": FIELDS, "limit": -1}
        if self.filter is not None:
            import json

            params["filter"] = json.dumps(self.filter)
        response = self.rest.get("/items/messages", params=params)
        assert response.status_code == 200, response.text
        return {str(row["id"]): row for row in response.json()["data"]}

    def received(self) -> list[dict[str, Any]]:
        """The frames of the events dispatched so far (up to a ping's pong; 0.15 s of silence was no proof)."""
        frames: list[dict[str, Any]] = self.ws.until_pong()
        return frames

    def close(self) -> None:
        self.ws.close()
        self.rest.close()


def expected_frames(before: dict[str, Any], after: dict[str, Any], keys: list[str]) -> set[Any]:
    """The (event, keys, rows) this subscriber must get for a write touching ``keys``."""
    stay = [k for k in keys if k in before and k in after]
    enter = [k for k in keys if k not in before and k in after]
    leave = [k for k in keys if k in before and k not in after]

    def rows(ks: list[str]) -> tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]:
        return tuple(sorted((k, tuple(sorted(after[k].items()))) for k in ks))

    out = {("update", rows(stay)) if stay else None, ("create", rows(enter)) if enter else None}
    out.add(("delete", tuple(sorted((k, ()) for k in leave))) if leave else None)
    return {o for o in out if o is not None}


def actual(frame: dict[str, Any]) -> Any:
    if frame["event"] == "delete":
        return "delete", tuple(sorted((str(k), ()) for k in frame["data"]))
    rows = tuple(sorted((str(r["id"]), tuple(sorted(r.items()))) for r in frame["data"]))
    return frame["event"], rows


write_strategy = st.tuples(
    st.sampled_from(["create", "update_one", "update_many", "delete_one", "delete_many"]),
    st.sampled_from(USERS),
    st.sampled_from(TEXTS),
    st.integers(0, 1000),
)


@settings(max_examples=examples(8), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    subscribers=st.lists(
        st.tuples(st.sampled_from(sorted(RULES)), st.sampled_from(range(len(FILTERS)))), min_size=1, max_size=3
    ),
    writes=st.lists(write_strategy, min_size=1, max_size=6),
)
def test_each_subscriber_gets_exactly_what_rest_reads_imply(
    srv: LiveServer, subscribers: list[tuple[str, int]], writes: list[tuple[str, str, str, int]]
) -> None:
    watchers = [Watcher(srv, rule, FILTERS[f], f"w{i}") for i, (rule, f) in enumerate(subscribers)]
    try:
        with srv.client() as admin:
            for write in writes:
                befores = [w.visible() for w in watchers]
                keys = perform(admin, write)
                wait_dispatched(srv)
                for watcher, before in zip(watchers, befores, strict=True):
                    after = watcher.visible()
                    frames = watcher.received()
                    assert {actual(f) for f in frames} == expected_frames(before, after, keys), (write, frames)
                    assert len(frames) == len({actual(f) for f in frames})
                    seqs = {f["seq"] for f in frames}
                    assert len(seqs) <= 1 and all(s > watcher.seq for s in seqs)
                    watcher.seq = max(seqs, default=watcher.seq)
    finally:
        for watcher in watchers:
            watcher.close()
        wait_until(lambda: registered(srv) == 0)


def perform(admin: httpx.Client, write: tuple[str, str, str, int]) -> list[str]:
    """Run one write as admin; the keys it touched, as strings."""
    action, user, text, pick = write
    ids = [row["id"] for row in admin.get("/items/messages", params={"fields": "id", "limit": -1}).json()["data"]]
    if action == "create" or not ids:
        return [str(admin.post("/items/messages", json={"user": user, "text": text}).json()["data"]["id"])]
    chosen = sorted({ids[pick % len(ids)], ids[(pick * 7 + 3) % len(ids)]})
    single = chosen[:1]
    calls = {
        "update_one": lambda: admin.patch(f"/items/messages/{single[0]}", json={"user": user, "text": text}),
        "update_many": lambda: admin.patch("/items/messages", json={"keys": chosen, "data": {"text": text}}),
        "delete_one": lambda: admin.delete(f"/items/messages/{single[0]}"),
        "delete_many": lambda: admin.request("DELETE", "/items/messages", json=chosen),
    }
    response = calls[action]()
    assert response.status_code in (200, 204), response.text
    touched = chosen if action.endswith("many") else single
    return [str(k) for k in touched]
