"""WebSocket benchmarks: items round trips, fan-out time to last delivery, memory per idle socket.

Every figure is measured against a real server process over loopback; fan-out is also measured on the
ceiling server (bench/ceiling.py) in the same run and reported as a ratio.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from bench.procs import ADMIN_TOKEN, Proc

CONNECT_CONCURRENCY = 200
SAMPLES: list[bytes] = []  # one delivered frame per fan-out run, to broadcast the same bytes from the ceiling


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


async def _recv_json(ws: ClientConnection) -> Any:
    return orjson.loads(await ws.recv())


async def tidepool_socket(proc: Proc, subscribe: bool) -> ClientConnection:
    ws = await connect(proc.ws_url, max_size=2**24, compression=None, ping_interval=None, open_timeout=60)
    await ws.send(orjson.dumps({"type": "auth", "access_token": ADMIN_TOKEN}).decode())
    reply = await _recv_json(ws)
    if reply.get("status") != "ok":
        raise RuntimeError(f"auth failed: {reply}")
    if subscribe:
        await ws.send(
            orjson.dumps(
                {"type": "subscribe", "collection": "messages", "query": {"fields": ["*"], "limit": 1}}
            ).decode()
        )
        while (await _recv_json(ws)).get("event") != "init":
            pass
    return ws


async def ceiling_socket(proc: Proc) -> ClientConnection:
    ws = await connect(proc.ws_url, max_size=2**24, compression=None, ping_interval=None, open_timeout=60)
    await ws.send("subscribe")
    await ws.recv()
    return ws


async def open_many(count: int, opener: Callable[[], Awaitable[ClientConnection]]) -> list[ClientConnection]:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one() -> ClientConnection:
        async with gate:
            return await opener()

    return list(await asyncio.gather(*(one() for _ in range(count))))


@dataclass
class Arrivals:
    expected: int
    times: list[float] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def hit(self) -> None:
        self.times.append(time.perf_counter())
        if len(self.times) >= self.expected:
            self.done.set()


async def _listen(ws: ClientConnection, marker: bytes, state: dict[str, Any]) -> None:
    try:
        async for frame in ws:
            data = frame.encode() if isinstance(frame, str) else frame
            if marker in data:
                state["current"].hit()
                state["sample"] = data
    except Exception:  # a closed socket just stops listening
        return


async def fanout_times(
    sockets: list[ClientConnection], trigger: Callable[[], Awaitable[None]], trials: int, marker: bytes
) -> tuple[list[float], int]:
    """Trigger ``trials`` events; per trial the time (s) from trigger to the last subscriber's delivery, and
    the deliveries that never came."""
    state: dict[str, Any] = {"current": Arrivals(len(sockets))}
    listeners = [asyncio.create_task(_listen(ws, marker, state)) for ws in sockets]
    lasts: list[float] = []
    lost = 0
    try:
        for _ in range(trials):
            arrivals = Arrivals(len(sockets))
            state["current"] = arrivals
            start = time.perf_counter()
            await trigger()
            try:
                await asyncio.wait_for(arrivals.done.wait(), timeout=60)
            except TimeoutError:
                lost += len(sockets) - len(arrivals.times)
            lasts.append((max(arrivals.times) if arrivals.times else time.perf_counter()) - start)
            await asyncio.sleep(0.2)
    finally:
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
    sample = state.get("sample")
    if isinstance(sample, bytes):
        SAMPLES.append(sample)
    return lasts, lost


async def fanout(
    sockets: list[ClientConnection], trigger: Callable[[], Awaitable[None]], trials: int, marker: bytes
) -> dict[str, float]:
    """Trigger ``trials`` events; time from trigger to the last subscriber's delivery, per trial."""
    lasts, lost = await fanout_times(sockets, trigger, trials, marker)
    return {
        "p50_ms": percentile(lasts, 50) * 1000,
        "p99_ms": percentile(lasts, 99) * 1000,
        "mean_ms": statistics.fmean(lasts) * 1000,
        "lost": lost,
        "trials": trials,
    }


async def close_all(sockets: list[ClientConnection]) -> None:
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


async def items_round_trips(proc: Proc, sockets: int, seconds: float) -> dict[str, float]:
    """``sockets`` clients each sending items create and waiting for the reply, for ``seconds``."""
    conns = await open_many(sockets, lambda: tidepool_socket(proc, subscribe=False))
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker(ws: ClientConnection, n: int) -> None:
        i = 0
        while time.perf_counter() < deadline:
            uid = f"{n}-{i}"
            message = {
                "type": "items",
                "collection": "messages",
                "action": "create",
                "data": {"text": "bench", "user": "b"},
                "uid": uid,
            }
            start = time.perf_counter()
            await ws.send(orjson.dumps(message).decode())
            while (await _recv_json(ws)).get("uid") != uid:
                pass
            latencies.append(time.perf_counter() - start)
            i += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(ws, n) for n, ws in enumerate(conns)))
    elapsed = time.perf_counter() - started
    await close_all(conns)
    return {
        "sockets": sockets,
        "rps": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }
