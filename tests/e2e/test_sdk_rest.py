"""The SDK REST suite: every REST composable of the official @directus/sdk (sdk_rest.mjs), as the admin and
as a limited user, against a real Tidepool, compared call by call with the answers recorded from Directus
12.4.1 (expected/sdk_rest.json, made by record_directus.py). Every call must answer with Directus's status
and shape, except the documented departures (answers.DEPARTURES); the table of matches and differences is
printed and kept in .artifacts/sdk-rest.txt."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e import first_hour, sdk_rest
from tests.e2e.answers import DEPARTURES, OPEN, ROOT, closed, compare, load, report, unexplained
from tests.e2e.node import node
from tests.support.live import ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_TOKEN, live_server, scratch_database

pytestmark = pytest.mark.node


def test_every_sdk_rest_call_answers_as_directus(tmp_path: Path) -> None:
    expected = load(sdk_rest.EXPECTED)
    with scratch_database(tmp_path, "sqlite3") as db_env, live_server(db_env) as server:
        with server.client(token=None) as anonymous:  # as the reference's seed did: the admin has signed in once
            login = anonymous.post("/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
            assert login.status_code == 200, login.text  # so its `last_access` is set, as readMe shows it
        actual, crashed = sdk_rest.run(node(), server.url, ADMIN_TOKEN)
    verdicts = compare(expected, actual, DEPARTURES)
    print(report("SDK REST suite (Directus 12.4.1 vs Tidepool)", verdicts, "sdk-rest"))
    assert not crashed, f"the SDK driver crashed: {crashed}"
    assert not closed(verdicts), f"now answer as Directus: take them off answers.OPEN: {closed(verdicts)}"
    wrong = unexplained(verdicts)
    assert not wrong, f"{len(wrong)} of {len(verdicts)} calls answer otherwise than Directus: " + ", ".join(
        v.name for v in wrong[:30]
    )


def test_every_departure_is_documented() -> None:
    """The departures table and README's section name the same calls, and each is a recorded call."""
    readme = (ROOT / "README.md").read_text()
    names = {a.name for a in load(sdk_rest.EXPECTED)} | {a.name for a in load(first_hour.EXPECTED)}
    for name in DEPARTURES:
        assert name in names, f"{name} is not a call of the suite"
        assert f"`{name}`" in readme, f"README does not explain the departure {name}"
    suites = (ROOT / "docs" / "client-suites.md").read_text()
    for name in OPEN:
        assert name in names, f"{name} is not a call of the suite"
        assert f"`{name}`" in suites, f"docs/client-suites.md does not list the open difference {name}"
