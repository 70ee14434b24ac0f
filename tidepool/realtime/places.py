"""How many subscriptions one socket may hold (``WEBSOCKETS_SUBSCRIPTIONS_LIMIT``), counted so that a
client pipelining thousands of subscribes is answered at once and never queues more than the limit.

A socket's places are its registered subscriptions (pending ones included) plus the subscribes **admitted**
at intake that have not run yet (each holds a ``Claim``). A subscribe that would replace one of the socket's
own uids takes no new place. The claim is handed over to the registration in the same synchronous step
(``Claim.release`` right after ``_register``), or released when the subscribe fails, so a place is never
counted twice and never lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidepool.realtime.protocol import NO_UID, js_string


class Places:
    """The limit and the claims of every socket of one ``SubscriptionManager``."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._claims: dict[str, int] = {}  # client id -> admitted subscribes not yet registered or failed

    def full(self, client_id: str, held: Mapping[Any, Any], uid: Any, *, waiting: bool) -> bool:
        """Whether a subscribe with ``uid`` finds no place (``waiting``: count the admitted ones too)."""
        if uid is not NO_UID and js_string(uid) in held:
            return False
        claims = self._claims.get(client_id, 0) if waiting else 0
        return len(held) + claims >= self.limit

    def claim(self, client_id: str) -> Claim:
        self._claims[client_id] = self._claims.get(client_id, 0) + 1
        return Claim(self, client_id)

    def forget(self, client_id: str) -> None:
        self._claims.pop(client_id, None)

    def _release(self, client_id: str) -> None:
        left = self._claims.get(client_id, 0) - 1
        if left > 0:
            self._claims[client_id] = left
        else:
            self._claims.pop(client_id, None)


class Claim:
    """One admitted subscribe's place, released exactly once."""

    __slots__ = ("places", "client_id", "held")

    def __init__(self, places: Places, client_id: str) -> None:
        self.places, self.client_id, self.held = places, client_id, True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.places._release(self.client_id)
