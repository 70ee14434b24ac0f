"""REST benchmarks: item reads and writes against the HTTP server's own floor, and what permissions cost.

Every figure comes from a real ``tidepool start`` process over loopback, driven by 16 keep-alive
``httpx.AsyncClient`` clients for a fixed time after a short warm-up. Besides requests/s and latency (which,
on a 2-core machine, also measure the Python client sharing the CPU) each load reports the server process's
own CPU time per request, read from /proc: that figure does not depend on how fast the client can go, so the
ratios are given for both.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.procs import ADMIN_TOKEN, Proc, cpu_seconds, create_messages_collection, pg_database, tidepool_server
from bench.targets import target as bench_target
from bench.ws_bench import percentile

CLIENTS = 16
ROUNDS = 5  # measured windows per load, interleaved with the other loads of the same comparison
SEED_ROWS = 1000
BATCH = 100


@dataclass(frozen=True)
class Call:
    """One request shape: the load repeats it; ``body`` is made per request so writes differ."""

    method: str
    path: str
    token: str = ADMIN_TOKEN
    body: Callable[[int], Any] | None = None


@dataclass(frozen=True)
class Durations:
    warmup: float
    measure: float


def durations(quick: bool) -> Durations:
    return Durations(warmup=0.5, measure=2.0) if quick else Durations(warmup=1.0, measure=5.0)


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _worker(client: httpx.AsyncClient, call: Call, deadline: float, latencies: list[float]) -> int:
    """Send ``call`` back to back until ``deadline``; returns the number of non-2xx answers."""
    errors, i = 0, 0
    while (start := time.perf_counter()) < deadline:
        body = call.body(i) if call.body else None
        response = await client.request(call.method, call.path, json=body)
        latencies.append(time.perf_counter() - start)
        errors += response.status_code >= 300
        i += 1
    return errors


async def _drive(clients: list[httpx.AsyncClient], call: Call, seconds: float) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + seconds
    errors = await asyncio.gather(*(_worker(c, call, deadline, latencies) for c in clients))
    return latencies, sum(errors), time.perf_counter() - started


@dataclass
class Tally:
    """What the measured windows of one load added up to."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0

    def figures(self) -> dict[str, float]:
        count, elapsed = len(self.latencies), max(self.elapsed, 1e-9)
        return {
            "requests": count,
            "errors": self.errors,
            "rps": count / elapsed,
            "p50_ms": percentile(self.latencies, 50) * 1000,
            "p99_ms": percentile(self.latencies, 99) * 1000,
            "server_cpu_us_per_req": self.server_cpu / max(count, 1) * 1e6,
            "server_cpu_pct": self.server_cpu / elapsed * 100,
            "client_cpu_pct": self.client_cpu / elapsed * 100,
        }


