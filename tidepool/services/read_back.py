"""The read a committed write is answered with (Directus's read-after-write), REST and WebSocket alike.

The write has committed when this read runs, so whatever happens to the read, the write is not reported as
failed (a client told "failed" retries, and writes twice):

- the caller may not read what it wrote (``FORBIDDEN``): no content, as Directus answers (REST's 204, the
  socket's ``"data": null``);
- the database cannot be reached for the read (a connection dropped just after the COMMIT, a restart): the
  read is tried again after each of ``OUTAGE_PAUSES`` (the pool reconnects meanwhile), and if the database
  still does not answer, no content too: the write stands, its event is delivered from the event log, and
  the client reads the row when the database is back. Before, this was a 503 for a write that committed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tidepool.errors import ForbiddenError, ServiceUnavailableError

T = TypeVar("T")
log = logging.getLogger("tidepool")

# Seconds to wait before each new try of a read the database could not serve (1.55 s in all): short drops (a
# killed backend, a failover, a proxy's restart) heal within them. The event dispatcher waits longer
# (``realtime/dispatch.OUTAGE_PAUSES``): its subscribers otherwise have to resume.
OUTAGE_PAUSES = (0.05, 0.1, 0.2, 0.4, 0.8)


async def read_after_write(read: Callable[[], Awaitable[T]]) -> T | None:
    """``read()``, or None when it says the caller may not read the rows or the database stays unreachable
    for it (see the module docstring)."""
    pauses = iter(OUTAGE_PAUSES)
    while True:
        try:
            return await read()
        except ForbiddenError:
            return None
        except ServiceUnavailableError as exc:
            pause = next(pauses, None)
            if pause is None:
                log.warning("a committed write's reply could not be read (%s): answered without its data", exc)
                return None
            await asyncio.sleep(pause)
