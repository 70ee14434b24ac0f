"""``--only workers``: what ``tidepool start --workers 2`` gains over one process (issue 11, point 3).

The servers run side by side on scratch databases of the same engine: one with ``WEB_CONCURRENCY=1``, the
others with ``2``. Each load is measured in windows that alternate between them (1, 2, 1, 2, …), so a change in
the machine's load hits both alike; the ratio of each pair is reported, and their median.

The client runs in separate processes (``CLIENT_PROCESSES``, from a spawned pool made once), never in this
one, and is as cheap as a client can be: REST is hand-written HTTP/1.1 on keep-alive connections (an asyncio
protocol on uvloop); WebSocket creates go through ``websockets``' asyncio client. New connections are opened in
every window, so the way the kernel spreads them over the workers is drawn again each time.

Two loads: REST ``GET /items/messages?limit=10`` and WebSocket ``items`` creates (one at a time per socket),
on three servers: one process, two workers with a listening socket each (``SO_REUSEPORT``, the default) and
two workers on one shared socket (``WORKERS_REUSEPORT=false``); the target is the first two's ratio.

Each window also records where the limit was (``bench/observe.py``): the CPU-seconds per second of each
worker, of the client processes, of the database's PostgreSQL backends and of the rest of the machine; how
many connections each worker held; on SQLite creates, how much of the window the writer lock between
processes was held; on PostgreSQL, what its backends were waiting for. ``best_ratio_on_these_cores`` is the
most a second worker could add given the one-process server's CPU per operation of each party.
``BENCH_WORKERS_ENGINES`` (``sqlite,pg``), ``BENCH_WORKERS_LOADS`` (``rest,ws``) and ``BENCH_WORKERS_SERVERS``
(``1,2,2-shared``; ``2-wholepool`` gives each worker the whole connection budget, ``2-before`` also shares one
socket) choose what is measured; ``BENCH_WORKERS_BASE=<commit>`` also runs each server on that commit's code in
the same rounds (``1@base``, ``2@base``...), so a change to the server is measured against the same load.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from typing import Any, cast

import httpx
import orjson

from bench.eventlog_bench import checkout
from bench.observe import LockSampler, PgWaits, connections_per_worker, machine_busy, per_s
from bench.procs import (
    ADMIN_TOKEN,
    ROOT,
    Proc,
    children,
    cpu_seconds,
    create_messages_collection,
    pg_backends,
    pg_database,
    tidepool_server,
)
from bench.targets import target

CLIENT_PROCESSES = 2
CONNECTIONS = 16  # per client process
TARGET = 1.7  # from 1 to 2 workers (issue 11)
_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


# ------------------------------------------------------------------------------------ client processes


def rest_window(port: int, connections: int, seconds: float) -> tuple[int, int]:
    """(answers 2xx, other answers) of ``connections`` keep-alive connections reading for ``seconds``, on
    uvloop where it is installed (it is, with uvicorn's extras): the client's CPU per request is then half that
    of asyncio streams (43 µs against 83 µs per read, measured next to ``wrk``'s 32 µs), so more of the two
    cores is left to the parties measured."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(_rest(port, connections, seconds))
    return uvloop.run(_rest(port, connections, seconds))


async def _rest(port: int, connections: int, seconds: float) -> tuple[int, int]:
    request = (
        f"GET /items/messages?limit=10 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    end = time.monotonic() + seconds
    readers = []
    for _ in range(connections):
        _, reader = await loop.create_connection(lambda: _Reader(request, end, loop.create_future()), "127.0.0.1", port)
        readers.append(reader)
    await asyncio.gather(*(reader.done for reader in readers))
    return sum(r.ok for r in readers), sum(r.failed for r in readers)


class _Reader(asyncio.Protocol):
    """One keep-alive connection sending ``request`` again as soon as the previous answer is complete (its
    head and ``Content-Length`` bytes of body), counting 2xx answers and the others, until ``end``.

    A protocol rather than streams: one callback per chunk received, no reader tasks or buffers in between;
    each answer is still read whole and its status checked."""

    def __init__(self, request: bytes, end: float, done: asyncio.Future[None]) -> None:
        self.request, self.end, self.done = request, end, done
        self.ok = self.failed = 0
        self._buffer = b""
        self._size = -1  # the answer being read: its head and body's length once its head is in
        self._good = False
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass of asyncio's
        self._transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data
        while True:
            if self._size < 0:
                head_end = buffer.find(b"\r\n\r\n")
                if head_end < 0:
                    break
                length = _LENGTH.search(buffer, 0, head_end)
                self._good = buffer.startswith(b"HTTP/1.1 2")
                self._size = head_end + 4 + (int(length[1]) if length else 0)
            if len(buffer) < self._size:
                break
            buffer, self._size = buffer[self._size :], -1
            if self._good:
                self.ok += 1
            else:
                self.failed += 1
            assert self._transport is not None
            if time.monotonic() < self.end:
                self._transport.write(self.request)
            else:
                self._transport.close()
                break
        self._buffer = buffer

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


def ws_window(port: int, connections: int, seconds: float) -> tuple[int, int]:
    """(creates answered, error replies) of ``connections`` sockets creating one item at a time."""
    return asyncio.run(_ws(port, connections, seconds))


async def _ws(port: int, connections: int, seconds: float) -> tuple[int, int]:
    from websockets.asyncio.client import connect

    auth = orjson.dumps({"type": "auth", "access_token": ADMIN_TOKEN}).decode()
    create = orjson.dumps(
        {"type": "items", "collection": "messages", "action": "create", "data": {"text": "bench", "user": "w"}}
    ).decode()
    end = time.monotonic() + seconds

    async def one() -> tuple[int, int]:
        ok = failed = 0
        async with connect(f"ws://127.0.0.1:{port}/websocket", ping_interval=None, max_size=None) as ws:
            await ws.send(auth)
            await ws.recv()
            while time.monotonic() < end:
                await ws.send(create)
                reply = await ws.recv()
                if b'"errors"' in (reply if isinstance(reply, bytes) else reply.encode()):
                    failed += 1
                else:
                    ok += 1
        return ok, failed

    results = await asyncio.gather(*(one() for _ in range(connections)))
    return sum(r[0] for r in results), sum(r[1] for r in results)


def _pid(_: int) -> int:
    return os.getpid()


# ----------------------------------------------------------------------------------------------- measuring

# The servers compared: one process, two workers with a listening socket each (SO_REUSEPORT, the default on
# Linux), and two workers accepting from one shared socket.
SERVERS: dict[str, dict[str, str]] = {
    "1": {"WEB_CONCURRENCY": "1"},
    "2": {"WEB_CONCURRENCY": "2"},
    "2-shared": {"WEB_CONCURRENCY": "2", "WORKERS_REUSEPORT": "false"},
    # Not measured by default: two workers each with the whole connection budget (as before it was shared out),
    # and that on one shared socket (what ``--workers 2`` did before either change).
    "2-wholepool": {"WEB_CONCURRENCY": "2", "DB_POOL_SIZE": "20"},
    "2-before": {"WEB_CONCURRENCY": "2", "DB_POOL_SIZE": "20", "WORKERS_REUSEPORT": "false"},
}
MEASURED = os.environ.get("BENCH_WORKERS_SERVERS", "1,2,2-shared").split(",")  # "1" first: the ratios' base
ENGINES = os.environ.get("BENCH_WORKERS_ENGINES", "sqlite,pg").split(",")  # to measure one engine alone
KINDS = os.environ.get("BENCH_WORKERS_LOADS", "rest,ws").split(",")  # to measure one load alone
# A commit to compare with, interleaved: each server also runs that commit's code (``<name>@base``) in the
# same rounds, so a change to the server is measured against the same machine load.
BASE = os.environ.get("BENCH_WORKERS_BASE")


@dataclass
class Server:
    proc: Proc
    database: str | None  # the PostgreSQL database, whose backends' CPU counts too

    def workers(self) -> list[int]:
        return children(self.proc.popen.pid) or [self.proc.popen.pid]

    def cpu(self) -> dict[str, dict[int, float]]:
        """CPU seconds so far of each party: the parent, each worker, each PostgreSQL backend."""
        parent = self.proc.popen.pid
        out: dict[str, dict[int, float]] = {"parent": {}, "workers": {}, "pg": {}}
        for kind, pids in (("workers", self.workers()), ("pg", pg_backends(self.database) if self.database else [])):
            for pid in pids:
                with suppress(OSError):
                    out[kind][pid] = cpu_seconds(pid)
        if parent not in out["workers"]:
            out["parent"][parent] = cpu_seconds(parent)
        return out


def _window(
    pool: ProcessPoolExecutor, client_pids: list[int], server: Server, kind: str, seconds: float
) -> dict[str, Any]:
    window = rest_window if kind == "rest" else ws_window
    before = server.cpu()
    client_before = {pid: cpu_seconds(pid) for pid in client_pids}
    busy_before = machine_busy()
    started = time.monotonic()
    with LockSampler(server.workers() if kind == "ws" else []) as lock, PgWaits(server.database) as waits:
        futures = [pool.submit(window, server.proc.port, CONNECTIONS, seconds) for _ in range(CLIENT_PROCESSES)]
        time.sleep(seconds / 2)
        connections = connections_per_worker(server.proc.port, server.workers())
        results = [f.result() for f in futures]
    elapsed = time.monotonic() - started
    busy = (machine_busy() - busy_before) / elapsed
    after = server.cpu()
    ok, failed = sum(r[0] for r in results), sum(r[1] for r in results)
    cpu = {party: per_s(before[party], after[party], elapsed) for party in after}
    cpu["client"] = per_s(client_before, {pid: cpu_seconds(pid) for pid in client_pids}, elapsed)
    return {
        "per_s": ok / seconds,
        "errors": failed,
        "connections": connections,
        "write_lock": lock.fractions(),
        "pg_backends_busy": waits.means(),
        "cpu_per_s": {party: [round(c, 3) for c in each] for party, each in cpu.items()},
        "server_cpu_per_s": sum(cpu["workers"]) + sum(cpu["parent"]),
        "client_cpu_per_s": sum(cpu["client"]),
        "pg_cpu_per_s": sum(cpu["pg"]),
        "other_cpu_per_s": max(busy - sum(sum(each) for each in cpu.values()), 0.0),
    }


@contextmanager
def _servers(engine: str) -> Iterator[dict[str, Server]]:
    """The servers of ``SERVERS``, each on its own scratch database of ``engine``."""
    with ExitStack() as stack:
        servers = {}
        codes = {"": ROOT} | ({"@base": stack.enter_context(checkout(BASE))} if BASE else {})
        for suffix, code in codes.items():
            for name in MEASURED:
                db_env = stack.enter_context(pg_database()) if engine == "pg" else {}
                proc = stack.enter_context(tidepool_server({**db_env, **SERVERS[name]}, code=code))
                servers[name + suffix] = Server(proc, db_env.get("DB_DATABASE"))
        for server in servers.values():
            _seed(server.proc)
        yield servers


def _seed(proc: Proc) -> None:
    deadline = time.monotonic() + 60
    while True:  # the two-worker server answers once its first worker is up
        try:
            create_messages_collection(proc.url)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    rows = [{"text": f"row {i}", "user": "seed"} for i in range(50)]
    deadline = time.monotonic() + 30
    while (
        posted := httpx.post(f"{proc.url}/items/messages", json=rows, headers=headers, timeout=30)
    ).status_code == 403:
        if time.monotonic() > deadline:
            posted.raise_for_status()
        time.sleep(0.1)
    posted.raise_for_status()
    # The collection was made through one worker; the others learn of it within CACHE_SYNC_INTERVAL. Measure
    # only once a run of fresh connections (each may land on any worker) all see it.
    seen = 0
    while seen < 20:
        answer = httpx.get(f"{proc.url}/items/messages?limit=1", headers=headers, timeout=30)
        seen = seen + 1 if answer.status_code == 200 else 0
        if time.monotonic() > deadline:
            answer.raise_for_status()
        time.sleep(0.05)


def _summary(windows: list[dict[str, Any]]) -> dict[str, Any]:
    """The medians of a server's windows; CPU per operation (ms) of each party."""
    rate = statistics.median(w["per_s"] for w in windows)

    def per_op(key: str) -> float:
        return round(1000 * statistics.median(float(w[key] / w["per_s"]) for w in windows if w["per_s"]), 3)

    return {
        "per_s": rate,
        "server_cpu_per_s": statistics.median(w["server_cpu_per_s"] for w in windows),
        "client_cpu_per_s": statistics.median(w["client_cpu_per_s"] for w in windows),
        "pg_cpu_per_s": statistics.median(w["pg_cpu_per_s"] for w in windows),
        "other_cpu_per_s": statistics.median(w["other_cpu_per_s"] for w in windows),
        "cpu_ms_per_op": {
            "server": per_op("server_cpu_per_s"),
            "client": per_op("client_cpu_per_s"),
            "pg": per_op("pg_cpu_per_s"),
        },
        "windows": [
            {k: w[k] for k in ("connections", "write_lock", "pg_backends_busy", "cpu_per_s")}
            | {"per_s": round(w["per_s"])}
            for w in windows
        ],
    }


def best_ratio(one: dict[str, Any], cores: int) -> float:
    """The most a second worker can add on ``cores`` cores, from the one-worker server's CPU per operation of
    each party (server, client, PostgreSQL): a process runs on one core at most, and all of them share the
    cores. Rate with n workers = min(n / server, cores / (server + client + pg)); the ratio of n=2 to n=1."""
    ms: dict[str, float] = one["cpu_ms_per_op"]
    server = ms["server"]
    total = server + ms["client"] + ms["pg"]
    if not total or not server:
        return 0.0

    def rate(workers: int) -> float:
        return min(workers / server, cores / total)

    return round(rate(2) / rate(1), 2)


def _measure(engine: str, quick: bool, pool: ProcessPoolExecutor, client_pids: list[int]) -> dict[str, Any]:
    seconds, pairs = (2.0, 3) if quick else (4.0, 5)
    out: dict[str, Any] = {"engine": engine}
    with _servers(engine) as servers:
        for kind in KINDS:
            for server in servers.values():  # warm-up: both workers up, caches and plans filled
                _window(pool, client_pids, server, kind, 1.0)
            windows: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
            for _ in range(pairs):
                for name, server in servers.items():
                    windows[name].append(_window(pool, client_pids, server, kind, seconds))
            result: dict[str, Any] = {name: _summary(ws) for name, ws in windows.items()}
            for suffix in ("", "@base") if BASE else ("",):
                for name in MEASURED[1:]:
                    both = zip(windows["1" + suffix], windows[name + suffix], strict=True)
                    ratios = [two["per_s"] / one["per_s"] for one, two in both if one["per_s"]] or [0.0]
                    result[f"ratio_{name}{suffix}_over_1"] = {"median": statistics.median(ratios), "pairs": ratios}
                bound = best_ratio(result["1" + suffix], os.cpu_count() or 1)
                result[f"best_ratio_on_these_cores{suffix}"] = bound
            result["errors"] = sum(w["errors"] for ws in windows.values() for w in ws)
            out[kind] = result
    return out


async def run_workers(quick: bool) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    engines = ENGINES
    with ProcessPoolExecutor(CLIENT_PROCESSES, mp_context=multiprocessing.get_context("spawn")) as pool:
        client_pids = sorted(set(pool.map(_pid, range(CLIENT_PROCESSES * 4))))
        loop = asyncio.get_running_loop()
        results = [await loop.run_in_executor(None, _measure, engine, quick, pool, client_pids) for engine in engines]
    measured = [
        target(
            f"workers_{kind}_{result['engine']}_2_over_1", result[kind]["ratio_2_over_1"]["median"], TARGET, "higher"
        )
        for result in results
        for kind in KINDS
    ]
    return {
        "load_1min": {"before": load_before, "after": os.getloadavg()[0]},
        "cpus": os.cpu_count(),
        "client": f"{CLIENT_PROCESSES} processes x {CONNECTIONS} connections",
        "results": results,
        "targets": measured,
    }
