"""The fault-test harness: real processes, real faults, and an exact account of every event.

A test builds a ``Cluster`` (a private ``redis-server`` it can SIGKILL and restart without persistence, one
or two ``tidepool start`` processes on one scratch database, a seeded ``messages`` collection and a limited
user), runs ``Writer`` threads that count their acknowledged writes (REST and WebSocket ``items``) and
``Subscriber`` threads that record every frame and, when their socket closes, reconnect to any process and
resubscribe with ``since`` = the last ``seq`` they saw. Then it injects a fault, lets everything settle and
compares, per subscriber, what it received and holds with what the writers were told and what the database
holds (``account``). Nothing here knows how the server works inside: only the wire contract.

The account, per subscriber (all must be 0, and the state must equal the database read as that user):

- **missing**: an acknowledged write whose change no event told the subscriber. A write of version ``v``
  (every text carries ``#v``, counted per row) is told by a ``create``/``update`` showing that row at
  version ``v`` or later (data is re-read, so a later state may stand for it), or by a ``delete`` of the row.
  A fresh ``init`` after a reconnect repairs the client's state but tells no change: it is counted as a
  **re-init** instead, and must not happen while the log still holds the client's ``since``.
- **duplicates**: an event ``seq`` this subscriber already received (over all its connections).
- **out of order**: an event numbered below one the subscriber received before it.
- **reused**: an event ``seq`` that reached some subscriber with other keys than it reached another (or the
  same one earlier): a number given to two different changes. A frame that folded several events (a socket
  behind on its frames, ``tidepool/realtime/coalesce.py``) carries the newest one's ``seq`` and their keys
  together, so it may hold more keys than the same number's frame elsewhere, never fewer.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import ClientConnection, connect

from tests.support.live import ADMIN_TOKEN, free_port, scratch_database
from tests.support.process import Started, listens, restart, spawn
from tests.support.seed import USER_TOKEN, seed_guide

# The close code that tells a client to reconnect and resume with ``since`` (a socket dropped because it
# fell behind: send queue overflow, or its process lost events); before the event log it was 1008.
RESUME_CLOSE_CODE = 1013
OVERFLOW_LOG = "send queue overflow"  # what the server logs when it drops a socket that stopped reading
ABNORMAL_CLOSE = 1006  # no close frame at all: the process died or the connection was cut
QUERY = {"fields": ["id", "text", "body"], "limit": -1}  # body: the padding of large frames
ACTIONS = ("create", "update", "delete")


# --------------------------------------------------------------------------------------------- Redis


class PrivateRedis:
    """A ``redis-server`` of this test alone, without persistence: killing it loses everything it held."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            ["redis-server", *args, "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not (self.ping() and listens(self.process.pid, self.port)):  # our redis, not another on the port
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL (a frozen one too): the data set is gone, and a restart begins empty (``--save ""``, no AOF)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def freeze(self) -> None:
        """SIGSTOP: connections stay open but nothing answers (a hung host, a GC pause, a full disk)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@contextmanager
def private_redis(directory: Path) -> Iterator[PrivateRedis]:
    redis = PrivateRedis(directory)
    redis.start()
    try:
        yield redis
    finally:
        redis.kill()


# --------------------------------------------------------------------------------------------- servers


@dataclass
class Cluster:
    """The processes of one test, on one database (index = the order they were started in)."""

    servers: list[Started]
    redis: PrivateRedis | None
    engine: str

    def http_urls(self) -> list[str]:
        return [server.url for server in self.servers]

    def ws_urls(self) -> list[str]:
        return [server.ws_url for server in self.servers]

    def kill(self, index: int) -> None:
        self.servers[index].kill()

    def restart(self, index: int) -> None:
        self.servers[index] = restart(self.servers[index])

    def kill_all(self) -> None:
        for server in self.servers:
            server.kill()

    def rows(self) -> dict[int, str]:
        """The ``messages`` rows as the limited user reads them over REST, from the first live process."""
        server = next(s for s in self.servers if s.alive)
        headers = {"Authorization": f"Bearer {USER_TOKEN}"}
        reply = httpx.get(f"{server.url}/items/messages", params={"fields": "id,text", "limit": -1}, headers=headers)
        reply.raise_for_status()
        return {row["id"]: row["text"] for row in reply.json()["data"]}

    def logs(self) -> str:
        return "\n".join(f"--- process {i} ---\n{s.output()[-4000:]}" for i, s in enumerate(self.servers))


@contextmanager
def cluster(
    tmp_path: Path, engine: str, processes: int = 2, redis: bool = True, env: dict[str, str] | None = None
) -> Iterator[Cluster]:
    """Private Redis (optional), a scratch database of ``engine`` (sqlite3, pg, mysql), the first process,
    the seed written through its REST API, then the other processes (they load the seeded schema)."""
    with ExitStack() as stack:
        bus = stack.enter_context(private_redis(tmp_path)) if redis else None
        db_env = stack.enter_context(scratch_database(tmp_path, engine))
        server_env = {
            **db_env,
            "WEBSOCKETS_HEARTBEAT_ENABLED": "false",
            **({"REDIS": bus.url} if bus else {}),
            **(env or {}),
        }
        group = Cluster([], bus, engine)
        stack.callback(group.kill_all)
        group.servers.append(spawn(server_env, log=tmp_path / "tidepool-0.log"))
        with httpx.Client(base_url=group.servers[0].url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as admin:
            seed_guide(admin, actions=ACTIONS + ("read",))
            admin.post(
                "/fields/messages", json={"field": "body", "type": "text", "meta": {}, "schema": {}}
            ).raise_for_status()
        for index in range(1, processes):
            group.servers.append(spawn(server_env, log=tmp_path / f"tidepool-{index}.log"))
        yield group


# --------------------------------------------------------------------------------------------- writers


@dataclass(frozen=True)
class Write:
    """One acknowledged write: the row it touched and the version its text carries."""

    writer: str
    action: str
    key: int
    version: int


@dataclass(frozen=True)
class Refused:
    """A write not acknowledged: what it tried, and what the writer heard instead (an error, a lost connection)."""

    action: str
    key: int
    text: str
    heard: str

    def committed(self, database: dict[int, str]) -> bool:
        """Whether the database shows it happened all the same (the writer leaves such a row alone after)."""
        if self.action == "create":
            return self.text in database.values()
        if self.action == "update":
            return database.get(self.key) == self.text
        return self.key not in database


class Unacknowledged(Exception):
    """No success answer: the write may or may not have happened."""


class Writer(threading.Thread):
    """Writes ``messages`` rows (creates, updates and deletes of its own rows) until stopped, one at a time,
    failing over to the next process when one does not answer. Every text is ``<writer>-<n>#<version>``."""

    def __init__(
        self,
        name: str,
        urls: list[str],
        stop: threading.Event,
        interval: float = 0.08,
        actions: tuple[str, ...] = ACTIONS,
        pad: int = 0,
    ) -> None:
        super().__init__(name=f"writer-{name}", daemon=True)
        self.label, self.urls, self.stop, self.interval, self.actions, self.pad = (
            name,
            urls,
            stop,
            interval,
            actions,
            pad,
        )
        self.current = 0
        self.acked: list[Write] = []
        self.unacked = 0
        self.failures: list[str] = []  # the first few, for the report
        self.refused: list[Refused] = []  # every write not acknowledged
        self.rows: dict[int, int] = {}  # key → version, of rows whose state this writer knows
        self.rng = random.Random(name)
        self.count = 0

    def run(self) -> None:
        while not self.stop.is_set():
            action, key = self._next()
            version = 0 if action == "create" else self.rows.get(key, 0) + 1
            self.count += 1
            text = f"{self.label}-{self.count}#{version}"
            values = {"text": text, "body": os.urandom(self.pad // 2).hex() if self.pad else None}
            try:
                key = self.call(action, key, values)
            except Exception as exc:  # Unacknowledged, or an answer this writer cannot read
                self.unacked += 1
                self.refused.append(Refused(action, key, text, str(exc)))
                if len(self.failures) < 5:
                    self.failures.append(f"{action} {key}: {exc!r}"[:300])
                self.rows.pop(key, None)  # its state is unknown now: leave the row alone
                self.current = (self.current + 1) % len(self.urls)
                time.sleep(0.05)
                continue
            self.acked.append(Write(self.label, action, key, version))
            if action == "delete":
                self.rows.pop(key, None)
            else:
                self.rows[key] = version
            self.stop.wait(self.interval)
        self.close()

    def _next(self) -> tuple[str, int]:
        roll = self.rng.random()
        if self.rows and roll < 0.3 and "update" in self.actions:
            return "update", self.rng.choice(list(self.rows))
        if self.rows and roll < 0.45 and "delete" in self.actions:
            return "delete", self.rng.choice(list(self.rows))
        return "create", 0

    def call(self, action: str, key: int, values: dict[str, Any]) -> int:
        """Do one write; the row's key on success, ``Unacknowledged`` otherwise."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class RestWriter(Writer):
    """Writes as the admin over REST."""

    def call(self, action: str, key: int, values: dict[str, Any]) -> int:
        base = f"{self.urls[self.current]}/items/messages"
        request = {
            "create": ("POST", base, {**values, "user": self.label}),
            "update": ("PATCH", f"{base}/{key}", values),
            "delete": ("DELETE", f"{base}/{key}", None),
        }[action]
        try:
            reply = httpx.request(
                request[0], request[1], json=request[2], headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10
            )
        except httpx.HTTPError as exc:
            raise Unacknowledged(str(exc)) from exc
        if reply.status_code not in (200, 204):
            raise Unacknowledged(reply.text)
        return int(reply.json()["data"]["id"]) if action == "create" else key


class SocketWriter(Writer):
    """Writes as the limited user with WebSocket ``items`` messages, one socket, reconnected when lost."""

    conn: ClientConnection | None = None

    def call(self, action: str, key: int, values: dict[str, Any]) -> int:
        message: dict[str, Any] = {"type": "items", "collection": "messages", "action": action, "uid": self.count}
        if action != "create":
            message["id"] = key
        if action != "delete":
            message["data"] = {**values, "user": self.label} if action == "create" else values
        try:
            conn = self.conn = self.conn or _open(self.urls[self.current])
            conn.send(json.dumps(message))
            deadline = time.monotonic() + 10
            while True:
                reply = json.loads(conn.recv(timeout=max(0.01, deadline - time.monotonic())))
                if reply.get("type") == "items" and reply.get("uid") == self.count:
                    break
        except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake) as exc:
            self.close()
            raise Unacknowledged(str(exc)) from exc
        if reply.get("status") == "error":
            raise Unacknowledged(str(reply))
        return int(reply["data"]["id"]) if action == "create" else key

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _open(url: str, rcvbuf: int | None = None) -> ClientConnection:
    """A WebSocket as the limited user, authenticated. ``rcvbuf`` shrinks the socket's receive buffer so that a
    client that stops reading stops the server's writes after a few kilobytes instead of megabytes."""
    sock = None
    if rcvbuf:
        parts = urlsplit(url)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(5)
        try:
            sock.connect((parts.hostname or "127.0.0.1", parts.port or 80))
        except OSError:
            sock.close()
            raise
    conn = connect(
        url,
        sock=sock,
        open_timeout=5,
        ping_interval=None,
        close_timeout=1,
        max_size=None,
        compression=None,
        legacy=True,
    )
    conn.send(json.dumps({"type": "auth", "access_token": USER_TOKEN}))
    reply = json.loads(conn.recv(timeout=5))
    if reply.get("status") != "ok":
        conn.close()
        raise ConnectionError(f"auth failed: {reply}")
    return conn


# --------------------------------------------------------------------------------------------- subscribers


@dataclass
class Frame:
    """A frame as received: on which of the subscriber's connections, and when."""

    connection: int
    at: float
    body: dict[str, Any]


class Subscriber(threading.Thread):
    """Subscribes the limited user to every ``messages`` row, records every frame and keeps the client's
    model (``init`` replaces, ``create``/``update`` upsert, ``delete`` removes). A closed socket is reopened
    on the first process that answers (``urls`` from ``home`` on) and resubscribed with ``since``.
    ``paused`` stops reading (the client library stops reading the network after 16 frames)."""

    def __init__(self, name: str, urls: list[str], home: int = 0, rcvbuf: int | None = None) -> None:
        super().__init__(name=f"subscriber-{name}", daemon=True)
        self.label, self.urls, self.home, self.rcvbuf = name, urls, home, rcvbuf
        self.stop = threading.Event()
        self.paused = threading.Event()
        self.subscribed = threading.Event()
        self.lock = threading.Lock()
        self.frames: list[Frame] = []
        self.model: dict[int, str] = {}
        self.last_seq: int | None = None
        self.connections = 0
        self.closes: list[int] = []
        self.errors: list[str] = []

    def state(self) -> dict[int, str]:
        with self.lock:
            return dict(self.model)

    def events(self) -> int:
        """How many change events (not ``init``/``resume``) arrived so far."""
        with self.lock:
            return sum(frame.body.get("event") in EVENTS for frame in self.frames)

    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # reported as an error rather than a thread that silently stopped
            self.errors.append(f"subscriber crashed: {exc!r}")

    def _run(self) -> None:
        attempt = 0
        while not self.stop.is_set():
            url = self.urls[(self.home + attempt) % len(self.urls)]
            try:
                conn = _open(url, self.rcvbuf)
            except Exception:  # refused, reset, timed out, handshake failed: try the next process
                attempt += 1
                self.stop.wait(0.1)
                continue
            attempt = 0
            self.connections += 1
            with conn:
                code = self._follow(conn)
            if code is not None:
                self.closes.append(code)

    def _follow(self, conn: ClientConnection) -> int | None:
        """Subscribe and read until the socket closes (its close code) or the test stops (None)."""
        message: dict[str, Any] = {"type": "subscribe", "collection": "messages", "query": QUERY, "uid": "all"}
        if self.last_seq is not None:
            message["since"] = self.last_seq
        try:
            conn.send(json.dumps(message))
            while not self.stop.is_set():
                if self.paused.is_set():
                    self.stop.wait(0.05)
                    continue
                with suppress(TimeoutError):
                    self._apply(json.loads(conn.recv(timeout=0.2)))
        except ConnectionClosed:
            received = conn.protocol.close_rcvd
            return ABNORMAL_CLOSE if received is None else int(received.code)
        return None

    def _apply(self, body: dict[str, Any]) -> None:
        if body.get("type") != "subscription":
            if body.get("status") == "error":
                self.errors.append(json.dumps(body))
            return
        event = body.get("event")
        with self.lock:
            self.frames.append(Frame(self.connections, time.monotonic(), body))
            if event == "init":
                self.model = {row["id"]: row["text"] for row in body["data"]}
            elif event in ("create", "update"):
                self.model.update({row["id"]: row["text"] for row in body["data"]})
            elif event == "delete":
                for key in body["data"]:
                    self.model.pop(int(key), None)
            if "seq" in body:
                self.last_seq = body["seq"]
        if event in ("init", "resume"):
            self.subscribed.set()


# --------------------------------------------------------------------------------------------- the account

_VERSION = re.compile(r"#(\d+)")
EVENTS = ("create", "update", "delete")


def version(text: str) -> int:
    match = _VERSION.search(text)
    return int(match.group(1)) if match else -1


def keys_of(body: dict[str, Any]) -> frozenset[str]:
    return frozenset(str(row["id"]) if isinstance(row, dict) else str(row) for row in body["data"])


@dataclass
class Account:
    name: str
    events: int = 0
    missing: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    reused: int = 0
    connections: int = 0
    closes: list[int] = field(default_factory=list)
    errors: int = 0
    inits: int = 0
    state_ok: bool = False
    missing_examples: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        faults = (self.missing, self.duplicates, self.out_of_order, self.reused, self.errors, self.inits - 1)
        return not any(faults) and self.state_ok


def reused_numbers(subscribers: list[Subscriber]) -> set[int]:
    """The ``seq`` values that reached subscribers with different keys: one number, two changes. Every frame
    of a number holds that change's keys (a folded one holds earlier changes' keys too), so the fewest keys any
    frame of the number came with must be in every other frame of it."""
    seen: dict[int, set[frozenset[str]]] = defaultdict(set)
    for sub in subscribers:
        for frame in sub.frames:
            if frame.body.get("event") in EVENTS:
                seen[frame.body["seq"]].add(keys_of(frame.body))
    return {seq for seq, variants in seen.items() if not all(min(variants, key=len) <= keys for keys in variants)}


def account(sub: Subscriber, writes: list[Write], reused: set[int], database: dict[int, str]) -> Account:
    result = Account(sub.label, connections=sub.connections, closes=list(sub.closes), errors=len(sub.errors))
    received: dict[int, frozenset[str]] = {}  # seq → the keys it first came with
    highest = -1
    newest: dict[int, int] = {}  # key → highest version any frame showed
    deleted: set[int] = set()
    for frame in sub.frames:
        body, event = frame.body, frame.body.get("event")
        result.inits += event == "init"
        if event not in EVENTS:
            continue
        if event in ("create", "update"):
            for row in body["data"]:
                newest[row["id"]] = max(newest.get(row["id"], -1), version(row["text"]))
        result.events += 1
        seq = body["seq"]
        if event == "delete":
            deleted |= {int(key) for key in body["data"]}
        keys = keys_of(body)
        if seq in received:
            result.duplicates += received[seq] == keys  # other keys: a reused number, counted below
        elif seq < highest:
            result.out_of_order += 1
        result.reused += seq in reused
        received.setdefault(seq, keys)
        highest = max(highest, seq)

    def reflected(write: Write) -> bool:
        return write.key in deleted or (write.action != "delete" and newest.get(write.key, -1) >= write.version)

    for write in writes:
        if not reflected(write):
            result.missing += 1
            if len(result.missing_examples) < 5:
                result.missing_examples.append(f"{write.action} {write.key} v{write.version} by {write.writer}")
    result.state_ok = sub.state() == database
    return result


def report(title: str, writers: list[Writer], database: dict[int, str], accounts: list[Account]) -> str:
    """The counts, as printed by every fault test."""
    acked = Counter(write.action for writer in writers for write in writer.acked)
    lines = [
        f"\n== {title}",
        f"acknowledged writes {sum(acked.values())} ({', '.join(f'{a} {acked[a]}' for a in ACTIONS)}), "
        f"unacknowledged {sum(w.unacked for w in writers)}, rows in the database {len(database)}",
        f"{'subscriber':<12}{'events':>7}{'missing':>9}{'dupl.':>7}{'order':>7}{'reused':>8}{'conns':>7}"
        f"{'re-init':>8}{'errors':>8}  state==db  closes",
    ]
    for writer in writers:
        if writer.failures:
            lines.append(f"unacknowledged by {writer.label}, e.g. {'; '.join(writer.failures[:2])}")
    for a in accounts:
        lines.append(
            f"{a.name:<12}{a.events:>7}{a.missing:>9}{a.duplicates:>7}{a.out_of_order:>7}{a.reused:>8}"
            f"{a.connections:>7}{a.inits - 1:>8}{a.errors:>8}  {'yes' if a.state_ok else 'NO':<9}  {a.closes}"
        )
        if a.missing_examples:
            lines.append(f"{'':<12}missing e.g. {'; '.join(a.missing_examples)}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------- a run


@dataclass
class Load:
    """Writers and subscribers on a cluster, started together and settled together."""

    group: Cluster
    writers: list[Writer]
    subscribers: list[Subscriber]
    stop: threading.Event

    def start(self) -> None:
        for sub in self.subscribers:
            sub.start()
        for sub in self.subscribers:
            if not sub.subscribed.wait(15):
                raise AssertionError(f"{sub.label} got no init: {sub.errors}\n{self.group.logs()}")
        for writer in self.writers:
            writer.start()

    def acknowledged(self) -> int:
        return sum(len(writer.acked) for writer in self.writers)

    def wait_writes(self, count: int, timeout: float = 30) -> None:
        """Until the writers have ``count`` more acknowledged writes than now."""
        goal = self.acknowledged() + count
        wait_until(lambda: self.acknowledged() >= goal, timeout, f"{count} more acknowledged writes")

    def finish(self, title: str, settle: float = 20) -> tuple[str, list[Account]]:
        """Stop the writers, wait until every subscriber holds what the database holds (or ``settle``
        seconds), stop the subscribers and account for everything."""
        self.stop.set()
        for writer in self.writers:
            writer.join(15)
        database = self.group.rows()
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline and any(sub.state() != database for sub in self.subscribers):
            time.sleep(0.1)
        time.sleep(0.3)  # anything after the final state (a duplicate, a stray event) still counts
        for sub in self.subscribers:
            sub.stop.set()
        for sub in self.subscribers:
            sub.join(10)
        database = self.group.rows()
        writes = [write for writer in self.writers for write in writer.acked]
        reused = reused_numbers(self.subscribers)
        accounts = [account(sub, writes, reused, database) for sub in self.subscribers]
        return report(title, self.writers, database, accounts), accounts


def load(
    group: Cluster,
    subscribers: int = 2,
    interval: float = 0.08,
    pad: int = 0,
    actions: tuple[str, ...] = ACTIONS,
) -> Load:
    """``subscribers`` per process (homes spread over the processes), one REST and one WebSocket writer
    per process."""
    stop = threading.Event()
    ws, http = group.ws_urls(), group.http_urls()
    count = len(group.servers)
    subs = [Subscriber(f"s{home}.{n}", ws, home) for home in range(count) for n in range(subscribers)]
    writers: list[Writer] = []
    for home in range(count):
        rotated_http, rotated_ws = http[home:] + http[:home], ws[home:] + ws[:home]
        writers.append(RestWriter(f"rest{home}", rotated_http, stop, interval, actions, pad))
        writers.append(SocketWriter(f"ws{home}", rotated_ws, stop, interval, actions, pad))
    return Load(group, writers, subs, stop)


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def assert_clean(text: str, accounts: list[Account], group: Cluster) -> None:
    """Every account clean; otherwise the report and the tail of each process's log (why a process stopped)."""
    assert all(a.clean for a in accounts), f"{text}\n{group.logs()}"
