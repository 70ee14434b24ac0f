"""Every URL the server answers, in one table."""

from __future__ import annotations

from starlette.routing import BaseRoute

from tidepool.config import Settings
from tidepool.http import server


def build_routes(settings: Settings) -> list[BaseRoute]:
    routes: list[BaseRoute] = [*server.routes]
    return routes
