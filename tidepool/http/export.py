"""``?export=csv|csv_utf8|json|xml|yaml`` on reads: the read's ``data`` as a file download, as Directus answers.

The read itself is the usual one (same query, same permissions, same limit); only the answer differs: the
format's ``Content-Type``, ``Content-Disposition: attachment; filename="<collection> <YYYYMMDD-HMS>.<ext>"``
(Directus's ``getDateTimeFormatted``: local time, hours, minutes and seconds not zero-padded) and
``Cache-Control: no-cache``. The body is encoded a chunk of rows at a time in a worker thread and streamed
(``tidepool.exports``), so a large export neither stalls the event loop nor sits in memory twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from starlette.responses import Response, StreamingResponse

from tidepool.exports import FORMATS, stamp
from tidepool.query.model import Query


def export_requested(query: Query) -> str | None:
    """The query's ``export`` format (already validated by the query parser), if any."""
    value = query.extra.get("export")
    return value if isinstance(value, str) and value in FORMATS else None


def export_response(export: str, data: Any, collection: str | None) -> Response:
    fmt = FORMATS[export]
    filename = f"{collection or 'Export'} {stamp(dt.datetime.now())}.{fmt.extension}"
    headers = {
        "Content-Disposition": _attachment(filename),
        "Cache-Control": "no-cache",
        "Vary": "Origin, Cache-Control",
    }
    # A sync iterator: Starlette runs each step in its thread pool, so encoding never blocks the loop.
    chunks = (piece.encode("utf-8") for piece in fmt.encode(data))
    return StreamingResponse(chunks, headers=headers, media_type=fmt.content_type)


def _attachment(filename: str) -> str:
    """``attachment; filename="…"`` (Express's ``res.attachment``), with an RFC 5987 ``filename*`` when the
    name is not plain ASCII."""
    if filename.isascii() and '"' not in filename and "\\" not in filename:
        return f'attachment; filename="{filename}"'
    fallback = "".join(c if c.isascii() and c not in '"\\' else "?" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
