"""``make bench`` / ``python -m bench [--quick] [--only NAME ...]``: run the benchmarks, print a table,
write the raw figures to bench/results/<time>.json."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import create_bench, eventlog_bench, rest_bench, stall_bench, ws_bench
from bench.procs import ceiling_server, create_messages_collection, raise_fd_limit, tidepool_server

RESULTS = Path(__file__).resolve().parent / "results"


async def run_rtt(quick: bool) -> list[dict[str, Any]]:
    rows = []
    with tidepool_server() as proc:
        create_messages_collection(proc.url)
        for sockets in (1, 16, 64):
            rows.append(await ws_bench.items_round_trips(proc, sockets, seconds=3 if quick else 10))
    return rows


async def _tidepool_fanout(n: int, trials: int) -> tuple[dict[str, Any], bytes]:
    with tidepool_server() as proc:
        create_messages_collection(proc.url)
        writer = await ws_bench.tidepool_socket(proc, subscribe=False)
        rss_before = proc.rss_kib
        subscribers = await ws_bench.open_many(n, lambda: ws_bench.tidepool_socket(proc, subscribe=True))
        await asyncio.sleep(1)
        rss_after = proc.rss_kib

        async def trigger() -> None:
            message = {
                "type": "items",
                "collection": "messages",
                "action": "create",
                "data": {"text": "fan-out", "user": "bench"},
            }
            await writer.send(orjson.dumps(message).decode())

        result = await ws_bench.fanout(subscribers, trigger, trials, b'"create"')
        await ws_bench.close_all([*subscribers, writer])
    result |= {"n": n, "rss_per_socket_kib": (rss_after - rss_before) / n}
    return result, ws_bench.SAMPLES[-1]


async def _ceiling_fanout(n: int, trials: int, frame: bytes) -> dict[str, Any]:
    with ceiling_server() as proc:
        rss_before = proc.rss_kib
        sockets = await ws_bench.open_many(n, lambda: ws_bench.ceiling_socket(proc))
        await asyncio.sleep(1)
        rss_after = proc.rss_kib
        async with httpx.AsyncClient() as http:

            async def trigger() -> None:
                await http.post(f"{proc.url}/publish", content=frame)

            result = await ws_bench.fanout(sockets, trigger, trials, b'"create"')
        await ws_bench.close_all(sockets)
    return result | {"n": n, "rss_per_socket_kib": (rss_after - rss_before) / n}


async def run_fanout(quick: bool) -> list[dict[str, Any]]:
    rows = []
    sizes: tuple[int, ...] = (100, 1000) if quick else (100, 1000, 10000)
    if os.environ.get("BENCH_FANOUT_SIZES"):
        sizes = tuple(int(n) for n in os.environ["BENCH_FANOUT_SIZES"].split(","))
    for n in sizes:
        trials = 5 if n >= 10000 else 10
        tidepool, frame = await _tidepool_fanout(n, trials)
        ceiling = await _ceiling_fanout(n, trials, frame)
        rows.append(
            {
                "n": n,
                "tidepool": tidepool,
                "ceiling": ceiling,
                "ratio_p50": tidepool["p50_ms"] / ceiling["p50_ms"],
                "ratio_memory": tidepool["rss_per_socket_kib"] / ceiling["rss_per_socket_kib"],
                "frame_bytes": len(frame),
            }
        )
    return rows


SCENARIOS = {
    "rtt": run_rtt,
    "fanout": run_fanout,
    "rest": rest_bench.run_rest,
    "permissions": rest_bench.run_permissions,
    "history": rest_bench.run_history,
    "stall": stall_bench.run_stall,
    "eventlog": eventlog_bench.run_eventlog,
    "create": create_bench.run_create,
}


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="shorter runs, no 10,000-socket fan-out")
    parser.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), help="run only these scenarios")
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


if __name__ == "__main__":
    main()
