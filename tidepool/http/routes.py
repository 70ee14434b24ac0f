"""Every URL the server answers, in one table: each resource module exports its ``routes``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

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


class ExamplePages(StaticFiles):
    """Starlette's static files, with the directory redirect (``/examples/chat`` → ``/examples/chat/``) made
    relative: Starlette builds it from the ``Host`` header, so a forged host would be echoed into ``Location``."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if isinstance(response, RedirectResponse):
            target = urlsplit(response.headers["location"])
            relative = "/" + target.path.lstrip("/") + (f"?{target.query}" if target.query else "")
            response.headers["location"] = relative  # one leading slash: never a protocol-relative URL
        return response


def build_routes(settings: Settings) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    if settings["WEBSOCKETS_ENABLED"]:
        routes.extend(endpoint.build_routes(settings))
    for module in _RESOURCES:
        routes.extend(module.routes)
    if settings["EXAMPLES_ENABLED"] and EXAMPLES_DIR.is_dir():
        routes.append(Mount("/examples", ExamplePages(directory=EXAMPLES_DIR, html=True), name="examples"))
    return routes
