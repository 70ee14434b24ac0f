"""One module-scoped live server per test file, declared in one line instead of a fixture body.

A test file that needs one server for all its tests, on a scratch database of the engine under test
(``TIDEPOOL_TEST_DB``), with some settings and some rows, says so::

    srv = module_server("caps", env={"WEBSOCKETS_SUBSCRIPTIONS_LIMIT": "3"}, seed=messages_collection)

The fixture takes its name from the variable it is assigned to (``srv`` above), as a decorated function
would. A seed is any function of the running server; several run in the order given. Seeds shared by many
files live here; a seed used by one file stays in that file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import pytest

from tests.support.live import LiveServer, live_server, scratch_database
from tests.support.seed import create_messages

Seed = Callable[[LiveServer], object]


def module_server(
    name: str, env: Mapping[str, str] | None = None, seed: Seed | Sequence[Seed] = ()
) -> Callable[..., Iterator[LiveServer]]:
    """A module-scoped fixture yielding a live server with ``env`` over the scratch database's settings,
    after ``seed`` (one function or several, in order) has run against it. ``name`` names the scratch
    directory, so a failing run's leftovers say which file they belong to."""
    seeds = [seed] if callable(seed) else list(seed)

    @pytest.fixture(scope="module")
    def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
        with scratch_database(tmp_path_factory.mktemp(name)) as db_env, live_server({**db_env, **(env or {})}) as srv:
            for step in seeds:
                step(srv)
            yield srv

    return server


def messages_collection(server: LiveServer) -> None:
    """The REST-made ``messages`` collection of the accounts tests (id, text, user, number, date_created),
    created by the admin; no rows, no permissions."""
    with server.client() as admin:
        create_messages(admin)


# Settings most realtime files share: no server pings among the frames a test counts.
NO_HEARTBEAT = {"WEBSOCKETS_HEARTBEAT_ENABLED": "false"}
