"""JSON responses in Directus's envelope, encoded with orjson, and the REST error shape."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import orjson
from starlette.responses import Response

from tidepool.errors import TidepoolError


def _default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dt.timedelta):
        return str(value)
    raise TypeError(f"cannot serialize {type(value).__name__}")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=orjson.OPT_NON_STR_KEYS)


class JSONResponse(Response):
    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return dumps(content)


def data_response(data: Any, meta: dict[str, Any] | None = None, status_code: int = 200) -> JSONResponse:
    body: dict[str, Any] = {"data": data}
    if meta is not None:
        body["meta"] = meta
    return JSONResponse(body, status_code=status_code)


def no_content() -> Response:
    return Response(status_code=204)


def error_response(errors: list[TidepoolError]) -> JSONResponse:
    """Directus's error body; an error standing for several (``entries``) gives one entry each."""
    entries = [entry for error in errors for entry in error.entries()]
    statuses = {e.status for e in entries}
    status = statuses.pop() if len(statuses) == 1 else 500
    return JSONResponse({"errors": [e.to_rest() for e in entries]}, status_code=status)
