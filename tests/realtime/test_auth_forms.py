"""``auth`` frames that carry more than one credential form (spec §3.2): Directus uses every form present, in
its order (e-mail/password, then ``refresh_token``, then ``access_token``, a later access token replacing an
earlier one), and fails the auth when any of them fails."""

from __future__ import annotations

from typing import Any

import pytest

from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_EMAIL, ADMIN_TOKEN, LiveServer
from tests.support.servers import NO_HEARTBEAT, module_server

srv = module_server("auth-forms", env=NO_HEARTBEAT)

HANDSHAKE_FAILED = {
    "type": "auth",
    "status": "error",
    "error": {"code": "AUTH_FAILED", "message": "Authentication handshake failed."},
}


def _refresh_token(server: LiveServer) -> str:
    return str(server.admin_login()["refresh_token"])


@pytest.mark.parametrize(
    "extra",
    [
        {"email": ADMIN_EMAIL, "password": "wrong-password"},
        {"refresh_token": "not-a-refresh-token"},
        {"refresh_token": 5},
    ],
    ids=["wrong-password", "unknown-refresh-token", "refresh-token-not-a-string"],
)
def test_a_good_token_beside_a_failing_form_fails(srv: LiveServer, extra: dict[str, Any]) -> None:
    """Before, the access token alone decided and the socket opened."""
    with WS(srv.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN, **extra, "uid": "u"}) == HANDSHAKE_FAILED
        assert ws.wait_closed() == 1005


def test_a_refresh_token_beside_an_access_token_is_rotated(srv: LiveServer) -> None:
    """Both forms are used: the refresh token is rotated (the ok reply carries the new one, the old one is dead
    afterwards) and the access token decides who the socket is. Before, the refresh token was ignored."""
    old = _refresh_token(srv)
    with WS(srv.ws_url) as ws:
        ok = ws.request({"type": "auth", "access_token": ADMIN_TOKEN, "refresh_token": old})
        assert ok["status"] == "ok" and isinstance(ok.get("refresh_token"), str) and ok["refresh_token"] != old
    with srv.client(token=None) as http:
        assert http.post("/auth/refresh", json={"refresh_token": old}).status_code == 401
        assert http.post("/auth/refresh", json={"refresh_token": ok["refresh_token"]}).status_code == 200
