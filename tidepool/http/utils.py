"""``/utils``: ``random/string``, ``hash/generate`` + ``hash/verify``, ``sort/{collection}``, ``cache/clear``,
``export/{collection}`` (the export itself: ``tidepool.services.file_exports``).

Checks and their texts are Directus 12.4.1's (its zod schemas, reported through ``zod-validation-error``), so
an SDK sees the same ``INVALID_QUERY`` / ``INVALID_PAYLOAD`` reasons. ``hash/*`` is Directus 10/11's (12 has
no such route): argon2id with the server's ``HASH_*`` cost, computed in a thread so the event loop never
waits on it, and only for signed-in callers (a public caller could otherwise make the server spend 64 MiB
and a CPU core per request).
"""

from __future__ import annotations

import asyncio
import math
import secrets
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tidepool.errors import ForbiddenError, InvalidPayloadError, InvalidQueryError
from tidepool.http.context import request_context, runtime_of
from tidepool.http.query import query_from_body
from tidepool.http.requests import json_body
from tidepool.http.responses import data_response, no_content
from tidepool.query.js import js_number
from tidepool.security import hash_password, verify_password
from tidepool.services import manual_sort
from tidepool.services.file_exports import ExportRequest, export_to_file

# nanoid's alphabet (URL-safe), what Directus's random string is drawn from.
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
RANDOM_DEFAULT, RANDOM_MAX = 32, 500


async def random_string(request: Request) -> Response:
    values = request.query_params.getlist("length")
    length = RANDOM_DEFAULT if not values else _length(values[0] if len(values) == 1 else None)
    return data_response("".join(secrets.choice(ALPHABET) for _ in range(length)))


def _length(raw: str | None) -> int:
    """``z.coerce.number().int().min(1).max(500)`` on the query value (several values: an array, NaN)."""
    number = js_number(raw) if raw is not None else math.nan
    if math.isnan(number):
        raise _query_error("Invalid input: expected number, received NaN")
    if not math.isinf(number) and not number.is_integer():
        raise _query_error("Invalid input: expected int, received number")
    if number < 1:
        raise _query_error("Too small: expected number to be >=1")
    if number > RANDOM_MAX:
        raise _query_error(f"Too big: expected number to be <={RANDOM_MAX}")
    return int(number)


def _query_error(issue: str) -> InvalidQueryError:
    return InvalidQueryError(f'Validation error: {issue} at "length"')


async def hash_generate(request: Request) -> Response:
    ctx = await request_context(request)
    _require_user(ctx.accountability.user)
    body = _object(await json_body(request, allow_empty=True) or {})
    text = _string(body, "string")
    return data_response(await asyncio.to_thread(hash_password, text))


async def hash_verify(request: Request) -> Response:
    ctx = await request_context(request)
    _require_user(ctx.accountability.user)
    body = _object(await json_body(request, allow_empty=True) or {})
    text, stored = _string(body, "string"), _string(body, "hash")
    return data_response(await asyncio.to_thread(verify_password, stored, text))


def _require_user(user: str | None) -> None:
    if user is None:
        raise ForbiddenError()


def _string(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None:
        raise InvalidPayloadError(f'"{key}" is required')
    if not isinstance(value, str):
        raise InvalidPayloadError(f'"{key}" must be a string')
    return value


async def sort(request: Request) -> Response:
    ctx = await request_context(request)
    collection = request.path_params["collection"]
    manual_sort.require_collection(ctx, collection)  # an unknown collection is refused before the body is read
    body = await json_body(request, allow_empty=True)
    item, to = _sort_payload({} if body is None else body)
    await manual_sort.move(ctx, collection, item, to)
    return Response(status_code=200)


def _sort_payload(body: Any) -> tuple[Any, Any]:
    """Directus's ``{item: string | number, to: string | number}``, strict (no other key)."""
    if not isinstance(body, Mapping):
        raise _payload_error([f"Invalid input: expected object, received {_zod_type(body)}"])
    extra = [key for key in body if key not in ("item", "to")]
    if extra:
        keys = ", ".join(f'"{key}"' for key in extra)
        raise _payload_error([f"Unrecognized key{'s' if len(extra) > 1 else ''}: {keys}"])
    issues = [_key_issue(body, key) for key in ("item", "to")]
    problems = [issue for issue in issues if issue]
    if problems:
        raise _payload_error(problems)
    return body["item"], body["to"]


def _key_issue(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key, _MISSING)
    if isinstance(value, str) or (isinstance(value, int | float) and not isinstance(value, bool)):
        return None
    kind = _zod_type(value)
    return (
        f'Invalid input: expected string, received {kind} at "{key}" '
        f'or Invalid input: expected number, received {kind} at "{key}"'
    )


_MISSING = object()


def _zod_type(value: Any) -> str:
    if value is _MISSING:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return "string" if isinstance(value, str) else "number"


def _payload_error(issues: list[str]) -> InvalidPayloadError:
    return InvalidPayloadError("Validation error: " + "; ".join(issues))


def _object(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise InvalidPayloadError('"value" must be of type object')
    return body


async def cache_clear(request: Request) -> Response:
    """Drop this server's caches (admin only): the access snapshot, the read plans and, with ``?system``,
    the schema overview too (re-read from the database)."""
    ctx = await request_context(request)
    if not ctx.access.admin:
        raise ForbiddenError()
    runtime = runtime_of(request)
    runtime.access_cache.invalidate()
    runtime.plans.clear()
    if "system" in request.query_params and request.query_params["system"] in ("", "true", "1"):
        await runtime.schemas.reload()
    return Response(status_code=200)


async def export(request: Request) -> Response:
    """``POST /utils/export/{collection}``: 204 once the body is checked; the file is written in the background
    (Directus checks the collection, then ``query`` and ``format``; the rest fails in the notification)."""
    ctx = await request_context(request)
    collection = request.path_params["collection"]
    manual_sort.require_collection(ctx, collection)
    body = _object(await json_body(request, allow_empty=True) or {})
    for key in ("query", "format"):
        if body.get(key) is None:
            raise InvalidPayloadError(f'"{key}" is required')
    if not isinstance(body["format"], str):
        raise InvalidPayloadError('"format" must be a string')
    file = body.get("file")
    runtime = runtime_of(request)
    job = ExportRequest(
        collection,
        query_from_body(body["query"], runtime.settings),
        body["format"],
        file if isinstance(file, Mapping) else {},
    )
    work = export_to_file(ctx, runtime.context(), runtime.storage, job)
    runtime.background.start(work, f"tidepool-export-{collection}")
    return no_content()
