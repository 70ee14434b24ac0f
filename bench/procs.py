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
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
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


@contextmanager
def serve(args: Sequence[str], port: int, env: dict[str, str] | None = None, cwd: Path = ROOT) -> Iterator[Proc]:
    """``python <args>`` as a server on ``port``: yielded once the port accepts, terminated afterwards."""
    popen = subprocess.Popen([sys.executable, *args], env=env, cwd=cwd)
    try:
        _wait_for_port(port, popen)
        yield Proc(popen, port)
    finally:
        popen.terminate()
        popen.wait(timeout=30)


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
def tidepool_server(
    db_env: dict[str, str] | None = None,
    code: Path = ROOT,
    command: Sequence[str] = ("-m", "tidepool", "start"),
    **extra_env: str,
) -> Iterator[Proc]:
    """A ``tidepool start`` process on a scratch SQLite file (or the given database settings), running the
    ``tidepool`` package found in ``code`` (this checkout by default; another checkout of the repository, such
    as an older commit's worktree, runs that commit's code with this venv). ``command`` is what the venv's
    Python runs (a wrapper script may start the server itself)."""
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
            "PYTHONPATH": str(code),  # ahead of the venv's editable install of the main checkout
        }
        # ``-m`` puts the working directory first on sys.path: it must be ``code`` too.
        with serve(command, port, env, code) as proc:
            yield proc


@contextmanager
def ceiling_server() -> Iterator[Proc]:
    """The bare broadcast server of bench/ceiling.py on the same stack (Starlette + uvicorn sansio)."""
    port = free_port()
    with serve(["-m", "bench.ceiling", str(port)], port) as proc:
        yield proc


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


PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"


def _pg_admin(statement: str) -> None:
    """One CREATE/DROP DATABASE on the local PostgreSQL server (autocommit, outside any transaction)."""
    import asyncio

    import asyncpg  # type: ignore[import-untyped]

    async def run() -> None:
        conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    # Its own thread: the benchmark scenarios call this from inside their running event loop.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result(timeout=60)


@contextmanager
def pg_database() -> Iterator[dict[str, str]]:
    """A scratch PostgreSQL database ``bench_<random>`` for one server; dropped afterwards, even on failure.

    The name is generated here (hex only), never taken from input, so quoting it is enough."""
    import uuid

    name = f"bench_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield {
            "DB_CLIENT": "pg",
            "DB_HOST": PG_HOST,
            "DB_PORT": str(PG_PORT),
            "DB_USER": PG_USER,
            "DB_DATABASE": name,
        }
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a whole process so far, threads that already ended included, to report the
    server's CPU per request independently of how fast the benchmark client goes (or how busy the machine is).

    From ``/proc/<pid>/stat``, in clock ticks (10 ms): coarse, so measure over seconds, not single requests.
    Summing the live threads' nanosecond ``schedstat`` instead would miss the time of connection threads
    that a pool closed during the run."""
    return _stat_ticks(Path(f"/proc/{pid}/stat")) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (a ``tidepool start --workers N`` parent's workers)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def pg_backends(database: str) -> list[int]:
    """The PostgreSQL backend processes serving ``database`` (their title: ``postgres: [<cluster>:] <user> <db>
    <host> <state>``), so a benchmark can count the database server's CPU next to the client's and Tidepool's."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().split(b"\0")[0].split()
        except OSError:
            continue
        if title[:1] == [b"postgres:"] and database.encode() in title[2:4]:
            found.append(int(entry.name))
    return found


def thread_cpu_seconds(pid: int, tid: int) -> float:
    """CPU time of one live thread so far (nanosecond ``schedstat``), e.g. a server's event loop thread."""
    return int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0]) / 1e9


def _stat_ticks(path: Path) -> int:
    fields = path.read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
