"""Where the time of one fan-out goes: a cProfile of the server's event loop thread, by owner.

    PYTHONPATH=. .venv/bin/python bench/profile_fanout.py [--sockets 10000] [--events 3] [--cpu]

The server runs in this process (a uvicorn thread, as the tests run it) so the profiler sees its loop; the
subscribers are ``bench/fanout_clients.py`` processes. The profiler is switched on in the loop thread, a
socket creates ``--events`` items (one at a time, each waited for at every subscriber), and the profile is
summed by the owner of each function's file (own time): Tidepool (by module), websockets, uvicorn, the
database driver and SQLAlchemy, asyncio / uvloop and the transport writes (``{built-in}``).

``--cpu`` runs without the profiler and prints the loop thread's own CPU time per event (user + system,
``time.thread_time``: the write syscalls included, the SQLite thread and the receivers not), which moves far
less with the machine's load than the time to the last delivery does; and its split (Linux,
``/proc/thread-self/stat``, in clock ticks) into user time (Python, uvloop) and system time (mostly the
kernel's side of the writes, which grows with the load).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from bench import fanout
from bench.procs import raise_fd_limit
from tests.support.live import ADMIN_TOKEN, live_server, scratch_database
from tests.support.seed import create_guide_messages

OWNERS = (
    ("tidepool/realtime/wire", "/tidepool/realtime/wire.py"),
    ("tidepool/realtime/connection", "/tidepool/realtime/connection.py"),
    ("tidepool/realtime/subscriptions", "/tidepool/realtime/subscriptions.py"),
    ("tidepool/realtime/dispatch", "/tidepool/realtime/dispatch.py"),
    ("tidepool (other)", "/tidepool/"),
    ("websockets", "websockets/"),
    ("uvicorn", "uvicorn/"),
    ("sqlalchemy + drivers", "sqlalchemy/"),
    ("sqlalchemy + drivers", "aiosqlite/"),
    ("asyncio", "/asyncio/"),
)


def _owner(filename: str, name: str) -> str:
    if filename == "~":
        return (
            f"built-in: {name.split(' of ')[0].strip('<>')}" if "write" in name or "send" in name else "built-in: other"
        )
    return next((owner for owner, marker in OWNERS if marker in filename), "other")


def _user_system() -> tuple[int, int]:
    """This thread's user and system CPU in clock ticks ((-1, -1) where ``/proc`` does not say)."""
    try:
        fields = Path("/proc/thread-self/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return -1, -1
    return int(fields[11]), int(fields[12])  # utime, stime: fields 14 and 15 of proc(5)


def _in_loop(loop: asyncio.AbstractEventLoop, call: Callable[[], None]) -> None:
    """Run ``call`` in the server's loop thread (the profiler watches the thread that enables it)."""
    done = threading.Event()

    def run() -> None:
        call()
        done.set()

    loop.call_soon_threadsafe(run)
    done.wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/profile_fanout.py")
    parser.add_argument("--sockets", type=int, default=10000)
    parser.add_argument("--events", type=int, default=3)
    parser.add_argument("--cpu", action="store_true", help="no profiler: the loop thread's CPU time per event")
    args = parser.parse_args()
    raise_fd_limit()
    profiler = cProfile.Profile()
    with tempfile.TemporaryDirectory() as tmp, scratch_database(Path(tmp), "sqlite3") as env:
        with live_server({**env, "WEBSOCKETS_HEARTBEAT_ENABLED": "false"}) as srv:
            with srv.client() as admin:
                create_guide_messages(admin)
            path = f"{srv.settings.WEBSOCKETS_REST_PATH}?access_token={ADMIN_TOKEN}"
            trigger = fanout.RawTrigger(srv.port, path)
            with fanout.receivers(srv.port, path, args.sockets) as procs:
                clock = [0.0, 0.0]
                ticks: list[tuple[int, int]] = []
                fanout.trial(procs, trigger)  # warm-up: first-use costs (plans, caches) are not per event
                _in_loop(srv.runtime_loop, lambda: clock.__setitem__(0, time.thread_time()))
                _in_loop(srv.runtime_loop, lambda: ticks.append(_user_system()))
                if not args.cpu:
                    _in_loop(srv.runtime_loop, profiler.enable)
                times = [fanout.trial(procs, trigger)[0] for _ in range(args.events)]
                if not args.cpu:
                    _in_loop(srv.runtime_loop, profiler.disable)
                _in_loop(srv.runtime_loop, lambda: clock.__setitem__(1, time.thread_time()))
                _in_loop(srv.runtime_loop, lambda: ticks.append(_user_system()))
            trigger.close()
            time.sleep(0.2)
    if args.cpu:
        cpu = (clock[1] - clock[0]) / args.events
        walls = sorted(times)
        print(
            f"{args.sockets} subscribers, {args.events} events: loop thread CPU {cpu * 1000:.1f} ms/event "
            f"({cpu / args.sockets * 1e6:.2f} µs per delivery); to the last delivery p50 "
            f"{walls[len(walls) // 2] * 1000:.0f} ms (min {walls[0] * 1000:.0f}, max {walls[-1] * 1000:.0f})"
        )
        if len(ticks) == 2 and ticks[0][0] >= 0:
            tick = 1000 / os.sysconf("SC_CLK_TCK") / args.events
            user, system = (ticks[1][i] - ticks[0][i] for i in (0, 1))
            print(f"  of which user {user * tick:.1f} ms/event, system {system * tick:.1f} ms/event")
        return
    stats = pstats.Stats(profiler)
    owners: dict[str, float] = defaultdict(float)
    total = 0.0
    for (filename, _, name), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        owners[_owner(filename, name)] += own
        total += own
    print(
        f"{args.sockets} subscribers, {args.events} events; to the last delivery (profiled): "
        + ", ".join(f"{t * 1000:.0f} ms" for t in times)
    )
    print(f"server loop CPU (own time) per event: {total / args.events * 1000:.1f} ms")
    for owner, own in sorted(owners.items(), key=lambda item: -item[1]):
        print(f"{own / args.events * 1000:8.1f} ms/event {own / total * 100:5.1f} %  {owner}")
    stats.sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
