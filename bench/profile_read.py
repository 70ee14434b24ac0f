"""Where a REST read spends its time: sample a real server process with py-spy while ``GET /items`` load runs.

    python -m bench.profile_read [--database sqlite|postgres] [--as admin|user_text_nnull|...] [--limit 10]
    python -m bench.profile_read --create [--database sqlite|postgres]   # POST /items/messages instead

py-spy (``pip install py-spy``; deliberately not a project dependency) samples every thread of the
``tidepool start`` process from outside, Python and native frames, so the server runs unmodified: the event
loop thread and the database driver's threads (aiosqlite runs each SQLite connection in a thread of its own).

How samples become shares of the server's CPU time:
- idle samples are dropped: py-spy reports a thread blocked in ``epoll_pwait`` or waiting on a lock or queue
  as busy, so any stack with such a wait frame is idle time, not work;
- each remaining sample is charged to the innermost frame whose package we can name (native frames of libc
  or the interpreter are skipped over to their caller): database driver, HTTP server, SQLAlchemy, Tidepool,
  JSON (orjson), event loop and threads, other;
- the event loop thread's samples and the other threads' samples are scaled to the CPU time each group really
  used (from /proc), since py-spy also counts a runnable thread that waits for a CPU as busy.
Then the hot spots: functions by self time, Tidepool functions by inclusive time, and which Tidepool function
the SQLAlchemy time is spent for. The raw stacks are kept in bench/results/ (flamegraph.pl can draw them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.procs import (
    ADMIN_TOKEN,
    Proc,
    cpu_seconds,
    create_messages_collection,
    thread_cpu_seconds,
    tidepool_server,
)
from bench.rest_bench import DATABASES, READ_RULES, REST_CALLS, Call, Durations, _reader, load, seed_messages

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_OTHER_SHARE = 25.0

# Where a frame's file lives → category; first match wins. Frames matching none are "other" when they are
# Python code and skipped over (charged to their caller) when they are native code of libc or the interpreter.
CATEGORIES: tuple[tuple[str, str], ...] = (
    ("/tidepool/", "tidepool"),
    ("/aiosqlite/", "db driver"),
    ("/asyncpg/", "db driver"),
    ("/asyncmy/", "db driver"),
    ("/sqlite3/", "db driver"),
    ("/_sqlite/", "db driver"),
    ("libsqlite3", "db driver"),
    ("/sqlalchemy/", "sqlalchemy"),
    ("/greenlet/", "sqlalchemy"),  # SQLAlchemy's bridge from its sync core to the async drivers
    ("/uvicorn/", "http server"),
    ("/httptools/", "http server"),
    ("/h11/", "http server"),
    ("/starlette/", "http server"),
    ("/anyio/", "http server"),
    ("/orjson/", "json (orjson)"),
    ("/asyncio/", "event loop, threads"),
    ("/uvloop/", "event loop, threads"),
    ("/concurrent/", "event loop, threads"),
    ("threading.py", "event loop, threads"),
    ("queue.py", "event loop, threads"),
)
LOOP = "event loop, threads"
# Where the loop (or a thread) hands control to the code it runs: machinery inside these works for that code.
LOOP_DRIVERS = frozenset(
    {
        "Runner.run",
        "run_until_complete",
        "run_forever",
        "Loop__run",
        "Loop__Loop__run",
        "Loop__run_once",
        "Loop__on_idle",
        "Handle__run",
        "TimerHandle__run",
        "BaseEventLoop._run_once",
        "Handle._run",
        "Thread.run",
        "Thread._bootstrap_inner",
        "_worker",
    }
)
DRIVER_AND_SERVER = ("db driver", "http server")
# A stack holding one of these is a thread waiting (for I/O, work, a lock or the GIL), not working.
IDLE_FUNCS = frozenset(
    {
        "epoll_wait",
        "epoll_pwait",
        "select",
        "poll",
        "pthread_cond_wait",
        "pthread_cond_timedwait",
        "PyThread_acquire_lock_timed",
        "sem_wait",
        "sem_timedwait",
        "sem_clockwait",
        "take_gil",
        "_queue_SimpleQueue_get_impl",  # an aiosqlite connection thread waiting for its next statement
    }
)
ENTRY_POINTS = ("tidepool/__main__.py", "tidepool/cli/")  # on every stack of the event loop thread
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


@dataclass(frozen=True)
class Frame:
    func: str
    file: str

    @property
    def category(self) -> str | None:
        """The frame's category; None for a native frame we cannot name (its caller is charged)."""
        found = next((name for marker, name in CATEGORIES if marker in self.file), None)
        if found is None and self.file.endswith(".py"):
            return "other"
        return found

    @property
    def label(self) -> str:
        """``module.py:function`` relative to the package root, short enough for a table."""
        for marker in ("/site-packages/", "/work/main/", "/lib/python3.11/", "/project/"):
            if marker in self.file:
                return f"{self.file.split(marker, 1)[1].lstrip('/')}:{self.func}"
        return f"{self.file}:{self.func}"


