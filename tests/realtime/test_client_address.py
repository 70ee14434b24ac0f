"""A socket's client address is the one its REST requests get: behind a trusted proxy (uvicorn's
``--forwarded-allow-ips``, 127.0.0.1 by default, which is where these tests connect from) it is the
``X-Forwarded-For`` client, else the TCP peer. Policies' ``ip_access`` reads it on both paths, so a policy
limited to a network admits the same callers over REST and over the WebSocket."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.http.accounts_support import make_policy, make_user
from tests.realtime.wsclient import WS
from tests.support.live import LiveServer, live_server, scratch_database
from tests.support.servers import messages_collection, module_server

srv = module_server("client-address", seed=messages_collection)

READ_ALL = {"collection": "messages", "action": "read", "fields": ["*"], "permissions": {}}
FAR_CLIENT = "203.0.113.7"


@pytest.fixture(scope="module")
def far_token(srv: LiveServer) -> str:
    """A user whose only policy admits 203.0.113.0/24."""
    with srv.client() as admin:
        _, token = make_user(admin, policies=(make_policy(admin, READ_ALL, ip_access=["203.0.113.0/24"]),))
    return token


def socket_read(srv: LiveServer, token: str, headers: dict[str, str]) -> dict[str, object]:
    with WS(f"{srv.ws_url}?access_token={token}", additional_headers=headers) as ws:
        reply: dict[str, object] = ws.request({"type": "items", "collection": "messages", "action": "read"})
        return reply


@pytest.mark.parametrize(
    ("headers", "admitted"),
    [({"X-Forwarded-For": FAR_CLIENT}, True), ({}, False), ({"X-Forwarded-For": "198.51.100.1"}, False)],
    ids=["forwarded-inside", "peer-outside", "forwarded-outside"],
)
def test_rest_and_socket_see_the_same_client(
    srv: LiveServer, far_token: str, headers: dict[str, str], admitted: bool
) -> None:
    rest = httpx.get(f"{srv.url}/items/messages", headers={"Authorization": f"Bearer {far_token}", **headers})
    assert (rest.status_code == 200) is admitted, rest.text
    reply = socket_read(srv, far_token, headers)
    assert (reply.get("status") != "error") is admitted, reply


def test_a_forwarded_header_from_an_untrusted_peer_is_ignored(tmp_path: Path) -> None:
    """With no proxy trusted (``FORWARDED_ALLOW_IPS`` empty), ``X-Forwarded-For`` cannot claim an address."""
    with scratch_database(tmp_path) as db_env, live_server(db_env, forwarded_allow_ips="") as server:
        messages_collection(server)
        with server.client() as admin:
            _, token = make_user(admin, policies=(make_policy(admin, READ_ALL, ip_access=["203.0.113.0/24"]),))
        headers = {"X-Forwarded-For": FAR_CLIENT}
        rest = httpx.get(f"{server.url}/items/messages", headers={"Authorization": f"Bearer {token}", **headers})
        assert rest.status_code == 403, rest.text
        assert socket_read(server, token, headers).get("status") == "error"
