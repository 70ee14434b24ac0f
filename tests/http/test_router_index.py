"""The router's first-segment index (``tidepool.http.router``) answers what Starlette's full scan answers.

For every registered route (with examples, metrics and Studio on, so every kind of route is in the table) and
near misses of each (a trailing slash, a segment more or less, another case, a newline, an unknown head, a
``root_path``), under every method: the routes a full scan finds matching, each with its kind of match, are
exactly those found among the index's candidates, in the same order, and the route the index chooses (it
looks for the full match among the routes that take the method first) is the one Starlette's scan chooses.
When no candidate matches, the request goes to Starlette's own scan (redirects and 404s), which the HTTP
tests of those shapes cover.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from starlette.routing import BaseRoute, Match, Mount, Route, Router

from tests.support.live import base_env
from tidepool.app import create_app
from tidepool.config import load_settings
from tidepool.http.router import IndexedRouter, literal_head

METHODS = ("GET", "HEAD", "POST", "SEARCH", "PATCH", "DELETE", "PUT", "OPTIONS")


def _router(tmp_path: Path) -> IndexedRouter:
    env = {"DB_CLIENT": "sqlite3", "DB_FILENAME": str(tmp_path / "router.db")}
    settings = load_settings({**base_env(), **env, "EXAMPLES_ENABLED": "true", "METRICS_ENABLED": "true"}, None)
    router = create_app(settings).router
    assert isinstance(router, IndexedRouter)
    return router


def _concrete(pattern: str) -> str:
    pattern = pattern.replace("{id:uuid}", "6f1d2c44-0000-4000-8000-000000000000")
    for name in ("collection", "id", "field", "provider", "filename"):
        pattern = pattern.replace("{" + name + "}", "x1")
    return pattern


def _probes(routes: list[BaseRoute]) -> set[str]:
    paths = {"/", "", "//", "/nope", "/nope/x", "/items", "/items/", "/ITEMS/x", "/server\n", "/auth\n", "/a b"}
    for route in routes:
        assert isinstance(route, Route | Mount)
        path = _concrete(route.path)
        paths |= {path, path + "/", path + "//", path + "/x1", path.rsplit("/", 1)[0], path.upper(), path + "\n"}
        paths |= {path.replace("/", "//", 1), path + "/index.html", path + "%2F"}
    return paths


def _matches(routes: Any, scope: dict[str, Any]) -> list[tuple[BaseRoute, Match]]:
    found = []
    for route in routes:
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            found.append((route, match))
    return found


def _starlette_choice(routes: list[BaseRoute], scope: dict[str, Any]) -> tuple[BaseRoute, Match] | None:
    """What ``Router.app``'s scan picks: the first full match, else the first partial one."""
    found = _matches(routes, scope)
    full = [entry for entry in found if entry[1] is Match.FULL]
    return (full or found)[0] if found else None


def test_the_index_finds_every_route_a_full_scan_finds_in_the_same_order(tmp_path: Path) -> None:
    router = _router(tmp_path)
    assert any(isinstance(route, Mount) for route in router.routes)
    compared = 0
    for path in sorted(_probes(router.routes)):
        for root_path in ("", "/api"):
            for method in METHODS:
                scope = {"type": "http", "method": method, "path": root_path + path, "root_path": root_path}
                route_path = path if root_path else scope["path"]
                candidates = router.candidates(route_path)
                if candidates is None:
                    continue  # Starlette's own scan answers
                assert _matches(candidates, scope) == _matches(router.routes, scope), (method, root_path, path)
                chosen = router.choose(scope)
                assert chosen is not False
                expected = _starlette_choice(router.routes, scope)
                assert (chosen and (chosen[0], chosen[0].matches(scope)[0])) == expected, (method, root_path, path)
                compared += 1
    assert compared > 10_000


def test_the_index_follows_changes_to_the_table(tmp_path: Path) -> None:
    router = _router(tmp_path)
    scope = {"type": "http", "method": "GET", "path": "/late/one", "root_path": ""}
    assert _matches(router.candidates("/late/one") or [], scope) == []
    late = Route("/late/{name}", lambda request: None, methods=["GET"])
    router.routes.append(late)
    assert _matches(router.candidates("/late/one") or [], scope) == [(late, Match.FULL)]


def test_routes_without_a_literal_head_are_candidates_for_every_path() -> None:
    anywhere = Route("/{collection}", lambda request: None)
    assert literal_head(anywhere) is None
    assert literal_head(Mount("", app=Router())) is None
    assert literal_head(Route("/items/{collection}", lambda request: None)) == "items"
    assert literal_head(Mount("/admin", app=Router())) == "admin"


def test_a_redirect_and_a_not_found_still_come_from_starlette(anon: httpx.Client) -> None:
    """No candidate matches: Starlette's scan answers (a trailing slash redirected; an unknown path 404)."""
    redirected = anon.get("/server/ping/", follow_redirects=False)
    assert redirected.status_code == 307
    assert redirected.headers["location"].endswith("/server/ping")
    missing = anon.get("/nope/at/all")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["extensions"]["code"] == "ROUTE_NOT_FOUND"