def parse_frame(text: str) -> Frame:
    match = FRAME.match(text)
    return Frame(match["func"], match["file"]) if match else Frame(text, "")


def charged(stack: list[Frame]) -> Frame | None:
    """The frame a sample's time is charged to: the innermost frame we can name, except that event-loop
    and thread machinery working for a caller (a socket write, a lock, a thread start) is charged to that
    caller: asyncpg's writes to PostgreSQL are the driver's time, a response write the HTTP server's. Only
    what the loop does for nobody in particular (between ``LOOP_DRIVERS`` and the leaf) stays its own."""
    machinery: Frame | None = None
    for frame in reversed(stack):
        category = frame.category
        if category is None:
            continue
        if category != LOOP:
            return frame
        machinery = machinery or frame
        if frame.func in LOOP_DRIVERS:
            return machinery
    return machinery


def is_idle(stack: list[Frame]) -> bool:
    return any(f.func in IDLE_FUNCS for f in stack)


Tally = dict[str, float]
Sample = tuple[str, list[Frame], int]  # thread, frames outermost first, count


def parse_raw(lines: Iterable[str]) -> list[Sample]:
    """py-spy's raw format: ``thread (tid): name;frame;frame;... count`` per line, outermost frame first."""
    samples: list[Sample] = []
    for line in lines:
        stacks, _, count = line.rstrip().rpartition(" ")
        if not stacks or not count.isdigit():
            continue
        parts = stacks.split(";")
        thread = parts[0] if parts[0].startswith("thread ") else "?"
        frames = [parse_frame(p) for p in parts if not p.startswith(("thread ", "process "))]
        if frames:
            samples.append((thread, frames, int(count)))
    return samples


def most_common(tally: Tally, n: int | None = None) -> list[tuple[str, float]]:
    return sorted(tally.items(), key=lambda kv: -kv[1])[:n]


def is_main(thread: str) -> bool:
    return thread.endswith("MainThread")


@dataclass
class CpuSplit:
    """CPU seconds the server's event loop thread and all its other threads used while py-spy sampled."""

    main: float
    others: float

    def weights(self, samples: list[Sample]) -> dict[bool, float]:
        """CPU seconds per sample, for main-thread samples and the others.

        py-spy counts a thread as busy while it is runnable, also while it waits for a CPU; on a loaded
        machine that over-weights whichever thread waits most. Scaling each thread group's samples to the
        CPU time it really used (from /proc) keeps the shares honest; within a group the samples still
        say where the time went."""
        counts = {True: 0, False: 0}
        for thread, _, count in samples:
            counts[is_main(thread)] += count
        cpu = {True: self.main, False: self.others}
        return {group: cpu[group] / counts[group] if counts[group] else 0.0 for group in counts}


