"""Unexpected errors in a REST request answered as Directus answers them, on the same connection.

Starlette's outermost middleware (``ServerErrorMiddleware``) answers an exception with the app's handler for
``Exception`` and then *re-raises* it, so uvicorn logs a second traceback and closes the keep-alive
connection. This middleware sits just inside it, so nothing reaches it: the client gets Directus's 500
(``{"errors":[{"message":"An unexpected error occurred.","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}``, no
stack trace), the connection stays open, and the error is logged once per kind (``logs.UNEXPECTED``).
Errors that are Directus errors (``TidepoolError``) never get here: the exception handlers answer them.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tidepool.errors import TidepoolError
from tidepool.http.responses import error_response
from tidepool.logs import UNEXPECTED


class UnexpectedErrors:
    """ASGI middleware: any exception of an HTTP request becomes Directus's 500, logged, never re-raised."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            UNEXPECTED.report(f"{scope['method']} {scope['path']}", exc)
            if started:  # half a response went out: nothing valid can follow; uvicorn closes the connection
                return
            await error_response([TidepoolError()])(scope, receive, send)
