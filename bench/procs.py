"""Start servers as separate processes (the benchmark client must not share their CPU time slices),
and read their resident memory from /proc."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
ADMIN_TOKEN = "bench-admin-token"


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


@dataclass
class Proc:
    popen: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/websocket"

    @property
    def rss_kib(self) -> int:
        return rss_kib(self.popen.pid)


def _wait_for_port(port: int, popen: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"server exited with {popen.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("server did not open its port")


@contextmanager
def tidepool_server(db_env: dict[str, str] | None = None, **extra_env: str) -> Iterator[Proc]:
    """A ``tidepool start`` process on a scratch SQLite file (or the given database settings)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "DB_CLIENT": "sqlite3",
            "DB_FILENAME": str(Path(tmp) / "bench.db"),
            "ADMIN_EMAIL": "admin@example.com",
            "ADMIN_PASSWORD": "admin-pass",
            "ADMIN_TOKEN": ADMIN_TOKEN,
            "SECRET": "bench-secret-bench-secret-bench-secret",
            "LOG_LEVEL": "warn",
            "WEBSOCKETS_HEARTBEAT_ENABLED": "false",
            "WEBSOCKETS_SEND_QUEUE_LIMIT": "100000",
            **(db_env or {}),
            **extra_env,
        }
        popen = subprocess.Popen([sys.executable, "-m", "tidepool", "start"], env=env, cwd=ROOT)
        try:
            _wait_for_port(port, popen)
            yield Proc(popen, port)
        finally:
            popen.terminate()
            popen.wait(timeout=30)


@contextmanager
def ceiling_server() -> Iterator[Proc]:
    """The bare broadcast server of bench/ceiling.py on the same stack (Starlette + uvicorn sansio)."""
    port = free_port()
    popen = subprocess.Popen([sys.executable, "-m", "bench.ceiling", str(port)], cwd=ROOT)
    try:
        _wait_for_port(port, popen)
        yield Proc(popen, port)
    finally:
        popen.terminate()
        popen.wait(timeout=30)


def create_messages_collection(base_url: str) -> None:
    """The seed guide's collection, created the way a user does: POST /collections."""
    body = {
        "collection": "messages",
        "schema": {},
        "meta": {},
        "fields": [
            {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}},
            {"field": "date_created", "type": "timestamp", "meta": {"special": ["date-created"]}, "schema": {}},
            {"field": "text", "type": "string", "schema": {}},
            {"field": "user", "type": "string", "schema": {}},
        ],
    }
    response = httpx.post(
        f"{base_url}/collections", json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30
    )
    response.raise_for_status()
