"""Shares (``directus_shares``): what anyone holding a share's id may learn about it before logging in.

``/shares`` itself is a plain system collection (``http/system_items``). ``share_info`` answers Directus's
``GET /shares/info/{id}`` for everyone, the public included: the share's target and limits, its password
concealed, and only while the share is usable (started, not ended, uses left); otherwise ``FORBIDDEN``,
the same answer as for an id that does not exist. Logging in with a share (``/shares/auth``) is not
implemented: Tidepool has no share-scoped sessions (README, differences).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tidepool.errors import ForbiddenError
from tidepool.query.model import Query
from tidepool.services.base import ServiceContext
from tidepool.services.items import ItemsService

COLLECTION = "directus_shares"
INFO_FIELDS = ("id", "collection", "item", "password", "max_uses", "times_used", "date_start", "date_end")


async def share_info(ctx: ServiceContext, key: str) -> dict[str, Any]:
    """The public facts of one usable share (read with the system's rights: the caller has none yet)."""
    now = dt.datetime.now(dt.UTC).isoformat()
    usable = {
        "_and": [
            {"id": {"_eq": key}},
            {"_or": [{"date_start": {"_null": True}}, {"date_start": {"_lte": now}}]},
            {"_or": [{"date_end": {"_null": True}}, {"date_end": {"_gte": now}}]},
        ]
    }
    rows = await ItemsService(ctx.as_admin(), COLLECTION).read_by_query(
        Query(fields=INFO_FIELDS, filter=usable, limit=1)
    )
    if not rows or _used_up(rows[0]):
        raise ForbiddenError()
    return rows[0]


def _used_up(row: dict[str, Any]) -> bool:
    limit, used = row.get("max_uses"), row.get("times_used") or 0
    return limit is not None and used >= limit
