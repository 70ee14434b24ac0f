"""The WebSocket path's own protocol (``tidepool/realtime/wire.py``) at the frame level, over real sockets.

A raw TCP socket driven by ``websockets``' sans-I/O ``ClientProtocol`` lets each test shape exactly the
bytes the server gets: a malformed handshake, a message split into continuation frames, control frames in
between, a close from either side, a client that stops reading.
"""

from __future__ import annotations

import json
import socket
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

from tests.realtime.wsclient import WS, rejected_status
from tests.support.live import ADMIN_TOKEN, LiveServer, live_server, scratch_database
from tests.support.seed import seed_messages
from tests.support.servers import module_server

srv = module_server(
    "wire",
    env={"WEBSOCKETS_SEND_QUEUE_LIMIT": "8", "WEBSOCKETS_SEND_STALL_TIMEOUT": "1"},  # heartbeat on: pings get pongs
    seed=seed_messages,
)


class Raw:
    """One client connection: a blocking socket and the sans-I/O protocol that frames it."""

    def __init__(self, server: LiveServer, query: str = f"?access_token={ADMIN_TOKEN}", rcvbuf: int = 0) -> None:
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect(("127.0.0.1", server.port))
        self.sock.settimeout(10)
        self.protocol = ClientProtocol(parse_uri(server.ws_url + query))
        self.events: deque[Any] = deque()
        self.protocol.send_request(self.protocol.connect())
        self.flush()
        response = self.next(lambda event: isinstance(event, Response))
        assert isinstance(response, Response) and response.status_code == 101, response

    def flush(self) -> None:
        self.sock.sendall(b"".join(self.protocol.data_to_send()))

    def send(self, frame: Frame) -> None:
        self.protocol.send_frame(frame)
        self.flush()

    def next(self, wanted: Callable[[Any], bool]) -> Any:
        """The next event satisfying ``wanted`` (earlier ones are skipped); ``None`` once the server has closed
        the TCP connection."""
        while True:
            while self.events:
                event = self.events.popleft()
                if wanted(event):
                    return event
            data = self.sock.recv(65536)
            if data:
                self.protocol.receive_data(data)
            else:
                self.protocol.receive_eof()
            self.events.extend(self.protocol.events_received())
            if not data and not self.events:
                return None

    def message(self) -> Any:
        """The next text message, parsed."""
        frame = self.next(lambda event: isinstance(event, Frame) and event.opcode is Opcode.TEXT)
        assert frame is not None, "the server closed the connection"
        return json.loads(frame.data)

    def close(self) -> None:
        self.sock.close()


@contextmanager
def raw(server: LiveServer, **kwargs: Any) -> Iterator[Raw]:
    client = Raw(server, **kwargs)
    try:
        yield client
    finally:
        client.close()


def text(payload: str, fin: bool = True, opcode: Opcode = Opcode.TEXT) -> Frame:
    return Frame(opcode, payload.encode(), fin=fin)


