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
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from tests.realtime.wsclient import WS
from tests.support.examples import examples
from tests.support.live import ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_TOKEN, LiveServer, live_server, scratch_database
from tests.support.seed import USER_EMAIL, USER_PASSWORD, USER_TOKEN, seed_messages

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
    """The socket still works: a ``ping`` gets its ``pong``, and a marker on each lane (an ``unsubscribe`` of an
    unknown uid, an ``items`` read) gets its reply, so every job ``sent`` queued has run (and logged, if it
    failed) before the caller looks at the log; every frame received meanwhile is checked."""
    ws.send({"type": "ping", "uid": "alive"})
    ws.send({"type": "unsubscribe", "uid": "alive-sub"})
    ws.send({"type": "items", "collection": "messages", "action": "read", "query": {"limit": 1}, "uid": "alive-items"})
    waiting = {"alive", "alive-sub", "alive-items"}
    while waiting:
        frame = checked(ws.conn.recv(timeout=timeout), sent)
        marker = frame.get("uid") if isinstance(frame, dict) else None
        if marker in waiting and frame["type"] == {"alive": "pong", "alive-sub": "subscription"}.get(marker, "items"):
            waiting.discard(frame["uid"])


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
    """``item`` past every integer column (2**70, 1e300, 1.5) is a FORBIDDEN reply with the uid, as a read of
    that key is and as Directus answers; the init read had handed the raw value to the driver (OverflowError:
    a traceback in the log and no reply at all)."""
    captured.take()
    with WS(handshake_server.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": USER_TOKEN})["status"] == "ok"
        for item in ("1180591620717411303424", "1e300", "1.5"):
            ws.send('{"type":"subscribe","collection":"messages","uid":"s","item":' + item + "}")
            reply = checked(ws.conn.recv(timeout=10), item)
            assert reply == {  # Directus 12.4.1's answer to each of these items, word for word
                "type": "subscribe",
                "status": "error",
                "error": {"code": "FORBIDDEN", "message": "You don't have permission to access this."},
                "uid": "s",
            }
            answers_ping(ws, item)
    assert captured.take() == []


def test_a_long_list_of_wrong_keys_gets_one_short_error(handshake_server: LiveServer, captured: Captured) -> None:
    """``ids`` of 100,000 objects (a 700 KB frame) is one ``INVALID_PAYLOAD`` naming the first bad element
    with the uid. Every element used to get an issue in each alternative of the ``items`` union: a 40 MB error
    reply after about two seconds of validation on the event loop."""
    captured.take()
    with WS(handshake_server.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": USER_TOKEN})["status"] == "ok"
        ids = [1, *[{}] * 100_000]
        for action in ("read", "delete"):
            frame = {"type": "items", "collection": "messages", "action": action, "ids": ids, "uid": action}
            ws.send(frame)
            raw = ws.recv_raw(timeout=10)
            assert len(raw) < 2000, (action, len(raw))
            reply = checked(raw, action)
            assert reply["uid"] == action and reply["error"]["code"] == "INVALID_PAYLOAD", reply
            message = reply["error"]["message"]
            assert 'received object at "ids[1]"' in message and "ids[2]" not in message, reply
            answers_ping(ws, action)
    assert captured.take() == []


# --------------------------------------------------------------------------------------- strategies

TYPES = ("auth", "subscribe", "unsubscribe", "items", "ping", "pong")
UIDS: st.SearchStrategy[object] = st.sampled_from(
    ["s", "t", 1, "1", 1.0, 0, "", 2**70, -(2**70), 1e300, None, True, [], {}, {"a": 1}, "u" * 2000]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["messages", "secrets", "directus_users", "directus_fields", "*", "*.*", "$CURRENT_USER"]),
    st.sampled_from(["create", "read", "update", "delete", "init", "id", "text", "fields=id", '{"id":1}']),
    st.integers(min_value=1000, max_value=300_000).map(lambda n: "x" * n),  # huge, under MAX_PAYLOAD_SIZE
)
ANY_JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(["id", "text", "user", "fields", "filter", "limit", "_eq", "_in"]), inner),
    ),
    max_leaves=12,
)
DEEP = st.integers(min_value=1, max_value=3000).map(lambda n: json.loads("[" * min(n, 900) + "]" * min(n, 900)))
KEY_VALUES: dict[str, Any] = {
    "uid": UIDS,
    "collection": st.one_of(st.sampled_from(["messages", "secrets", "directus_users", "nope"]), ANY_JSON),
    "query": st.one_of(st.sampled_from([{}, {"fields": ["*"]}, {"limit": -1}, "fields=id", "{"]), ANY_JSON, DEEP),
    "event": st.one_of(st.sampled_from(["create", "update", "delete", "init", "CREATE"]), ANY_JSON),
    "item": st.one_of(st.sampled_from([1, "1", 2**70, 1e300, 1.5, -1, "abc"]), ANY_JSON),
    "action": st.one_of(st.sampled_from(["create", "read", "update", "delete", "upsert"]), ANY_JSON),
    "data": st.one_of(st.sampled_from([{"text": "fz"}, [{"text": "fz"}], {"id": 2**70}, {"text": 2**70}]), ANY_JSON),
    "id": st.one_of(st.sampled_from([1, "1", 2**70, 1e300, 1.5, 0]), ANY_JSON),
    "ids": st.one_of(st.lists(st.sampled_from([1, "1", 2**70, 1e300, 1.5, -1, "abc"]), max_size=4), ANY_JSON),
    "keys": ANY_JSON,
    "access_token": st.one_of(st.sampled_from([ADMIN_TOKEN, USER_TOKEN, "bad", ""]), ANY_JSON),
    "email": st.one_of(st.sampled_from([ADMIN_EMAIL, USER_EMAIL, "a@b.co", "not-an-email"]), ANY_JSON),
    "password": st.one_of(st.sampled_from([ADMIN_PASSWORD, USER_PASSWORD, "wrong"]), ANY_JSON),
    "refresh_token": st.one_of(st.sampled_from(["bad", ""]), ANY_JSON),
}
MESSAGES = st.builds(
    lambda type_, keys: {"type": type_, **keys},
    st.one_of(st.sampled_from(TYPES), st.text(max_size=10), ANY_JSON),
    st.lists(st.sampled_from(sorted(KEY_VALUES)), unique=True, max_size=6).flatmap(
        lambda names: st.fixed_dictionaries({name: KEY_VALUES[name] for name in names})
    ),
)
# Well-formed messages on one uid, so that subscribes, unsubscribes, writes that fire events and re-auths
# (good, as another user, bad) interleave on the same subscription.
CHOREOGRAPHY = [
    {"type": "subscribe", "collection": "messages", "uid": "s"},
    {"type": "subscribe", "collection": "messages", "uid": "s", "item": 1, "query": {"fields": ["id"]}},
    {"type": "subscribe", "collection": "messages", "uid": "s", "event": "create"},
    {"type": "subscribe", "collection": "secrets", "uid": "s"},
    {"type": "unsubscribe", "uid": "s"},
    {"type": "unsubscribe"},
    {"type": "items", "collection": "messages", "action": "create", "data": {"text": "fz"}, "uid": "s"},
    {"type": "items", "collection": "messages", "action": "update", "id": 1, "data": {"text": "fz"}},
    {"type": "auth", "access_token": ADMIN_TOKEN, "uid": "s"},
    {"type": "auth", "access_token": USER_TOKEN},
    {"type": "auth", "email": USER_EMAIL, "password": USER_PASSWORD},
    {"type": "auth", "access_token": "bad", "uid": "s"},
    {"type": "pong"},
]
FRAMES: st.SearchStrategy[str | bytes] = st.one_of(
    st.sampled_from(CHOREOGRAPHY).map(json.dumps),
    MESSAGES.map(json.dumps),
    MESSAGES.map(lambda m: json.dumps(m).encode()),  # the same as a binary frame
    st.text(max_size=40),  # mostly not JSON
    st.binary(max_size=40),  # mostly not UTF-8
    ANY_JSON.map(json.dumps),  # scalars and arrays
    st.integers(min_value=1, max_value=20_000).map(lambda n: "[" * n + "]" * n),  # deeper than any parser
    st.integers(min_value=1, max_value=20_000).map(lambda n: '{"type":"ping","a":' + "[" * n + "]" * n + "}"),
)
FUZZ = settings(max_examples=examples(100), deadline=None, suppress_health_check=list(HealthCheck))


