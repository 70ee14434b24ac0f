"""A small synchronous WebSocket test client on ``websockets.sync`` (real sockets, no mocks).

``WS`` sends dicts or raw text, receives parsed frames with a timeout, checks silence, and reports how the
server closed (``close_code`` is 1005 for a close frame without a status, as Directus sends). Protocol-level
keepalive pings are off by default, as against Directus.
"""

from __future__ import annotations

import json
import time
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect


class WS:
    def __init__(self, url: str, **kwargs: Any) -> None:
        kwargs.setdefault("open_timeout", 10)
        kwargs.setdefault("ping_interval", None)
        kwargs.setdefault("max_size", None)
        kwargs.setdefault("close_timeout", 2)
        kwargs.setdefault("legacy", True)
        self.conn: ClientConnection = connect(url, **kwargs)

    def __enter__(self) -> WS:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, message: Any) -> None:
        self.conn.send(message if isinstance(message, str | bytes) else json.dumps(message))

    def recv_raw(self, timeout: float = 5) -> str:
        frame = self.conn.recv(timeout=timeout)
        return frame if isinstance(frame, str) else frame.decode()

    def recv(self, timeout: float = 5) -> Any:
        return json.loads(self.recv_raw(timeout))

    def request(self, message: Any, timeout: float = 5) -> Any:
        self.send(message)
        return self.recv(timeout)

    def recv_until(self, predicate: Any, timeout: float = 5) -> Any:
        """The first frame satisfying ``predicate`` (others are skipped, e.g. server pings)."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self.recv(max(0.01, deadline - time.monotonic()))
            if predicate(frame):
                return frame

    def until_pong(self, timeout: float = 30) -> list[Any]:
        """Every frame the server sent this socket before now, parsed: see ``until_pong_raw``."""
        return [json.loads(frame) for frame in self.until_pong_raw(timeout)]

    def until_pong_raw(self, timeout: float = 30) -> list[str]:
        """Every frame the server sent this socket before now: a ``ping`` goes out and the frames before its
        ``pong`` come back (the server writes one socket's frames in order, so the pong follows every frame
        queued before it). Deterministic where reading "until quiet" is not: a loaded machine can pause longer
        than any quiet spell between two frames. The server must answer pings (its heartbeat on: a long
        ``WEBSOCKETS_HEARTBEAT_PERIOD`` keeps its own pings away)."""
        self.send({"type": "ping", "uid": "barrier"})
        frames: list[str] = []
        while json.loads(frame := self.recv_raw(timeout)) != {"type": "pong", "uid": "barrier"}:
            frames.append(frame)
        return frames

    def quiet(self, seconds: float, ignore: tuple[Any, ...] = ()) -> None:
        """Assert that nothing (but frames equal to one of ``ignore``) arrives for ``seconds``."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                frame = self.conn.recv(timeout=left)
            except TimeoutError:
                return
            if json.loads(frame) not in ignore:
                raise AssertionError(f"expected silence, got {frame!r}")

    def wait_closed(self, timeout: float = 5) -> int | None:
        """Wait for the server to close; the received close code (1005 = no status code)."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.conn.recv(timeout=max(0.01, deadline - time.monotonic()))
        except ConnectionClosed:
            pass
        except TimeoutError:
            raise AssertionError("the server did not close the connection") from None
        rcvd = self.conn.protocol.close_rcvd
        return None if rcvd is None else int(rcvd.code)

    def close(self) -> None:
        self.conn.close()


def rejected_status(url: str, **kwargs: Any) -> int:
    """The HTTP status of an upgrade the server refuses (fails the test if it is accepted)."""
    try:
        conn = connect(url, open_timeout=10, ping_interval=None, legacy=True, **kwargs)
    except InvalidStatus as exc:
        return int(exc.response.status_code)
    conn.close()
    raise AssertionError(f"upgrade to {url} was accepted")
