"""``/server/info`` in Directus 12.4.1's shape for the public, a user and the admin (key order as recorded from
it), with Tidepool's own values."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from tests.http.accounts_support import make_user, ok
from tests.support.live import LiveServer, live_server, scratch_database
from tests.support.servers import module_server
from tidepool import __version__

srv = module_server("server_info", env={"RATE_LIMITER_ENABLED": "true", "RATE_LIMITER_POINTS": "500"})

PROJECT = {
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
LICENSE = {
    "source": None,
    "entitlements": {"production_enabled": True, "ai_translations_enabled": False, "display_powered_by": "DIRECTUS"},
}
SIGNED_IN_KEYS = [
    "project", "project_owner_enabled", "mcp_enabled", "ai_enabled", "mcp_oauth_enabled", "mcp_oauth_dcr_enabled",
    "mcp_oauth_cimd_enabled", "autoSave", "files", "rateLimit", "rateLimitGlobal", "extensions", "queryLimit",
    "websocket", "version", "license",
]  # fmt: skip


def test_public_gets_the_project_and_license_only(srv: LiveServer) -> None:
    with srv.client(token=None) as anon:
        info = ok(anon.get("/server/info"))
    assert info == {"project": PROJECT, "license": LICENSE}
    assert list(info["project"]) == list(PROJECT)


def test_signed_in_users_get_the_full_shape(srv: LiveServer) -> None:
    with srv.client() as admin:
        _, token = make_user(admin)
        full = ok(admin.get("/server/info"))
    with srv.client(token=token) as client:
        mine = ok(client.get("/server/info"))
    assert list(full) == SIGNED_IN_KEYS and mine == full  # websocket.logs is false for both: no log streaming
    assert full["project"] == PROJECT and full["license"] == LICENSE
    for flag in SIGNED_IN_KEYS[1:7]:
        assert full[flag] is False
    assert full["autoSave"] == {"revisionInterval": 300}
    assert full["files"] == {"mimeTypeAllowList": ["*/*"]}
    assert full["rateLimit"] == {"points": 500, "duration": 1}
    assert full["rateLimitGlobal"] is False
    assert full["extensions"] == {"limit": None}
    assert full["queryLimit"] == {"default": 100, "max": -1}
    assert full["websocket"] == {
        "rest": {"authentication": "handshake", "path": "/websocket"},
        "graphql": False,
        "heartbeat": 30,
        "collaborativeEditing": False,
        "logs": False,
    }
    assert full["version"] == __version__


def test_health_for_a_user_is_the_status_only(srv: LiveServer) -> None:
    with srv.client() as admin:
        _, token = make_user(admin)
    with srv.client(token=token) as client:
        assert client.get("/server/health").json() == {"status": "ok"}


def test_the_project_block_comes_from_the_settings_row(tmp_path: Path) -> None:
    """With a ``directus_settings`` table (made here by SQL if the server has none), its row's values win over
    the defaults."""
    with scratch_database(tmp_path) as db_env, live_server(db_env) as server:

        async def set_project() -> None:
            engine = server.runtime.engine
            async with engine.begin() as conn:
                tables = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
                if "directus_settings" not in tables:
                    await conn.execute(
                        sa.text(
                            "CREATE TABLE directus_settings "
                            "(id INTEGER PRIMARY KEY, project_name VARCHAR(100), project_color VARCHAR(50))"
                        )
                    )
                settings = await conn.run_sync(lambda c: sa.Table("directus_settings", sa.MetaData(), autoload_with=c))
                values = {"project_name": "Tide Lab", "project_color": "#123456"}
                if (await conn.execute(sa.select(sa.func.count()).select_from(settings))).scalar():
                    await conn.execute(settings.update().values(values))
                else:
                    await conn.execute(settings.insert().values(id=1, **values))
            await server.runtime.schemas.reload()

        server.run(set_project())
        with server.client(token=None) as anon:
            project = ok(anon.get("/server/info"))["project"]
    assert project == {**PROJECT, "project_name": "Tide Lab", "project_color": "#123456"}
