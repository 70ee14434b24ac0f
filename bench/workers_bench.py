"""``--only workers``: what ``tidepool start --workers 2`` gains over one process (issue 11, point 3).

Two servers run side by side on two scratch databases of the same engine: one with ``WEB_CONCURRENCY=1``,
one with ``2``. Each load is measured in windows that alternate between them (1, 2, 1, 2, …), so a change in
the machine's load hits both alike; the ratio of each pair is reported, and their median.

The client runs in separate processes (``CLIENT_PROCESSES``, from a spawned pool made once), never in this
one, and is as cheap as a client can be: REST is hand-written HTTP/1.1 over asyncio streams on keep-alive
connections; WebSocket creates go through ``websockets``' asyncio client. New connections are opened in
every window, so the way the kernel spreads them over the workers is drawn again each time.

Two loads: REST ``GET /items/messages?limit=10`` and WebSocket ``items`` creates (one at a time per socket).
Besides the rates, each window reports the CPU the server's processes (the parent and its workers) and the
client's processes used per second of window, read from /proc: a server that cannot reach 2 CPU-seconds per
second with two workers was not given the cores, whatever the reason (the client, other work on the machine).
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
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.procs import ADMIN_TOKEN, Proc, cpu_seconds, create_messages_collection, pg_database, tidepool_server
from bench.targets import target

CLIENT_PROCESSES = 2
CONNECTIONS = 16  # per client process
TARGET = 1.7  # from 1 to 2 workers (issue 11)
_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


# ------------------------------------------------------------------------------------ client processes


def rest_window(port: int, connections: int, seconds: float) -> tuple[int, int]:
    """(answers 200, other answers) of ``connections`` keep-alive connections reading for ``seconds``."""
    return asyncio.run(_rest(port, connections, seconds))


async def _rest(port: int, connections: int, seconds: float) -> tuple[int, int]:
    request = (
        f"GET /items/messages?limit=10 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\r\n"
    ).encode()
    end = time.monotonic() + seconds

    async def one() -> tuple[int, int]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        ok = failed = 0
        try:
            while time.monotonic() < end:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                match = _LENGTH.search(head)
                await reader.readexactly(int(match[1]) if match else 0)
                if head.startswith(b"HTTP/1.1 200"):
                    ok += 1
                else:
                    failed += 1
        finally:
            writer.close()
        return ok, failed

    results = await asyncio.gather(*(one() for _ in range(connections)))
    return sum(r[0] for r in results), sum(r[1] for r in results)


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


def _tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its live children (the workers)."""
    total = cpu_seconds(pid)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for child in children.read_text().split() if children.exists() else ():
        try:
            total += cpu_seconds(int(child))
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def _window(pool: ProcessPoolExecutor, client_pids: list[int], proc: Proc, kind: str, seconds: float) -> dict[str, Any]:
    window = rest_window if kind == "rest" else ws_window
    server_before = _tree_cpu(proc.popen.pid)
    client_before = sum(cpu_seconds(pid) for pid in client_pids)
    started = time.monotonic()
    futures = [pool.submit(window, proc.port, CONNECTIONS, seconds) for _ in range(CLIENT_PROCESSES)]
    results = [f.result() for f in futures]
    elapsed = time.monotonic() - started
    ok, failed = sum(r[0] for r in results), sum(r[1] for r in results)
    return {
        "per_s": ok / seconds,
        "errors": failed,
        "server_cpu_per_s": (_tree_cpu(proc.popen.pid) - server_before) / elapsed,
        "client_cpu_per_s": (sum(cpu_seconds(pid) for pid in client_pids) - client_before) / elapsed,
    }


@contextmanager
def _servers(engine: str) -> Iterator[dict[int, Proc]]:
    """A one-process and a two-worker server, each on its own scratch database of ``engine``."""
    with ExitStack() as stack:
        servers = {}
        for workers in (1, 2):
            db_env = stack.enter_context(pg_database()) if engine == "pg" else {}
            proc = stack.enter_context(tidepool_server(db_env, WEB_CONCURRENCY=str(workers)))
            servers[workers] = proc
        for proc in servers.values():
            _seed(proc)
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


def _measure(engine: str, quick: bool, pool: ProcessPoolExecutor, client_pids: list[int]) -> dict[str, Any]:
    seconds, pairs = (2.0, 3) if quick else (4.0, 5)
    out: dict[str, Any] = {"engine": engine}
    with _servers(engine) as servers:
        for kind in ("rest", "ws"):
            for proc in servers.values():  # warm-up: both workers up, caches and plans filled
                _window(pool, client_pids, proc, kind, 1.0)
            windows: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
            for _ in range(pairs):
                for workers, proc in servers.items():
                    windows[workers].append(_window(pool, client_pids, proc, kind, seconds))
            ratios = [two["per_s"] / one["per_s"] for one, two in zip(windows[1], windows[2], strict=True)]
            out[kind] = {
                "one_worker_per_s": statistics.median(w["per_s"] for w in windows[1]),
                "two_workers_per_s": statistics.median(w["per_s"] for w in windows[2]),
                "ratio_median": statistics.median(ratios),
                "ratios": ratios,
                "errors": sum(w["errors"] for ws in windows.values() for w in ws),
                "server_cpu_per_s": {
                    n: statistics.median(w["server_cpu_per_s"] for w in ws) for n, ws in windows.items()
                },
                "client_cpu_per_s": statistics.median(w["client_cpu_per_s"] for ws in windows.values() for w in ws),
            }
    return out


async def run_workers(quick: bool) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    engines = ("sqlite", "pg")
    with ProcessPoolExecutor(CLIENT_PROCESSES, mp_context=multiprocessing.get_context("spawn")) as pool:
        client_pids = sorted(set(pool.map(_pid, range(CLIENT_PROCESSES * 4))))
        loop = asyncio.get_running_loop()
        results = [await loop.run_in_executor(None, _measure, engine, quick, pool, client_pids) for engine in engines]
    measured = [
        target(f"workers_{kind}_{result['engine']}_2_over_1", result[kind]["ratio_median"], TARGET, "higher")
        for result in results
        for kind in ("rest", "ws")
    ]
    return {
        "load_1min": {"before": load_before, "after": os.getloadavg()[0]},
        "cpus": os.cpu_count(),
        "client": f"{CLIENT_PROCESSES} processes x {CONNECTIONS} connections",
        "results": results,
        "targets": measured,
    }
