"""The test processes' port blocks: a server a test starts must never meet another test's server on its port.

CI once saw a spawned server's readiness check answered by a sibling xdist worker's server that had been given
the same number by the kernel (bind port 0, close, hand out): the test then subscribed to the wrong server."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.live import _ephemeral_low, _PortBlock
from tests.support.process import spawn


def block(monkeypatch: pytest.MonkeyPatch, index: int, workers: int) -> _PortBlock:
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", str(workers))
    monkeypatch.setenv("PYTEST_XDIST_WORKER", f"gw{index}")
    return _PortBlock()


@pytest.mark.parametrize("workers", [1, 2, 3, 8])
def test_each_worker_owns_a_block_below_the_ephemeral_range(monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    blocks = [block(monkeypatch, index, workers) for index in range(workers)]
    spans = [range(b.start, b.start + b.size) for b in blocks]
    for first, second in zip(spans, spans[1:], strict=False):
        assert first.stop <= second.start  # disjoint, in order
    assert spans[0].start >= _PortBlock.FIRST
    assert spans[-1].stop <= _ephemeral_low()  # never a number an outgoing connection could be given


def test_ports_handed_out_are_distinct_free_and_in_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    ports = block(monkeypatch, 1, 3)
    taken = [ports.take() for _ in range(200)]
    assert len(set(taken)) == len(taken)
    assert all(ports.start <= port < ports.start + ports.size for port in taken)


def test_a_port_in_use_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    ports = block(monkeypatch, 0, 1)
    with socket.socket() as held:
        held.bind(("127.0.0.1", ports.start + ports.next))
        held.listen()
        assert ports.take() != held.getsockname()[1]


def test_a_spawned_server_is_ready_only_when_the_port_is_its_own(tmp_path: Path) -> None:
    """Another server already answering ``/server/ping`` on the port must not pass for the new process: the
    readiness check waits for the process's own listener, so the start fails with its bind error instead of
    the test going on against the wrong server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    impostor = subprocess.Popen(
        [sys.executable, "-c", IMPOSTOR, str(port)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert impostor.stdout is not None and impostor.stdout.readline() == "listening\n"
        env = {"DB_CLIENT": "sqlite3", "DB_FILENAME": str(tmp_path / "t.db")}
        with pytest.raises(RuntimeError, match="tidepool start exited"):
            spawn(env, port).kill()
    finally:
        impostor.kill()
        impostor.communicate(timeout=10)


# A process that is not Tidepool answering /server/ping with 200 on 127.0.0.1:<argv[1]>.
IMPOSTOR = """
import http.server, sys
class Ping(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "4"); self.end_headers(); self.wfile.write(b"pong")
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Ping)
print("listening", flush=True)
server.serve_forever()
"""
