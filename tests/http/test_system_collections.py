"""The project's system collections (settings, presets, translations, shares, notifications, dashboards,
panels, flows, operations, extensions) over real HTTP, and Directus 11's permission model for them: the
admin may do everything, an app-access user gets Directus's app minimum, the seed guide's user (no app
access) only its own permission rows. Expected answers recorded from Directus 12.4.1."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.http.accounts_support import error, make_policy, make_role, make_user, ok
from tests.support.live import LiveServer
from tests.support.seed import USER_TOKEN, seed_guide
from tests.support.servers import module_server
from tidepool.services.system_access import APP_ACCESS_MINIMAL, APP_SETTINGS_FIELDS, OWN_USER_FIELDS


@dataclass(frozen=True)
class AppUsers:
    role: str
    ann: str
    ann_token: str
    bob: str
    bob_token: str


APP: dict[str, AppUsers] = {}


def _seed(server: LiveServer) -> None:
    with server.client() as admin:
        seed_guide(admin)
        policy = make_policy(admin, app_access=True)
        role = make_role(admin, policy)
        ann, ann_token = make_user(admin, role=role, first_name="Ann")
        bob, bob_token = make_user(admin, role=role, first_name="Bob")
        APP["users"] = AppUsers(role, ann, ann_token, bob, bob_token)


srv = module_server("system_collections", seed=_seed)


@pytest.fixture
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


@pytest.fixture
def limited(srv: LiveServer) -> Iterator[httpx.Client]:
    """The seed guide's user: no app access, read and create on ``messages`` only."""
    with srv.client(token=USER_TOKEN) as client:
        yield client


@pytest.fixture
def ann(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client(token=APP["users"].ann_token) as client:
        yield client


@pytest.fixture
def bob(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client(token=APP["users"].bob_token) as client:
        yield client


def _no_access(collection: str) -> str:
    return f'You don\'t have permission to access collection "{collection}" or it does not exist. Queried in root.'


def _no_action(collection: str) -> str:
    return f'You don\'t have permission to perform "read" for collection "{collection}" or it does not exist.'


# -- the limited user (Directus 12.4.1 with messages-user-static-token) ----------------------------------


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/collections", _no_access("directus_collections")),
        ("/collections/messages", _no_access("directus_collections")),
        ("/fields", _no_action("directus_fields")),
        ("/fields/messages", _no_action("directus_fields")),
        ("/relations", _no_action("directus_relations")),
        ("/relations/messages", _no_action("directus_relations")),
        ("/relations/directus_users/role", _no_action("directus_relations")),
        ("/settings", _no_access("directus_settings")),
        ("/presets", _no_access("directus_presets")),
        ("/translations", _no_access("directus_translations")),
        ("/notifications", _no_access("directus_notifications")),
        ("/shares", _no_access("directus_shares")),
        ("/dashboards", _no_access("directus_dashboards")),
        ("/panels", _no_access("directus_panels")),
        ("/flows", _no_access("directus_flows")),
        ("/operations", _no_access("directus_operations")),
        ("/extensions", _no_access("directus_extensions")),
        ("/roles", _no_access("directus_roles")),
        ("/policies", _no_access("directus_policies")),
    ],
)
def test_the_limited_user_reads_no_system_collection(limited: httpx.Client, path: str, message: str) -> None:
    assert error(limited.get(path), 403, "FORBIDDEN") == message
    assert limited.get(path).json()["errors"][0]["extensions"]["reason"] == message


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/settings", _no_access("directus_settings")),
        ("/extensions", _no_access("directus_extensions")),
        ("/presets", _no_access("directus_presets")),
        ("/roles", _no_access("directus_roles")),
        ("/collections", _no_access("directus_collections")),
        ("/collections/messages", _no_action("messages")),  # its own read is asked first
        ("/collections/nope", _no_action("nope")),
        ("/fields", _no_action("directus_fields")),
        ("/relations/messages", _no_action("directus_relations")),
    ],
)
def test_the_public_reads_no_system_collection(srv: LiveServer, path: str, message: str) -> None:
    with srv.client(token=None) as anon:
        assert error(anon.get(path), 403, "FORBIDDEN") == message


