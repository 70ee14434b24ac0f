"""``tidepool start`` as a real subprocess: for what only the command shows (its log output, its exit), and for
faults only a real process can have (SIGKILL mid-write, a restart on the same port)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from tests.support.live import base_env, free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Started:
    process: subprocess.Popen[str]
    url: str
    port: int
    env: dict[str, str]
    log: Path | None = None

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{self.env.get('WEBSOCKETS_REST_PATH', '/websocket')}"

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> tuple[str, str]:
        """Stop the server (SIGTERM, a graceful shutdown) and return its stdout and stderr (both in the log
        file's text, under stdout, when the output went to a file)."""
        self.process.terminate()
        out, err = self.process.communicate(timeout=20)
        return (self.output(), "") if self.log else (out, err)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when the machine or the OOM killer takes the process."""
        if self.alive:
            self.process.send_signal(signal.SIGKILL)
        self.process.communicate(timeout=10)  # reaps it and closes its pipes (a restart drops this handle)

    def output(self) -> str:
        """What the process wrote so far, when its output goes to a file."""
        return self.log.read_text(errors="replace") if self.log else ""


def command_env(env: dict[str, str]) -> dict[str, str]:
    """The environment of a ``tidepool`` subprocess: this checkout first on the path, no ``.env`` surprises."""
    return {**os.environ, **base_env(), "PYTHONPATH": str(ROOT), **env}


def spawn(env: dict[str, str], port: int | None = None, log: Path | None = None, args: Sequence[str] = ()) -> Started:
    """``python -m tidepool start`` (with ``args``) on ``port`` (a free one by default), waited for until
    ``/server/ping`` answers. With ``log``, stdout and stderr are appended to that file instead of pipes, so a
    long run never blocks on a full pipe and a restarted process continues the same file."""
    port = port or free_port()
    sink: IO[str] | int = open(log, "a") if log else subprocess.PIPE  # closed below: the child keeps its copy
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "tidepool", "start", *args],
            cwd=ROOT,
            env=command_env({"HOST": "127.0.0.1", "PORT": str(port), **env}),
            stdout=sink,
            stderr=subprocess.STDOUT if log else subprocess.PIPE,
            text=True,
        )
    finally:
        if not isinstance(sink, int):
            sink.close()
    handle = Started(process, f"http://127.0.0.1:{port}", port, env, log)
    try:
        _wait_ready(handle)
    except BaseException:
        handle.kill()
        raise
    return handle


def restart(handle: Started) -> Started:
    """The same command again, on the same port, with the same environment and log file."""
    handle.kill()
    return spawn(handle.env, handle.port, handle.log)


# Only a guard against a process that never listens (one that exits is seen at once): a start on a fresh
# PostgreSQL database took 10 s at a load average of 12 and more than 30 s at 14 with two busy loops beside it.
READY_TIMEOUT = 60.0


def _wait_ready(handle: Started) -> None:
    """Until the port answers ``/server/ping`` and the listening socket is the process's own: another server on
    the port (given the same number, or left from an earlier test) would answer too, and the test would then
    run against it while the new process fails to bind and exits (seen in CI before the port blocks)."""
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if handle.process.poll() is not None:
            out = handle.output() if handle.log else handle.process.communicate()
            raise RuntimeError(f"tidepool start exited: {out}")
        try:
            answered = httpx.get(f"{handle.url}/server/ping", timeout=1).status_code == 200
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
        else:
            if answered and listens(handle.process.pid, handle.port):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"port {handle.port} answers, but not from the process started on it")
        time.sleep(0.05)


def listens(pid: int, port: int) -> bool:
    """Whether process ``pid`` holds a socket listening on TCP ``port`` (Linux ``/proc``; elsewhere assumed)."""
    try:
        table = Path("/proc/net/tcp").read_text().splitlines()[1:]
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return True  # no /proc to ask: the ping alone decides
    listening = {
        fields[9]
        for fields in map(str.split, table)
        if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port  # 0A: LISTEN
    }
    for descriptor in descriptors:
        with suppress(OSError):
            if os.readlink(f"/proc/{pid}/fd/{descriptor}").removeprefix("socket:[").removesuffix("]") in listening:
                return True
    return False


@contextmanager
def started(
    env: dict[str, str], port: int | None = None, log: Path | None = None, args: Sequence[str] = ()
) -> Iterator[Started]:
    """``spawn`` for the length of a ``with`` block; the process is killed if still running at its end."""
    handle = spawn(env, port, log, args)
    try:
        yield handle
    finally:
        if handle.alive:
            handle.process.kill()
        handle.process.communicate(timeout=10)  # reaps it and closes its pipes, also when it ended by itself
