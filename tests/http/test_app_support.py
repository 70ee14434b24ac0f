"""What the Data Studio asks that Tidepool has no counterpart for: ``/extensions/sources/index.js`` (no app
extension: Directus 12.4.1's body and headers, byte for byte) and ``/license`` (admins only; the keys
Directus answers, with Tidepool's own values: no limit, custom permission rules permitted)."""

from __future__ import annotations

import httpx

from tests.http.accounts_support import error, make_user, ok
from tests.support.live import LiveServer
from tests.support.servers import module_server

srv = module_server("appsupport")

# Recorded from Directus 12.4.1 with no app extension installed.
SOURCES = (
    "const interfaces = [];const displays = [];const layouts = [];const modules = [];const panels = [];"
    "const themes = [];const operations = [];\n\nexport { displays, interfaces, layouts, modules, operations, panels, "
    "themes };\n"
)
LICENSE_KEYS = [
    "downgrade_reason", "editable", "entitlements", "expires_at", "grace_period", "name", "offline", "source",
    "status", "usage",
]  # fmt: skip
ENTITLEMENT_KEYS = [
    "activity_historical_timeframe", "ai_translations_enabled", "collections", "custom_llms_enabled",
    "custom_permission_rules_enabled", "display_powered_by", "flows", "offline_enabled", "production_enabled",
    "revision_historical_timeframe", "seats", "sso_enabled", "telemetry_required",
]  # fmt: skip


def test_extension_sources_are_an_empty_module_for_anyone(srv: LiveServer) -> None:
    response = httpx.get(f"{srv.url}/extensions/sources/index.js")
    assert response.status_code == 200
    assert response.text == SOURCES
    assert response.headers["content-type"] == "application/javascript; charset=UTF-8"
    assert response.headers["cache-control"] == "no-cache"


def test_the_license_is_for_admins_only(srv: LiveServer) -> None:
    assert error(httpx.get(f"{srv.url}/license"), 403, "FORBIDDEN") == "You don't have permission to access this."
    with srv.client() as admin:
        _, token = make_user(admin)
    with srv.client(token=token) as user:
        error(user.get("/license"), 403, "FORBIDDEN")


def test_the_license_has_directus_keys_and_no_limits(srv: LiveServer) -> None:
    with srv.client() as admin:
        before = ok(admin.get("/license"))
        make_user(admin)
        after = ok(admin.get("/license"))
    assert sorted(before) == LICENSE_KEYS
    assert sorted(before["entitlements"]) == ENTITLEMENT_KEYS
    assert before["entitlements"]["seats"] == {"limit": -1}  # the app's "unlimited"
    assert before["entitlements"]["custom_permission_rules_enabled"] == {"default": True}
    assert after["usage"]["seats"] == before["usage"]["seats"] + 1