def test_unreadable_collections_are_named_as_directus_names_them(ann: httpx.Client, limited: httpx.Client) -> None:
    assert error(ann.get("/collections/messages"), 403, "FORBIDDEN") == _no_action("messages")
    assert error(ann.get("/collections/nope"), 403, "FORBIDDEN") == _no_action("nope")
    assert error(limited.get("/collections/nope"), 403, "FORBIDDEN") == _no_action("nope")
    assert ok(ann.get("/collections/directus_settings"))["collection"] == "directus_settings"


def test_the_limited_user_has_only_its_id_and_cannot_update_itself(srv: LiveServer, limited: httpx.Client) -> None:
    me = ok(limited.get("/users/me"))
    assert list(me) == ["id"]
    assert ok(limited.get("/users/me", params={"fields": "id,email"})) == me
    response = limited.patch("/users/me", json={"first_name": "x"})
    assert error(response, 403, "FORBIDDEN") == _no_access("directus_users")
    assert ok(limited.get("/items/messages")) == []  # its own permission rows still work


# -- an app-access user: Directus's app minimum -----------------------------------------------------------


def test_an_app_user_reads_the_schema_but_only_the_app_settings(ann: httpx.Client) -> None:
    names = {c["collection"] for c in ok(ann.get("/collections"))}
    assert {"directus_settings", "directus_presets", "directus_users"} <= names
    assert "messages" not in names  # the schema of what it may read only
    assert ok(ann.get("/fields")) is not None and ok(ann.get("/relations")) is not None
    settings = ok(ann.get("/settings"))
    assert set(settings) == set(APP_SETTINGS_FIELDS)
    assert settings["id"] == 1 and settings["storage_asset_transform"] == "all"
    error(ann.get("/settings", params={"fields": "project_name"}), 403, "FORBIDDEN")
    error(ann.patch("/settings", json={"project_name": "mine"}), 403, "FORBIDDEN")


def test_an_app_user_reads_itself_and_its_role_only(ann: httpx.Client, admin: httpx.Client) -> None:
    users = APP["users"]
    me = ok(ann.get("/users/me"))
    assert me["id"] == users.ann and me["first_name"] == "Ann"
    assert set(me) == set(OWN_USER_FIELDS) - {"preferences_divider"}
    assert [u["id"] for u in ok(ann.get("/users"))] == [users.ann]
    [role] = ok(ann.get("/roles"))
    assert role["id"] == users.role and role["parent"] is None and role["children"] == []
    assert role["users"] == [users.ann]  # bob has the role too, but ann may not read bob (as on Directus)
    error(ann.get("/policies"), 403, "FORBIDDEN")
    error(ann.get("/permissions"), 403, "FORBIDDEN")
    assert error(ann.patch("/users/me", json={"first_name": "x"}), 403, "FORBIDDEN") == _no_access("directus_users")


def test_a_granted_update_lets_a_user_change_only_its_personal_fields(srv: LiveServer, admin: httpx.Client) -> None:
    policy = make_policy(
        admin, {"collection": "directus_users", "action": "update", "fields": ["*"], "permissions": {}}
    )
    user, token = make_user(admin, policies=(policy,), first_name="Me")
    with srv.client(token=token) as client:
        assert ok(client.patch("/users/me", json={"first_name": "Changed"})) == {"id": user}
        assert ok(admin.get(f"/users/{user}"))["first_name"] == "Changed"
        error(client.patch("/users/me", json={"role": None}), 403, "FORBIDDEN")
        error(client.patch("/users/me", json={"status": "active"}), 403, "FORBIDDEN")


