"""``tidepool start --workers N`` (or ``WEB_CONCURRENCY``): N server processes on one port, one supervisor.

Python runs one core per process, so N processes serve what one cannot. The shape, and why:

- **The parent bootstraps once, then binds the port** (``tidepool/cli/serve.py``): migrations and the first
  admin never run in two processes at once. It forks each worker once the bootstrap's engine and event loop
  are closed (no thread runs then, so nothing half-locked is inherited; each worker opens its own database
  connections). A worker inherits its listening socket, the parsed settings (so a ``SECRET`` generated at
  load is the same everywhere) and the modules already imported, which makes it ready in a moment where a
  fresh interpreter would import the whole stack again.
- **A listening socket per worker** (Linux, ``WORKERS_REUSEPORT``, the default): the parent binds N sockets
  to the port with ``SO_REUSEPORT`` and listens on each before forking, and worker k accepts from socket k
  only (the others' are closed in it). The kernel picks the socket of a new connection by a hash of its
  addresses, so connections spread evenly. On one shared socket (elsewhere, or ``WORKERS_REUSEPORT=false``)
  they go to whichever worker's event loop accepts first, and asyncio accepts a whole burst at once: measured
  with 32 connections opened together, one worker often took most of them and the other idled
  (bench/README.md, "Workers"). The parent keeps every socket open, so connections hashed to a worker that
  died wait in its socket's queue for the replacement, which takes over the same socket (and while the
  workers start, a connection waits for its own worker even if another is already serving). The port is first
  bound once without ``SO_REUSEPORT`` (uvicorn's own bind), so a port another server holds fails the start
  as before instead of being shared with it.
- **Each worker is one ordinary Tidepool server** (the same ``DrainingServer``, without the bootstrap). They
  share nothing in memory: events reach every worker's subscribers through the database's event log (or
  Redis news when configured), and schema, access, session and token changes through the version markers
  (``services/versions.py``), exactly as between two servers on one database. On SQLite their writers
  queue on a file lock (``tidepool/db/write_lock.py``).
- **Stopping**: the workers run in their own process group, so a terminal's Ctrl+C reaches the parent
  alone. The first SIGTERM or SIGINT closes the parent's copies of the sockets and sends SIGTERM to every
  worker, which drains as one server does; the workers meet once their own writes are finished (a shared
  barrier) and then deliver every event numbered by any of them before closing their sockets with 1001. A
  second Ctrl+C sends SIGINT, which makes each worker stop at once. The parent exits when they all have:
  0 when every worker stopped cleanly. A worker whose parent disappears (SIGKILL) stops itself the same way.
- **One connection budget for the server**: each of N workers gets ``DB_POOL_SIZE / N`` (rounded up), so
  ``--workers 2`` opens no more database connections than one process does. Each worker with the whole
  budget doubled PostgreSQL's backends (40 for a 2-worker server where one process holds 20: the
  benchmark's servers met PostgreSQL's default ``max_connections`` of 100) and gained nothing the
  benchmark could measure (bench/README.md, "Workers"): the backends share the cores the workers run on.
- **A worker that dies** while the server runs is logged and replaced; one that fails while starting stops
  the server, since its replacement would fail the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkProcess
from multiprocessing.synchronize import Barrier
from types import FrameType

import click
import uvicorn
from starlette.applications import Starlette
from uvicorn.config import STARTUP_FAILURE

from tidepool.app import create_app
from tidepool.cli.serve import DrainingServer, tune_collector, uvicorn_config
from tidepool.config import Settings
from tidepool.logs import configure_logging

log = logging.getLogger("tidepool")

FORK = multiprocessing.get_context("fork")
KILL_AFTER = 10.0  # seconds past SERVER_SHUTDOWN_TIMEOUT before a worker that has not stopped is killed


@dataclass
class Worker:
    """One worker process and the parent's end of its channel (readiness one way, the lifeline both)."""

    number: int
    process: ForkProcess
    channel: Connection
    ready: bool = False


