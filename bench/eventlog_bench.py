"""``eventlog``: what the durable event log costs, against the code before it, in one run.

Two servers are started the same way on each database: the current checkout, and the commit before the event
log (``BASELINE``) checked out into a temporary ``git worktree`` and run with the same venv. Both stay up for
the whole comparison, each on its own scratch database, and the measured windows alternate between them
(baseline, current, baseline, current, ...), so a change in the machine's load touches both alike. Measured:

- WebSocket ``items`` creates with 1 and 16 sockets: creates/s, p50/p99 latency, server CPU per create;
- fan-out: one create, ``FANOUT`` subscribed sockets, time from the trigger to the last delivery.

Ratios are current ÷ baseline; ``create_cost`` is the share of create throughput the log costs.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection

from bench import ws_bench
from bench.procs import ROOT, Proc, cpu_seconds, create_messages_collection, tidepool_server
from bench.rest_bench import DATABASES, machine
from bench.ws_bench import percentile

BASELINE = "4e8ea7d"  # "Review pass ...": the last commit before the event log (issue 8)
VARIANTS = ("baseline", "current")
SOCKETS = (1, 16)
FANOUT = 1000
TARGET_COST = 0.15  # issue 8: the log costs under 15 % of create throughput


@dataclass(frozen=True)
class Plan:
    rounds: int  # measured windows per variant and load, alternating baseline/current
    window: float  # seconds per create window
    trials: int  # fan-out events per window


def plan(quick: bool) -> Plan:
    rounds = int(os.environ.get("BENCH_EVENTLOG_ROUNDS", "0")) or (2 if quick else 4)
    return Plan(rounds=rounds, window=1.0 if quick else 1.5, trials=3 if quick else 5)


@contextmanager
def checkout(commit: str = BASELINE) -> Iterator[Path]:
    """``commit`` in a temporary worktree of this repository, removed afterwards (also on failure)."""
    parent = Path(tempfile.mkdtemp(prefix="tidepool-baseline-"))
    tree = parent / "tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree), commit], check=True)
    try:
        yield tree
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
        shutil.rmtree(parent, ignore_errors=True)


def imported_from(code: Path) -> str:
    """Where a server started on ``code`` imports ``tidepool`` from (checked, not assumed)."""
    probe = [sys.executable, "-c", "import tidepool; print(tidepool.__file__)"]
    env = {**os.environ, "PYTHONPATH": str(code)}
    found = subprocess.run(probe, cwd=code, env=env, capture_output=True, text=True, check=True).stdout.strip()
    if not Path(found).resolve().is_relative_to(code.resolve()):
        raise RuntimeError(f"a server on {code} would import {found}")
    return found


def _create(uid: str) -> str:
    message = {
        "type": "items",
        "collection": "messages",
        "action": "create",
        "data": {"text": "bench", "user": "b"},
        "uid": uid,
    }
    return orjson.dumps(message).decode()


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    server_cpu: float = 0.0

    def figures(self) -> dict[str, float]:
        count = len(self.latencies)
        return {
            "creates": count,
            "rps": count / max(self.elapsed, 1e-9),
            "p50_ms": percentile(self.latencies, 50) * 1000,
            "p99_ms": percentile(self.latencies, 99) * 1000,
            "server_cpu_us_per_create": self.server_cpu / max(count, 1) * 1e6,
        }


async def _creates(conns: list[ClientConnection], seconds: float, latencies: list[float]) -> float:
    """Every socket sends a create and waits for its reply, back to back, for ``seconds``."""
    started = time.perf_counter()
    deadline = started + seconds

    async def worker(ws: ClientConnection, n: int) -> None:
        i = 0
        while (start := time.perf_counter()) < deadline:
            uid = f"{n}-{i}"
            await ws.send(_create(uid))
            while orjson.loads(await ws.recv()).get("uid") != uid:
                pass
            latencies.append(time.perf_counter() - start)
            i += 1

    await asyncio.gather(*(worker(ws, n) for n, ws in enumerate(conns)))
    return time.perf_counter() - started


async def _window(proc: Proc, conns: list[ClientConnection], seconds: float, tally: Tally) -> None:
    cpu_before = cpu_seconds(proc.popen.pid)
    tally.elapsed += await _creates(conns, seconds, tally.latencies)
    tally.server_cpu += cpu_seconds(proc.popen.pid) - cpu_before


def _opener(proc: Proc, subscribe: bool) -> Callable[[], Awaitable[ClientConnection]]:
    return lambda: ws_bench.tidepool_socket(proc, subscribe=subscribe)


async def compare_creates(procs: dict[str, Proc], sockets: int, steps: Plan) -> dict[str, dict[str, float]]:
    """``sockets`` writers per server; windows alternate between the servers after one warm-up each."""
    pools = {name: await ws_bench.open_many(sockets, _opener(proc, subscribe=False)) for name, proc in procs.items()}
    tallies = {name: Tally() for name in procs}
    try:
        for name in procs:
            await _creates(pools[name], 0.5, [])
        for _ in range(steps.rounds):
            for name, proc in procs.items():
                await _window(proc, pools[name], steps.window, tallies[name])
    finally:
        await ws_bench.close_all([ws for pool in pools.values() for ws in pool])
    return {name: tally.figures() | {"sockets": sockets} for name, tally in tallies.items()}


async def compare_fanout(procs: dict[str, Proc], n: int, steps: Plan) -> dict[str, dict[str, float]]:
    """``n`` subscribers on each server; fan-out windows of ``trials`` events alternate between them."""
    subscribers: dict[str, list[ClientConnection]] = {}
    writers: dict[str, ClientConnection] = {}
    lasts: dict[str, list[float]] = {name: [] for name in procs}
    lost = dict.fromkeys(procs, 0)
    try:
        for name, proc in procs.items():
            writers[name] = await ws_bench.tidepool_socket(proc, subscribe=False)
            subscribers[name] = await ws_bench.open_many(n, _opener(proc, subscribe=True))
        await asyncio.sleep(0.5)
        for _ in range(steps.rounds):
            for name in procs:
                writer = writers[name]

                async def trigger(ws: ClientConnection = writer) -> None:
                    await ws.send(_create("fanout"))

                times, missing = await ws_bench.fanout_times(subscribers[name], trigger, steps.trials, b'"create"')
                lasts[name] += times
                lost[name] += missing
    finally:
        await ws_bench.close_all([*writers.values(), *(ws for subs in subscribers.values() for ws in subs)])
    return {
        name: {
            "n": n,
            "trials": len(times),
            "p50_ms": percentile(times, 50) * 1000,
            "p99_ms": percentile(times, 99) * 1000,
            "lost": lost[name],
        }
        for name, times in lasts.items()
    }


def _ratios(results: dict[str, dict[str, float]], keys: tuple[str, ...]) -> dict[str, float]:
    base, current = results["baseline"], results["current"]
    return {f"{key}_x": current[key] / base[key] for key in keys}


async def _eventlog_on(database: str, codes: dict[str, Path], commits: dict[str, str], steps: Plan) -> dict[str, Any]:
    started = time.monotonic()
    with ExitStack() as stack:
        procs: dict[str, Proc] = {}
        for name in VARIANTS:
            db_env = stack.enter_context(DATABASES[database]())
            procs[name] = stack.enter_context(tidepool_server(db_env, code=codes[name]))
            create_messages_collection(procs[name].url)
        creates = {sockets: await compare_creates(procs, sockets, steps) for sockets in SOCKETS}
        fanout = await compare_fanout(procs, FANOUT, steps)
    create_rows: list[dict[str, Any]] = [
        {
            "sockets": sockets,
            **results,
            "vs_baseline": _ratios(results, ("rps", "p50_ms", "p99_ms", "server_cpu_us_per_create")),
        }
        for sockets, results in creates.items()
    ]
    fanout_row = {**fanout, "vs_baseline": _ratios(fanout, ("p50_ms", "p99_ms"))}
    row = {
        "database": database,
        "commits": commits,
        "machine": machine(),
        "rounds": steps.rounds,
        "window_s": steps.window,
        "creates": create_rows,
        "fanout": fanout_row,
        "create_cost": {str(r["sockets"]): 1 - r["vs_baseline"]["rps_x"] for r in create_rows},
        "seconds": round(time.monotonic() - started, 1),
    }
    _print(row)
    return row


def _print(row: dict[str, Any]) -> None:
    sides = f"{row['commits']['current']} ÷ {row['commits']['baseline']}"
    print(f"-- eventlog on {row['database']} ({sides}; load average {row['machine']['loadavg_1m']})")
    print(f"   {'load':<14}{'':>9}{'per s':>8}{'p50 ms':>9}{'p99 ms':>9}{'cpu us':>9}")
    for r in row["creates"]:
        for name in VARIANTS:
            f = r[name]
            label = f"{r['sockets']} socket(s)"
            print(
                f"   {label:<14}{name:>9}{f['rps']:>8.0f}{f['p50_ms']:>9.1f}{f['p99_ms']:>9.1f}"
                f"{f['server_cpu_us_per_create']:>9.0f}"
            )
        x = r["vs_baseline"]
        print(
            f"   {'':<14}{'ratio':>9}{x['rps_x']:>8.2f}{x['p50_ms_x']:>9.2f}{x['p99_ms_x']:>9.2f}"
            f"{x['server_cpu_us_per_create_x']:>9.2f}"
        )
    fan = row["fanout"]
    for name in VARIANTS:
        f = fan[name]
        print(
            f"   {'fan-out ' + str(f['n']):<14}{name:>9}{'':>8}{f['p50_ms']:>9.1f}{f['p99_ms']:>9.1f}  lost {f['lost']}"
        )
    x = fan["vs_baseline"]
    print(f"   {'':<14}{'ratio':>9}{'':>8}{x['p50_ms_x']:>9.2f}{x['p99_ms_x']:>9.2f}")
    costs = ", ".join(f"{s} socket(s) {c:+.1%}" for s, c in row["create_cost"].items())
    print(f"   create throughput cost of the log: {costs} (target < {TARGET_COST:.0%})")


async def run_eventlog(quick: bool) -> list[dict[str, Any]]:
    """Current code vs ``BASELINE``, on SQLite and PostgreSQL. ``BENCH_EVENTLOG_BASELINE`` and
    ``BENCH_EVENTLOG_CURRENT`` compare other commits (the current side is this working tree by default)."""
    steps = plan(quick)
    commits = {
        "baseline": os.environ.get("BENCH_EVENTLOG_BASELINE", BASELINE),
        "current": os.environ.get("BENCH_EVENTLOG_CURRENT", "working tree"),
    }
    with ExitStack() as trees:
        codes = {
            name: ROOT if commit == "working tree" else trees.enter_context(checkout(commit))
            for name, commit in commits.items()
        }
        imported = {name: imported_from(code) for name, code in codes.items()}
        rows = [await _eventlog_on(database, codes, commits, steps) for database in DATABASES]
    for row in rows:
        row["imported"] = imported
    return rows