def is_auth(frame: str | bytes) -> bool:
    try:
        message = json.loads(frame)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python's parser goes
        return False
    return isinstance(message, dict) and message.get("type") == "auth"


@pytest.fixture(scope="module", params=["handshake", "public", "strict"])
def mode(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, LiveServer]]:
    for server in mode_server(tmp_path_factory, request.param):
        yield request.param, server


def open_socket(mode: str, server: LiveServer, authenticated: bool) -> WS:
    """A socket of ``mode``: authenticated as the messages user, or as far as the mode lets it be without."""
    if mode == "strict" or (authenticated and mode == "public"):
        return WS(f"{server.ws_url}?access_token={USER_TOKEN}")
    ws = WS(server.ws_url)
    if authenticated:
        assert ws.request({"type": "auth", "access_token": USER_TOKEN}) == {"type": "auth", "status": "ok"}
    return ws


# Frames that once failed (kept so that every run sends them): an ``item`` no key column can hold.
ITEM_TOO_BIG = '{"type":"subscribe","collection":"messages","uid":"s","item":1180591620717411303424}'


@FUZZ
@given(frames=st.lists(FRAMES, min_size=1, max_size=6), authenticated=st.booleans())
@example(frames=[ITEM_TOO_BIG], authenticated=True)
@example(frames=[ITEM_TOO_BIG.replace("1180591620717411303424", "1e300")], authenticated=True)
def test_random_frames(
    mode: tuple[str, LiveServer], captured: Captured, frames: list[str | bytes], authenticated: bool
) -> None:
    name, server = mode
    with WS(f"{server.ws_url}?access_token={ADMIN_TOKEN}") as other, open_socket(name, server, authenticated) as ws:
        handshaking = name == "handshake" and not authenticated
        for frame in frames:
            ws.send(frame)
            try:
                if handshaking:  # the first frame must be a good auth, else AUTH_FAILED (no uid) and a close
                    reply = checked(ws.conn.recv(timeout=10), frame)
                    if reply.get("status") == "error":
                        assert reply["type"] == "auth" and "uid" not in reply, (frame, reply)
                        assert ws.wait_closed(10) == 1005
                        break
                    handshaking = False
                answers_ping(ws, frame)
            except ConnectionClosed:  # only a failed auth closes a socket, and only outside public mode
                assert is_auth(frame) and name != "public", frame
                break
        answers_ping(other, frames)
    assert captured.take() == []