def test_app_users_keep_their_presets_to_themselves(ann: httpx.Client, bob: httpx.Client, admin: httpx.Client) -> None:
    users = APP["users"]
    mine = ok(ann.post("/presets", json={"collection": "messages", "user": users.ann, "layout": "cards"}))
    assert mine["user"] == users.ann and mine["icon"] == "bookmark" and isinstance(mine["id"], int)
    refused = ann.post("/presets", json={"collection": "messages", "user": users.bob})
    assert (
        error(refused, 400, "FAILED_VALIDATION")
        == f'Validation failed for field "user". Value has to be "{users.ann}".'
    )
    # As on Directus 12.4.1, a preset sent without "user" passes the validation and is a global one: every
    # app user reads it, only the admin may change or delete it.
    unowned = ok(ann.post("/presets", json={"collection": "messages"}))
    assert unowned["user"] is None and [p["id"] for p in ok(bob.get("/presets"))] == [unowned["id"]]
    error(ann.delete(f"/presets/{unowned['id']}"), 403, "FORBIDDEN")
    assert admin.delete(f"/presets/{unowned['id']}").status_code == 204
    assert [p["id"] for p in ok(bob.get("/presets"))] == []
    error(bob.patch(f"/presets/{mine['id']}", json={"layout": "tabular"}), 403, "FORBIDDEN")
    error(bob.delete(f"/presets/{mine['id']}"), 403, "FORBIDDEN")
    assert ok(ann.patch(f"/presets/{mine['id']}", json={"layout": "tabular"}))["layout"] == "tabular"
    assert [p["id"] for p in ok(ann.get("/presets", params={"filter[collection][_eq]": "messages"}))] == [mine["id"]]
    assert ann.delete(f"/presets/{mine['id']}").status_code == 204


def test_notifications_reach_only_their_recipient(ann: httpx.Client, bob: httpx.Client, admin: httpx.Client) -> None:
    users = APP["users"]
    sent = ok(admin.post("/notifications", json={"recipient": users.ann, "subject": "Hi Ann", "message": "m"}))
    assert sent["status"] == "inbox" and sent["sender"] is None and sent["timestamp"].endswith("Z")
    assert [n["subject"] for n in ok(ann.get("/notifications"))] == ["Hi Ann"]
    assert ok(bob.get("/notifications")) == []
    assert ok(ann.patch(f"/notifications/{sent['id']}", json={"status": "archived"}))["status"] == "archived"
    error(ann.patch(f"/notifications/{sent['id']}", json={"subject": "edited"}), 403, "FORBIDDEN")
    error(bob.patch(f"/notifications/{sent['id']}", json={"status": "inbox"}), 403, "FORBIDDEN")
    error(ann.post("/notifications", json={"recipient": users.ann, "subject": "x"}), 403, "FORBIDDEN")


def test_app_users_read_translations_and_their_own_shares(ann: httpx.Client, admin: httpx.Client) -> None:
    ok(admin.post("/translations", json={"key": "greeting", "language": "en-US", "value": "Hello"}))
    assert [(t["key"], t["value"]) for t in ok(ann.get("/translations"))] == [("greeting", "Hello")]
    error(ann.post("/translations", json={"key": "k", "language": "en-US", "value": "v"}), 403, "FORBIDDEN")
    ok(admin.post("/shares", json={"collection": "messages", "item": "1", "name": "admin's"}))
    assert ok(ann.get("/shares")) == []
    error(ann.get("/dashboards"), 403, "FORBIDDEN")
    error(ann.get("/flows"), 403, "FORBIDDEN")
    error(ann.get("/extensions"), 403, "FORBIDDEN")


# -- the admin: every collection round-trips --------------------------------------------------------------


