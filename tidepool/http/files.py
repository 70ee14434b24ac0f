"""``/files`` and ``/folders``: Directus's item routes over ``directus_files`` / ``directus_folders``, and
the uploads (``POST /files`` multipart, ``PATCH /files/{id}`` multipart, ``POST /files/import``).

Reads, metadata writes and deletes are the seven ``Crud`` handlers with a ``FilesService`` (an
``ItemsService``), so the query language, permissions, batch forms and events are those of any collection.
A multipart ``POST`` follows Directus's controller: the text fields sent before a file part are that file's
metadata (``"null"``, ``"true"``, ``"false"`` read as such), each file part is streamed to storage as it
arrives, and the answer is the created file (several: a list), read back as the caller.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tidepool.errors import InvalidPayloadError
from tidepool.http.context import request_context
from tidepool.http.crud import Crud
from tidepool.http.multipart import MultipartReader
from tidepool.http.query import query_from_request
from tidepool.http.requests import json_body
from tidepool.http.writes import read_back
from tidepool.services.files import FilesService, mime_allowed, title_of
from tidepool.services.imports import import_one
from tidepool.services.items import ItemsService


async def files_service(request: Request) -> FilesService:
    return FilesService(await request_context(request), request.app.state.runtime.storage)


async def _folders_service(request: Request) -> ItemsService:
    return ItemsService(await request_context(request), "directus_folders")


FILES: Crud[FilesService] = Crud(files_service)
FOLDERS: Crud[ItemsService] = Crud(_folders_service)

_LITERALS: dict[str, Any] = {"null": None, "true": True, "false": False}


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


async def _upload_parts(request: Request, service: FilesService, key: Any = None) -> list[Any]:
    settings = service.ctx.settings
    reader = MultipartReader(request, settings.MAX_PAYLOAD_SIZE)
    payload: dict[str, Any] = {}
    saved: list[Any] = []
    while (part := await reader.next_part()) is not None:
        if part.filename is None:
            value = await reader.text()
            payload[part.name] = _LITERALS.get(value.strip(), value)
            continue
        if not part.filename:
            raise InvalidPayloadError("File is missing filename")
        if not mime_allowed(part.content_type, settings.FILES_MIME_TYPE_ALLOW_LIST):
            raise InvalidPayloadError("File is of invalid content type")
        if key is None and not payload.get("title"):
            payload["title"] = title_of(part.filename)
        payload["filename_download"] = payload.get("filename_download") or part.filename
        data = {**payload, "type": part.content_type}
        payload = {}
        saved.append(await service.upload_one(reader.body(), data, key))
    if not saved:
        raise InvalidPayloadError("No files were included in the body")
    return saved


async def create_files(request: Request) -> Response:
    """``POST /files``: multipart uploads, or a JSON body creating rows for files stored elsewhere."""
    if not is_multipart(request):
        return await FILES.create(request)
    service = await files_service(request)
    query = query_from_request(request)
    keys = await _upload_parts(request, service)
    if len(keys) > 1:
        return await read_back(lambda: service.read_many(keys, query))
    return await read_back(lambda: service.read_one(keys[0], query))


async def update_file(request: Request) -> Response:
    """``PATCH /files/{id}``: a multipart body replaces the stored bytes (and sets its fields)."""
    if not is_multipart(request):
        return await FILES.update_item(request)
    service = await files_service(request)
    query = query_from_request(request)
    key = request.path_params["id"]
    await _upload_parts(request, service, key)
    return await read_back(lambda: service.read_one(key, query))


async def import_file(request: Request) -> Response:
    service = await files_service(request)
    query = query_from_request(request)
    key = await import_one(service, await json_body(request))
    return await read_back(lambda: service.read_one(key, query))
