"""What the Directus Data Studio asks of its server that Tidepool has no counterpart for, answered as Directus
answers when nothing is installed or limited: the bundle of app extension sources (none: an ES module of
empty lists) and the licence (an admin-only object whose entitlements the app reads for its limits and
feature switches; Tidepool sets no limit, ``-1`` being the app's "unlimited", and permits custom permission
rules, which Directus's free licence refuses)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response

from tidepool.db import system
from tidepool.errors import ForbiddenError
from tidepool.http.context import request_context
from tidepool.http.responses import data_response

# Directus 12.4.1's body with no app extension installed, byte for byte.
EXTENSION_SOURCES = (
    "const interfaces = [];const displays = [];const layouts = [];const modules = [];const panels = [];"
    "const themes = [];const operations = [];\n\n"
    "export { displays, interfaces, layouts, modules, operations, panels, themes };\n"
)
_UNLIMITED = {"limit": -1}
ENTITLEMENTS: dict[str, Any] = {
    "seats": _UNLIMITED,
    "collections": _UNLIMITED,
    "flows": _UNLIMITED,
    "sso_enabled": {"default": False},
    "activity_historical_timeframe": _UNLIMITED,
    "revision_historical_timeframe": _UNLIMITED,
    "telemetry_required": {"default": False},
    "offline_enabled": {"default": True},
    "custom_llms_enabled": {"default": False},
    "custom_permission_rules_enabled": {"default": True},
    "display_powered_by": "HIDDEN",
    "production_enabled": {"default": True},
    "ai_translations_enabled": {"default": False},
}


async def extension_sources(request: Request) -> Response:
    """``GET /extensions/sources/index.js``: public, like Directus's (the app loads it before signing in)."""
    headers = {"Cache-Control": "no-cache"}
    return Response(EXTENSION_SOURCES, media_type="application/javascript; charset=UTF-8", headers=headers)


async def license_info(request: Request) -> Response:
    """``GET /license``: admins only (anyone else gets FORBIDDEN, as from Directus); ``usage`` is counted."""
    ctx = await request_context(request)
    if not ctx.access.admin:
        raise ForbiddenError()
    collections = sum(1 for name in ctx.schema.collections if not name.startswith(("directus_", "tidepool_")))
    async with ctx.connection() as conn:
        seats = (await conn.execute(sa.select(sa.func.count()).select_from(system.users))).scalar_one()
        flows = (await conn.execute(sa.select(sa.func.count()).select_from(system.flows))).scalar_one()
    return data_response(
        {
            "name": "Core",
            "editable": False,
            "status": "active",
            "source": None,
            "downgrade_reason": None,
            "expires_at": -1,
            "entitlements": ENTITLEMENTS,
            "grace_period": -1,
            "offline": True,
            "usage": {"seats": int(seats), "collections": collections, "flows": int(flows)},
        }
    )
