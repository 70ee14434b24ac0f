"""The ``rest`` scenario's ping and create at another commit against this tree, side by side:
``python -m bench.rest_ab <commit> [rounds] [seconds] [database]`` (``sqlite``, the default, or ``postgres``).

As ``bench.create_ab`` does for WebSocket creates: both servers run at once, each on its own scratch database
seeded as ``rest`` seeds it, and their measured windows alternate (before ping, before create, after ping,
after create, ... ``rounds`` times, ``seconds`` each after a warm-up), so a change in the machine's load
touches both alike. Prints, per server, the server CPU per ``GET /server/ping`` and per
``POST /items/messages`` and their ratio (the target of issue 11 is ≤ 8), with requests/s.
"""

from __future__ import annotations

import asyncio
import os
import sys
from contextlib import ExitStack
from typing import Any

from bench.eventlog_bench import checkout
from bench.procs import Proc, create_messages_collection, tidepool_server
from bench.rest_bench import CLIENTS, DATABASES, REST_CALLS, Tally, _drive, _pool, _window, seed_messages

LOADS = ("ping", "create_one")


async def measure(procs: dict[str, Proc], rounds: int, seconds: float) -> dict[str, dict[str, dict[str, float]]]:
    """Per server and load, the ``rest`` figures of ``rounds`` alternating windows of ``seconds``."""
    pools = {(n, load): _pool(p, REST_CALLS[load], CLIENTS) for n, p in procs.items() for load in LOADS}
    tallies = {key: Tally() for key in pools}
    try:
        for (_name, load), pool in pools.items():
            await _drive(pool, REST_CALLS[load], 1.0)
        for _ in range(rounds):
            for (name, load), pool in pools.items():
                await _window(procs[name], pool, REST_CALLS[load], seconds, tallies[(name, load)])
    finally:
        await asyncio.gather(*(c.aclose() for pool in pools.values() for c in pool))
    out: dict[str, dict[str, dict[str, float]]] = {name: {} for name in procs}
    for (name, load), tally in tallies.items():
        out[name][load] = tally.figures()
    return out


def _line(name: str, figures: dict[str, dict[str, float]]) -> str:
    ping, post = figures["ping"], figures["create_one"]
    ratio = post["server_cpu_us_per_req"] / max(ping["server_cpu_us_per_req"], 1e-9)
    parts: list[Any] = [
        f"ping {ping['server_cpu_us_per_req']:.0f} µs ({ping['rps']:.0f}/s)",
        f"POST {post['server_cpu_us_per_req']:.0f} µs ({post['rps']:.0f}/s, errors {post['errors']:.0f})",
        f"POST ÷ ping {ratio:.2f}",
    ]
    return f"   {name:7} " + "  ".join(str(p) for p in parts)


async def main(commit: str, rounds: int, seconds: float, database: str = "sqlite") -> None:
    load_before = os.getloadavg()[0]
    with ExitStack() as stack:
        tree = stack.enter_context(checkout(commit))
        scratch = DATABASES[database]
        procs = {
            "before": stack.enter_context(tidepool_server(stack.enter_context(scratch()), code=tree)),
            "after": stack.enter_context(tidepool_server(stack.enter_context(scratch()))),
        }
        for proc in procs.values():
            create_messages_collection(proc.url)
            seed_messages(proc)
        results = await measure(procs, rounds, seconds)
    print(f"-- {database}, {rounds} rounds of {seconds:g} s, load average {load_before:.1f} → {os.getloadavg()[0]:.1f}")
    for name, figures in results.items():
        print(_line(name, figures))


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if not arguments:
        sys.exit(__doc__)
    asyncio.run(
        main(
            arguments[0],
            int(arguments[1]) if len(arguments) > 1 else 5,
            float(arguments[2]) if len(arguments) > 2 else 2.0,
            arguments[3] if len(arguments) > 3 else "sqlite",
        )
    )
