"""``create``: WebSocket ``items`` creates on Tidepool against the create ceiling, in one run (issue 11).

On each database (SQLite, PostgreSQL) two servers run side by side, each on a scratch database of its own:
``tidepool start`` and ``bench/create_ceiling.py`` (a bare uvicorn WebSocket endpoint that parses the same
frame, inserts and reads back the row with the driver directly in one transaction, and answers). With 1 and
16 sockets, every socket sends a create and waits for its reply, back to back; the measured windows
alternate between the two servers (ceiling, Tidepool, ceiling, ...) after a warm-up each, so a change in the
machine's load touches both alike. Reported per server and load: creates/s, p50/p99 latency, server CPU per
create (from /proc, independent of the client's speed), and Tidepool's ratio to the ceiling.

Targets (``"targets"``): Tidepool's creates/s at 16 sockets ≥ 40 % of the ceiling's, on each database; p99 at
16 sockets under 25 ms on SQLite.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from bench import ws_bench
from bench.eventlog_bench import Tally, _creates, checkout
from bench.procs import (
    ADMIN_TOKEN,
    ROOT,
    Proc,
    cpu_seconds,
    create_messages_collection,
    free_port,
    serve,
    tidepool_server,
)
from bench.rest_bench import DATABASES, machine, selected_databases
from bench.targets import target

SERVERS = ("ceiling", "tidepool")
SOCKETS = (1, 16)
TARGET_RATIO = 0.40  # Tidepool's creates/s ÷ the ceiling's, 16 sockets
TARGET_P99_MS = 25.0  # Tidepool's p99 at 16 sockets, SQLite


def rounds(quick: bool) -> tuple[int, float]:
    """Measured windows per server and load, and seconds per window."""
    count = int(os.environ.get("BENCH_CREATE_ROUNDS", "0")) or (3 if quick else 5)
    return count, 1.0 if quick else 2.0


@contextmanager
def ceiling_server(db_env: dict[str, str]) -> Iterator[Proc]:
    """bench/create_ceiling.py on its own scratch database (a file here, or the PostgreSQL one given)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        if db_env.get("DB_CLIENT") == "pg":
            target = (
                f"postgres:postgresql://{db_env['DB_USER']}@{db_env['DB_HOST']}:{db_env['DB_PORT']}"
                f"/{db_env['DB_DATABASE']}"
            )
        else:
            target = f"sqlite:{Path(tmp) / 'ceiling.db'}"
        with serve(["-m", "bench.create_ceiling", str(port), target], port) as proc:
            yield proc


async def open_socket(proc: Proc) -> ClientConnection:
    """A socket that authenticated (the ceiling answers the auth frame without looking at it)."""
    ws = await connect(proc.ws_url, max_size=2**24, compression=None, ping_interval=None, open_timeout=60)
    await ws.send(orjson.dumps({"type": "auth", "access_token": ADMIN_TOKEN}).decode())
    reply = orjson.loads(await ws.recv())
    if reply.get("status") != "ok":
        raise RuntimeError(f"auth failed: {reply}")
    return ws


async def compare(procs: dict[str, Proc], sockets: int, count: int, window: float) -> dict[str, dict[str, float]]:
    pools = {name: await ws_bench.open_many(sockets, partial(open_socket, proc)) for name, proc in procs.items()}
    tallies = {name: Tally() for name in procs}
    try:
        for name in procs:
            await _creates(pools[name], 1.0, [])
        for _ in range(count):
            for name, proc in procs.items():
                cpu_before = cpu_seconds(proc.popen.pid)
                tallies[name].elapsed += await _creates(pools[name], window, tallies[name].latencies)
                tallies[name].server_cpu += cpu_seconds(proc.popen.pid) - cpu_before
    finally:
        await ws_bench.close_all([ws for pool in pools.values() for ws in pool])
    return {name: tally.figures() for name, tally in tallies.items()}


async def _create_on(database: str, quick: bool, code: Path) -> dict[str, Any]:
    count, window = rounds(quick)
    started = time.monotonic()
    with ExitStack() as stack:
        procs = {
            "ceiling": stack.enter_context(ceiling_server(stack.enter_context(DATABASES[database]()))),
            "tidepool": stack.enter_context(tidepool_server(stack.enter_context(DATABASES[database]()), code=code)),
        }
        create_messages_collection(procs["tidepool"].url)
        loads: list[dict[str, Any]] = []
        for sockets in SOCKETS:
            results = await compare(procs, sockets, count, window)
            ceiling, tidepool = results["ceiling"], results["tidepool"]
            loads.append(
                {
                    "sockets": sockets,
                    **results,
                    "ratio_rps": tidepool["rps"] / ceiling["rps"],
                    "ratio_cpu": tidepool["server_cpu_us_per_create"] / max(ceiling["server_cpu_us_per_create"], 1e-9),
                }
            )
    at16 = next(load for load in loads if load["sockets"] == 16)
    targets = [
        target(f"{database}: creates/s at 16 sockets ÷ ceiling", round(at16["ratio_rps"], 4), TARGET_RATIO, "higher")
    ]
    if database == "sqlite":
        targets.append(
            target("sqlite: p99 ms at 16 sockets", round(at16["tidepool"]["p99_ms"], 4), TARGET_P99_MS, "lower")
        )
    row = {
        "database": database,
        "machine": machine(),
        "rounds": count,
        "window_s": window,
        "loads": loads,
        "targets": targets,
        "seconds": round(time.monotonic() - started, 1),
    }
    _print(row)
    return row


def _print(row: dict[str, Any]) -> None:
    print(f"-- create on {row['database']} (load average {row['machine']['loadavg_1m']})")
    print(f"   {'load':<14}{'':>9}{'per s':>8}{'p50 ms':>9}{'p99 ms':>9}{'cpu us':>9}")
    for load in row["loads"]:
        for name in SERVERS:
            f = load[name]
            label = f"{load['sockets']} socket(s)"
            print(
                f"   {label:<14}{name:>9}{f['rps']:>8.0f}{f['p50_ms']:>9.2f}{f['p99_ms']:>9.2f}"
                f"{f['server_cpu_us_per_create']:>9.0f}"
            )
        print(f"   {'':<14}{'ratio':>9}{load['ratio_rps']:>8.2f}{'':>18}{load['ratio_cpu']:>9.2f}")
    for goal in row["targets"]:
        mark = "met" if goal["met"] else "NOT met"
        print(f"   target {goal['name']}: {goal['value']:.3g} ({goal['better']} than {goal['target']}) {mark}")


async def run_create(quick: bool) -> list[dict[str, Any]]:
    """The scenario, on every database of ``bench.rest_bench.DATABASES``; ``BENCH_CREATE_COMMIT`` runs
    Tidepool at another commit (checked out in a temporary worktree) instead of this working tree."""
    commit = os.environ.get("BENCH_CREATE_COMMIT")
    with ExitStack() as trees:
        code = trees.enter_context(checkout(commit)) if commit else ROOT
        rows = [await _create_on(database, quick, code) for database in selected_databases()]
    for row in rows:
        row["commit"] = commit or "working tree"
    return rows
