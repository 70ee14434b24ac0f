"""``/admin/``: Tidepool Studio, the web admin (``tidepool/studio/``: plain ES modules, HTML and CSS).

The files are served as they are in the package, without a build step, so their names carry no content hash:
every response says ``Cache-Control: no-cache`` and carries Starlette's ``ETag``/``Last-Modified``, so a
browser keeps its copy and revalidates it (a ``304`` of a few bytes) instead of running yesterday's script
after an upgrade. The Content-Security-Policy allows nothing but this origin (scripts, styles, the API and
its WebSocket), which is also how the Studio promises that no request leaves the machine.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Scope

from tidepool.config import Settings
from tidepool.http.static import RelativeStaticFiles

STUDIO_DIR = Path(__file__).resolve().parents[1] / "studio"
STUDIO_PATH = "/admin"

HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
}


def studio_routes(settings: Settings) -> list[BaseRoute]:
    """``/admin`` (a redirect) and ``/admin/…`` when ``STUDIO_ENABLED``."""
    if not settings.STUDIO_ENABLED:
        return []
    return [
        Route(STUDIO_PATH, _to_studio, methods=["GET", "HEAD"], include_in_schema=False),  # a page, not API
        Mount(STUDIO_PATH, StudioFiles(directory=STUDIO_DIR, html=True), name="studio"),
    ]


async def _to_studio(request: Request) -> Response:
    """``/admin`` → ``/admin/``, relative: Starlette's own slash redirect would be built from the ``Host``
    header, so a forged host would be echoed into ``Location``."""
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"{STUDIO_PATH}/{query}", status_code=307)


class StudioFiles(RelativeStaticFiles):
    """The Studio's files with their caching and security headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code < 400:
            response.headers.update(HEADERS)
        return response
