"""Fixtures: a live server on a scratch database, and HTTP clients as admin or anonymous."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import tests.support.examples  # noqa: F401  (registers and loads the Hypothesis profile: HYPOTHESIS_PROFILE)
from tests.support.live import LiveServer, live_server, scratch_database


@pytest.fixture
def server_env() -> dict[str, str]:
    """Extra environment for the ``server`` fixture; override in a module to change settings."""
    return {}


@pytest.fixture
def server(tmp_path: Path, server_env: dict[str, str]) -> Iterator[LiveServer]:
    with scratch_database(tmp_path) as db_env, live_server({**db_env, **server_env}) as srv:
        yield srv


@pytest.fixture
def admin(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@pytest.fixture
def anon(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client(token=None) as client:
        yield client
