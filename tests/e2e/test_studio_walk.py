"""The Data Studio walk: the Directus Data Studio (npm @directus/app 18.0.0, test-only; studio.py serves it
at /admin in front of a real Tidepool, as Directus serves it) driven by headless Chromium through the seed
guide (studio_walk.mjs): log in; create ``messages`` with ``date_created`` from the optional fields pane and
the fields ``text`` and ``user``; create a role whose policy may read and create it and a user of that role;
generate the user's static token and save; create items over the WebSocket with it and see them in the
content module. Every step must pass. A screenshot per step and the table of steps (with the API answers of
400 and above seen during each: what to fix) are kept in .artifacts/studio-walk/.

Slow (minutes on a loaded machine): marked ``studio``, run by ``make studio-walk``, not by ``make test``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.node import CHROMIUM, E2E, node, require
from tests.e2e.studio import APP_DIST, artifacts_dir, studio_server
from tests.support.live import live_server, scratch_database

pytestmark = [pytest.mark.browser, pytest.mark.data_studio]

NAMES = {
    "collection": "messages",
    "role": "Chat Role",
    "policy": "Chat Policy",
    "email": "walker@example.com",
    "password": "walker-pass",
}
STEPS = [
    "open the login form",
    "log in",
    "create the collection with date_created from the optional fields",
    "add the field text",
    "add the field user",
    "create a role whose policy may read and create the collection",
    "create a user of that role",
    "generate the user's static token and save",
    "see the items created over the WebSocket in the content module",
]


def walk(base_url: str, shots: Path, names: dict[str, str]) -> list[dict[str, Any]]:
    """studio_walk.mjs against ``base_url``: one dict per step."""
    shots.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [str(node()), str(E2E / "studio_walk.mjs"), base_url, str(shots), json.dumps(names)],
        capture_output=True,
        text=True,
        timeout=1500,
        cwd=E2E,
    )
    steps = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert steps, f"studio_walk.mjs printed nothing: {result.stderr[-3000:]}"
    return steps


def table(steps: list[dict[str, Any]]) -> str:
    lines = [f"Data Studio walk: {sum(s['ok'] for s in steps)} of {len(steps)} steps pass"]
    for s in steps:
        outcome = "ok" if s["ok"] else "skipped" if s.get("skipped") else "FAILED"
        lines.append(f"{outcome:8} {s['step']}" + (f"  ({s['ms'] / 1000:.1f} s)" if "ms" in s else ""))
        if s.get("error"):
            lines.append(f"{'':9}error: {s['error']}")
        lines.extend(f"{'':9}the app shows: {text}" for text in s.get("shown", []))
        lines.extend(f"{'':9}{' '.join(map(str, p))}" for p in s.get("problems", []))
    return "\n".join(lines)


@pytest.mark.timeout(1800)
def test_the_data_studio_walks_the_seed_guide_on_tidepool(tmp_path: Path) -> None:
    require(E2E / "node_modules" / "playwright-core", "playwright-core")
    require(APP_DIST / "index.html", "@directus/app")
    require(CHROMIUM, "Debian chromium")
    shots = tmp_path / "studio-walk"
    with scratch_database(tmp_path, "sqlite3") as db_env, live_server(db_env) as server:
        with studio_server(server.url) as studio:
            steps = walk(studio, shots, NAMES)
    kept = artifacts_dir("studio-walk")
    for shot in shots.glob("*.png"):
        shutil.copy(shot, kept / shot.name)
    report = table(steps)
    (kept / "steps.txt").write_text(report + "\n")
    print(report)
    assert [s["step"] for s in steps] == STEPS
    failed = [s for s in steps if not s["ok"]]
    assert not failed, (
        f"{len(failed)} of {len(steps)} steps fail, the first: {failed[0]['step']}: {failed[0].get('error')}"
    )
