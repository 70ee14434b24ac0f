"""Reading request bodies: size-limited, JSON-only, with Directus's errors for bad input.

A body is parsed only when the request declares a JSON media type (``application/json`` or ``…+json``,
any parameters). Any other body is treated as absent, as Directus (Express's ``json()`` parser) does, so a
cross-site ``<form>`` or a preflight-free ``fetch`` — which travel with cookies but cannot declare JSON —
never becomes a payload: where a body is required that is 400 ``INVALID_PAYLOAD``, where it is optional
(refresh, logout) it is no body.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from tidepool.errors import ContentTooLargeError, InvalidPayloadError
from tidepool.seams import translated

_NOT_JSON = 'Request body must be JSON ("Content-Type: application/json")'


def is_json(content_type: str | None) -> bool:
    """``application/json`` or a ``+json`` suffix type, case-insensitive, parameters ignored."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def json_body(request: Request, *, allow_empty: bool = False) -> Any:
    limit: int = request.app.state.runtime.settings.MAX_PAYLOAD_SIZE
    headers = request.headers
    declared = headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ContentTooLargeError()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ContentTooLargeError()
        if chunk:  # Starlette ends the stream with an empty chunk
            chunks.append(chunk)
    raw = chunks[0] if len(chunks) == 1 else b"".join(chunks)  # one chunk, most often: no copy
    empty = not raw or raw.isspace()  # ``not raw.strip()``, without copying the body
    if empty or not is_json(headers.get("content-type")):
        if allow_empty:
            return None
        raise InvalidPayloadError("Request body is empty" if empty else _NOT_JSON)
    with translated("request body"):
        return orjson.loads(raw)
