"""The WebSocket endpoint (being built; see docs/architecture.md)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from tidepool.config import Settings


def build_routes(settings: Settings) -> list[BaseRoute]:
    return []
