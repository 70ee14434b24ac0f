"""``/schema``: Directus's schema migration endpoints (admins only).

``GET /schema/snapshot`` (``?export=json|yaml`` answers it as a file), ``POST /schema/diff`` (a snapshot in,
``{hash, diff}`` out, 204 when there is nothing to change; ``?force`` skips the version and vendor check,
``?mode=merge`` keeps only additions and updates) and ``POST /schema/apply`` (``{hash, diff}`` in, 204 out;
``?force`` skips the hash check). Their bodies are JSON, or one uploaded file (``multipart/form-data``) in
JSON or YAML, as Directus accepts them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import yaml
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from tidepool.errors import ContentTooLargeError, InvalidPayloadError, UnsupportedMediaTypeError
from tidepool.http.context import request_context
from tidepool.http.requests import is_json, json_body
from tidepool.http.responses import data_response, dumps, no_content
from tidepool.services.schema_apply import apply_diff
from tidepool.services.schema_diff import MODES, check_snapshot, snapshot_diff
from tidepool.services.schema_tx import require_admin
from tidepool.services.snapshots import VENDORS, from_yaml, snapshot_hash, take_snapshot, to_yaml

_FORM_OVERHEAD = 16 * 1024  # what a multipart envelope may add around a file of MAX_PAYLOAD_SIZE
_EXPORTS = {"json": "application/json; charset=utf-8", "yaml": "text/yaml; charset=utf-8"}


def query_flag(value: str | None) -> bool:
    """Directus's query flags: a bare ``?force`` is true, as are ``true`` and ``1``."""
    return value is not None and value.lower() in ("", "true", "1")


async def snapshot(request: Request) -> Response:
    ctx = await request_context(request)
    data = await take_snapshot(ctx)
    export = request.query_params.get("export")
    if export is None:
        return data_response(data)
    if export not in _EXPORTS:
        raise InvalidPayloadError(f'"export" must be one of {", ".join(_EXPORTS)}')
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    body = dumps(data) if export == "json" else to_yaml(data).encode()
    disposition = f'attachment; filename="Export {stamp}.{export}"'
    return Response(body, media_type=_EXPORTS[export], headers={"Content-Disposition": disposition})


async def diff(request: Request) -> Response:
    ctx = await request_context(request)
    require_admin(ctx)
    mode = request.query_params.get("mode", "mirror")
    if mode not in MODES:
        raise InvalidPayloadError(
            f'Invalid enum value. Expected {" | ".join(repr(m) for m in MODES)}, received {mode!r} at "mode"'
        )
    vendor = VENDORS.get(ctx.dialect, ctx.dialect)
    after = check_snapshot(await _upload(request), vendor=vendor, force=query_flag(request.query_params.get("force")))
    current = await take_snapshot(ctx)
    changes = snapshot_diff(current, after, mode)
    if not any(changes.values()):
        return no_content()
    return data_response({"hash": snapshot_hash(current), "diff": changes})


async def apply(request: Request) -> Response:
    ctx = await request_context(request)
    require_admin(ctx)
    await apply_diff(ctx, await _upload(request), force=query_flag(request.query_params.get("force")))
    return no_content()


async def _upload(request: Request) -> Any:
    """The body: JSON, or the one file of a multipart upload (JSON when declared so, else YAML)."""
    content_type = request.headers.get("content-type") or ""
    if is_json(content_type):
        body = await json_body(request, allow_empty=True)
        if not body:
            raise InvalidPayloadError("No data was included in the body")
        return body
    if content_type.split(";", 1)[0].strip().lower() != "multipart/form-data":
        raise UnsupportedMediaTypeError(content_type.split(";", 1)[0].strip(), "Content-Type header")
    limit: int = request.app.state.runtime.settings.MAX_PAYLOAD_SIZE
    declared_size = request.headers.get("content-length")
    if declared_size and declared_size.isdigit() and int(declared_size) > limit + _FORM_OVERHEAD:
        raise ContentTooLargeError()
    async with request.form(max_files=1, max_fields=10) as form:
        files = [value for value in form.values() if isinstance(value, UploadFile)]
        if not files:
            raise InvalidPayloadError("No file was included in the request")
        raw = await files[0].read(limit + 1)
        declared = (files[0].content_type or "").lower()
    if len(raw) > limit:
        raise ContentTooLargeError()
    return _parse_file(raw, declared == "application/json")


def _parse_file(raw: bytes, as_json: bool) -> Any:
    try:
        body = orjson.loads(raw) if as_json else from_yaml(raw.decode("utf-8"))
    except (orjson.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError):
        raise InvalidPayloadError(f"Uploaded file is not valid {'JSON' if as_json else 'YAML'}") from None
    if body is None:
        raise InvalidPayloadError("No file was included in the request")
    return body
