"""``tidepool start`` with its database or Redis unreachable prints one line and exits non-zero (issue 7 #18),
never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.live import free_port
from tests.support.process import ROOT, command_env


def _start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tidepool", "start"],
        cwd=ROOT,
        env=command_env({"HOST": "127.0.0.1", "PORT": str(free_port()), **env}),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "service"),
    [
        ({"DB_CLIENT": "pg", "DB_HOST": "127.0.0.1", "DB_DATABASE": "tidepool"}, "database"),
        ({"DB_CLIENT": "mysql", "DB_HOST": "127.0.0.1", "DB_DATABASE": "tidepool"}, "database"),
        ({"DB_CLIENT": "sqlite3", "REDIS": "redis://127.0.0.1:{port}"}, "redis"),
    ],
    ids=["pg", "mysql", "redis"],
)
def test_unreachable_service_is_one_line(tmp_path: Path, env: dict[str, str], service: str) -> None:
    closed = str(free_port())  # nothing listens there
    env = {k: v.format(port=closed) for k, v in env.items()}
    env |= {"DB_PORT": closed, "DB_FILENAME": str(tmp_path / "t.db")}
    result = _start(env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f'error: Service "{service}" is unavailable.'), lines[0]
    assert "Traceback" not in result.stdout + result.stderr
