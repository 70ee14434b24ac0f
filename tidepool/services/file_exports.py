"""``POST /utils/export/{collection}``: a read written as a new file in ``directus_files``, in the background.

As in Directus 12.4.1 the request answers 204 once its body is checked, and the rest happens after: the
collection is read as the caller (their query, their permissions; no ``limit`` means every row), encoded
with ``tidepool.exports.FORMATS`` a chunk at a time in a worker thread, and streamed into storage as a file
the caller creates (``FilesService.upload_one``, so ``create`` on ``directus_files`` is needed). The file is
``export-<collection>-<YYYYMMDD-HMS>.<ext>``, titled so unless ``file.title`` says otherwise; ``file``'s other
fields (``folder``, ``description``, …) are the new file's. The caller then gets a notification: "Your
export of <collection> is ready", linking the file, or "… failed" (the reason is logged, not sent, as
Directus does). An unknown format, field or missing permission therefore surfaces in that notification, not
in the answer. The task is the runtime's (``Runtime.background``), which a closing runtime waits for.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from tidepool.context import Action
from tidepool.exports import FORMATS, ExportFormat, stamp
from tidepool.query.model import Query
from tidepool.services.base import ServiceContext
from tidepool.services.files import FilesService
from tidepool.services.items import ItemsService
from tidepool.storage.base import Storage

log = logging.getLogger("tidepool.export")

FAILED_MESSAGE = "Please contact your system administrator for more information."


@dataclass(frozen=True)
class ExportRequest:
    """A checked ``{query, format, file}`` body for one collection."""

    collection: str
    query: Query
    format: str
    file: Mapping[str, Any]


async def export_to_file(caller: ServiceContext, server: ServiceContext, storage: Storage, job: ExportRequest) -> None:
    """Run one export as ``caller`` and tell them how it went (``server`` writes the notification)."""
    user = caller.accountability.user
    try:
        key = await _write_file(caller, storage, job)
    except Exception as exc:  # any failure is the caller's notification, never a crash
        log.warning("export of %s failed: %s: %s", job.collection, type(exc).__name__, exc)
        if user is not None:
            await _notify(server, user, f"Your export of {job.collection} failed", FAILED_MESSAGE, None)
        return
    if user is not None:
        message = await _ready(server, user, job, key)
        await _notify(server, user, f"Your export of {job.collection} is ready", message, key)


async def _write_file(caller: ServiceContext, storage: Storage, job: ExportRequest) -> Any:
    fmt = FORMATS.get(job.format)
    if fmt is None:
        raise ValueError(f"unknown export format {job.format!r}")
    files = FilesService(caller, storage)
    files.require(Action.CREATE)
    query = job.query if job.query.limit is not None else job.query.replace(limit=-1)
    rows = await ItemsService(caller, job.collection).read_by_query(query)
    title = f"export-{job.collection}-{stamp(dt.datetime.now())}"
    payload = {
        **job.file,
        "title": job.file.get("title") or title,
        "filename_download": f"{title}.{fmt.extension}",
        "type": fmt.content_type.split(";")[0],
    }
    return await files.upload_one(_encoded(fmt, rows), payload)


async def _encoded(fmt: ExportFormat, rows: Any) -> AsyncIterator[bytes]:
    """The encoder's pieces, each computed in a worker thread (a large export never stalls the loop)."""
    pieces: Iterator[str] = fmt.encode(rows)
    while (piece := await asyncio.to_thread(next, pieces, None)) is not None:
        yield piece.encode("utf-8")


async def _ready(server: ServiceContext, user: str, job: ExportRequest, key: Any) -> str:
    rows = await ItemsService(server, "directus_users").read_many([user], Query(fields=("first_name", "last_name")))
    names = [str(rows[0].get(k) or "") for k in ("first_name", "last_name")] if rows else ["", ""]
    url = f"{server.settings.PUBLIC_URL.rstrip('/')}/admin/files/{key}"
    return (
        f"\nHello {' '.join(names)},\n\n"
        f'Your export of {job.collection} is ready. <a href="{url}">Click here to view.</a>\n'
    )


async def _notify(server: ServiceContext, user: str, subject: str, message: str, key: Any) -> None:
    notification = {
        "recipient": user,
        "sender": user,
        "subject": subject,
        "message": message,
        "collection": "directus_files" if key is not None else None,
        "item": str(key) if key is not None else None,
    }
    try:
        await ItemsService(server, "directus_notifications").create_one(notification)
    except Exception as exc:  # the export itself is done; a lost notification is only logged
        log.warning("export notification for %s not saved: %s", user, type(exc).__name__)
