"""The app's route table is exactly the expected one, in order, and each of its routes answers over HTTP.

The table below is written out by hand on purpose (not built with ``crud_routes``): a route dropped from
``tidepool/http/routes.py``, or one that moved behind a route that shadows it, fails here. Order matters
because Starlette answers with the first route whose path and method match (``/users/me`` before
``/users/{id}``).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from tests.support.live import base_env
from tidepool.app import TidepoolApp, create_app
from tidepool.config import load_settings


def _crud(prefix: str, search_first: bool = False) -> list[tuple[str, str]]:
    """The eight routes of one item collection, spelled out as the expected table's rows (``SEARCH`` before
    ``GET`` on ``/items``, after it elsewhere: Directus's order, which ``OPTIONS`` lists)."""
    one = prefix + "/{id}"
    reads = [("SEARCH", prefix), ("GET", prefix)] if search_first else [("GET", prefix), ("SEARCH", prefix)]
    return [
        ("POST", prefix),
        *reads,
        ("PATCH", prefix),
        ("DELETE", prefix),
        ("GET", one),
        ("PATCH", one),
        ("DELETE", one),
    ]


HTTP_ROUTES: list[tuple[str, str]] = [
    ("GET", "/server/ping"),
    ("GET", "/server/health"),
    ("GET", "/server/info"),
    ("GET", "/tidepool/realtime"),
    ("GET", "/tidepool/view-as/{collection}"),
    ("GET", "/server/specs/oas"),
    ("POST", "/auth/login"),
    ("POST", "/auth/refresh"),
    ("POST", "/auth/logout"),
    ("GET", "/auth"),
    ("POST", "/auth/password/request"),
    ("POST", "/auth/password/reset"),
    *_crud("/items/{collection}", search_first=True),
    ("GET", "/utils/random/string"),
    ("POST", "/utils/hash/generate"),
    ("POST", "/utils/hash/verify"),
    ("POST", "/utils/sort/{collection}"),
    ("POST", "/utils/cache/clear"),
    ("POST", "/utils/export/{collection}"),
    ("POST", "/collections"),
    ("GET", "/collections"),
    ("SEARCH", "/collections"),
    ("GET", "/collections/{collection}"),
    ("PATCH", "/collections/{collection}"),
    ("DELETE", "/collections/{collection}"),
    ("GET", "/fields"),
    ("GET", "/fields/{collection}"),
    ("POST", "/fields/{collection}"),
    ("PATCH", "/fields/{collection}"),
    ("GET", "/fields/{collection}/{field}"),
    ("PATCH", "/fields/{collection}/{field}"),
    ("DELETE", "/fields/{collection}/{field}"),
    ("GET", "/relations"),
    ("POST", "/relations"),
    ("GET", "/relations/{collection}"),
    ("GET", "/relations/{collection}/{field}"),
    ("PATCH", "/relations/{collection}/{field}"),
    ("DELETE", "/relations/{collection}/{field}"),
    ("GET", "/schema/snapshot"),
    ("POST", "/schema/diff"),
    ("POST", "/schema/apply"),
    ("GET", "/users/me"),
    ("PATCH", "/users/me"),
    ("PATCH", "/users/me/track/page"),
    ("POST", "/users/invite"),
    ("POST", "/users/invite/accept"),
    ("GET", "/permissions/me"),
    ("GET", "/permissions/me/{collection}"),
    ("GET", "/permissions/me/{collection}/{id}"),
    ("GET", "/roles/me"),
    ("GET", "/policies/me/globals"),
    *_crud("/users"),
    *_crud("/roles"),
    *_crud("/policies"),
    *_crud("/permissions"),
    *_crud("/access"),
    ("POST", "/files/import"),
    *_crud("/files"),
    *_crud("/folders"),
    ("GET", "/assets/{id}"),
    ("GET", "/assets/{id}/{filename}"),
    ("GET", "/settings"),
    ("PATCH", "/settings"),
    *_crud("/presets"),
    *_crud("/translations"),
    *_crud("/shares"),
    ("GET", "/shares/info/{id:uuid}"),
    *_crud("/notifications"),
    *_crud("/dashboards"),
    *_crud("/panels"),
    *_crud("/flows"),
    *_crud("/operations"),
    ("POST", "/deployments"),
    ("GET", "/deployments"),
    ("SEARCH", "/deployments"),
    ("POST", "/deployments/webhooks/{provider}"),
    ("GET", "/deployments/{provider}"),
    ("PATCH", "/deployments/{provider}"),
    ("DELETE", "/deployments/{provider}"),
    ("GET", "/deployments/{provider}/projects"),
    ("PATCH", "/deployments/{provider}/projects"),
    ("GET", "/deployments/{provider}/projects/{id}"),
    ("POST", "/deployments/{provider}/projects/{id}/deploy"),
    ("GET", "/deployments/{provider}/projects/{id}/runs"),
    ("GET", "/deployments/{provider}/projects/{id}/runs/stats"),
    ("GET", "/deployments/{provider}/dashboard"),
    ("GET", "/deployments/{provider}/runs/{id}"),
    ("POST", "/deployments/{provider}/runs/{id}/cancel"),
    ("GET", "/extensions"),
    ("GET", "/extensions/sources/index.js"),
    ("GET", "/license"),
    ("SEARCH", "/activity"),
    ("GET", "/activity"),
    ("GET", "/activity/{id}"),
    ("SEARCH", "/revisions"),
    ("GET", "/revisions"),
    ("GET", "/revisions/{id}"),
    *_crud("/comments"),
    ("POST", "/versions/{id}/save"),
    ("GET", "/versions/{id}/compare"),
    ("POST", "/versions/{id}/promote"),
    *_crud("/versions"),
]
# Tidepool Studio (STUDIO_ENABLED, on by default): the relative redirect, then its files.
STUDIO = [("GET", "/admin"), ("MOUNT", "/admin")]