@dataclass
class Profile:
    """Server CPU seconds aggregated the ways the report needs them."""

    total: float = 0.0
    idle_pct: float = 0.0
    by_category: Tally = field(default_factory=lambda: defaultdict(float))
    self_time: Tally = field(default_factory=lambda: defaultdict(float))
    tidepool_inclusive: Tally = field(default_factory=lambda: defaultdict(float))
    sqlalchemy_for: Tally = field(default_factory=lambda: defaultdict(float))
    by_thread: Tally = field(default_factory=lambda: defaultdict(float))

    def add(self, thread: str, stack: list[Frame], seconds: float) -> None:
        leaf = charged(stack)
        if leaf is None or leaf.category is None:
            return
        self.total += seconds
        self.by_thread["event loop thread" if is_main(thread) else "other threads"] += seconds
        self.by_category[leaf.category] += seconds
        self.self_time[leaf.label] += seconds
        ours = [f for f in stack if f.category == "tidepool" and not f.label.startswith(ENTRY_POINTS)]
        for label in {f.label for f in ours}:
            self.tidepool_inclusive[label] += seconds
        if leaf.category == "sqlalchemy":
            # SQLAlchemy's async bridge runs its sync core in a greenlet, whose stack starts there.
            self.sqlalchemy_for[ours[-1].label if ours else "(in a greenlet: caller not on the stack)"] += seconds

    def share(self, seconds: float) -> float:
        return 100.0 * seconds / self.total if self.total else 0.0

    def top(self, tally: Tally, n: int) -> list[dict[str, Any]]:
        return [{"where": k, "pct": round(self.share(v), 1)} for k, v in most_common(tally, n)]


def build_profile(samples: list[Sample], cpu: CpuSplit | None) -> Profile:
    """Aggregate the working samples, each weighted by its thread group's CPU per sample (1 without ``cpu``)."""
    working = [sample for sample in samples if not is_idle(sample[1])]
    weights = cpu.weights(working) if cpu else {True: 1.0, False: 1.0}
    profile = Profile()
    profile.idle_pct = 100.0 * (1 - sum(c for *_, c in working) / max(1, sum(c for *_, c in samples)))
    for thread, frames, count in working:
        profile.add(thread, frames, count * weights[is_main(thread)])
    return profile


def summarise(profile: Profile, top: int) -> dict[str, Any]:
    shares = {name: round(profile.share(n), 1) for name, n in most_common(profile.by_category)}
    outside = 100.0 - sum(shares.get(name, 0.0) for name in DRIVER_AND_SERVER)
    return {
        "server_cpu_seconds": round(profile.total, 3),
        "idle_samples_dropped_pct": round(profile.idle_pct, 1),
        "shares_pct": shares,
        "outside_driver_and_server_pct": round(outside, 1),
        "target_pct": TARGET_OTHER_SHARE,
        "within_target": outside < TARGET_OTHER_SHARE,
        "threads_pct": {k: round(profile.share(v), 1) for k, v in most_common(profile.by_thread)},
        "top_self": profile.top(profile.self_time, top),
        "top_tidepool_inclusive": profile.top(profile.tidepool_inclusive, top),
        "sqlalchemy_self_by_tidepool_caller": profile.top(profile.sqlalchemy_for, top),
    }


def print_summary(summary: dict[str, Any]) -> None:
    print(f"\n{summary['server_cpu_seconds']} s of server CPU sampled; threads: {summary['threads_pct']}")
    print("share of server CPU by package (innermost frame):")
    for name, pct in summary["shares_pct"].items():
        print(f"  {pct:5.1f} %  {name}")
    verdict = "within" if summary["within_target"] else "ABOVE"
    print(
        f"outside the DB driver and HTTP server: {summary['outside_driver_and_server_pct']} % "
        f"({verdict} the {summary['target_pct']} % target)"
    )
    sections = (
        ("top_self", "hottest functions (self time)"),
        ("top_tidepool_inclusive", "Tidepool functions (inclusive time)"),
        ("sqlalchemy_self_by_tidepool_caller", "SQLAlchemy self time, by the Tidepool function it serves"),
    )
    for key, title in sections:
        print(f"\n{title}:")
        for row in summary[key]:
            print(f"  {row['pct']:5.1f} %  {row['where']}")


