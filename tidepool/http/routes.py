"""Every URL the server answers, in one table: each resource module exports its ``routes``."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from tidepool.config import Settings
from tidepool.http import (
    access,
    auth,
    collections,
    fields,
    items,
    permissions,
    policies,
    relations,
    roles,
    server,
    users,
)
from tidepool.realtime import endpoint

# The example pages live in the source checkout (examples/ beside the package).
EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"

_RESOURCES = (server, auth, items, collections, fields, relations, users, roles, policies, permissions, access)


def build_routes(settings: Settings) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    if settings["WEBSOCKETS_ENABLED"]:
        routes.extend(endpoint.build_routes(settings))
    for module in _RESOURCES:
        routes.extend(module.routes)
    if settings["EXAMPLES_ENABLED"] and EXAMPLES_DIR.is_dir():
        routes.append(Mount("/examples", StaticFiles(directory=EXAMPLES_DIR, html=True), name="examples"))
    return routes
