"""Open sockets follow access changes: after any change of users, roles, policies, access or permissions (or
of the schema), every open socket's access is resolved again before its next frame.

The signal is the runtime's access generation (``permissions.generation``), which moves whenever this
process drops its access caches: at once after a local write, when the version watcher sees another process's
change (``services/versions.py``), or when the dispatcher gets an access write's bus event. Then every
socket is re-authenticated with the credential it holds, exactly as a new request with that token would be
(``Session.revalidate``):

- still valid: its access is replaced; subscriptions the new access cannot read end with an error frame
  naming their uid, the others continue and their events are read as the new access allows;
- no longer valid (user suspended or deleted, static token changed, session gone): the socket drops to
  public access, gets ``{"type":"auth","status":"error","error":{"code":"INVALID_CREDENTIALS",...}}`` and is
  closed with ``4401`` (in ``public`` mode it stays open as public).

A session that ends (``/auth/logout``, a session-mode refresh, here or in another process) moves a second,
cheaper signal (``SchemaStore.sessions_ended``, from the ``sessions`` version marker): it drops no cache, and
only the sockets holding a session-mode token (``Accountability.session``) are re-authenticated; the one whose
session ended is refused like a suspended user's.

Before each incoming ``items``/``subscribe`` job and before each event is dispatched, ``settle`` waits for a
pending re-resolution; when nothing changed it is one integer comparison. The version watcher also calls
``schedule`` after each change, so a socket that neither sends nor receives is told within an interval.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from tidepool.errors import TidepoolError
from tidepool.services.base import SchemaStore
from tidepool.services.permissions import AccessCache

if TYPE_CHECKING:  # the session imports this module
    from tidepool.realtime.session import Session

log = logging.getLogger("tidepool.realtime")

CHECK_FAILED_CLOSE_CODE = 1011  # internal error: the socket's access could not be resolved again


class Revalidator:
    """Re-resolves the access of every open socket of one server when the access generation moves."""

    def __init__(self, schemas: SchemaStore, access: AccessCache, sessions: Callable[[], Iterable[Session]]) -> None:
        self.schemas = schemas
        self.access = access
        self.sessions = sessions
        self._seen = self._marks()
        self._task: asyncio.Task[None] | None = None

    def _marks(self) -> tuple[int, int]:
        """(access generation, sessions ended): what a socket's access was last checked against."""
        return self.access.generation, self.schemas.sessions_ended

    def current(self) -> bool:
        return self._seen == self._marks()

    async def settle(self) -> None:
        """Return once every socket's access is as of the current generation."""
        while not self.current():
            await asyncio.shield(self._start())

    def schedule(self) -> None:
        """Start re-resolving now if anything changed (the version watcher's callback)."""
        if not self.current():
            self._start()

    async def aclose(self) -> None:
        """Stop a re-resolution in flight and return once it has stopped (it reads the database)."""
        task = self._task
        if task is not None:
            task.cancel()
            await asyncio.wait([task])

    def _start(self) -> asyncio.Task[None]:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._refresh(), name="tidepool-revalidate")
        return self._task

    async def _refresh(self) -> None:
        marks = generation, ended = self._marks()
        session_ended = ended != self._seen[1]
        try:
            for session in list(self.sessions()):
                # resolved after the change already (a new socket, a re-auth), and no session it may hold ended
                if session.stamp == generation and not (session_ended and session.holds_session()):
                    continue
                try:
                    await session.revalidate()
                except TidepoolError as exc:  # the database is out, say: one line, no traceback
                    log.warning("re-resolving the access of websocket %s failed: %s", session.client.id, exc.code)
                    session.client.close(CHECK_FAILED_CLOSE_CODE, "access check failed")
                except Exception:  # fail closed: never keep serving access that could not be checked
                    log.exception("re-resolving the access of websocket %s failed", session.client.id)
                    session.client.close(CHECK_FAILED_CLOSE_CODE, "access check failed")
        finally:
            self._seen = marks
            self._task = None
