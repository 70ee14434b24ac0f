"""The Directus Data Studio in front of a real Tidepool, for the Studio walk (test_studio_walk.py).

A small server in the test process serves the app's build from the npm package ``@directus/app`` (installed
under tests/e2e/node_modules for the tests only: Tidepool never ships or serves it) at ``/admin`` as Directus
does (``index.html`` with ``<base href="/admin/">`` for every route of the single-page app), and passes every
other request, and the WebSocket, to Tidepool unchanged. The browser so sees one origin, as with Directus.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from pathlib import Path

import httpx
import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.e2e.node import E2E
from tests.support.live import free_port

APP_DIST = E2E / "node_modules" / "@directus" / "app" / "dist"
# Hop-by-hop headers and those httpx has already acted on (it decodes the body and knows its length).
DROPPED = frozenset({"host", "content-length", "transfer-encoding", "connection", "content-encoding", "keep-alive"})
METHODS = ["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE", "OPTIONS", "SEARCH"]


def index_html() -> str:
    """The app's page as Directus serves it: the base set to /admin/, the embed placeholders emptied."""
    html = (APP_DIST / "index.html").read_text()
    html = html.replace("<base />", '<base href="/admin/" />')
    return html.replace("<!-- directus-embed-head -->", "").replace("<!-- directus-embed-body -->", "")


def studio_app(target: str) -> Starlette:
    """``/admin`` from the app's build, everything else passed to ``target`` (Tidepool's base URL)."""
    page = index_html()
    client = httpx.AsyncClient(base_url=target, timeout=60)

    async def admin(request: Request) -> Response:
        relative = request.path_params.get("path", "")
        file = (APP_DIST / relative).resolve()
        if relative and file.is_file() and file.is_relative_to(APP_DIST.resolve()):
            return FileResponse(file)
        return HTMLResponse(page)

    async def forward(request: Request) -> Response:
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in DROPPED | {"accept-encoding"}]
        upstream = await client.request(
            request.method,
            request.url.path,
            params=request.url.query.encode() if request.url.query else None,
            headers=headers,
            content=await request.body(),
        )
        response = Response(upstream.content, status_code=upstream.status_code)
        response.raw_headers = [
            (k.lower().encode(), v.encode()) for k, v in upstream.headers.multi_items() if k.lower() not in DROPPED
        ] + [(b"content-length", str(len(upstream.content)).encode())]
        return response

    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        url = (
            target.replace("http", "ws", 1)
            + websocket.url.path
            + (f"?{websocket.url.query}" if websocket.url.query else "")
        )
        cookie = websocket.headers.get("cookie")
        async with websockets.connect(url, additional_headers={"cookie": cookie} if cookie else None) as upstream:
            await _pump(websocket, upstream)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    return Starlette(
        routes=[
            Route("/", lambda request: RedirectResponse("/admin/")),
            Route("/admin", lambda request: RedirectResponse("/admin/")),
            Route("/admin/{path:path}", admin, methods=["GET", "HEAD"]),
            WebSocketRoute("/websocket", socket),
            Route("/{path:path}", forward, methods=METHODS),
        ],
        lifespan=lifespan,
    )


async def _pump(browser: WebSocket, upstream: websockets.ClientConnection) -> None:
    """Frames both ways until either side closes."""

    async def down() -> None:
        async for message in upstream:
            if isinstance(message, bytes):
                await browser.send_bytes(message)
            else:
                await browser.send_text(message)

    async def up() -> None:
        with suppress(WebSocketDisconnect):
            while True:
                message = await browser.receive()
                if message["type"] == "websocket.disconnect":
                    return
                await upstream.send(message.get("text") or message.get("bytes") or "")

    tasks = [asyncio.ensure_future(down()), asyncio.ensure_future(up())]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        task.cancel()
    with suppress(Exception):
        await browser.close()


@contextmanager
def studio_server(target: str) -> Iterator[str]:
    """The Studio in front of ``target``, on a free loopback port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(studio_app(target), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name=f"studio-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the Studio server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def artifacts_dir(name: str) -> Path:
    from tests.e2e.answers import ARTIFACTS

    path = ARTIFACTS / name
    path.mkdir(parents=True, exist_ok=True)
    return path
