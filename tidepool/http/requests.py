"""Reading request bodies: size-limited, JSON-only, with Directus's errors for bad input."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from tidepool.errors import ContentTooLargeError, InvalidPayloadError


async def json_body(request: Request, *, allow_empty: bool = False) -> Any:
    limit: int = request.app.state.runtime.settings["MAX_PAYLOAD_SIZE"]
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ContentTooLargeError()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ContentTooLargeError()
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        if allow_empty:
            return None
        raise InvalidPayloadError("Request body is empty")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidPayloadError("Request body is not valid JSON") from None