def _pool(proc: Proc, call: Call, clients: int) -> list[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    return [
        httpx.AsyncClient(base_url=proc.url, headers=_headers(call.token), limits=limits, timeout=30)
        for _ in range(clients)
    ]


async def _window(proc: Proc, pool: list[httpx.AsyncClient], call: Call, seconds: float, tally: Tally) -> None:
    """One measured window: the requests, and the server's and this client's CPU time during it."""
    cpu_before, client_before = cpu_seconds(proc.popen.pid), time.process_time()
    latencies, errors, elapsed = await _drive(pool, call, seconds)
    tally.server_cpu += cpu_seconds(proc.popen.pid) - cpu_before
    tally.client_cpu += time.process_time() - client_before
    tally.latencies += latencies
    tally.errors += errors
    tally.elapsed += elapsed


async def compare(
    proc: Proc, calls: dict[str, Call], timing: Durations, rounds: int = 1, clients: int = CLIENTS
) -> dict[str, dict[str, float]]:
    """Each call driven by ``clients`` keep-alive clients: requests/s, p50/p99 latency, server CPU/request.

    With ``rounds`` > 1 the measured time of each call is cut into that many windows, taken in turn
    (a, b, c, a, b, c ...): a change in the machine's load during the run then touches every call alike
    instead of skewing the ratio between two of them."""
    pools = {name: _pool(proc, call, clients) for name, call in calls.items()}
    tallies = {name: Tally() for name in calls}
    try:
        for name, call in calls.items():
            await _drive(pools[name], call, timing.warmup)
        for _ in range(rounds):
            for name, call in calls.items():
                await _window(proc, pools[name], call, timing.measure / rounds, tallies[name])
    finally:
        await asyncio.gather(*(c.aclose() for pool in pools.values() for c in pool))
    return {name: tally.figures() for name, tally in tallies.items()}


async def load(proc: Proc, call: Call, timing: Durations, clients: int = CLIENTS) -> dict[str, float]:
    """One call alone (as ``compare`` with a single call and a single window)."""
    return (await compare(proc, {"load": call}, timing, clients=clients))["load"]


def machine() -> dict[str, Any]:
    """The figures only compare within one run; this says how busy the machine was while it ran."""
    return {"cpus": os.cpu_count(), "loadavg_1m": round(os.getloadavg()[0], 2)}


def print_table(title: str, results: dict[str, dict[str, float]], vs: dict[str, dict[str, float]]) -> None:
    """One line per load: the raw figures, then the ratios to the run's baseline."""
    print(f"-- {title}")
    print(f"   {'load':<20}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'cpu us/req':>12}{'x thru':>8}{'x cpu':>7}")
    for name, r in results.items():
        x = vs.get(name, {"throughput_x": 1.0, "server_cpu_x": 1.0})
        print(
            f"   {name:<20}{r['rps']:>8.0f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}"
            f"{r['server_cpu_us_per_req']:>12.0f}{x['throughput_x']:>8.2f}{x['server_cpu_x']:>7.2f}"
        )


def ratios(result: dict[str, float], base: dict[str, float]) -> dict[str, float]:
    """How many times slower/costlier ``result`` is than ``base`` (1.0 = same; higher = worse)."""
    return {
        "throughput_x": base["rps"] / result["rps"],
        "p50_x": result["p50_ms"] / base["p50_ms"],
        "p99_x": result["p99_ms"] / base["p99_ms"],
        "server_cpu_x": result["server_cpu_us_per_req"] / base["server_cpu_us_per_req"],
    }


def seed_messages(proc: Proc, rows: int = SEED_ROWS, user: str = "bench") -> None:
    """``rows`` messages through ``POST /items/messages`` in batches, as a client would create them."""
    with httpx.Client(base_url=proc.url, headers=_headers(ADMIN_TOKEN), timeout=60) as http:
        for start in range(0, rows, BATCH):
            batch = [{"text": f"message {n}", "user": user} for n in range(start, min(rows, start + BATCH))]
            http.post("/items/messages", json=batch).raise_for_status()


# -- the "rest" scenario ------------------------------------------------------------------------------------


@contextmanager
def _no_database() -> Iterator[dict[str, str]]:
    """SQLite: ``tidepool_server`` already puts a scratch file in a temporary directory."""
    yield {}


DATABASES: dict[str, Callable[[], AbstractContextManager[dict[str, str]]]] = {
    "sqlite": _no_database,
    "postgres": pg_database,
}


def selected_databases() -> list[str]:
    """The databases a scenario runs on: all of ``DATABASES``, or those named in ``BENCH_DATABASES``
    (comma-separated, e.g. ``postgres``) to measure one alone."""
    wanted = os.environ.get("BENCH_DATABASES")
    names = [n.strip() for n in wanted.split(",") if n.strip()] if wanted else list(DATABASES)
    unknown = set(names) - set(DATABASES)
    if unknown:
        raise SystemExit(f"BENCH_DATABASES: unknown {sorted(unknown)}; known: {sorted(DATABASES)}")
    return names


def _message(i: int) -> dict[str, str]:
    return {"text": f"bench message {i}", "user": "bench"}


REST_CALLS = {
    "ping": Call("GET", "/server/ping"),
    "read_limit_10": Call("GET", "/items/messages?limit=10"),
    "create_one": Call("POST", "/items/messages", body=_message),
}
# Issue 11 point 2: server CPU per request as a multiple of the same run's ``/server/ping``.
REST_TARGETS = {"read_limit_10": 5.0, "create_one": 8.0}


def cpu_target(name: str, ratio: dict[str, float], target: float) -> dict[str, Any]:
    """One ``targets`` entry (the ``python -m bench --check`` contract) for a server CPU ratio."""
    return bench_target(name, round(ratio["server_cpu_x"], 2), target, "lower")


async def _rest_on(database: str, quick: bool) -> dict[str, Any]:
    timing = durations(quick)
    with DATABASES[database]() as db_env, tidepool_server(db_env) as proc:
        create_messages_collection(proc.url)
        seed_messages(proc)
        results = await compare(proc, REST_CALLS, timing, rounds=ROUNDS)
    base = results["ping"]
    vs_ping = {name: ratios(r, base) for name, r in results.items() if name != "ping"}
    print_table(f"rest on {database} (ratios to /server/ping)", results, vs_ping)
    return {
        "database": database,
        "machine": machine(),
        "clients": CLIENTS,
        "seconds": timing.measure,
        "results": results,
        "vs_ping": vs_ping,
        "targets": [
            cpu_target(f"{database} {name} server CPU x ping", vs_ping[name], target)
            for name, target in REST_TARGETS.items()
        ],
    }


async def run_rest(quick: bool) -> list[dict[str, Any]]:
    """``GET /items/messages?limit=10`` and ``POST /items/messages`` vs ``GET /server/ping``, per database."""
    return [await _rest_on(database, quick) for database in selected_databases()]


# -- the "permissions" scenario -----------------------------------------------------------------------------

PERMISSION_ROWS = 200
READ_100 = "/items/messages?limit=100"

# Read permissions of the compared users: no item rule, and two item rules that every seeded row passes, so
# each user reads exactly the admin's rows and only the permission work differs.
READ_RULES: dict[str, dict[str, Any]] = {
    "user_no_rule": {},
    "user_text_nnull": {"text": {"_nnull": True}},
    "user_current_user": {"user": {"_eq": "$CURRENT_USER"}},
}
TARGET_RATIO = 1.3


def _data(response: httpx.Response) -> Any:
    response.raise_for_status()
    return response.json()["data"]


def _reader(http: httpx.Client, name: str, rule: dict[str, Any]) -> tuple[str, str]:
    """A policy reading ``messages`` under ``rule``, a role holding it and a user of that role with a static
    token, all made over REST as the seed guide does; returns (user id, token)."""
    policy = _data(http.post("/policies", json={"name": name, "app_access": False, "admin_access": False}))
    permission = {"policy": policy["id"], "collection": "messages", "action": "read", "fields": ["*"]}
    _data(http.post("/permissions", json=permission | {"permissions": rule}))
    role = _data(http.post("/roles", json={"name": name}))
    _data(http.post("/access", json={"role": role["id"], "policy": policy["id"]}))
    token = f"bench-{name}-token"
    user = {"email": f"{name}@example.com", "password": "bench-pass", "role": role["id"], "token": token}
    return str(_data(http.post("/users", json=user | {"status": "active"}))["id"]), token


def _setup_readers(proc: Proc) -> dict[str, str]:
    """The compared callers by name → token; rows are seeded as the ``$CURRENT_USER`` reader's, so that
    rule too passes every row."""
    tokens = {"admin": ADMIN_TOKEN}
    owner = ""
    with httpx.Client(base_url=proc.url, headers=_headers(ADMIN_TOKEN), timeout=60) as http:
        for name, rule in READ_RULES.items():
            user_id, tokens[name] = _reader(http, name, rule)
            if "$CURRENT_USER" in str(rule):
                owner = user_id
    seed_messages(proc, PERMISSION_ROWS, user=owner)
    return tokens


def _check_same_rows(proc: Proc, tokens: dict[str, str]) -> None:
    """A ratio is only fair when every caller reads the same 100 rows; fail loudly otherwise."""
    bodies = {name: httpx.get(proc.url + READ_100, headers=_headers(token)).json() for name, token in tokens.items()}
    expected = bodies["admin"]
    if len(expected.get("data", [])) != 100:
        raise RuntimeError(f"admin read {expected}")
    for name, body in bodies.items():
        if body != expected:
            raise RuntimeError(f"{name} does not read the admin's rows: {str(body)[:300]}")


async def _permissions_on(database: str, quick: bool) -> dict[str, Any]:
    timing = Durations(0.5, 1.5) if quick else Durations(0.5, 3.5)
    with DATABASES[database]() as db_env, tidepool_server(db_env) as proc:
        create_messages_collection(proc.url)
        tokens = _setup_readers(proc)
        _check_same_rows(proc, tokens)
        calls = {name: Call("GET", READ_100, token) for name, token in tokens.items()}
        results = await compare(proc, calls, timing, rounds=ROUNDS)
    vs_admin = {name: ratios(r, results["admin"]) for name, r in results.items() if name != "admin"}
    print_table(f"permissions on {database} (ratios to admin)", results, vs_admin)
    return {
        "database": database,
        "machine": machine(),
        "path": READ_100,
        "seconds": timing.measure,
        "results": results,
        "vs_admin": vs_admin,
        "target_x": TARGET_RATIO,
        "within_target": all(r["server_cpu_x"] <= TARGET_RATIO for r in vs_admin.values()),
        "targets": [
            cpu_target(f"{database} {name} server CPU x admin", r, TARGET_RATIO) for name, r in vs_admin.items()
        ],
    }


async def run_permissions(quick: bool) -> list[dict[str, Any]]:
    """``GET /items/messages?limit=100`` as the admin vs users whose read permission has an item rule."""
    return [await _permissions_on(database, quick) for database in DATABASES]


# -- the "history" scenario -------------------------------------------------------------------------------------

HISTORY_CALLS = {
    "create_untracked": Call("POST", "/items/untracked", body=_message),
    "create_tracked": Call("POST", "/items/messages", body=_message),
}


def _untracked_collection(base_url: str) -> None:
    """A twin of ``messages`` whose ``accountability`` is null: its creates write no activity or revision."""
    body = {
        "collection": "untracked",
        "schema": {},
        "meta": {"accountability": None},
        "fields": [
            {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}},
            {"field": "date_created", "type": "timestamp", "meta": {"special": ["date-created"]}, "schema": {}},
            {"field": "text", "type": "string", "schema": {}},
            {"field": "user", "type": "string", "schema": {}},
        ],
    }
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    httpx.post(f"{base_url}/collections", json=body, headers=headers, timeout=30).raise_for_status()


async def _history_on(database: str, quick: bool) -> dict[str, Any]:
    timing = durations(quick)
    with DATABASES[database]() as db_env, tidepool_server(db_env) as proc:
        create_messages_collection(proc.url)
        _untracked_collection(proc.url)
        results = await compare(proc, HISTORY_CALLS, timing, rounds=ROUNDS)
    base = results["create_untracked"]
    vs = {"create_tracked": ratios(results["create_tracked"], base)}
    print_table(f"history on {database} (ratios to a create with accountability null)", results, vs)
    return {"database": database, "machine": machine(), "clients": CLIENTS, "results": results, "vs_untracked": vs}


async def run_history(quick: bool) -> list[dict[str, Any]]:
    """What activity + revisions cost a create: ``POST`` on a collection tracking ``all`` vs one tracking nothing."""
    return [await _history_on(database, quick) for database in DATABASES]
