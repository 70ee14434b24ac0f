"""The official @directus/sdk's ``schemaSnapshot``, ``schemaDiff`` and ``schemaApply`` against a live Tidepool.

The expected answers are Directus 12.4.1's for the same script (``sdk_schema.mjs``), recorded: the diff of
its own snapshot is empty (``null``), the new collection is one ``N``, apply answers nothing, and a diff with
a short hand-written meta afterwards replaces each meta whole (one ``E`` on ``["meta"]``)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.node import E2E, node
from tests.support.live import ADMIN_TOKEN, live_server, scratch_database

pytestmark = pytest.mark.node

RECORDED = {
    "directus": "12.4.1",
    "own": None,
    "planned": [["schema_sdk", "N"]],
    "applied": None,
    "after": {
        "collections": [["schema_sdk", None, [["E", ["meta"]]]]],
        "fields": [["schema_sdk", "id", [["E", ["meta"]]]]],
        "systemFields": [],
        "relations": [],
    },
}


def test_sdk_schema_composables_answer_as_directus(tmp_path: Path) -> None:
    with scratch_database(tmp_path) as db_env, live_server(db_env) as server:
        result = subprocess.run(
            [str(node()), str(E2E / "sdk_schema.mjs"), server.url, ADMIN_TOKEN],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == RECORDED
