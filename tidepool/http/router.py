"""Starlette's router, trying only the routes that can match a path's first segment.

Starlette's ``Router`` tries every route in order, each one a regular expression match, until one matches the
path and the method: ``/items/{collection}`` comes after 14 other routes, and that scan (plus its frames) was
about 6 % of a small REST read's CPU. Almost every route starts with a literal segment (``/items/…``,
``/server/…``), and a route whose pattern starts with ``/<literal>/`` or is ``/<literal>`` can only match a
path whose first segment is that literal (Starlette escapes literal text and a parameter never spans the
``/`` after it). So the routes are indexed by that segment once, and a request tries, in the table's order,
the routes of its path's first segment plus the routes that could match any path (a parameter or anything
other than a plain ``Route``/``Mount``/``WebSocketRoute`` in front: ``_ANY``).

The answer is Starlette's: its first full match (path and method), else its first partial match (the path
with another method, which ``tidepool.app`` answers ``ROUTE_NOT_FOUND``), because every route that can match
is among the candidates, in the same order. When no candidate matches, the request goes through Starlette's
own ``Router.app`` (the trailing-slash redirect, the 404), as do non-HTTP scopes and paths holding a newline
(a pattern's ``$`` also matches before a final newline, so ``/auth\\n`` matches ``/auth``).
``tests/http/test_router_index.py`` compares the candidates with a full scan for every registered route and
near misses of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Mount, Route, Router, WebSocketRoute
from starlette.types import Receive, Scope, Send

_ANY = None  # the index's entry for routes that may match whatever the first segment


def literal_head(route: BaseRoute) -> str | None:
    """The literal first segment every path ``route`` matches starts with, or None when there is none."""
    if isinstance(route, Mount):
        pattern = route.path + "/{path:path}"  # what Starlette compiles for a mount
    elif isinstance(route, Route | WebSocketRoute):
        pattern = route.path
    else:
        return _ANY
    if not pattern.startswith("/"):
        return _ANY
    head = pattern[1:].partition("/")[0]
    return _ANY if "{" in head else head


class IndexedRouter(Router):
    """``Router`` with the route table indexed by first path segment (rebuilt if the table changes)."""

    _indexed: tuple[list[BaseRoute], int] | None = None
    _by_head: dict[str | None, list[BaseRoute]]
    _by_method: dict[tuple[str | None, str], list[BaseRoute]]  # a head's routes that may take a method

    def candidates(self, route_path: str) -> Sequence[BaseRoute] | None:
        """The routes that can match ``route_path``, in table order; None: try them all (Starlette's scan)."""
        head = self._head(route_path)
        return None if head is False else self._by_head[head]

    def _head(self, route_path: str) -> str | None | Literal[False]:
        """The index's key for ``route_path`` (``_ANY``: no route's literal head), or False: not indexed."""
        if "\n" in route_path or not route_path.startswith("/"):
            return False
        if self._indexed is None or self._indexed[0] is not self.routes or self._indexed[1] != len(self.routes):
            self._index()
        head = route_path[1:].partition("/")[0]
        return head if head in self._by_head else _ANY

    def _index(self) -> None:
        heads = [literal_head(route) for route in self.routes]
        by_head: dict[str | None, list[BaseRoute]] = {head: [] for head in heads}
        by_head.setdefault(_ANY, [])
        for route, head in zip(self.routes, heads, strict=True):
            for key, routes in by_head.items():
                if head is _ANY or key == head:
                    routes.append(route)
        methods = {method for route in self.routes if isinstance(route, Route) for method in route.methods or ()}
        self._by_method = {
            (key, method): [r for r in routes if not (isinstance(r, Route) and r.methods and method not in r.methods)]
            for key, routes in by_head.items()
            for method in methods
        }
        self._by_head = by_head
        self._indexed = (self.routes, len(self.routes))

    def choose(self, scope: Scope) -> tuple[BaseRoute, Scope] | None | Literal[False]:
        """What Starlette's scan answers an HTTP ``scope`` with: its first full match (path and method), else its
        first partial match (the path, another method), each with its child scope; None when no route matches;
        False when the path is not indexed (Starlette's scan is to decide)."""
        head = self._head(get_route_path(scope))
        if head is False:
            return False
        # A ``Route`` whose methods leave this one out never matches fully, so the full match is looked for
        # among the others only; the partial one (rare: ``ROUTE_NOT_FOUND``) among all of the head's routes.
        for route in self._by_method.get((head, scope["method"])) or self._by_head[head]:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return route, child_scope
        for route in self._by_head[head]:
            match, child_scope = route.matches(scope)
            if match is Match.PARTIAL:
                return route, child_scope
        return None

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        chosen = self.choose(scope) if scope["type"] == "http" else False
        if not chosen:  # not indexed, or nothing can match: Starlette's scan (its redirect or its 404)
            await super().app(scope, receive, send)
            return
        route, child_scope = chosen
        if "router" not in scope:
            scope["router"] = self
        scope["route"] = route
        scope.update(child_scope)
        await route.handle(scope, receive, send)