# The keys of Directus 12.4.1's GET /settings, in its order.
DIRECTUS_SETTINGS_KEYS = [
    "id",
    "project_name",
    "project_url",
    "project_color",
    "project_logo",
    "public_foreground",
    "public_background",
    "public_note",
    "auth_login_attempts",
    "auth_password_policy",
    "storage_asset_transform",
    "storage_asset_presets",
    "custom_css",
    "storage_default_folder",
    "basemaps",
    "mapbox_key",
    "module_bar",
    "project_descriptor",
    "default_language",
    "custom_aspect_ratios",
    "public_favicon",
    "default_appearance",
    "default_theme_light",
    "theme_light_overrides",
    "default_theme_dark",
    "theme_dark_overrides",
    "report_error_url",
    "report_bug_url",
    "report_feature_url",
    "public_registration",
    "public_registration_verify_email",
    "public_registration_role",
    "public_registration_email_filter",
    "visual_editor_urls",
    "project_id",
    "mcp_enabled",
    "mcp_allow_deletes",
    "mcp_prompts_collection",
    "mcp_system_prompt_enabled",
    "mcp_system_prompt",
    "project_owner",
    "project_usage",
    "org_name",
    "product_updates",
    "project_status",
    "ai_openai_api_key",
    "ai_anthropic_api_key",
    "ai_system_prompt",
    "ai_google_api_key",
    "ai_openai_compatible_api_key",
    "ai_openai_compatible_base_url",
    "ai_openai_compatible_name",
    "ai_openai_compatible_models",
    "ai_openai_compatible_headers",
    "ai_openai_allowed_models",
    "ai_anthropic_allowed_models",
    "ai_google_allowed_models",
    "collaborative_editing_enabled",
    "ai_translation_default_model",
    "ai_translation_glossary",
    "ai_translation_style_guide",
    "license_key",
    "license_token",
    "mcp_oauth_enabled",
    "mcp_oauth_dcr_enabled",
    "mcp_oauth_cimd_enabled",
    "default_save_action",
]


def test_settings_are_one_object_with_directus_defaults(admin: httpx.Client) -> None:
    settings = ok(admin.get("/settings"))
    expected = {
        "id": 1,
        "project_name": "Tidepool",  # Directus's default is "Directus"; the rest are Directus's defaults
        "project_color": "#6644FF",
        "project_url": None,
        "default_language": "en-US",
        "default_appearance": "auto",
        "auth_login_attempts": 25,
        "storage_asset_transform": "all",
        "public_registration": False,
        "public_registration_verify_email": True,
        "public_note": None,
        "module_bar": None,
        "mcp_system_prompt_enabled": True,
        "default_save_action": "save-and-quit",
        "ai_anthropic_allowed_models": ["claude-haiku-4-5", "claude-sonnet-4-6"],
    }
    assert {k: settings[k] for k in expected} == expected
    assert list(settings) == DIRECTUS_SETTINGS_KEYS and isinstance(settings["project_id"], str)
    changed = ok(admin.patch("/settings", json={"project_name": "Renamed", "module_bar": [{"type": "module"}]}))
    assert (changed["id"], changed["project_name"], changed["module_bar"]) == (1, "Renamed", [{"type": "module"}])
    assert ok(admin.get("/settings", params={"fields": "project_name"})) == {"project_name": "Renamed"}
    error(admin.patch("/settings", json={"auth_login_attempts": "many"}), 400, "INVALID_PAYLOAD")
    assert ok(admin.patch("/settings", json={"project_name": "Tidepool", "module_bar": None}))["module_bar"] is None


def test_presets_have_the_full_query_language(admin: httpx.Client) -> None:
    created = ok(
        admin.post(
            "/presets",
            json=[
                {"bookmark": "b1", "collection": "messages", "filter": {"text": {"_eq": "x"}}},
                {"bookmark": "b2", "collection": "messages", "layout_query": {"tabular": {"limit": 5}}},
            ],
        )
    )
    assert [p["layout"] for p in created] == ["tabular", "tabular"]
    body = admin.get(
        "/presets",
        params={"filter[bookmark][_in]": "b1,b2", "sort": "-bookmark", "fields": "bookmark,filter", "meta": "*"},
    ).json()
    assert body["data"] == [{"bookmark": "b2", "filter": None}, {"bookmark": "b1", "filter": {"text": {"_eq": "x"}}}]
    assert body["meta"]["filter_count"] == 2
    assert admin.request("DELETE", "/presets", json=[p["id"] for p in created]).status_code == 204


def test_shares_hash_their_password_and_record_their_author(admin: httpx.Client) -> None:
    me = ok(admin.get("/users/me"))["id"]
    share = ok(admin.post("/shares", json={"collection": "messages", "item": "7", "password": "pw", "max_uses": 3}))
    assert share["password"] == "**********" and share["user_created"] == me and share["times_used"] == 0
    assert len(share["id"]) == 36 and share["date_created"].endswith("Z") and share["role"] is None
    error(admin.post("/shares", json={"collection": "messages"}), 400, "FAILED_VALIDATION")


