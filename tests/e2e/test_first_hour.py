"""A Directus user's first hour (first_hour.STEPS: uploads, assets, exports, OpenAPI, activity, settings,
presets, schema snapshot, utilities, invitations, a CORS preflight) against a real Tidepool, request by
request against the answers recorded from Directus 12.4.1 (expected/first_hour.json): each must come back
with Directus's status and shape. The table is printed and kept in .artifacts/first-hour.txt."""

from __future__ import annotations

from pathlib import Path

from tests.e2e import first_hour
from tests.e2e.answers import DEPARTURES, closed, compare, load, report, unexplained
from tests.support.live import ADMIN_TOKEN, live_server, scratch_database
from tests.support.seed import create_reference_secrets, seed_guide


def test_first_hour_answers_as_directus(tmp_path: Path) -> None:
    expected = load(first_hour.EXPECTED)
    assert [a.name for a in expected] == [s.name for s in first_hour.STEPS], (
        "re-record: python -m tests.e2e.record_directus"
    )
    with scratch_database(tmp_path, "sqlite3") as db_env, live_server(db_env) as server:
        with server.client() as admin:
            seed_guide(admin)
            create_reference_secrets(admin)  # the recording's Directus was seeded with it too
        actual = first_hour.run(server.url, ADMIN_TOKEN)
    verdicts = compare(expected, actual, DEPARTURES)
    print(report("First hour (Directus 12.4.1 vs Tidepool)", verdicts, "first-hour"))
    assert not closed(verdicts), f"now answer as Directus: take them off answers.OPEN: {closed(verdicts)}"
    wrong = unexplained(verdicts)
    assert not wrong, f"{len(wrong)} of {len(verdicts)} requests answer otherwise than Directus: " + ", ".join(
        v.name for v in wrong
    )
