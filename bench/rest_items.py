"""Scenario 1: REST items throughput. ``python -m bench.rest_items [--seconds N] [--db sqlite3|pg] [--profile]``

16 concurrent clients against a real ``tidepool start`` process: ``GET /items/messages?limit=10`` and
``POST /items/messages``, requests/s and p50/p99 latency. ``--profile`` also profiles the read path in
process (cProfile over ``reader.read_by_query``) and reports the share of time spent in Tidepool's own code
versus SQLAlchemy, the database driver and the event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.procs import ADMIN_TOKEN, create_messages_collection, tidepool_server

CLIENTS = 16
HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def _load(
    url: str, seconds: float, request: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def client(n: int) -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=30) as http:
            i = 0
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                response = await request(http, n * 1_000_000 + i)
                latencies.append(time.perf_counter() - start)
                errors += response.status_code >= 400
                i += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(CLIENTS)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
    }


def _get(http: httpx.AsyncClient, _: int) -> Awaitable[httpx.Response]:
    return http.get("/items/messages", params={"limit": "10"})


def _post(http: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
    return http.post("/items/messages", json={"text": f"message {i}", "user": "bench"})


@contextmanager
def database(kind: str) -> Iterator[dict[str, str] | None]:
    if kind == "sqlite3":
        yield None
        return
    from tests.support.live import scratch_database

    with tempfile.TemporaryDirectory() as tmp, scratch_database(Path(tmp), kind) as env:
        yield env


def run_http(kind: str, seconds: float) -> dict[str, Any]:
    with database(kind) as db_env, tidepool_server(db_env) as proc:
        create_messages_collection(proc.url)
        seed = [{"text": f"seed {i}", "user": "bench"} for i in range(100)]
        httpx.post(f"{proc.url}/items/messages", json=seed, headers=HEADERS, timeout=30).raise_for_status()
        return {
            "db": kind,
            "clients": CLIENTS,
            "get_limit_10": asyncio.run(_load(proc.url, seconds, _get)),
            "post_one": asyncio.run(_load(proc.url, seconds, _post)),
        }


# -- in-process profile of the read path -----------------------------------------------------------------------

_BUCKETS = (
    ("tidepool", "/tidepool/"),
    ("sqlalchemy", "/sqlalchemy/"),
    ("driver", "/aiosqlite/"),
    ("driver", "/asyncpg/"),
    ("driver", "sqlite3"),
    ("event loop", "/asyncio/"),
)


def _bucket(filename: str) -> str:
    for name, marker in _BUCKETS:
        if marker in filename:
            return name
    return "other"


async def _profile_reads(iterations: int) -> pstats.Stats:
    from tidepool.config import load_settings
    from tidepool.query.model import Query
    from tidepool.runtime import open_runtime
    from tidepool.services import reader

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings({"DB_FILENAME": str(Path(tmp) / "p.db"), "LOG_LEVEL": "warn"}, env_file=None)
        async with open_runtime(settings) as runtime:
            async with runtime.engine.begin() as conn:
                await conn.exec_driver_sql("CREATE TABLE messages (id INTEGER PRIMARY KEY, text TEXT, user TEXT)")
                for i in range(100):
                    await conn.exec_driver_sql("INSERT INTO messages (text, user) VALUES (?, ?)", (f"m{i}", "b"))
            await runtime.schemas.reload()
            ctx = runtime.context()
            query = Query(limit=10)
            await reader.read_by_query(ctx, "messages", query)
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(iterations):
                await reader.read_by_query(ctx, "messages", query)
            profiler.disable()
    return pstats.Stats(profiler)


def profile(iterations: int = 3000) -> dict[str, Any]:
    """Own (tottime) time per bucket of files, as shares of the total."""
    stats = asyncio.run(_profile_reads(iterations))
    totals: dict[str, float] = {}
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        totals[_bucket(filename)] = totals.get(_bucket(filename), 0.0) + tottime
    whole = sum(totals.values())
    return {
        "reads": iterations,
        "us_per_read": round(whole / iterations * 1e6, 1),
        "share": {k: round(v / whole, 3) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])},
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.rest_items")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--db", nargs="*", default=["sqlite3", "pg"], choices=["sqlite3", "pg", "mysql"])
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    report: dict[str, Any] = {"http": [run_http(kind, args.seconds) for kind in args.db]}
    if args.profile:
        report["profile"] = profile()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
