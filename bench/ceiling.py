"""The ceiling: a bare WebSocket broadcast server on Tidepool's stack, with nothing else in the way.

Clients connect to /websocket and send one text frame (any) to be registered; ``POST /publish`` broadcasts
its body as one text frame to every registered client with a plain loop of ``send_text``. No auth, no
permissions, no database: the least work a broadcast can be on Starlette + uvicorn (websockets-sansio),
so Tidepool's fan-out time is reported as a ratio to this one, measured in the same run.
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

clients: set[WebSocket] = set()


async def endpoint(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.receive_text()
    clients.add(websocket)
    await websocket.send_text('{"type":"subscription","event":"init","data":[]}')
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        clients.discard(websocket)


async def publish(request: Request) -> Response:
    frame = (await request.body()).decode()
    for websocket in list(clients):
        await websocket.send_text(frame)
    return Response(status_code=204)


app = Starlette(routes=[WebSocketRoute("/websocket", endpoint), Route("/publish", publish, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        ws_ping_interval=None,
        log_level="warning",
    )
