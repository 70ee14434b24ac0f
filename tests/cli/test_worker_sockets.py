"""``tidepool start --workers 2``'s listening sockets (``tidepool/cli/workers.py``), read from /proc:

* by default (Linux, ``WORKERS_REUSEPORT``) each worker accepts from a socket of its own (``SO_REUSEPORT``),
  the parent keeps them all, and a worker that dies is replaced on the same socket: connections made while
  it was gone are answered;
* stopping closes them all (the port refuses connections once the parent exited);
* ``WORKERS_REUSEPORT=false``: one socket, shared by both workers;
* a port another process listens on, even with ``SO_REUSEPORT`` set, fails the start instead of being shared;
* the workers share one ``DB_POOL_SIZE`` budget (PostgreSQL's backends counted).

Runs on SQLite by default and on PostgreSQL / MariaDB with ``TIDEPOOL_TEST_DB``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli.test_workers import BOUND, ENV, by_worker, pid_of
from tests.realtime.test_subscriptions_helpers import wait_until
from tests.support.live import ADMIN_TOKEN, free_port, scratch_database
from tests.support.live import test_db_client as db_client
from tests.support.process import ROOT, command_env, started

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
LISTEN = "0A"  # the TCP state of a listening socket in /proc/net/tcp
STARTUP_FAILURE = 3


@pytest.fixture
def db_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with scratch_database(tmp_path) as env:
        yield env


def listening(port: int) -> set[str]:
    """The inodes of the sockets listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1].endswith(f":{port:04X}") and fields[3] == LISTEN:
                found.add(fields[9])
    return found


def sockets_of(pid: int) -> set[str]:
    """The inodes of every socket ``pid`` has open."""
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            held.add(target[8:-1])
    return held


def children(pid: int) -> set[int]:
    return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def answered_by(url: str, times: int) -> set[int]:
    """The workers (pids) that answered ``times`` requests, each on a fresh connection; all must answer."""
    pids = set()
    for _ in range(times):
        with httpx.Client(base_url=url, timeout=BOUND) as client:
            pids.add(pid_of(client))
    return pids


def test_each_worker_accepts_on_its_own_socket_and_a_replacement_takes_over_its_share(
    db_env: dict[str, str], tmp_path: Path
) -> None:
    with started({**db_env, **ENV}, log=tmp_path / "server.log", args=("--workers", "2")) as server:
        workers = set(by_worker(server))
        sockets = listening(server.port)
        assert len(sockets) == 2, sockets
        own = {pid: sockets_of(pid) & sockets for pid in workers}
        assert all(len(held) == 1 for held in own.values()), own  # its own socket, not the other's
        assert set().union(*own.values()) == sockets
        assert sockets <= sockets_of(server.process.pid)  # the parent keeps both
        assert answered_by(server.url, 40) == workers  # the kernel spreads fresh connections over both

        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        # Connections hashed to the dead worker's socket wait in its queue for the replacement: all answered.
        answered_by(server.url, 40)
        wait_until(lambda: len(set(by_worker(server)) - {victim}) == 2, BOUND)
        replacement = next(iter(set(by_worker(server)) - workers))
        assert sockets_of(replacement) & sockets == own[victim]  # the same socket, taken over
        assert listening(server.port) == sockets
        assert answered_by(server.url, 40) == set(by_worker(server))

        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(BOUND) == 0, server.output()
        assert not listening(server.port)  # every copy closed: the port is free again
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", server.port), timeout=BOUND).close()


def test_one_shared_socket_without_reuseport(db_env: dict[str, str], tmp_path: Path) -> None:
    env = {**db_env, **ENV, "WORKERS_REUSEPORT": "false"}
    with started(env, log=tmp_path / "server.log", args=("--workers", "2")) as server:
        wait_until(lambda: len(children(server.process.pid)) == 2, BOUND)
        workers = children(server.process.pid)  # each holds the socket from its fork on, serving or not
        sockets = listening(server.port)
        assert len(sockets) == 1, sockets
        assert all(sockets <= sockets_of(pid) for pid in workers)
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(BOUND) == 0, server.output()


def test_a_port_another_process_listens_on_fails_the_start(db_env: dict[str, str]) -> None:
    """Even a listener with ``SO_REUSEPORT`` (which the workers' sockets could join) is not shared."""
    port = free_port()
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", port))
        other.listen()
        result = subprocess.run(
            [sys.executable, "-m", "tidepool", "start", "--workers", "2"],
            cwd=ROOT,
            env=command_env({"HOST": "127.0.0.1", "PORT": str(port), **db_env, **ENV}),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == STARTUP_FAILURE, result.stdout + result.stderr
        assert listening(port) == {_inode(other)}  # nothing of Tidepool's joined it


def _inode(sock: socket.socket) -> str:
    return os.readlink(f"/proc/self/fd/{sock.fileno()}")[8:-1]


@pytest.mark.skipif(db_client() != "pg", reason="counts PostgreSQL's backends")
def test_the_workers_share_one_connection_budget(db_env: dict[str, str], tmp_path: Path) -> None:
    """``DB_POOL_SIZE=2`` allows the server 4 connections (``pool_size``): 2 per worker with two workers, however
    many requests each worker has in flight."""
    env = {**db_env, **ENV, "DB_POOL_SIZE": "2"}
    with started(env, log=tmp_path / "server.log", args=("--workers", "2")) as server:
        workers = set(by_worker(server))
        peak = asyncio.run(_peak_backends(server.url, db_env["DB_DATABASE"], workers))
        assert 0 < peak <= 4, peak


async def _peak_backends(url: str, database: str, workers: set[int]) -> int:
    """The most backends ``database`` had while 3 rounds of 40 concurrent reads ran on fresh connections."""
    import asyncpg  # type: ignore[import-untyped]

    admin = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="postgres")
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    peak = 0
    try:
        for _ in range(3):
            async with httpx.AsyncClient(base_url=url, headers=headers, timeout=BOUND) as client:
                answers = await asyncio.gather(*(client.get("/users") for _ in range(40)))
            assert all(answer.status_code == 200 for answer in answers)
            count = await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", database)
            peak = max(peak, int(count))
    finally:
        await admin.close()
    return peak
