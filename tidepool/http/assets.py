"""``GET /assets/{id}`` (and ``/assets/{id}/{filename}``): a file's bytes with Directus's headers.

Whole, by ``Range`` (206 with ``Content-Range``; only on untransformed files, as Directus), or transformed
(``tidepool.services.assets``). Headers as Directus 12.4.1 sends them: ``Content-Type`` of the file (or the
variant), ``Content-Disposition`` inline (attachment with ``?download``), ``Accept-Ranges: bytes``,
``Cache-Control`` from ``ASSETS_CACHE_TTL``, ``Last-Modified`` and an ``ETag`` from ``modified_on``,
``Vary``, and a ``Content-Security-Policy`` of ``default-src 'none'``. The body is streamed from storage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from email.utils import format_datetime
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tidepool.context import Accountability
from tidepool.http.context import request_context
from tidepool.services.assets import (
    SYSTEM_PRESETS,
    AssetsService,
    allow_transformation,
    asset_settings,
    parse_range,
    parse_transformation,
)
from tidepool.services.files import FilesService


def _disposition(kind: str, filename: str) -> str:
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "")
    if ascii_name == filename:
        return f'{kind}; filename="{filename}"'
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def _cache_control(accountability: Accountability | None, ttl: float) -> str:
    """Directus's personalised header: ``private`` for a signed-in caller, ``public`` otherwise."""
    signed_in = accountability is not None and (accountability.user or accountability.role)
    return f"{'private' if signed_in else 'public'}, max-age={int(ttl)}"


async def read_asset(request: Request) -> Response:
    runtime = request.app.state.runtime
    settings = runtime.settings
    files = FilesService(await request_context(request), runtime.storage)
    params = {k: v for k, v in request.query_params.items()}
    wanted = parse_transformation(params, settings.ASSETS_TRANSFORM_MAX_OPERATIONS)
    mode, presets = await asset_settings(files)
    allow_transformation(wanted, mode, presets)
    key = request.path_params["id"][:36]
    if "key" in wanted:
        preset = next((p for p in presets if p.get("key") == wanted["key"]), None) or next(
            (p for p in SYSTEM_PRESETS if p["key"] == wanted["key"]), {}
        )
        wanted = {**{k: v for k, v in preset.items() if k != "key"}, **{k: v for k, v in wanted.items() if k != "key"}}
    vary = ["Origin", "Cache-Control"]
    if wanted.get("format") == "auto":
        vary.append("Accept")
    byte_range = parse_range(request.headers.get("range")) if not wanted else None
    service = AssetsService(files, runtime.transforms)
    asset = await service.get(key, wanted, request.headers.get("accept", ""), byte_range)
    filename = request.path_params.get("filename") or asset.file.get("filename_download") or str(asset.file["id"])
    headers = {
        "Content-Type": asset.content_type,
        "Accept-Ranges": "bytes",
        "Cache-Control": _cache_control(files.ctx.accountability, settings.ASSETS_CACHE_TTL),
        "Vary": ", ".join(vary),
        "Content-Security-Policy": "default-src 'none'",
        "Content-Disposition": _disposition("attachment" if "download" in params else "inline", filename),
    }
    modified = asset.file.get("modified_on")
    if isinstance(modified, dt.datetime):
        stamp = modified if modified.tzinfo else modified.replace(tzinfo=dt.UTC)
        headers["Last-Modified"] = format_datetime(stamp.astimezone(dt.UTC), usegmt=True)
        headers["ETag"] = f'"{int(stamp.timestamp())}"'
    start, end, status = 0, asset.size - 1, 200
    if asset.range is not None:
        start, end = asset.range
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{asset.size}"
    headers["Content-Length"] = str(end - start + 1 if asset.size else 0)
    if request.method == "HEAD":
        return Response(status_code=200, headers={**headers, "Content-Length": str(asset.size)})
    body: AsyncIterator[bytes] = asset.driver.read(asset.key, start, end if asset.size else None)
    return StreamingResponse(body, status_code=status, headers=headers)
