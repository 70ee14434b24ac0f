"""``tidepool start`` as a real subprocess: for what only the command shows (its log output, its exit)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.live import base_env, free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Started:
    process: subprocess.Popen[str]
    url: str
    port: int

    def stop(self) -> tuple[str, str]:
        """Stop the server (SIGTERM, a graceful shutdown) and return its stdout and stderr."""
        self.process.terminate()
        out, err = self.process.communicate(timeout=20)
        return out, err


def command_env(env: dict[str, str]) -> dict[str, str]:
    """The environment of a ``tidepool`` subprocess: this checkout first on the path, no ``.env`` surprises."""
    return {**os.environ, **base_env(), "PYTHONPATH": str(ROOT), **env}


@contextmanager
def started(env: dict[str, str]) -> Iterator[Started]:
    """``python -m tidepool start`` on a free port, waited for until ``/server/ping`` answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tidepool", "start"],
        cwd=ROOT,
        env=command_env({"HOST": "127.0.0.1", "PORT": str(port), **env}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    handle = Started(process, f"http://127.0.0.1:{port}", port)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"tidepool start exited: {process.communicate()}")
            try:
                if httpx.get(f"{handle.url}/server/ping", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.05)
        yield handle
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
