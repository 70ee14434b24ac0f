"""Tidepool at another commit against this tree, side by side:
``python -m bench.create_ab <commit> [n] [rounds] [database]`` (``sqlite``, the default, or ``postgres``).

On a machine whose load swings from run to run, two separate runs of ``bench --only create`` cannot compare two
commits: this runs both (and the create ceiling) at once, each on its own scratch database, and alternates their
measured windows (``create_bench.compare``: ceiling, before, after, ceiling, ...; 2 s each after a warm-up), so
the load falls on all alike. Prints creates/s, p50/p99 and server CPU per create of each.
"""

from __future__ import annotations

import asyncio
import os
import sys
from contextlib import ExitStack

from bench.create_bench import ceiling_server, compare
from bench.eventlog_bench import checkout
from bench.procs import create_messages_collection, tidepool_server
from bench.rest_bench import DATABASES


async def main(commit: str, sockets: int, rounds: int, database: str = "sqlite") -> None:
    with ExitStack() as stack:
        tree = stack.enter_context(checkout(commit))
        scratch = DATABASES[database]
        procs = {
            "ceiling": stack.enter_context(ceiling_server(stack.enter_context(scratch()))),
            "before": stack.enter_context(tidepool_server(stack.enter_context(scratch()), code=tree)),
            "after": stack.enter_context(tidepool_server(stack.enter_context(scratch()))),
        }
        for name in ("before", "after"):
            create_messages_collection(procs[name].url)
        results = await compare(procs, sockets, rounds, 2.0)
    print(f"-- {database}, {sockets} socket(s), {rounds} rounds, load average {os.getloadavg()[0]:.1f}")
    for name, figures in results.items():
        print(f"   {name:8} " + "  ".join(f"{key}={value:.1f}" for key, value in figures.items()))


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if not arguments:
        sys.exit(__doc__)
    asyncio.run(
        main(
            arguments[0],
            int(arguments[1]) if len(arguments) > 1 else 16,
            int(arguments[2]) if len(arguments) > 2 else 5,
            arguments[3] if len(arguments) > 3 else "sqlite",
        )
    )
