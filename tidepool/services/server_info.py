"""``/server/info`` in Directus 12.4.1's shape, filled from Tidepool's own settings.

Everyone gets the ``project`` block (what the Data Studio's login page draws) and ``license``; a signed-in
user also gets what the app needs to behave: limits (``queryLimit``, ``rateLimit``), the WebSocket endpoint,
file rules and the feature flags. Features Tidepool does not have (GraphQL subscriptions, collaborative
editing, log streaming, AI, MCP, project owner) are answered ``false``, so the app never offers them.

The project block comes from the ``directus_settings`` row when that table exists (the ``/settings``
endpoint owns it), else from Directus's defaults with Tidepool's name.
"""

from __future__ import annotations

from typing import Any

from tidepool import __version__
from tidepool.config import Settings
from tidepool.errors import TidepoolError
from tidepool.query.model import Query
from tidepool.services.base import ServiceContext
from tidepool.services.items import ItemsService

PROJECT_DEFAULTS: dict[str, Any] = {
    "project_name": "Tidepool",
    "project_descriptor": None,
    "project_logo": None,
    "project_color": "#6644FF",
    "default_appearance": "auto",
    "default_theme_light": None,
    "default_theme_dark": None,
    "theme_light_overrides": None,
    "theme_dark_overrides": None,
    "default_language": "en-US",
    "public_foreground": None,
    "public_background": None,
    "public_favicon": None,
    "public_note": None,
    "custom_css": None,
    "public_registration": False,
    "public_registration_verify_email": True,
}

# No licence server: the entitlements a self-hosted Directus without a licence reports.
LICENSE = {
    "source": None,
    "entitlements": {"production_enabled": True, "ai_translations_enabled": False, "display_powered_by": "DIRECTUS"},
}

# Directus features Tidepool does not have, answered as switched off.
ABSENT_FEATURES = {
    "project_owner_enabled": False,
    "mcp_enabled": False,
    "ai_enabled": False,
    "mcp_oauth_enabled": False,
    "mcp_oauth_dcr_enabled": False,
    "mcp_oauth_cimd_enabled": False,
}

AUTOSAVE_REVISION_INTERVAL = 300  # seconds; Directus's default, what the app's editor autosaves by


async def server_info(ctx: ServiceContext) -> dict[str, Any]:
    settings = ctx.settings
    info: dict[str, Any] = {"project": await project(ctx)}
    if ctx.accountability.user is not None:
        info |= ABSENT_FEATURES
        info["autoSave"] = {"revisionInterval": AUTOSAVE_REVISION_INTERVAL}
        info["files"] = {"mimeTypeAllowList": _mime_types(settings)}
        info["rateLimit"] = _rate_limit(settings)
        info["rateLimitGlobal"] = False
        info["extensions"] = {"limit": None}
        info["queryLimit"] = {"default": settings.QUERY_LIMIT_DEFAULT, "max": settings.QUERY_LIMIT_MAX or -1}
        info["websocket"] = websocket_info(settings)
        info["version"] = __version__
    info["license"] = LICENSE
    return info


async def project(ctx: ServiceContext) -> dict[str, Any]:
    """The project block: the settings row's values over the defaults."""
    if ctx.schema.collection("directus_settings") is None:
        return dict(PROJECT_DEFAULTS)
    info = ctx.schema.collection("directus_settings")
    assert info is not None
    wanted = tuple(name for name in PROJECT_DEFAULTS if name in info.fields)
    try:
        rows = await ItemsService(ctx.as_admin(), "directus_settings").read_by_query(Query(fields=wanted, limit=1))
    except TidepoolError:
        rows = []
    stored = {k: v for k, v in rows[0].items() if k in PROJECT_DEFAULTS} if rows else {}
    return {**PROJECT_DEFAULTS, **stored}


def _mime_types(settings: Settings) -> list[str]:
    return list(settings.FILES_MIME_TYPE_ALLOW_LIST)  # parsed once, by config (the uploads read the same)


def _rate_limit(settings: Settings) -> dict[str, Any] | bool:
    if not settings.RATE_LIMITER_ENABLED:
        return False
    return {"points": settings.RATE_LIMITER_POINTS, "duration": _number(settings.RATE_LIMITER_DURATION)}


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def websocket_info(settings: Settings) -> dict[str, Any] | bool:
    if not settings.WEBSOCKETS_ENABLED:
        return False
    rest = settings.WEBSOCKETS_REST_ENABLED
    return {
        "rest": {"authentication": settings.WEBSOCKETS_REST_AUTH, "path": settings.WEBSOCKETS_REST_PATH}
        if rest
        else False,
        "graphql": False,
        "heartbeat": _number(settings.WEBSOCKETS_HEARTBEAT_PERIOD) if settings.WEBSOCKETS_HEARTBEAT_ENABLED else False,
        "collaborativeEditing": False,
        "logs": False,
    }
