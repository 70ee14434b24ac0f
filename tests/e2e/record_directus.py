"""Records Directus 12.4.1's answers for the SDK REST suite and the first-hour list into tests/e2e/expected/.

Run against the reference Directus (../shared/tools/directus/, seeded: admin token ``admin-static-token``)::

    PYTHONPATH=. .venv/bin/python -m tests.e2e.record_directus [http://127.0.0.1:8056]
    PYTHONPATH=. .venv/bin/python -m tests.e2e.record_directus walk [http://127.0.0.1:8056]

``walk`` runs the Data Studio walk (studio_walk.mjs) against Directus's own /admin instead, with ``sw_``
names, and removes what it made: the check that the walk's selectors fit the real thing.

It writes what the server answered, shapes only (volatile values replaced by type markers); re-run it when
the suites gain a call. Every call names its own objects ``sw_*`` and removes them, so a shared Directus is
left as found.
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from tests.e2e import first_hour, sdk_rest
from tests.e2e.answers import save
from tests.e2e.node import NODE

ADMIN_TOKEN = "admin-static-token"


def fresh_admin(base_url: str) -> None:
    """Give the admin back what a fresh Directus has: no ``language``, no ``last_page``. Data Studio sessions
    set both, and so do the suites themselves (``updateMe`` sets a language, the first hour tracks a page),
    while Tidepool's runs start from a fresh admin: recorded otherwise, ``readMe`` and ``me`` would differ."""
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    httpx.patch(f"{base_url}/users/me", json={"language": None, "last_page": None}, headers=auth, timeout=30)


def main(base_url: str) -> None:
    fresh_admin(base_url)
    answers, crashed = sdk_rest.run(NODE, base_url, ADMIN_TOKEN)
    if crashed:
        raise SystemExit(f"the SDK driver crashed against {base_url}: {crashed}")
    save(sdk_rest.EXPECTED, answers)
    print(f"{len(answers)} SDK calls recorded into {sdk_rest.EXPECTED}")
    fresh_admin(base_url)
    hour = first_hour.run(base_url, ADMIN_TOKEN)
    save(first_hour.EXPECTED, hour)
    print(f"{len(hour)} first-hour requests recorded into {first_hour.EXPECTED}")
    fresh_admin(base_url)


WALK_NAMES = {
    "collection": "sw_walk_messages",
    "role": "sw Walk Role",
    "policy": "sw Walk Policy",
    "email": "sw-walk@example.com",
    "password": "sw-walk-pass",
}


def clean_walk(base_url: str) -> None:
    """Remove what a walk against Directus made (errors ignored)."""
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=base_url, headers=auth, timeout=30) as http:
        for path, key, value in (
            ("/users", "email", WALK_NAMES["email"]),
            ("/roles", "name", WALK_NAMES["role"]),
            ("/policies", "name", WALK_NAMES["policy"]),
        ):
            found = http.get(path, params={f"filter[{key}][_eq]": value, "fields": "id"})
            for row in found.json().get("data", []) if found.status_code == 200 else []:
                http.delete(f"{path}/{row['id']}")
        http.delete(f"/collections/{WALK_NAMES['collection']}")


def walk(base_url: str) -> None:
    from tests.e2e.test_studio_walk import table
    from tests.e2e.test_studio_walk import walk as run_walk

    clean_walk(base_url)
    try:
        steps = run_walk(base_url, Path("/tmp/studio-walk-directus"), WALK_NAMES)
    finally:
        clean_walk(base_url)
    print(table(steps))


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments[:1] == ["walk"]:
        walk(arguments[1] if len(arguments) > 1 else "http://127.0.0.1:8056")
    else:
        main(arguments[0] if arguments else "http://127.0.0.1:8056")
