"""A real Tidepool server on a real socket, in a background thread, on a scratch database.

Tests talk to it exactly as users do: HTTP with httpx, WebSocket with the ``websockets`` client. The
database is a fresh SQLite file per server, or a fresh PostgreSQL / MariaDB database when
``TIDEPOOL_TEST_DB=pg|mysql`` (created here, dropped afterwards).
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import httpx
import sqlalchemy as sa
import uvicorn
from starlette.applications import Starlette

from tidepool.app import create_app
from tidepool.cli.serve import uvicorn_config
from tidepool.config import Settings, load_settings
from tidepool.runtime import Runtime

T = TypeVar("T")

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-pass"
ADMIN_TOKEN = "admin-static-token"


def test_db_client() -> str:
    return os.environ.get("TIDEPOOL_TEST_DB", "sqlite3")


@contextmanager
def scratch_database(tmp_path: Path, client: str | None = None) -> Iterator[dict[str, str]]:
    """Environment variables pointing at a new, empty database of the chosen engine."""
    client = client or test_db_client()
    if client == "sqlite3":
        yield {
            "DB_CLIENT": "sqlite3",
            "DB_FILENAME": str(tmp_path / f"tp-{uuid.uuid4().hex[:8]}.db"),
            "STORAGE_LOCAL_ROOT": str(tmp_path / "uploads"),
        }
        return
    name = f"tp_test_{uuid.uuid4().hex[:12]}"
    if client == "pg":
        server_url = "postgresql://postgres@127.0.0.1:5432/postgres"
        env = {"DB_CLIENT": "pg", "DB_HOST": "127.0.0.1", "DB_PORT": "5432", "DB_USER": "postgres", "DB_DATABASE": name}
    else:
        server_url = "mysql://root@127.0.0.1:3306/"
        env = {"DB_CLIENT": "mysql", "DB_HOST": "127.0.0.1", "DB_PORT": "3306", "DB_USER": "root", "DB_DATABASE": name}
    _admin_sql(client, server_url, f"CREATE DATABASE {name}")
    env["STORAGE_LOCAL_ROOT"] = str(tmp_path / "uploads")  # uploaded files, beside the test's other scratch
    try:
        yield env
    finally:
        _admin_sql(client, server_url, f"DROP DATABASE IF EXISTS {name}" + (" WITH (FORCE)" if client == "pg" else ""))


def _admin_sql(client: str, url: str, statement: str) -> None:
    """Run one administrative statement (CREATE/DROP DATABASE) with the async drivers."""
    from sqlalchemy.ext.asyncio import create_async_engine

    driver = {"pg": "postgresql+asyncpg", "mysql": "mysql+asyncmy"}[client]
    async_url = sa.make_url(url).set(drivername=driver)

    async def run() -> None:
        engine = create_async_engine(async_url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(sa.text(statement))
        finally:
            await engine.dispose()

    asyncio.run(run())


class _PortBlock:
    """The loopback ports this test process hands out: a block of its own below the kernel's ephemeral range.

    Asking the kernel for port 0 and closing the socket raced: a pytest-xdist sibling (or an outgoing
    connection's ephemeral port) could take the same number before the server bound it, and then a spawned
    server's readiness check was answered by another test's server on that port, the wrong server entirely.
    Each xdist worker takes its own slice of ``[10000, ephemeral low)``, walks it from a random start (another
    concurrent run is unlikely to be on the same numbers) and skips any port it cannot bind now."""

    FIRST = 10000

    def __init__(self) -> None:
        workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
        index = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
        size = (_ephemeral_low() - self.FIRST) // max(workers, 1)
        self.start, self.size = self.FIRST + index * size, size
        self.next = random.randrange(size)
        self.lock = threading.Lock()

    def take(self) -> int:
        if self.size < 100:  # an ephemeral range that starts too low to leave room: the kernel's choice
            return _kernel_port()
        with self.lock:
            for _ in range(self.size):
                port = self.start + self.next
                self.next = (self.next + 1) % self.size
                if _bindable(port):
                    return port
        raise OSError(f"no free port in {self.start}..{self.start + self.size - 1}")


def _ephemeral_low() -> int:
    """The low end of the kernel's ephemeral port range (Linux; 32768 elsewhere, its default)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _kernel_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


_PORTS = _PortBlock()


def free_port() -> int:
    """A loopback port nothing listens on, never handed to another test process of this run."""
    return _PORTS.take()


@dataclass
class LiveServer:
    settings: Settings
    port: int
    thread: threading.Thread
    uv: uvicorn.Server
    app: Starlette

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{self.settings.WEBSOCKETS_REST_PATH}"

    def client(self, token: str | None = ADMIN_TOKEN, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)

    def admin_login(self) -> dict[str, Any]:
        """The first admin's ``POST /auth/login`` answer (``access_token``, ``refresh_token``, ``expires``)."""
        with self.client(token=None) as http:
            response = http.post("/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
            response.raise_for_status()
            data: dict[str, Any] = response.json()["data"]
            return data

    @property
    def runtime(self) -> Runtime:
        """The running server's runtime (engine, schema store, event sink): for test setup only."""
        runtime: Runtime = self.app.state.runtime
        return runtime

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the server's own event loop (e.g. to reload the schema after test DDL)."""
        loop = self.runtime_loop
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=30)

    @property
    def runtime_loop(self) -> asyncio.AbstractEventLoop:
        loop: asyncio.AbstractEventLoop = self.app.state.loop
        return loop


# argon2 at its smallest cost: the suite starts a few hundred servers (each hashes the first admin's password)
# and creates users; at the production cost (64 MiB, 3 passes) that hashing alone was half a minute a run.
CHEAP_HASHING = {"HASH_TIME_COST": "1", "HASH_MEMORY_COST": "8", "HASH_PARALLELISM": "1"}


def base_env() -> dict[str, str]:
    return {
        **CHEAP_HASHING,
        "ADMIN_EMAIL": ADMIN_EMAIL,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "SECRET": "test-secret-with-enough-length-for-hs256-signing",
        "LOG_LEVEL": "warn",
        "RATE_LIMITER_LOGIN_ENABLED": "false",
    }


@contextmanager
def live_server(
    env: dict[str, str], port: int | None = None, forwarded_allow_ips: str | None = None
) -> Iterator[LiveServer]:
    """A server in a thread of this process; ``forwarded_allow_ips`` as uvicorn's option (None: its default,
    ``FORWARDED_ALLOW_IPS`` or 127.0.0.1)."""
    settings = load_settings({**base_env(), **env}, env_file=None)
    port = port or free_port()
    app = create_app(settings)
    # The server's own uvicorn configuration, on loopback and the chosen port.
    config = uvicorn_config(
        replace(settings, HOST="127.0.0.1", PORT=port), app, forwarded_allow_ips=forwarded_allow_ips
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, name=f"tidepool-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if not thread.is_alive():
            raise RuntimeError("server failed to start")
        if time.monotonic() > deadline:
            raise TimeoutError("server did not start in 30 s")
        time.sleep(0.01)
    try:
        yield LiveServer(settings, port, thread, uv, app)
    finally:
        uv.should_exit = True
        thread.join(timeout=15)
