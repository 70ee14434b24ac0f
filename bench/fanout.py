"""The ``fanout`` scenario: one event to N subscribers of one group, on Tidepool and on two ceilings.

Receivers are ``bench/fanout_clients.py`` processes (``RECEIVER_PROCESSES`` of them, N split evenly), so
reading 10,000 frames is spread beside the server instead of one Python client measuring itself. A trial:
every receiver is armed, the trigger frame is sent (``perf_counter`` taken just before), and each receiver
reports the ``perf_counter`` of its last socket's delivery (one clock for the machine: ``CLOCK_MONOTONIC``).
The time to the last delivery over N gives the delivery rate.

* **Tidepool** (``tidepool start``): N sockets authenticated on the upgrade and subscribed to ``messages``
  (``fields: ["*"]``, ``limit: 1``); the trigger is an ``items`` create on another socket.
* **transport ceiling** (``bench/transport_ceiling.py``): the same frame bytes written with
  ``transport.write`` to N sockets by a bare uvloop server, nothing else.
* **uvicorn ceiling** (``bench/ceiling.py``): a bare Starlette + uvicorn (websockets-sansio) broadcast.
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.sync.client import connect

from bench.fanout_clients import UPGRADE, masked_text
from bench.procs import ADMIN_TOKEN, ROOT, Proc, free_port, serve
from bench.targets import target

RECEIVER_PROCESSES = 2
MARKER = b'"create"'
CREATE = orjson.dumps(
    {"type": "items", "collection": "messages", "action": "create", "data": {"text": "fan-out", "user": "bench"}}
)
TARGET_RATE = 50_000  # frame deliveries per second per process (issue 11)
TARGET_KIB = 16.0  # server memory per idle authenticated, subscribed socket (issue 11)


@contextmanager
def receivers(port: int, path: str, n: int) -> Iterator[list[subprocess.Popen[str]]]:
    """``RECEIVER_PROCESSES`` processes holding ``n`` subscribed sockets between them, all ready."""
    counts = [n // RECEIVER_PROCESSES + (1 if i < n % RECEIVER_PROCESSES else 0) for i in range(RECEIVER_PROCESSES)]
    procs: list[subprocess.Popen[str]] = []
    try:
        for count in (c for c in counts if c):
            command = [sys.executable, "-m", "bench.fanout_clients", "127.0.0.1", str(port), path, str(count)]
            procs.append(
                subprocess.Popen(
                    [*command, MARKER.decode()], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
                )
            )
        for proc in procs:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError("fan-out receivers failed to connect")
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None and proc.stdin is not None:
                proc.stdin.write("quit\n")
                proc.stdin.flush()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def trial(procs: list[subprocess.Popen[str]], trigger: Callable[[], None]) -> tuple[float, int]:
    """Seconds from the trigger to the last delivery, and the deliveries seen."""
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "armed":
            raise RuntimeError("a receiver did not arm")
    start = time.perf_counter()
    trigger()
    last, seen = start, 0
    for proc in procs:
        assert proc.stdout is not None
        _, when, count = proc.stdout.readline().split()
        last, seen = max(last, float(when)), seen + int(count)
    return last - start, seen


class RawTrigger:
    """A WebSocket opened by hand whose frames go unmasked-in-effect (zero mask key), so the bare ceiling can
    read them too; on Tidepool it is authenticated on the upgrade."""

    def __init__(self, port: int, path: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.sendall(UPGRADE.format(path=path, host="127.0.0.1", port=port).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(4096)
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(head.decode(errors="replace"))

    def __call__(self) -> None:
        self.sock.sendall(masked_text(CREATE))

    def close(self) -> None:
        self.sock.close()


def _figures(times: list[float], lost: int, n: int) -> dict[str, Any]:
    ordered = sorted(times)
    p50 = statistics.median(ordered)
    return {
        "n": n,
        "trials": len(times),
        "p50_ms": p50 * 1000,
        "min_ms": ordered[0] * 1000,
        "max_ms": ordered[-1] * 1000,
        "lost": lost,
        "deliveries_per_s": n / p50 if p50 > 0 else float("inf"),
    }


def _run_trials(procs: list[subprocess.Popen[str]], trigger: Callable[[], None], n: int, trials: int) -> dict[str, Any]:
    times, lost = [], 0
    for _ in range(trials):
        seconds, seen = trial(procs, trigger)
        times.append(seconds)
        lost += n - seen
        time.sleep(0.3)
    return _figures(times, lost, n)


def tidepool_fanout(proc: Proc, n: int, trials: int) -> tuple[dict[str, Any], bytes]:
    """Fan-out on Tidepool, its memory per subscribed socket, and one delivered frame (for the ceilings)."""
    path = f"/websocket?access_token={ADMIN_TOKEN}"
    with ExitStack() as stack:
        sample = stack.enter_context(connect(proc.ws_url + f"?access_token={ADMIN_TOKEN}", compression=None))
        sample.send(
            orjson.dumps(
                {"type": "subscribe", "collection": "messages", "query": {"fields": ["*"], "limit": 1}}
            ).decode()
        )
        sample.recv(timeout=30)
        trigger = RawTrigger(proc.port, path)
        stack.callback(trigger.close)
        time.sleep(0.5)
        rss_before = proc.rss_kib
        procs = stack.enter_context(receivers(proc.port, path, n))
        time.sleep(1)
        rss_after = proc.rss_kib
        result = _run_trials(procs, trigger, n, trials)
        frame = b""
        while MARKER not in frame:
            got = sample.recv(timeout=30)
            frame = got.encode() if isinstance(got, str) else got
    return result | {"rss_per_socket_kib": (rss_after - rss_before) / n}, frame


def transport_ceiling_fanout(n: int, trials: int, frame: bytes) -> dict[str, Any]:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        frame_file = Path(tmp) / "frame"
        frame_file.write_bytes(frame)
        proc = stack.enter_context(serve(["-m", "bench.transport_ceiling", str(port), str(frame_file)], port))
        trigger = RawTrigger(port, "/websocket")
        stack.callback(trigger.close)
        rss_before = proc.rss_kib
        procs = stack.enter_context(receivers(port, "/websocket", n))
        time.sleep(1)
        rss_after = proc.rss_kib
        return _run_trials(procs, trigger, n, trials) | {"rss_per_socket_kib": (rss_after - rss_before) / n}


def uvicorn_ceiling_fanout(proc: Proc, n: int, trials: int, frame: bytes) -> dict[str, Any]:
    with httpx.Client() as http, receivers(proc.port, "/websocket", n) as procs:

        def publish() -> None:
            http.post(f"{proc.url}/publish", content=frame).raise_for_status()

        return _run_trials(procs, publish, n, trials)


def targets(n: int, tidepool: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 11's two targets, both defined at 10,000 sockets (the figures are printed at every size)."""
    rate = tidepool["deliveries_per_s"]
    kib = tidepool["rss_per_socket_kib"]
    if n < 10_000:  # at a few sockets the process's fixed memory and one trial's timer dominate the figures
        return []
    return [
        target(f"fanout {n}: idle subscribed socket, KiB of server RSS", kib, TARGET_KIB, "lower"),
        target(f"fanout {n}: deliveries per second", rate, float(TARGET_RATE), "higher"),
    ]
