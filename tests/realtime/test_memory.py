"""What an idle subscribed socket keeps on the server, over real sockets (see docs/realtime-events.md, Memory).

The server runs in this process (a uvicorn thread), so the tests can count its asyncio tasks and trace its
allocations: an idle socket keeps no asyncio task at all (its protocol is driven by the transport),
identical subscriptions share their query and snapshot objects, and Tidepool's own allocations per socket
stay within a budget.
"""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc
from contextlib import ExitStack
from pathlib import Path

import httpx

from tests.realtime.wsclient import WS, rejected_status
from tests.support.live import ADMIN_TOKEN, LiveServer
from tests.support.seed import seed_messages
from tests.support.servers import NO_HEARTBEAT, module_server
from tidepool.realtime.subscriptions import SubState

TIDEPOOL_DIR = str(Path(__file__).resolve().parents[2] / "tidepool")
SUBSCRIBE = {"type": "subscribe", "collection": "messages", "query": {"fields": ["*"], "limit": 1}}
# Tidepool's own allocations per idle subscribed socket (measured ~2.5 KB; it was ~12 KB before the
# memory work). The budget leaves room for noise, not for a lost optimisation.
OWN_BYTES_BUDGET = 4096


def _hello(server: LiveServer) -> None:
    with server.client() as admin:
        admin.post("/items/messages", json={"text": "hello", "user": "a"}).raise_for_status()


srv = module_server("memory", env=NO_HEARTBEAT, seed=[seed_messages, _hello])


def subscribed(server: LiveServer, count: int, stack: ExitStack) -> list[WS]:
    sockets = []
    for n in range(count):
        ws = stack.enter_context(WS(f"{server.ws_url}?access_token={ADMIN_TOKEN}"))
        init = ws.request({**SUBSCRIBE, "uid": f"s{n}"})
        assert init["event"] == "init"
        sockets.append(ws)
    return sockets


def task_count(server: LiveServer) -> int:
    async def count() -> int:
        return len(asyncio.all_tasks())

    return server.run(count())


def settled_task_count(server: LiveServer, expected: int) -> int:
    """Tasks on the server loop once short-lived ones (writers, lanes, HTTP) have ended."""
    deadline = time.monotonic() + 5
    while (tasks := task_count(server)) > expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return tasks


def test_an_idle_subscribed_socket_keeps_no_task(srv: LiveServer) -> None:
    before = task_count(srv)
    with ExitStack() as stack:
        sockets = subscribed(srv, 20, stack)
        # no ASGI task, reader, close watcher or writer per socket: only the tasks that were there before
        assert settled_task_count(srv, before) == before
        sockets[0].send({"type": "items", "collection": "messages", "action": "read", "uid": "r"})
        assert sockets[0].recv_until(lambda f: f.get("uid") == "r")["type"] == "items"
        assert settled_task_count(srv, before) == before


def test_identical_subscriptions_share_their_query_and_snapshot(srv: LiveServer) -> None:
    with ExitStack() as stack:
        subscribed(srv, 10, stack)
        other = stack.enter_context(WS(f"{srv.ws_url}?access_token={ADMIN_TOKEN}"))
        other.request({"type": "subscribe", "collection": "messages", "query": {"fields": ["id"]}})
        subs = srv.app.state.realtime.subscriptions.subscriptions_for("messages")
        assert len(subs) == 11
        assert len({id(sub.shape) for sub in subs}) == 2
        assert len({id(sub.query) for sub in subs}) == 2
        assert len({id(sub.snapshot_keys) for sub in subs if sub.query.limit == 1}) == 1
        assert all(sub.state is SubState.LIVE and sub.buffer is None for sub in subs)  # no buffer kept once live


def test_own_allocations_per_idle_subscribed_socket_stay_within_budget(srv: LiveServer) -> None:
    count = 60
    with ExitStack() as warm:
        subscribed(srv, 5, warm)  # first-use caches (permissions, read plans) are not per socket
    base = task_count(srv)
    with ExitStack() as stack:
        gc.collect()
        tracemalloc.start(1)
        try:
            before = tracemalloc.take_snapshot()
            subscribed(srv, count, stack)
            settled_task_count(srv, base)
            gc.collect()
            after = tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
        only = [tracemalloc.Filter(True, TIDEPOOL_DIR + "/*")]
        diff = after.filter_traces(only).compare_to(before.filter_traces(only), "filename")
        per_socket = sum(stat.size_diff for stat in diff) / count
    detail = ", ".join(f"{Path(s.traceback[0].filename).name} {s.size_diff / count:.0f}" for s in diff[:6])
    assert per_socket < OWN_BYTES_BUDGET, f"{per_socket:.0f} B per socket: {detail}"


def test_http_and_other_paths_still_take_the_starlette_stack(srv: LiveServer) -> None:
    response = httpx.get(f"{srv.url}{srv.settings.WEBSOCKETS_REST_PATH}")
    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "ROUTE_NOT_FOUND"
    assert rejected_status(f"ws://127.0.0.1:{srv.port}/not-a-websocket") == 403
    assert rejected_status(f"{srv.ws_url}?access_token=wrong") == 401
