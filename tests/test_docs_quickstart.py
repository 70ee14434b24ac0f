"""The README's quick start, run as printed: its CLI commands against a live server's database, then its
WebSocket transcript over a real socket, so the first thing a user reads cannot drift from the code.

The transcript's ``…`` stands for any value (``"…"``) or for more keys (``,…}``); ``seq``, ids and
timestamps are compared by kind, everything else exactly.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.realtime.wsclient import WS
from tests.support.live import LiveServer, live_server, scratch_database
from tests.support.process import ROOT, command_env

README = (ROOT / "README.md").read_text()
ANY = "\u0000any"
MORE = "\u0000more"
BY_KIND = {"seq", "id"}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?$")


def block_after(heading: str, language: str) -> str:
    """The first ``language`` code block after ``heading`` in the README."""
    start = README.index(heading)
    opening = README.index(f"```{language}\n", start) + len(language) + 4
    return README[opening : README.index("```", opening)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    env = {"WEBSOCKETS_HEARTBEAT_PERIOD": "1"}
    with scratch_database(tmp_path_factory.mktemp("quickstart")) as db_env, live_server({**db_env, **env}) as srv:
        yield srv, db_env


def run_cli_step(line: str, db_env: dict[str, str]) -> str:
    args = shlex.split(line)
    assert args[0] == ".venv/bin/tidepool", line
    done = subprocess.run(
        [sys.executable, "-m", "tidepool", *args[1:]],
        cwd=ROOT,
        env=command_env(db_env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, (line, done.stdout, done.stderr)
    return done.stdout


def expected_frame(text: str) -> Any:
    """A transcript line's JSON with its ``…`` placeholders made explicit."""
    text = text.replace('"…"', json.dumps(ANY)).replace(",…}", f",{json.dumps(MORE)}:true}}")
    return json.loads(text)


def check(expected: Any, actual: Any, key: str = "") -> None:
    if expected == ANY:
        return
    if isinstance(expected, dict):
        assert isinstance(actual, dict), (key, actual)
        keys = set(expected) - {MORE}
        assert keys <= set(actual) if MORE in expected else keys == set(actual), (key, expected, actual)
        for name in keys:
            check(expected[name], actual[name], name)
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), (key, expected, actual)
        for want, got in zip(expected, actual, strict=True):
            check(want, got, key)
    elif key in BY_KIND:
        assert type(actual) is type(expected), (key, actual)
    elif isinstance(expected, str) and TIMESTAMP.match(expected):
        assert isinstance(actual, str) and TIMESTAMP.match(actual), (key, actual)
    else:
        assert actual == expected, (key, expected, actual)


def test_the_quick_start_runs_as_printed(server: tuple[LiveServer, dict[str, str]]) -> None:
    srv, db_env = server
    commands = [line for line in block_after("### 1. A collection", "sh").splitlines() if line.strip()]
    assert len(commands) == 4
    outputs = [run_cli_step(line, db_env) for line in commands]
    token = re.search(r"static token: (\S+)", outputs[-1])
    assert token is not None, outputs[-1]
    srv.run(srv.runtime.schemas.reload())  # the CLI wrote to the database; don't wait for the version watcher

    transcript = block_after("### 2. Realtime over a WebSocket", "text").replace("ann-static-token", token[1])
    steps = [re.match(r"^([→←]) (\{.*\})(\s+\(.*\))?$", line) for line in transcript.splitlines() if line.strip()]
    assert all(steps), transcript
    with WS(srv.ws_url) as conn:
        pending: list[Any] = []  # consecutive replies: a write's reply and its event may come in either order
        for step in [*steps, None]:
            if step is not None and step[1] == "←":
                pending.append(expected_frame(step[2]))
                continue
            received = [conn.recv(timeout=5) for _ in pending]
            for want in pending:
                assert any(_matches(want, got) for got in received), (want, received)
            pending = []
            if step is not None:
                conn.send(expected_frame(step[2]))


def _matches(expected: Any, actual: Any) -> bool:
    try:
        check(expected, actual)
    except AssertionError:
        return False
    return True


def test_the_readme_examples_exist() -> None:
    """The two blocks above are where the test looks for them (a renamed heading must fail, not skip)."""
    assert ".venv/bin/tidepool collections create messages" in block_after("### 1. A collection", "sh")
    assert '"type":"subscribe"' in block_after("### 2. Realtime over a WebSocket", "text")