# Methods on a ``/<resource>/me`` path that no row lists but ``/<resource>/{id}`` answers (the id ``me``).
TAKEN_AS_KEYS = {
    ("DELETE", "/users/me"),
    *((method, "/users/invite") for method in ("GET", "PATCH", "DELETE")),
    *((method, path) for path in ("/permissions/me", "/roles/me") for method in ("PATCH", "DELETE")),
    *((method, "/files/import") for method in ("GET", "PATCH", "DELETE")),
}


def _table(routes: list[BaseRoute]) -> list[tuple[str, str]]:
    """(method, path) per route; Starlette adds ``HEAD`` to every ``GET`` route, left out here."""
    rows: list[tuple[str, str]] = []
    for route in routes:
        if isinstance(route, Route):
            rows += [(method, route.path) for method in sorted(route.methods or ()) if method != "HEAD"]
        elif isinstance(route, WebSocketRoute):
            rows.append(("WEBSOCKET", route.path))
        else:
            assert isinstance(route, Mount)
            rows.append(("MOUNT", route.path))
    return rows


def _app_table(tmp_path: Path, **env: str) -> list[tuple[str, str]]:
    db = {"DB_CLIENT": "sqlite3", "DB_FILENAME": str(tmp_path / "routes.db")}
    settings = load_settings({**base_env(), **db, **env}, env_file=None)
    app = create_app(settings)
    # The WebSocket path is served by Tidepool's own protocol (``tidepool/realtime/wire.py``), not a route.
    websocket = [("WEBSOCKET", app.websocket_path)] if isinstance(app, TidepoolApp) and app.websocket_path else []
    return websocket + _table(app.routes)


def test_the_app_serves_exactly_the_expected_table(tmp_path: Path) -> None:
    table = _app_table(tmp_path, EXAMPLES_ENABLED="true")
    assert table == [("WEBSOCKET", "/websocket"), *HTTP_ROUTES, ("MOUNT", "/examples"), *STUDIO]


@pytest.mark.parametrize(
    ("env", "ends"),
    [
        ({"WEBSOCKETS_ENABLED": "false"}, ([], STUDIO)),
        ({"WEBSOCKETS_REST_ENABLED": "false"}, ([], STUDIO)),
        ({"WEBSOCKETS_REST_PATH": "/live"}, ([("WEBSOCKET", "/live")], STUDIO)),
        ({"WEBSOCKETS_ENABLED": "false", "STUDIO_ENABLED": "false"}, ([], [])),
    ],
)
def test_settings_add_or_remove_only_the_websocket_examples_and_studio_routes(
    tmp_path: Path, env: dict[str, str], ends: tuple[list[tuple[str, str]], list[tuple[str, str]]]
) -> None:
    first, last = ends
    assert _app_table(tmp_path, **env) == [*first, *HTTP_ROUTES, *last]


def test_no_two_rows_of_the_table_repeat() -> None:
    assert len(set(HTTP_ROUTES)) == len(HTTP_ROUTES)


@pytest.fixture
def server_env() -> dict[str, str]:
    return {"EXAMPLES_ENABLED": "true"}


def _concrete(path: str) -> str:
    path = path.replace("{id:uuid}", "6f1d2c44-0000-4000-8000-000000000000")
    return path.replace("{collection}", "things").replace("{id}", "1").replace("{field}", "name")


# Rows whose handler answers 404 ``Not Found`` in plain text (a deployment webhook with no configuration).
PLAIN_NOT_FOUND = {("POST", "/deployments/webhooks/{provider}")}


def _route_not_found(response: httpx.Response) -> bool:
    if response.status_code != 404 or not response.headers.get("content-type", "").startswith("application/json"):
        return False
    return bool(response.json()["errors"][0]["extensions"]["code"] == "ROUTE_NOT_FOUND")


def test_every_route_of_the_table_answers_and_other_methods_do_not(anon: httpx.Client) -> None:
    """Each row reaches a handler (a public caller with no body gets 200, 400, 401 or 403, never
    ``ROUTE_NOT_FOUND``); a method no row lists for that path is ``ROUTE_NOT_FOUND``, so the probe can tell."""
    listed: dict[str, set[str]] = {}
    for method, path in HTTP_ROUTES:
        listed.setdefault(path, set()).add(method)
        response = anon.request(method, _concrete(path))
        assert not _route_not_found(response), (method, path)
        if (method, path) in PLAIN_NOT_FOUND:  # a handler that answers Express's plain 404, as Directus's does
            assert (response.status_code, response.text) == (404, "Not Found"), (method, path)
            continue
        assert response.status_code in (200, 400, 401, 403), (method, path, response.status_code)
    for path, methods in listed.items():
        for method in {"GET", "POST", "SEARCH", "PATCH", "DELETE", "PUT"} - methods:
            if (method, path) in TAKEN_AS_KEYS:
                continue  # not a route of its own: /<resource>/{id} takes it (the id "me"), as in Directus
            assert _route_not_found(anon.request(method, _concrete(path))), (method, path)
    assert anon.get("/examples/chat/").status_code == 200
