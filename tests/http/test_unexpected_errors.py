"""An unexpected error (a bug, or a database error nothing maps) answered as Directus answers it.

Directus sends ``{"errors":[{"message":"An unexpected error occurred.","extensions":{"code":
"INTERNAL_SERVER_ERROR"}}]}`` with status 500 and keeps serving the connection. Starlette's outermost
middleware re-raises an exception after answering it, so uvicorn logged a second traceback and closed the
keep-alive connection. The error is triggered for real: a column dropped behind the server's back (as another
process would, before the schema reloads), so the read fails inside the database driver.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from tests.http.accounts_support import ok
from tests.realtime.test_dispatch_groups import drop_column_behind_the_servers_back
from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_TOKEN, LiveServer
from tests.support.seed import create_messages
from tests.support.servers import module_server

UNEXPECTED = {"errors": [{"message": "An unexpected error occurred.", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}


def _broken(server: LiveServer) -> None:
    with server.client() as admin:
        create_messages(admin, "broken")
        ok(admin.post("/items/broken", json={"text": "a", "number": 1}))
    drop_column_behind_the_servers_back(server, "broken", "number")


# The schema is not reloaded under the tests (CACHE_SYNC_INTERVAL=0): the dropped column stays known.
srv = module_server("unexpected", env={"CACHE_SYNC_INTERVAL": "0"}, seed=_broken)


@pytest.fixture
def tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every log record with a traceback, uvicorn's own included (its logger does not propagate to the root)."""
    uvicorn_error = logging.getLogger("uvicorn.error")
    uvicorn_error.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        uvicorn_error.removeHandler(caplog.handler)


def peer(response: httpx.Response) -> object:
    """The client side (address, port) of the TCP connection that carried ``response``."""
    return response.extensions["network_stream"].get_extra_info("client_addr")


def test_an_unexpected_error_is_a_500_on_the_same_connection_logged_once(
    srv: LiveServer, tracebacks: pytest.LogCaptureFixture
) -> None:
    with srv.client() as admin:
        before = admin.get("/server/ping")
        failed = admin.get("/items/broken", params={"fields": "id,number"})
        assert failed.status_code == 500
        assert failed.json() == UNEXPECTED
        after = admin.get("/server/ping")
        assert after.status_code == 200
        assert peer(before) == peer(failed) == peer(after), "the keep-alive connection was closed"
        again = admin.get("/items/broken", params={"fields": "id,number"})
        assert (again.status_code, again.json()) == (500, UNEXPECTED)
        assert peer(again) == peer(before)
    logged = [r for r in tracebacks.records if r.exc_info is not None]
    assert len(logged) == 1, [r.getMessage() for r in logged]
    assert "Traceback" not in failed.text


def test_an_unexpected_error_in_a_websocket_read_leaves_the_socket_usable(srv: LiveServer) -> None:
    with WS(srv.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        read = {"type": "items", "collection": "broken", "action": "read", "query": {"fields": ["id", "number"]}}
        failed = ws.request({**read, "uid": "x"})
        assert failed == {
            "type": "items",
            "status": "error",
            "error": {"code": "INTERNAL_SERVER_ERROR", "message": "An unexpected error occurred."},
            "uid": "x",
        }
        fine = ws.request({**read, "query": {"fields": ["id", "text"]}, "uid": "y"})
        assert fine == {"type": "items", "data": [{"id": 1, "text": "a"}], "uid": "y"}
