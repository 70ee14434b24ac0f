"""Where a WebSocket create spends its time, with the event log and without: ``python -m bench.profile_eventlog``.

On each database, the current code and the baseline commit (``bench.eventlog_bench.BASELINE``, in a temporary
worktree) run under ``bench/timed_server.py``; one socket sends ``items`` creates back to back for a few
seconds (one create at a time, so every wall time below belongs to one create). Printed per create: the
client's latency, the server's CPU time, the wall time of each kind of SQL statement and of the commit (from
the driver call to its return, through SQLAlchemy's async bridge), and cProfile's inclusive time of
``eventlog.append`` on the event loop thread (the Python work around the log's statements).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pstats
import shutil
import signal
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench import ws_bench
from bench.eventlog_bench import BASELINE, Tally, _creates, checkout
from bench.procs import ROOT, cpu_seconds, create_messages_collection, tidepool_server
from bench.rest_bench import DATABASES

TIMED_SERVER = ROOT / "bench" / "timed_server.py"
RESULTS = ROOT / "bench" / "results"
# The log's statements as the cursor events see them (SQLite's go to aiosqlite directly: see eventlog.append).
LOG_STATEMENTS = (
    "UPDATE tidepool_event_counters",
    "SELECT tidepool_event_counters",
    "INSERT tidepool_events",
    "WITH tidepool_event_counters",
)


async def _measure(proc_pid: int, url_proc: Any, seconds: float, sockets: int) -> dict[str, float]:
    conns = await ws_bench.open_many(sockets, lambda: ws_bench.tidepool_socket(url_proc, subscribe=False))
    try:
        await _creates(conns, 1.0, [])  # warm-up: plan caches, prepared statements
        os.kill(proc_pid, signal.SIGUSR1)
        await asyncio.sleep(0.2)
        tally = Tally()
        cpu_before = cpu_seconds(proc_pid)
        tally.elapsed = await _creates(conns, seconds, tally.latencies)
        tally.server_cpu = cpu_seconds(proc_pid) - cpu_before
    finally:
        await ws_bench.close_all(conns)
    return tally.figures() | {"mean_ms": sum(tally.latencies) / max(len(tally.latencies), 1) * 1000}


def _append_profile(prof: Path) -> dict[str, Any]:
    """cProfile's view of ``eventlog.append`` (event loop thread; waits on the driver are not counted)."""
    if not prof.exists():
        return {}
    stats: Any = pstats.Stats(str(prof)).stats  # type: ignore[attr-defined]  # the raw table, not in the stubs
    found: dict[str, Any] = {}
    for (filename, _line, name), (_cc, calls, _tt, cumulative, _callers) in stats.items():
        if filename.endswith("eventlog.py") and name in {"append", "encode_body"}:
            found[f"{name}_calls"] = calls
            found[f"{name}_cum_s"] = cumulative
    return found


async def profile_one(database: str, code: Path, seconds: float, sockets: int = 1) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "timings.json"
        with DATABASES[database]() as db_env:
            server = tidepool_server(db_env, code=code, command=(str(TIMED_SERVER),), BENCH_TIMINGS=str(out))
            with server as proc:
                create_messages_collection(proc.url)
                figures = await _measure(proc.popen.pid, proc, seconds, sockets)
        totals = json.loads(out.read_text())
        creates = max(int(figures["creates"]), 1)
        statements = {
            kind: {"per_create": count / creates, "ms_per_create": total / creates * 1000}
            for kind, (count, total) in sorted(totals.items(), key=lambda item: -item[1][1])
        }
        profile = _append_profile(Path(str(out) + ".prof"))
        if Path(str(out) + ".prof").exists():
            RESULTS.mkdir(exist_ok=True)
            kept = RESULTS / f"eventlog-{database}-{code.name}-{time.strftime('%Y%m%d-%H%M%S')}.prof"
            shutil.copy(Path(str(out) + ".prof"), kept)
            profile["file"] = str(kept)
    log_ms = sum(statements.get(kind, {}).get("ms_per_create", 0.0) for kind in LOG_STATEMENTS)
    append_ms = profile.get("append_cum_s", 0.0) / creates * 1000
    return {
        **figures,
        "statements": statements,
        "log_statements_ms": log_ms,
        "append_python_ms": append_ms,
        "append_wall_ms": statements.get("eventlog.append", {}).get("ms_per_create", 0.0),
        "sql_ms": sum(s["ms_per_create"] for kind, s in statements.items() if kind != "eventlog.append"),
        "profile": profile,
    }


def _print(database: str, sockets: int, results: dict[str, dict[str, Any]]) -> None:
    base, current = results.get("baseline"), results["current"]
    print(f"-- one WebSocket create on {database} ({sockets} socket(s), ms per create)")
    print(f"   {'':<46}{'baseline':>10}{'current':>10}")

    def line(label: str, key: str) -> None:
        was = f"{base[key]:>10.3f}" if base else f"{'':>10}"
        print(f"   {label:<46}{was}{current[key]:>10.3f}")

    line("client latency (mean)", "mean_ms")
    print(f"   {'server CPU':<46}", end="")
    for r in (base, current):
        print(f"{r['server_cpu_us_per_create'] / 1000:>10.3f}" if r else f"{'':>10}", end="")
    print()
    kinds = [k for k in current["statements"] if k != "eventlog.append"]
    for kind in [k for k in (base or {}).get("statements", {}) if k not in kinds]:
        kinds.append(kind)
    for kind in kinds:
        row = [r["statements"].get(kind) if r else None for r in (base, current)]
        cells = "".join(f"{c['ms_per_create']:>7.3f} ×{c['per_create']:<2.0f}" if c else f"{'-':>10}" for c in row)
        print(f"   {kind:<46}{cells}")
    line("all SQL + commit", "sql_ms")
    line("the log's UPDATE + SELECT + INSERT", "log_statements_ms")
    line("eventlog.append, wall time", "append_wall_ms")
    line("eventlog.append, loop thread CPU (cProfile)", "append_python_ms")


async def run(
    databases: list[str], seconds: float, with_baseline: bool, sockets: int, current: str | None
) -> dict[str, Any]:
    report: dict[str, Any] = {}
    with checkout() as baseline, ExitStack() as trees:
        tree = ROOT if current is None else trees.enter_context(checkout(current))
        for database in databases:
            codes = {"baseline": baseline, "current": tree} if with_baseline else {"current": tree}
            results = {name: await profile_one(database, code, seconds, sockets) for name, code in codes.items()}
            _print(database, sockets, results)
            report[database] = results
    return report


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_eventlog")
    parser.add_argument("--database", nargs="*", choices=sorted(DATABASES), default=sorted(DATABASES))
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--current", help="profile this commit (in a temporary worktree) instead of this tree")
    parser.add_argument("--sockets", type=int, default=1, help="concurrent writers (wall times then overlap)")
    parser.add_argument("--no-baseline", action="store_true", help=f"profile the current code only, not {BASELINE}")
    args = parser.parse_args()
    report = asyncio.run(run(args.database, args.seconds, not args.no_baseline, args.sockets, args.current))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"eventlog-profile-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"results written to {out}")


if __name__ == "__main__":
    main()
