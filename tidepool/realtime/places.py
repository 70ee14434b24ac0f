"""How many subscriptions one socket may hold (``WEBSOCKETS_SUBSCRIPTIONS_LIMIT``), counted so that a
client pipelining thousands of subscribes is answered at once and never queues more than the limit of distinct
subscriptions (repeats of one uid wait in its lane like any request, bounded by ``WEBSOCKETS_SEND_QUEUE_LIMIT``).

A socket's places are its registered subscriptions (pending ones included) plus the subscribes **admitted**
at intake that have not run yet (each holds a ``Claim``). A subscribe that would replace one of the socket's
own uids, registered or admitted, takes no new place. The claim is handed over to the registration in the
same synchronous step (``Claim.release`` right after ``_register``), or released when the subscribe fails, so
a place is never counted twice and never lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidepool.realtime.protocol import NO_UID, js_string


class Places:
    """The limit and the claims of every socket of one ``SubscriptionManager``.

    Claims are counted per uid: the subscribes admitted for one uid, however many, end as one subscription (each
    replaces the one before), so they take one place between them, and none when the socket holds that uid
    already. The official SDK re-sends every subscription twice after a reconnect, pipelined: counted per
    message, 60 subscriptions made 120 claims and the last 20 were refused under a limit of 100 (and the SDK
    ends every iterator of the socket on one subscribe error). Subscribes without a uid each take a place.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        # client id -> {uid as stored (None: no uid) -> admitted subscribes not yet registered or failed}
        self._claims: dict[str, dict[str | None, int]] = {}

    def full(self, client_id: str, held: Mapping[Any, Any], uid: Any, *, waiting: bool) -> bool:
        """Whether a subscribe with ``uid`` finds no place (``waiting``: count the admitted ones too)."""
        key = _key(uid)
        if key is not None and key in held:
            return False
        claims = self._claims.get(client_id, {}) if waiting else {}
        if key is not None and key in claims:
            return False
        return len(held) + self._taken(claims, held) >= self.limit

    @staticmethod
    def _taken(claims: Mapping[str | None, int], held: Mapping[Any, Any]) -> int:
        """Places the admitted subscribes take beyond ``held``: one per new uid, one per subscribe without."""
        return sum(count if key is None else key not in held for key, count in claims.items())

    def claim(self, client_id: str, uid: Any) -> Claim:
        key = _key(uid)
        claims = self._claims.setdefault(client_id, {})
        claims[key] = claims.get(key, 0) + 1
        return Claim(self, client_id, key)

    def forget(self, client_id: str) -> None:
        self._claims.pop(client_id, None)

    def _release(self, client_id: str, key: str | None) -> None:
        claims = self._claims.get(client_id)
        if claims is None:
            return
        left = claims.get(key, 0) - 1
        if left > 0:
            claims[key] = left
        else:
            claims.pop(key, None)
            if not claims:
                del self._claims[client_id]


def _key(uid: Any) -> str | None:
    """The uid as a subscription stores it (``String(uid)``), None for a subscribe without one."""
    return None if uid is NO_UID else js_string(uid)


class Claim:
    """One admitted subscribe's place, released exactly once."""

    __slots__ = ("places", "client_id", "key", "held")

    def __init__(self, places: Places, client_id: str, key: str | None) -> None:
        self.places, self.client_id, self.key, self.held = places, client_id, key, True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.places._release(self.client_id, self.key)
