"""Where the memory of an idle subscribed WebSocket goes: a tracemalloc diff per socket, by source.

    PYTHONPATH=. .venv/bin/python bench/memory_profile.py [--sockets 2000] [--app tidepool|ceiling] [--lines 15]

The server runs in this process (a uvicorn thread with Tidepool's WebSocket protocol, as the tests run
it) so tracemalloc sees its allocations; the clients run in a child process so theirs are not counted.
After a warm-up batch (first-use caches, imports), a snapshot is taken, ``--sockets`` clients connect, authenticate and
subscribe (Tidepool) or register (``--app ceiling``: bench/ceiling.py, the bare Starlette + uvicorn
broadcast server), and a second snapshot is diffed against the first. Allocations are charged to the
innermost frame: the table by file, a total by owner (tidepool, starlette, uvicorn, websockets, asyncio),
and with ``--lines`` the heaviest source lines of Tidepool's own files.
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from tests.support.live import free_port, live_server, scratch_database
from tests.support.seed import create_guide_messages

ROOT = Path(__file__).resolve().parents[1]
WARM_UP = 50

CLIENT = r"""
import asyncio, json, sys
from websockets.asyncio.client import connect

async def one(url, ceiling):
    ws = await connect(url, compression=None, ping_interval=None, open_timeout=60)
    if ceiling:
        await ws.send("subscribe"); await ws.recv()
        return ws
    await ws.send(json.dumps({"type": "auth", "access_token": "admin-static-token"})); await ws.recv()
    await ws.send(json.dumps({"type": "subscribe", "collection": "messages", "query": {"fields": ["*"], "limit": 1}}))
    await ws.recv()
    return ws

async def main():
    gate = asyncio.Semaphore(100)
    async def gated():
        async with gate:
            return await one(sys.argv[1], sys.argv[3] == "ceiling")
    conns = await asyncio.gather(*(gated() for _ in range(int(sys.argv[2]))))
    print("ready", flush=True)
    sys.stdin.readline()

asyncio.run(main())
"""

OWNERS = (
    ("tidepool", "/tidepool/"),
    ("starlette", "starlette/"),
    ("uvicorn", "uvicorn/"),
    ("websockets", "websockets/"),
    ("asyncio", "/asyncio/"),
)


def _owner(filename: str) -> str:
    return next((owner for owner, marker in OWNERS if marker in filename), "other")


def _short(filename: str) -> str:
    for marker in ("site-packages/", "lib/python3.11/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename.replace(str(ROOT) + "/", "")


@contextmanager
def _tidepool() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        with scratch_database(Path(tmp), "sqlite3") as env:
            with live_server({**env, "WEBSOCKETS_HEARTBEAT_ENABLED": "false"}) as srv:
                with srv.client() as admin:
                    create_guide_messages(admin)
                yield srv.ws_url


@contextmanager
def _ceiling() -> Iterator[str]:
    from bench import ceiling  # the bare Starlette app: loaded only when it is the one measured

    port = free_port()
    config = uvicorn.Config(
        ceiling.app,
        host="127.0.0.1",
        port=port,
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        ws_ping_interval=None,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"ws://127.0.0.1:{port}/websocket"
    finally:
        server.should_exit = True
        thread.join(10)


def _clients(url: str, count: int, app: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CLIENT, url, str(count), app], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise RuntimeError("clients failed to connect")
    return proc


def _release(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("\n")
    proc.stdin.flush()
    proc.wait(30)


def _report(diff: list[tracemalloc.StatisticDiff], sockets: int, rows: int) -> None:
    total = sum(stat.size_diff for stat in diff)
    print(f"total traced per socket: {total / sockets / 1024:.1f} KiB ({total / sockets:.0f} B)")
    owners: dict[str, int] = defaultdict(int)
    for stat in diff:
        owners[_owner(stat.traceback[0].filename)] += stat.size_diff
    print("by owner: " + ", ".join(f"{name} {size / sockets:.0f} B" for name, size in sorted(owners.items())))
    for stat in diff[:rows]:
        where = _short(stat.traceback[0].filename)
        print(f"{stat.size_diff / sockets:8.0f} B/socket {stat.count_diff / sockets:6.1f} blocks  {where}")


def _own_lines(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, sockets: int, rows: int) -> None:
    only = [tracemalloc.Filter(True, str(ROOT / "tidepool") + "/*")]
    diff = after.filter_traces(only).compare_to(before.filter_traces(only), "lineno")
    print("Tidepool's heaviest lines:")
    for stat in diff[:rows]:
        frame = stat.traceback[0]
        where = f"{_short(frame.filename)}:{frame.lineno}"
        print(f"{stat.size_diff / sockets:8.0f} B/socket {stat.count_diff / sockets:6.1f} blocks  {where}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/memory_profile.py")
    parser.add_argument("--sockets", type=int, default=2000)
    parser.add_argument("--app", choices=("tidepool", "ceiling"), default="tidepool")
    parser.add_argument("--rows", type=int, default=25, help="rows of the by-file table")
    parser.add_argument("--lines", type=int, default=0, help="also show the heaviest lines of tidepool/")
    args = parser.parse_args()
    server = _tidepool if args.app == "tidepool" else _ceiling
    with server() as url:
        warm = _clients(url, WARM_UP, args.app)
        gc.collect()
        tracemalloc.start(1)
        time.sleep(0.5)
        before = tracemalloc.take_snapshot()
        clients = _clients(url, args.sockets, args.app)
        time.sleep(1)
        gc.collect()
        after = tracemalloc.take_snapshot()
        _report(after.compare_to(before, "filename"), args.sockets, args.rows)
        if args.lines:
            _own_lines(before, after, args.sockets, args.lines)
        _release(clients)
        _release(warm)


if __name__ == "__main__":
    main()