@dataclass
class Supervisor:
    settings: Settings
    workers: list[Worker] = field(default_factory=list)
    listeners: list[socket.socket] = field(default_factory=list)  # one per worker, or one shared by all
    signals: _SignalPipe = field(init=False)
    stopping: bool = False
    exit_code: int = 0

    def run(self) -> int:
        """Serve until stopped; the exit code (0 after a clean stop of every worker)."""
        count = self.settings.WEB_CONCURRENCY
        config = uvicorn_config(self.settings, Starlette())  # only its socket options are used here
        self.listeners = bind_listeners(config, count if self.settings.WORKERS_REUSEPORT else 1)
        barrier = FORK.Barrier(count)
        signals = self.signals = _SignalPipe()
        try:
            for number in range(1, count + 1):
                self.workers.append(self._spawn(number, barrier))
            self._supervise(barrier, signals)
        finally:
            signals.close()
            self._close_listeners()
        return self.exit_code

    @property
    def worker_settings(self) -> Settings:
        """A worker's settings: its share of the connection budget."""
        share = -(-self.settings.DB_POOL_SIZE // self.settings.WEB_CONCURRENCY)
        return self.settings.with_overrides(DB_POOL_SIZE=share)

    def _spawn(self, number: int, barrier: Barrier) -> Worker:
        parent_end, child_end = FORK.Pipe()
        listener = self.listeners[(number - 1) % len(self.listeners)]
        # The parent's own descriptors, closed in the child: above all the other workers' channels, whose
        # copies would keep them open after the parent died (their lifeline would never see it), and the
        # other workers' listening sockets, which would otherwise stay open (and take connections nobody
        # accepts) until this worker ended, after their own worker had closed them to drain.
        parents = [
            parent_end.fileno(),
            *self.signals.fds,
            *(w.channel.fileno() for w in self.workers),
            *(other.fileno() for other in self.listeners if other is not listener),
        ]
        process = FORK.Process(
            target=run_worker,
            args=(self.worker_settings, listener, child_end, barrier, parents),
            name=f"tidepool-worker-{number}",
        )
        process.start()
        child_end.close()
        return Worker(number, process, parent_end)

    def _close_listeners(self) -> None:
        for listener in self.listeners:
            listener.close()

    def _supervise(self, barrier: Barrier, signals: _SignalPipe) -> None:
        deadline: float | None = None
        while self.workers:
            timeout = None if deadline is None else max(deadline - _now(), 0.0)
            ready = wait([signals.reader, *self._waitables(), *(w.process.sentinel for w in self.workers)], timeout)
            if deadline is not None and _now() >= deadline:
                self._kill_all()
                deadline = None  # killed: their sentinels come next
            if signals.reader in ready:
                for sig in signals.take():
                    if not self.stopping:
                        deadline = _now() + self.settings.SERVER_SHUTDOWN_TIMEOUT + KILL_AFTER
                        self._stop(sig)
                    elif sig == signal.SIGINT:
                        self._signal_all(signal.SIGINT)  # a second Ctrl+C: every worker stops at once
            for worker in list(self.workers):
                if worker.channel in ready:
                    self._heard(worker)
                if not worker.process.is_alive() and worker.process.sentinel in ready:
                    self._ended(worker, barrier)

    def _waitables(self) -> list[Connection]:
        return [w.channel for w in self.workers if not w.ready and not w.channel.closed]

    def _heard(self, worker: Worker) -> None:
        try:
            pid = worker.channel.recv()
        except (EOFError, OSError):
            worker.channel.close()
            return
        worker.ready = True
        click.echo(f"Tidepool worker {worker.number} serving (pid {pid})")
        if all(w.ready for w in self.workers):
            click.echo(f"Tidepool: {len(self.workers)} workers serving")

    def _ended(self, worker: Worker, barrier: Barrier) -> None:
        code = worker.process.exitcode or 0
        worker.process.join()
        worker.channel.close()
        self.workers.remove(worker)
        if self.stopping:
            if code != 0 and self.exit_code == 0:
                self.exit_code = code if code > 0 else 1  # a negative code: killed by that signal
            return
        if code == STARTUP_FAILURE and not worker.ready:
            log.error("worker %d (pid %s) failed to start; stopping", worker.number, worker.process.pid)
            self.exit_code = STARTUP_FAILURE
            self._stop(signal.SIGTERM)
            return
        log.warning("worker %d (pid %s) exited (code %s); starting another", worker.number, worker.process.pid, code)
        self.workers.append(self._spawn(worker.number, barrier))
        self.workers.sort(key=lambda w: w.number)

    def _stop(self, sig: int) -> None:
        """Stop accepting here, then let every worker drain."""
        self.stopping = True
        log.info("stopping %d worker(s) (%s)", len(self.workers), signal.Signals(sig).name)
        self._close_listeners()  # once each worker has closed its copy too, new connections are refused
        self._signal_all(signal.SIGTERM)

    def _signal_all(self, sig: int) -> None:
        for worker in self.workers:
            if worker.process.pid is not None and worker.process.is_alive():
                os.kill(worker.process.pid, sig)

    def _kill_all(self) -> None:
        for worker in self.workers:
            if worker.process.is_alive():
                log.error("worker %d (pid %s) did not stop in time; killed", worker.number, worker.process.pid)
                worker.process.kill()
        self.exit_code = self.exit_code or 1


def bind_listeners(config: uvicorn.Config, count: int) -> list[socket.socket]:
    """The listening sockets of ``count`` workers: one per worker with ``SO_REUSEPORT`` (on Linux, for a TCP
    host and port), else one for all. Each listens before any worker is forked, so no connection ever meets a
    socket that is bound but not yet accepting into its queue."""
    probe = config.bind_socket()  # uvicorn's bind: a port in use fails the start here, with uvicorn's message
    if count == 1 or not sys.platform.startswith("linux") or probe.family not in (socket.AF_INET, socket.AF_INET6):
        probe.listen(config.backlog)
        return [probe]
    port = probe.getsockname()[1]  # PORT=0: the port the kernel chose
    family = probe.family
    probe.close()
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((config.host, port))
            sock.listen(config.backlog)
            sock.set_inheritable(True)
    except OSError as exc:  # another process took the port between the probe and these binds
        for sock in sockets:
            sock.close()
        log.error("could not bind the workers' sockets to port %s: %s", port, exc)
        raise SystemExit(STARTUP_FAILURE) from exc
    return sockets


def _now() -> float:
    return time.monotonic()


class _SignalPipe:
    """SIGTERM and SIGINT, turned into bytes on a pipe the supervisor's ``wait`` watches."""

    def __init__(self) -> None:
        self.reader, self._writer = os.pipe()
        os.set_blocking(self.reader, False)
        self._previous = {sig: signal.signal(sig, self._handle) for sig in (signal.SIGTERM, signal.SIGINT)}

    @property
    def fds(self) -> tuple[int, int]:
        return self.reader, self._writer

    def _handle(self, sig: int, frame: FrameType | None) -> None:
        os.write(self._writer, bytes([sig]))

    def take(self) -> list[int]:
        try:
            return list(os.read(self.reader, 64))
        except BlockingIOError:
            return []

    def close(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        os.close(self.reader)
        os.close(self._writer)


# ------------------------------------------------------------------------------------------------ worker


def run_worker(
    settings: Settings, listener: socket.socket, channel: Connection, barrier: Barrier, parents: list[int]
) -> None:
    """A worker's whole life (in the forked process): serve on ``listener`` until SIGTERM."""
    os.setpgrp()  # a terminal's Ctrl+C reaches the parent only, which decides what the workers get
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handlers, until uvicorn installs its own
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for fd in parents:
        with contextlib.suppress(OSError):
            os.close(fd)
    configure_logging(settings)
    app = create_app(settings, bootstrap=False)
    tune_collector()
    server = WorkerServer(uvicorn_config(settings, app), app, settings, channel, barrier)
    threading.Thread(target=_lifeline, args=(channel,), name="tidepool-lifeline", daemon=True).start()
    server.run(sockets=[listener])
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)


def _lifeline(channel: Connection) -> None:
    """Block on the channel until the parent is gone (its end closes), then stop this worker gracefully."""
    try:
        while True:
            channel.recv()
    except (EOFError, OSError):
        os.kill(os.getpid(), signal.SIGTERM)


class WorkerServer(DrainingServer):
    """A ``DrainingServer`` that tells the parent once it serves, and drains in step with the other workers."""

    def __init__(
        self, config: uvicorn.Config, app: Starlette, settings: Settings, channel: Connection, barrier: Barrier
    ) -> None:
        super().__init__(config, app, settings.SERVER_SHUTDOWN_TIMEOUT, self._settle)
        self.channel = channel
        self.barrier = barrier

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.channel.send(os.getpid())

    async def _settle(self, deadline: float, give_up: Callable[[], bool]) -> None:
        """Wait (until ``deadline``) for every worker to have finished its writes, then learn the newest event
        number any of them logged, so the drain delivers their events to this worker's subscribers too."""
        loop = asyncio.get_running_loop()
        met = _in_thread(lambda: self.barrier.wait(max(deadline - loop.time(), 0.0)))
        while not met.done() and not give_up() and loop.time() < deadline:
            await asyncio.sleep(0.005)
        if not met.done() or met.exception() is not None:
            log.warning("stopping: not every worker finished its writes in time; delivering what is logged")
        realtime = getattr(self.app.state, "realtime", None)
        if realtime is not None:
            try:
                await realtime.bus.sync()
            except Exception as exc:  # the database is gone: deliver what this worker knows
                log.warning("stopping: could not read the event log's head (%s)", exc)


def _in_thread(call: Callable[[], object]) -> asyncio.Future[object]:
    """``call()`` on a daemon thread (a blocking wait the process must not wait for at exit), as a future."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[object] = loop.create_future()

    def settle(result: object, error: BaseException | None) -> None:
        if future.done():
            return
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)

    def run() -> None:
        result: object = None
        error: BaseException | None = None
        try:
            result = call()
        except BaseException as exc:  # threading.BrokenBarrierError when a worker never came
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop is already closed: nobody waits any more
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name="tidepool-drain-barrier", daemon=True).start()
    return future
