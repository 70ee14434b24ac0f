"""``$NOW(±n unit)`` in filters from the official SDK (issue 9 saw ``$NOW(-1 day)`` fail from it): REST reads
with ``_gte``/``_lt``/``_between``/``_gt`` and a subscription whose filter holds ``$NOW(-1 day)`` (its init
and its create event), as Directus 12.4.1 answers them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.node import E2E, node
from tests.support.live import ADMIN_TOKEN, live_server, scratch_database
from tests.support.seed import seed_guide

pytestmark = pytest.mark.node


def test_now_with_an_offset_filters_sdk_reads_and_subscriptions(tmp_path: Path) -> None:
    with scratch_database(tmp_path, "sqlite3") as db_env, live_server(db_env) as server:
        with server.client() as admin:
            seed_guide(admin)
            first = admin.post("/items/messages", json={"text": "today"}).json()["data"]["id"]
        result = subprocess.run(
            [str(node()), str(E2E / "sdk_now.mjs"), server.url, ADMIN_TOKEN, "messages"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=E2E,
        )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["sinceYesterday"] == [first]
    assert answer["beforeYesterday"] == []
    assert answer["between"] == [first]
    assert answer["future"] == []
    assert answer["events"] == [
        {"event": "init", "ids": [first]},
        {"event": "create", "ids": [answer["created"]]},
    ]