# -- running it ---------------------------------------------------------------------------------------------


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise SystemExit("py-spy is not installed: pip install py-spy (kept out of the project's dependencies)")
    return found


async def record(pid: int, seconds: float, rate: int, out: Path) -> None:
    argv = ["record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", str(rate)]
    argv += ["--format", "raw", "--full-filenames", "--threads", "--function", "--native", "--output", str(out)]
    proc = await asyncio.create_subprocess_exec(py_spy(), *argv, stdout=asyncio.subprocess.DEVNULL)
    if await proc.wait() != 0:
        raise RuntimeError("py-spy failed (it needs ptrace: run as root or with CAP_SYS_PTRACE)")


def _caller_token(proc: Proc, who: str) -> str:
    """Seed the messages; the admin's token, or that of a new reader with the ``permissions`` rule ``who``."""
    if who == "admin":
        seed_messages(proc)
        return ADMIN_TOKEN
    import httpx

    with httpx.Client(base_url=proc.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=60) as http:
        user_id, token = _reader(http, who, READ_RULES[who])
    seed_messages(proc, user=user_id)  # so a $CURRENT_USER rule passes these rows too
    return token


async def profile_read(args: argparse.Namespace) -> dict[str, Any]:
    RESULTS.mkdir(exist_ok=True)
    kind = "create" if args.create else args.who
    raw = RESULTS / f"profile-{args.database}-{kind}-{time.strftime('%Y%m%d-%H%M%S')}.txt"
    path = "/items/messages" if args.create else f"/items/messages?limit={args.limit}"
    with DATABASES[args.database]() as db_env, tidepool_server(db_env) as proc:
        create_messages_collection(proc.url)
        token = _caller_token(proc, args.who)
        call = Call("POST", path, token, REST_CALLS["create_one"].body) if args.create else Call("GET", path, token)
        # The load outlasts the recording on both ends, so every sample is taken under steady load.
        loader = asyncio.create_task(load(proc, call, Durations(warmup=1.0, measure=args.seconds + 2)))
        await asyncio.sleep(2)
        pid = proc.popen.pid
        before = (cpu_seconds(pid), thread_cpu_seconds(pid, pid))
        await record(pid, args.seconds, args.rate, raw)
        main_cpu = thread_cpu_seconds(pid, pid) - before[1]
        cpu = CpuSplit(main=main_cpu, others=cpu_seconds(pid) - before[0] - main_cpu)
        throughput = await loader
    profile = build_profile(parse_raw(raw.read_text().splitlines()), cpu)
    summary = summarise(profile, args.top)
    head = {"database": args.database, "as": args.who, "path": path, "load": throughput, "raw": str(raw)}
    return head | {"cpu_seconds": {"event_loop_thread": cpu.main, "other_threads": cpu.others}} | summary


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_read", description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=sorted(DATABASES), default="sqlite")
    parser.add_argument("--as", dest="who", choices=("admin", *READ_RULES), default="admin", help="the caller")
    parser.add_argument("--limit", type=int, default=10, help="the read's ?limit= (default 10)")
    parser.add_argument("--create", action="store_true", help="profile POST /items/messages (the rest bench's create)")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to sample")
    parser.add_argument("--rate", type=int, default=100, help="samples per second")
    parser.add_argument("--top", type=int, default=15, help="rows per hot-spot table")
    args = parser.parse_args()
    report = asyncio.run(profile_read(args))
    print_summary(report)
    out = Path(report["raw"]).with_suffix(".json")
    out.write_text(json.dumps(report, indent=2))
    print(f"\nload during sampling: {report['load']['rps']:.0f} req/s; summary written to {out}")


if __name__ == "__main__":
    main()
