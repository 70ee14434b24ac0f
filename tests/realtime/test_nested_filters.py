"""A filter nested deeper than ``MAX_FILTER_NESTING`` (100 levels of objects and arrays) is ``INVALID_QUERY``
with the uid on the socket and 400 over REST; one at the bound is read, subscribed to and its events sent.

Found by a hostile run: a 400-level ``_and`` chain (8 KB, far under ``MAX_QUERY_COMPLEXITY``) ran out of Python's
stack while the filter was normalized: an ``items`` read answered ``INTERNAL_SERVER_ERROR``, a ``subscribe``
nothing at all, REST a 500, each with a ``RecursionError`` traceback in the log.
"""

from __future__ import annotations

import json
from typing import Any

from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_TOKEN, LiveServer
from tests.support.seed import seed_messages
from tests.support.servers import NO_HEARTBEAT, module_server

srv = module_server("nested-filters", env=NO_HEARTBEAT, seed=seed_messages)
TOO_DEEP = {
    "code": "INVALID_QUERY",
    "message": 'Invalid query. "filter" is nested too deeply: more than 100 levels.',
}


def nested(groups: int, sibling: bool = True) -> dict[str, Any]:
    """``groups`` alternating ``_or``/``_and`` groups around ``{"id": {"_gt": 0}}`` (2 * groups + 2 levels), each
    with a second condition beside the nested group unless ``sibling`` is false (then 400 groups stay under
    ``MAX_QUERY_COMPLEXITY``)."""
    node: dict[str, Any] = {"id": {"_gt": 0}}
    for level in range(groups):
        members = [node, {"id": {"_gt": -level}}] if sibling else [node]
        node = {"_and" if level % 2 else "_or": members}
    return node


def test_a_filter_past_the_nesting_bound_is_invalid_query(srv: LiveServer) -> None:
    with WS(srv.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        for filter_ in (nested(50), nested(400, sibling=False)):
            query = {"filter": filter_}
            read = {"type": "items", "collection": "messages", "action": "read", "query": query, "uid": "r"}
            assert ws.request(read, timeout=10) == {"type": "items", "status": "error", "error": TOO_DEEP, "uid": "r"}
            subscribe = {"type": "subscribe", "collection": "messages", "query": query, "uid": "s"}
            refused = {"type": "subscribe", "status": "error", "error": TOO_DEEP, "uid": "s"}
            assert ws.request(subscribe, timeout=10) == refused
    with srv.client() as admin:
        response = admin.get("/items/messages", params={"filter": json.dumps(nested(400, sibling=False))})
        assert response.status_code == 400 and response.json()["errors"][0]["message"] == TOO_DEEP["message"]


def test_a_filter_at_the_bound_is_served_and_its_events_sent(srv: LiveServer) -> None:
    query = {"fields": ["id", "text"], "filter": nested(49)}
    with WS(srv.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        assert (
            ws.request({"type": "subscribe", "collection": "messages", "query": query, "uid": "s"})["event"] == "init"
        )
        create = {"type": "items", "collection": "messages", "action": "create", "data": {"text": "deep"}, "uid": "c"}
        frames = [ws.request(create, timeout=10), ws.recv(timeout=10)]
        event = next(frame for frame in frames if frame["type"] == "subscription")
        assert event["event"] == "create" and event["data"][0]["text"] == "deep", frames
