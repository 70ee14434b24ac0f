"""``stall``: how long one heavy request makes everyone else wait.

A second client measures ``GET /server/ping`` back to back while one WebSocket client sends the heaviest
request the limits allow, again and again (each one distinct, so the plan cache never helps); the figure is
the ping's p99 under that load divided by its p99 on an idle server. Loads:

| load | heavy request |
| --- | --- |
| `idle` | none (the baseline) |
| `in_at_limit` | a read whose `_in` list has as many values as `MAX_QUERY_COMPLEXITY` (1000) allows |
| `in_refused` | a 60,000-value `_in` (a ~400 KB frame), refused by the limit |
| `in_unbounded` | the same 60,000 values with `MAX_QUERY_COMPLEXITY=-1` (the behaviour before the limit) |
| `regex_rule` | creates judged by the validation rule `^(a+)+$` on 40 characters (RE2) |
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection

from bench import ws_bench
from bench.procs import ADMIN_TOKEN, Proc, create_messages_collection, tidepool_server

HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _pings(proc: Proc, seconds: float) -> list[float]:
    """Latencies (ms) of back-to-back pings on one keep-alive connection for ``seconds``."""
    samples: list[float] = []
    async with httpx.AsyncClient(base_url=proc.url, timeout=60) as client:
        await client.get("/server/ping")
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            response = await client.get("/server/ping")
            samples.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
    return samples


async def _request(ws: ClientConnection, message: dict[str, Any]) -> dict[str, Any]:
    await ws.send(orjson.dumps(message).decode())
    while True:
        reply: dict[str, Any] = orjson.loads(await ws.recv())
        if reply.get("uid") == message.get("uid"):
            return reply


def _in_read(count: int, round_: int) -> dict[str, Any]:
    values = [round_ * 1_000_000 + i for i in range(count)]
    query = {"filter": {"id": {"_in": values}}}
    return {"type": "items", "collection": "messages", "action": "read", "query": query, "uid": f"h{round_}"}


def _regex_create(round_: int) -> dict[str, Any]:
    data = {"text": "a" * 40 + "!", "user": "bench"}
    return {"type": "items", "collection": "messages", "action": "create", "data": data, "uid": f"h{round_}"}


async def _heavy(proc: Proc, make: Any, stop: asyncio.Event, counts: dict[str, int]) -> None:
    ws = await ws_bench.tidepool_socket(proc, subscribe=False)
    round_ = 0
    try:
        while not stop.is_set():
            round_ += 1
            reply = await _request(ws, make(round_))
            counts["error" if reply.get("status") == "error" else "ok"] += 1
    finally:
        await ws.close()


async def _measure(proc: Proc, make: Any, seconds: float) -> dict[str, Any]:
    stop = asyncio.Event()
    counts = {"ok": 0, "error": 0}
    heavy = None if make is None else asyncio.create_task(_heavy(proc, make, stop, counts))
    await asyncio.sleep(0.2 if heavy else 0)
    samples = await _pings(proc, seconds)
    stop.set()
    if heavy is not None:
        await heavy
    return {
        "pings": len(samples),
        "p50_ms": round(statistics.median(samples), 3),
        "p99_ms": round(_percentile(samples, 0.99), 3),
        "max_ms": round(max(samples), 3),
        "heavy_answered": counts["ok"],
        "heavy_refused": counts["error"],
    }


def _prepare(proc: Proc, *, regex: bool = False) -> None:
    create_messages_collection(proc.url)
    with httpx.Client(base_url=proc.url, headers=HEADERS, timeout=30) as client:
        client.post("/items/messages", json=[{"text": f"m{i}", "user": "bench"} for i in range(100)])
        if regex:
            meta = {"validation": {"text": {"_regex": "^(a+)+$"}}}
            assert client.patch("/fields/messages/text", json={"meta": meta}).status_code == 200


async def run_stall(quick: bool) -> dict[str, Any]:
    seconds = 2.0 if quick else 5.0
    results: dict[str, Any] = {}
    with tidepool_server() as proc:
        _prepare(proc)
        results["idle"] = await _measure(proc, None, seconds)
        results["in_at_limit"] = await _measure(proc, lambda r: _in_read(997, r), seconds)
        results["in_refused"] = await _measure(proc, lambda r: _in_read(60_000, r), seconds)
    with tidepool_server(MAX_QUERY_COMPLEXITY="-1") as proc:
        _prepare(proc)
        results["in_unbounded"] = await _measure(proc, lambda r: _in_read(60_000, r), seconds)
    with tidepool_server() as proc:
        _prepare(proc, regex=True)
        results["regex_rule"] = await _measure(proc, _regex_create, seconds)
    idle = results["idle"]["p99_ms"]
    for row in results.values():
        row["p99_vs_idle"] = round(row["p99_ms"] / idle, 2)
    return results