def test_share_info_is_public_while_the_share_is_usable(srv: LiveServer, admin: httpx.Client) -> None:
    share = ok(admin.post("/shares", json={"collection": "messages", "item": "1", "password": "pw", "max_uses": 1}))
    ended = ok(admin.post("/shares", json={"collection": "messages", "item": "1", "date_end": "2020-01-01T00:00:00Z"}))
    with srv.client(token=None) as anon:
        info = ok(anon.get(f"/shares/info/{share['id']}"))
        assert info == {
            "id": share["id"],
            "collection": "messages",
            "item": "1",
            "password": "**********",
            "max_uses": 1,
            "times_used": 0,
            "date_start": None,
            "date_end": None,
        }
        assert (
            error(anon.get(f"/shares/info/{ended['id']}"), 403, "FORBIDDEN")
            == "You don't have permission to access this."
        )
        error(anon.get("/shares/info/00000000-0000-0000-0000-000000000000"), 403, "FORBIDDEN")
        error(anon.get("/shares/info/abc"), 404, "ROUTE_NOT_FOUND")
        ok(admin.patch(f"/shares/{share['id']}", json={"times_used": 1}))
        error(anon.get(f"/shares/info/{share['id']}"), 403, "FORBIDDEN")  # used up


def test_dashboards_carry_their_panels(admin: httpx.Client) -> None:
    board = ok(admin.post("/dashboards", json={"name": "Ops"}))
    assert board["icon"] == "dashboard" and board["panels"] == []
    panel = ok(
        admin.post(
            "/panels",
            json={
                "dashboard": board["id"],
                "type": "metric",
                "position_x": 1,
                "position_y": 1,
                "width": 6,
                "height": 4,
                "options": {"collection": "messages"},
            },
        )
    )
    assert panel["show_header"] is False and panel["options"] == {"collection": "messages"}
    read = ok(admin.get(f"/dashboards/{board['id']}", params={"fields": "name,panels.type"}))
    assert read == {"name": "Ops", "panels": [{"type": "metric"}]}
    assert admin.delete(f"/dashboards/{board['id']}").status_code == 204
    error(admin.get(f"/panels/{panel['id']}"), 403, "FORBIDDEN")  # deleted with its dashboard


def test_flows_and_operations_are_stored_never_run(admin: httpx.Client) -> None:
    flow = ok(admin.post("/flows", json={"name": "Notify", "trigger": "event", "options": {"type": "action"}}))
    assert (flow["status"], flow["accountability"], flow["operations"]) == ("active", "all", [])
    operation = ok(
        admin.post(
            "/operations",
            json={"flow": flow["id"], "key": "log", "type": "log", "position_x": 19, "position_y": 1},
        )
    )
    ok(admin.patch(f"/flows/{flow['id']}", json={"operation": operation["id"]}))
    read = ok(admin.get(f"/flows/{flow['id']}", params={"fields": "operation,operations.key"}))
    assert read == {"operation": operation["id"], "operations": [{"key": "log"}]}
    ok(admin.post("/items/messages", json={"text": "no flow runs"}))
    assert [o["key"] for o in ok(admin.get("/operations"))] == ["log"]


def test_extensions_is_the_empty_registry(admin: httpx.Client) -> None:
    assert admin.get("/extensions").json() == {"data": []}


def test_settings_have_no_item_routes(admin: httpx.Client) -> None:
    error(admin.post("/settings", json={}), 404, "ROUTE_NOT_FOUND")
    error(admin.get("/settings/1"), 404, "ROUTE_NOT_FOUND")


def test_the_app_minimum_is_documented() -> None:
    """docs/access.md tables every collection of the app-access minimum (a new row needs its line)."""
    access_md = (Path(__file__).resolve().parents[2] / "docs" / "access.md").read_text()
    for rule in APP_ACCESS_MINIMAL:
        assert f"`{rule.collection}`" in access_md, rule.collection