@settings(FUZZ, max_examples=examples(40))
@given(frames=st.lists(FRAMES, min_size=1, max_size=12).filter(lambda frames: not any(map(is_auth, frames))))
def test_pipelined_frames(mode: tuple[str, LiveServer], captured: Captured, frames: list[str | bytes]) -> None:
    """The same frames sent at once, without waiting for replies, as an admin: every lane's job runs against
    the others' (a subscribe being registered while an unsubscribe of its uid and writes that fire its
    events are queued) and the socket still answers everything afterwards."""
    _, server = mode
    with WS(f"{server.ws_url}?access_token={ADMIN_TOKEN}") as ws:
        for frame in frames:
            ws.send(frame)
        answers_ping(ws, frames)
    assert captured.take() == []


def test_subscribe_query_must_be_a_record(handshake_server: LiveServer) -> None:
    """A subscribe ``query`` that is not an object fails Directus's zod schema (``z.record``) word for word,
    ``null`` included and joined with the message's other issues, as Directus 12.4.1 answers."""
    record = 'Invalid input: expected record, received {} at \\"query\\"'
    with WS(f"{handshake_server.ws_url}?access_token={USER_TOKEN}") as ws:
        for query, kind in (
            ("null", "null"),
            ("5", "number"),
            ("true", "boolean"),
            ('"abc"', "string"),
            ("[]", "array"),
        ):
            ws.send('{"type":"subscribe","collection":"messages","uid":"s","query":' + query + "}")
            assert ws.recv_raw() == (
                '{"type":"subscribe","status":"error","error":{"code":"INVALID_PAYLOAD",'
                f'"message":"Validation error: {record.format(kind)}"}}}}'
            )
        ws.send('{"type":"subscribe","collection":5,"uid":"s","query":"abc"}')
        assert ws.recv()["error"]["message"] == (
            'Validation error: Invalid input: expected string, received number at "collection"; '
            'Invalid input: expected record, received string at "query"'
        )
        answers_ping(ws, "record")
