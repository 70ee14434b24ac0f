"""Reading request bodies: size-limited, JSON-only, with Directus's errors for bad input.

A body is parsed only when the request declares a JSON media type (``application/json`` or ``…+json``,
any parameters). Any other body is treated as absent, as Directus (Express's ``json()`` parser) does, so a
cross-site ``<form>`` or a preflight-free ``fetch`` — which travel with cookies but cannot declare JSON —
never becomes a payload: where a body is required that is 400 ``INVALID_PAYLOAD``, where it is optional
(refresh, logout) it is no body.

A body over ``MAX_PAYLOAD_SIZE`` is 400 ``INVALID_PAYLOAD`` "request entity too large", as Directus 12.4.1
answers (its JSON parser's error, wrapped). A JSON body may come compressed, as that parser takes it:
``Content-Encoding: gzip`` or ``deflate`` is inflated, and ``MAX_PAYLOAD_SIZE`` bounds the inflated body as
well as the bytes received (a 5 KB gzip of 5 MB of spaces is never inflated whole). Any other encoding (``br``
too) is refused as Directus refuses it, rather than parsed as if plain, and so is a stream that does not
inflate (zlib's reason, as Directus gives it: "incorrect header check", "unexpected end of file").
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson
from starlette.requests import Request

from tidepool.errors import InvalidPayloadError
from tidepool.seams import translated

_NOT_JSON = 'Request body must be JSON ("Content-Type: application/json")'
_TOO_LARGE = "request entity too large"
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}  # by encoding


def is_json(content_type: str | None) -> bool:
    """``application/json`` or a ``+json`` suffix type, case-insensitive, parameters ignored."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def json_body(request: Request, *, allow_empty: bool = False) -> Any:
    limit: int = request.app.state.runtime.settings.MAX_PAYLOAD_SIZE
    headers = request.headers
    declared = headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise InvalidPayloadError(_TOO_LARGE)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise InvalidPayloadError(_TOO_LARGE)
        if chunk:  # Starlette ends the stream with an empty chunk
            chunks.append(chunk)
    raw = chunks[0] if len(chunks) == 1 else b"".join(chunks)  # one chunk, most often: no copy
    if raw and is_json(headers.get("content-type")):
        raw = _decoded(raw, headers.get("content-encoding"), limit)
    empty = not raw or raw.isspace()  # ``not raw.strip()``, without copying the body
    if empty or not is_json(headers.get("content-type")):
        if allow_empty:
            return None
        raise InvalidPayloadError("Request body is empty" if empty else _NOT_JSON)
    with translated("request body"):
        return orjson.loads(raw)


def _decoded(raw: bytes, encoding: str | None, limit: int) -> bytes:
    """``raw`` undone of its ``Content-Encoding`` (absent or ``identity``: as it is), at most ``limit`` bytes."""
    name = (encoding or "identity").strip().lower()
    if name == "identity":
        return raw
    wbits = _WBITS.get(name)
    if wbits is None:
        raise InvalidPayloadError(f'unsupported content encoding "{name}"')
    inflater = zlib.decompressobj(wbits)
    try:
        body = inflater.decompress(raw, limit + 1)  # one byte past the limit tells a body over it
    except zlib.error as exc:  # "Error -3 while decompressing data: incorrect header check"
        raise InvalidPayloadError(str(exc).rpartition(": ")[2]) from None
    if len(body) > limit:
        raise InvalidPayloadError(_TOO_LARGE)
    if not inflater.eof:
        raise InvalidPayloadError("unexpected end of file")
    return body