def _http(server: LiveServer, request: bytes) -> bytes:
    """Send raw request bytes; everything the server answers until it closes the connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_malformed_handshake_is_a_plain_400(srv: LiveServer) -> None:
    path = srv.settings.WEBSOCKETS_REST_PATH.encode()
    answer = _http(
        srv,
        b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n",  # no Sec-WebSocket-Key
    )
    assert answer.startswith(b"HTTP/1.1 400 "), answer
    assert b"Sec-WebSocket-Accept" not in answer


def test_plain_http_on_the_path_and_elsewhere_is_untouched(srv: LiveServer) -> None:
    response = httpx.get(f"{srv.url}{srv.settings.WEBSOCKETS_REST_PATH}")
    assert response.status_code == 404 and response.json()["errors"][0]["extensions"]["code"] == "ROUTE_NOT_FOUND"
    assert httpx.get(f"{srv.url}/server/ping").text == "pong"
    with WS(f"{srv.ws_url}?access_token={ADMIN_TOKEN}") as ws:  # HTTP and WebSocket on one port, side by side
        assert ws.request({"type": "ping"}) == {"type": "pong"}
        assert httpx.get(f"{srv.url}/server/ping").text == "pong"


def test_another_websocket_path_goes_to_the_asgi_app(srv: LiveServer) -> None:
    """No route takes it there, so Starlette refuses it (403) and the refusal counts against nothing."""
    assert rejected_status(f"ws://127.0.0.1:{srv.port}/elsewhere?access_token={ADMIN_TOKEN}") == 403
    assert srv.app.state.websocket.reserved == 0


def test_a_message_in_continuation_frames_is_one_message(srv: LiveServer) -> None:
    with raw(srv) as client:
        message = json.dumps({"type": "ping", "uid": "in-three-parts"})
        client.send(text(message[:5], fin=False))
        client.send(Frame(Opcode.CONT, message[5:12].encode(), fin=False))
        client.send(Frame(Opcode.PING, b"between"))  # control frames may come between fragments
        client.send(Frame(Opcode.CONT, message[12:].encode(), fin=True))
        pong = client.next(lambda event: isinstance(event, Frame) and event.opcode is Opcode.PONG)
        assert pong.data == b"between"
        assert client.message() == {"type": "pong", "uid": "in-three-parts"}


def test_a_binary_message_is_read_as_utf8_text(srv: LiveServer) -> None:
    with raw(srv) as client:
        client.send(Frame(Opcode.BINARY, json.dumps({"type": "ping", "uid": "b"}).encode()))
        assert client.message() == {"type": "pong", "uid": "b"}


def test_invalid_utf8_text_closes_1007(srv: LiveServer) -> None:
    with raw(srv) as client:
        client.send(Frame(Opcode.TEXT, b'{"type":"ping","x":"\xff"}'))
        close = client.next(lambda event: isinstance(event, Frame) and event.opcode is Opcode.CLOSE)
        assert close is not None and Close.parse(close.data).code == 1007


def test_pipelined_messages_are_answered_in_order(srv: LiveServer) -> None:
    """Many messages in one TCP write: each is handled after the one before it (reading pauses meanwhile)."""
    with raw(srv) as client:
        for n in range(50):
            client.protocol.send_text(json.dumps({"type": "ping", "uid": n}).encode())
        client.flush()
        assert [client.message()["uid"] for _ in range(50)] == list(range(50))


def test_unsolicited_pong_is_ignored(srv: LiveServer) -> None:
    with raw(srv) as client:
        client.send(Frame(Opcode.PONG, b"nobody asked"))
        client.send(text(json.dumps({"type": "ping", "uid": 1})))
        assert client.message() == {"type": "pong", "uid": 1}


def test_a_close_from_the_client_is_answered_and_frees_the_socket(srv: LiveServer) -> None:
    hub = srv.app.state.websocket
    before = set(hub.sockets)
    with raw(srv) as client:
        (mine,) = set(hub.sockets) - before
        client.send(text(json.dumps({"type": "ping"})))
        assert client.message() == {"type": "pong"}
        client.protocol.send_close(1000, "bye")
        client.flush()
        echo = client.next(lambda event: isinstance(event, Frame) and event.opcode is Opcode.CLOSE)
        assert Close.parse(echo.data) == Close(1000, "bye")
        assert client.next(lambda event: False) is None  # then the server closes the TCP connection
    deadline = time.monotonic() + 5
    while mine in hub.sockets and time.monotonic() < deadline:
        time.sleep(0.02)
    assert mine not in hub.sockets and mine.finished


def test_a_close_from_the_server_waits_for_the_clients_close(srv: LiveServer) -> None:
    """A failed re-auth in ``handshake`` mode closes without a status: the close frame comes after the error
    reply, and the server keeps the connection until the client answers the close."""
    with raw(srv) as client:
        client.send(text(json.dumps({"type": "auth", "access_token": "wrong"})))
        assert client.message()["error"]["code"] == "AUTH_FAILED"
        close = client.next(lambda event: isinstance(event, Frame) and event.opcode is Opcode.CLOSE)
        assert close.data == b""  # no status: the client sees 1005, as against Directus
        client.flush()  # ClientProtocol echoes the close; the server then ends the TCP connection
        assert client.next(lambda event: False) is None


def test_a_client_that_stops_reading_is_dropped_and_delays_nobody(srv: LiveServer) -> None:
    """Its transport fills, then its own queue (8 entries here), then it is closed with 1013; meanwhile
    another socket's requests and the writer's events are served at once."""
    hub = srv.app.state.websocket
    create = {"type": "items", "collection": "messages", "action": "create"}
    with (
        WS(f"{srv.ws_url}?access_token={ADMIN_TOKEN}") as writer,
        WS(f"{srv.ws_url}?access_token={ADMIN_TOKEN}") as other,
    ):
        ids = [row["id"] for row in writer.request({**create, "data": [{"text": "y"} for _ in range(100)]})["data"]]
        before = set(hub.sockets)
        with raw(srv, rcvbuf=4096) as stalled:
            (client,) = set(hub.sockets) - before
            subscribe = {"type": "subscribe", "collection": "messages", "query": {"fields": ["text"]}, "uid": "s"}
            stalled.send(text(json.dumps(subscribe)))
            assert stalled.message()["event"] == "init"
            update = {"type": "items", "collection": "messages", "action": "update", "ids": ids}
            for n in range(400):  # events of ~20 KB each for the subscriber that no longer reads
                if client.closed:
                    break
                reply = writer.request({**update, "data": {"text": f"{n:03}" + "z" * 200}})
                assert reply.get("status") != "error", reply
                assert other.request({"type": "ping", "uid": n}) == {"type": "pong", "uid": n}
            assert client.closed
            close = stalled.next(lambda event: isinstance(event, Frame) and event.opcode is Opcode.CLOSE)
            assert close is not None and Close.parse(close.data) == Close(1013, "send queue overflow")


def test_a_close_stuck_behind_an_unread_queue_is_forced_out(srv: LiveServer) -> None:
    """A server-side close (here after a failed re-auth) waits behind the frames already queued; a peer that
    reads nothing would keep it there, and the socket open and counted, for ever. Once the queue makes no
    progress for ``WEBSOCKETS_SEND_STALL_TIMEOUT`` (1 s here) the close goes out ahead of it and the socket is
    released (before: never; it stayed open and counted, its close queued, until the peer went away)."""
    hub = srv.app.state.websocket
    with srv.client() as admin:
        rows = [{"text": "big " + "w" * 246} for _ in range(1000)]
        assert admin.post("/items/messages", json=rows, params={"fields": "id"}).status_code == 200
    # ~8 MB of reply: 30 aliases of a 250-character text, 1000 rows; more than the loopback buffers hold
    alias = {f"t{n}": "text" for n in range(30)}
    read = {"type": "items", "collection": "messages", "action": "read", "uid": "big"}
    query = {"filter": {"text": {"_starts_with": "big "}}, "fields": ["id", *alias], "alias": alias, "limit": -1}
    before = set(hub.sockets)
    with raw(srv, rcvbuf=4096) as stalled:
        (client,) = set(hub.sockets) - before
        stalled.send(text(json.dumps({**read, "query": query})))
        deadline = time.monotonic() + 20
        while not client._wire.paused:  # the reply fills the connection: the peer is not reading it
            assert time.monotonic() < deadline, "the reply never filled the transport"
            time.sleep(0.05)
        stalled.send(text(json.dumps({"type": "auth", "access_token": "not-a-token", "uid": "a"})))
        deadline = time.monotonic() + 10
        while client in hub.sockets and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.finished and client not in hub.sockets


def test_a_reply_larger_than_the_byte_cap_reaches_a_slow_reader(tmp_path: Path) -> None:
    """``WEBSOCKETS_SEND_QUEUE_BYTES`` bounds what waits behind the frame being written, not one reply: a client
    on a slow link (a 64 KB read every 10 ms here) that pipelines two reads of ~7.8 MB each, twice the 4 MB
    cap, gets both; before, the second met the transport still full of the first, was checked against the
    cap on its own and dropped the client with 1013 "send queue overflow" ("0 entries queued")."""
    env = {"WEBSOCKETS_SEND_QUEUE_BYTES": "4mb", "WEBSOCKETS_HEARTBEAT_ENABLED": "false"}
    with scratch_database(tmp_path) as db, live_server({**db, **env}) as server:
        seed_messages(server)
        with server.client() as admin:
            rows = [{"text": "y" * 250} for _ in range(1000)]
            assert admin.post("/items/messages", json=rows, params={"fields": "id"}).status_code == 200
        alias = {f"t{n}": "text" for n in range(30)}  # 30 copies of a 250-character text per row
        query = {"fields": ["id", *alias], "alias": alias, "limit": -1}
        with raw(server, rcvbuf=65536) as client:
            client.protocol.max_message_size = None
            for uid in (1, 2):
                client.send(
                    text(
                        json.dumps(
                            {"type": "items", "collection": "messages", "action": "read", "query": query, "uid": uid}
                        )
                    )
                )
            frames: list[Frame] = []
            while len(frames) < 2:
                time.sleep(0.01)  # the slow link
                data = client.sock.recv(65536)
                assert data, "the server ended the connection"
                client.protocol.receive_data(data)
                frames += [event for event in client.protocol.events_received() if isinstance(event, Frame)]
            assert [frame.opcode for frame in frames] == [Opcode.TEXT, Opcode.TEXT], frames[-1]
            replies = [json.loads(bytes(frame.data)) for frame in frames]
            assert [(reply["uid"], len(reply["data"])) for reply in replies] == [(1, 1000), (2, 1000)]
