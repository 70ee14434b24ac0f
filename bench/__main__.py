"""``make bench`` / ``python -m bench [--quick] [--only NAME ...] [--check]``: run the benchmarks, print a
table, write the raw figures to bench/results/<time>.json; with ``--check``, exit 1 when a ratio misses its
target (``bench/targets.py``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from bench import create_bench, eventlog_bench, fanout, rest_bench, stall_bench, targets, workers_bench, ws_bench
from bench.procs import ceiling_server, create_messages_collection, raise_fd_limit, tidepool_server

RESULTS = Path(__file__).resolve().parent / "results"


async def run_rtt(quick: bool) -> list[dict[str, Any]]:
    rows = []
    with tidepool_server() as proc:
        create_messages_collection(proc.url)
        for sockets in (1, 16, 64):
            rows.append(await ws_bench.items_round_trips(proc, sockets, seconds=3 if quick else 10))
    return rows


async def run_fanout(quick: bool) -> dict[str, Any]:
    """bench/fanout.py: Tidepool, the transport ceiling and the uvicorn ceiling, size by size (each server in
    turn, so they share the machine's load of the moment), with the targets of the largest size.
    ``BENCH_FANOUT_COMMIT`` also runs Tidepool at that commit (a temporary worktree) right after this tree."""
    commit = os.environ.get("BENCH_FANOUT_COMMIT")
    with contextlib.ExitStack() as trees:
        other = trees.enter_context(eventlog_bench.checkout(commit)) if commit else None
        return _fanout_sizes(quick, other, commit)


def _fanout_sizes(quick: bool, other: Path | None, commit: str | None) -> dict[str, Any]:
    rows = []
    sizes: tuple[int, ...] = (100, 1000) if quick else (100, 1000, 10000)
    if os.environ.get("BENCH_FANOUT_SIZES"):
        sizes = tuple(int(n) for n in os.environ["BENCH_FANOUT_SIZES"].split(","))
    found: list[dict[str, Any]] = []
    for n in sizes:
        trials = 5 if n >= 10000 else 10
        with tidepool_server() as proc:
            create_messages_collection(proc.url)
            tidepool, frame = fanout.tidepool_fanout(proc, n, trials)
        before: dict[str, Any] = {}
        if other is not None:
            with tidepool_server(code=other) as proc:
                create_messages_collection(proc.url)
                before = {"tidepool_at_commit": fanout.tidepool_fanout(proc, n, trials)[0] | {"commit": commit}}
        transport = fanout.transport_ceiling_fanout(n, trials, frame)
        with ceiling_server() as proc:
            uvicorn_ceiling = fanout.uvicorn_ceiling_fanout(proc, n, trials, frame)
        rows.append(
            {
                "n": n,
                "load_1min": os.getloadavg()[0],
                "frame_bytes": len(frame),
                "tidepool": tidepool,
                "transport_ceiling": transport,
                "uvicorn_ceiling": uvicorn_ceiling,
                "ratio_p50_to_transport": tidepool["p50_ms"] / transport["p50_ms"],
                "ratio_p50_to_uvicorn": tidepool["p50_ms"] / uvicorn_ceiling["p50_ms"],
                **before,
            }
        )
        if n == max(sizes):
            found = fanout.targets(n, tidepool)
    return {"sizes": rows, "targets": found}


SCENARIOS = {
    "rtt": run_rtt,
    "fanout": run_fanout,
    "rest": rest_bench.run_rest,
    "permissions": rest_bench.run_permissions,
    "history": rest_bench.run_history,
    "stall": stall_bench.run_stall,
    "eventlog": eventlog_bench.run_eventlog,
    "workers": workers_bench.run_workers,
    "create": create_bench.run_create,
}


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="shorter runs, no 10,000-socket fan-out")
    parser.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), help="run only these scenarios")
    parser.add_argument("--check", action="store_true", help="exit 1 when a measured ratio misses its target")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _stop)  # clean up (servers, scratch databases, worktrees) as on Ctrl-C
    raise_fd_limit()
    report: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    for name in args.only or SCENARIOS:
        print(f"== {name}", flush=True)
        report[name] = asyncio.run(SCENARIOS[name](args.quick))
        print(json.dumps(report[name], indent=2), flush=True)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"results written to {out}")
    if args.check:
        raise SystemExit(targets.check(report))


if __name__ == "__main__":
    main()
