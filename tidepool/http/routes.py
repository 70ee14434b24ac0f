"""Every URL the server answers, in one table: each resource module exports its ``routes``."""

from __future__ import annotations

from starlette.routing import BaseRoute

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

_RESOURCES = (server, auth, items, collections, fields, relations, users, roles, policies, permissions, access)


def build_routes(settings: Settings) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    if settings["WEBSOCKETS_ENABLED"]:
        routes.extend(endpoint.build_routes(settings))
    for module in _RESOURCES:
        routes.extend(module.routes)
    return routes
