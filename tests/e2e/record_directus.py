"""Records Directus 12.4.1's answers for the SDK REST suite and the first-hour list into tests/e2e/expected/.

Run against the reference Directus (../shared/tools/directus/, seeded: admin token ``admin-static-token``)::

    PYTHONPATH=. .venv/bin/python -m tests.e2e.record_directus [http://127.0.0.1:8056]

It writes what the server answered, shapes only (volatile values replaced by type markers); re-run it when
the suites gain a call. Every call names its own objects ``sw_*`` and removes them, so a shared Directus is
left as found.
"""

from __future__ import annotations

import sys

from tests.e2e import first_hour, sdk_rest
from tests.e2e.answers import save
from tests.e2e.node import NODE

ADMIN_TOKEN = "admin-static-token"


def main(base_url: str) -> None:
    answers, crashed = sdk_rest.run(NODE, base_url, ADMIN_TOKEN)
    if crashed:
        raise SystemExit(f"the SDK driver crashed against {base_url}: {crashed}")
    save(sdk_rest.EXPECTED, answers)
    print(f"{len(answers)} SDK calls recorded into {sdk_rest.EXPECTED}")
    hour = first_hour.run(base_url, ADMIN_TOKEN)
    save(first_hour.EXPECTED, hour)
    print(f"{len(hour)} first-hour requests recorded into {first_hour.EXPECTED}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8056")
