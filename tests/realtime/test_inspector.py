"""``GET /tidepool/realtime``, the realtime inspector's snapshot: admins only; it shows each open socket
(who, subscriptions, send-queue depth), subscriptions per collection grouped by the event read they share,
and ``seq`` moving as events are dispatched."""

from __future__ import annotations

from typing import Any

import httpx

from tests.realtime.wsclient import WS
from tests.support.live import LiveServer
from tests.support.seed import USER_TOKEN, seed_guide


def _snapshot(admin: httpx.Client) -> dict[str, Any]:
    response = admin.get("/tidepool/realtime")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def _subscribe(ws: WS, query: dict[str, Any], uid: str) -> None:
    ws.send({"type": "auth", "access_token": USER_TOKEN})
    assert ws.recv()["status"] == "ok"
    init = ws.request({"type": "subscribe", "collection": "messages", "query": query, "uid": uid})
    assert init["event"] == "init", init


def test_the_inspector_shows_sockets_groups_and_seq(server: LiveServer, admin: httpx.Client) -> None:
    seed = seed_guide(admin)
    before = _snapshot(admin)
    assert before["sockets"] == [] and before["collections"] == []
    with WS(server.ws_url) as one, WS(server.ws_url) as two, WS(server.ws_url) as three:
        _subscribe(one, {"fields": ["*"]}, "a")
        _subscribe(two, {"fields": ["*"]}, "b")
        _subscribe(three, {"fields": ["id", "text"], "filter": {"user": {"_eq": "ann"}}}, "c")
        admin.post("/items/messages", json={"text": "hi", "user": "ann"}).raise_for_status()
        for ws in (one, two, three):
            assert ws.recv()["event"] == "create"
        now = _snapshot(admin)
    assert len(now["sockets"]) == 3
    assert [(s["user"], s["admin"], s["subscriptions"], s["queued"]) for s in now["sockets"]] == [
        (seed.user, False, 1, 0)
    ] * 3
    groups = sorted(now["collections"][0]["groups"], key=lambda g: g["subscriptions"])
    assert now["collections"][0]["collection"] == "messages"
    assert groups == [
        {"query": {"fields": ["id", "text"], "filter": {"user": {"_eq": "ann"}}}, "subscriptions": 1},
        {"query": {"fields": ["*"]}, "subscriptions": 2},
    ]
    assert now["seq"]["dispatched"] > before["seq"]["dispatched"]
    assert now["seq"]["head"] >= now["seq"]["dispatched"]
    assert now["limits"]["send_queue"] == server.settings.WEBSOCKETS_SEND_QUEUE_LIMIT


def test_only_admins_may_look(server: LiveServer, admin: httpx.Client, anon: httpx.Client) -> None:
    seed_guide(admin)
    for headers in ({}, {"Authorization": f"Bearer {USER_TOKEN}"}):
        response = anon.get("/tidepool/realtime", headers=headers)
        assert response.status_code == 403
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
