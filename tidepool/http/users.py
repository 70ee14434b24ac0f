"""REST endpoints for users (being built; see docs/architecture.md)."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
