"""Change events: what a committed write tells the rest of the system.

A service collects one ``ChangeEvent`` per Directus action while its transaction runs and hands them to the
``EventSink`` only after the commit succeeded; a rolled-back write emits nothing. The realtime layer is
the main consumer: it numbers events in commit order (``seq``) and fans them out to subscribers.

``keys`` are the primary keys exactly as the mutating call passed them for deletes (so a REST delete of
``/items/c/5`` reports ``"5"``, like Directus) and as stored otherwise. ``before`` holds the full rows as
they were just before an update or delete, read inside the same transaction: it lets the realtime layer
decide who could see a row before it changed without reading the database again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from tidepool.context import Accountability

EventAction = Literal["create", "update", "delete"]


@dataclass(frozen=True)
class ChangeEvent:
    collection: str
    action: EventAction
    keys: tuple[Any, ...]
    before: tuple[Mapping[str, Any], ...] = ()
    payload: Mapping[str, Any] | None = None
    seq: int | None = None  # assigned by the bus, in commit order
    origin: str | None = None  # process id of the writer (multi-process bus)
    extra: Mapping[str, Any] = field(default_factory=dict)


# ``extra`` key of an event whose ``keys`` are not its table's primary keys: the schema's own collections
# (``directus_fields``, ``directus_relations``) report a field by its name, as Directus's hooks do, while their
# rows are keyed by an integer id. The event then lists the rows' keys here, and ``before`` holds those rows.
ROW_KEYS = "rows"


def row_keyed(event: ChangeEvent) -> ChangeEvent:
    """``event`` keyed by its table's rows, as every read and every subscriber sees that table (the same
    event when its keys already are the rows' keys)."""
    rows = event.extra.get(ROW_KEYS)
    return event if rows is None else replace(event, keys=tuple(rows))


@dataclass(frozen=True)
class Tracked:
    """One action of a transaction for the activity log (``tidepool.services.history``): ``keys`` of
    ``collection``, done by ``who``.

    ``delta`` is the change as sent (None for a delete or a login); ``read_after``: the revision's ``data`` is
    the item as it is after the change (updates), not the delta; ``version``: the content version saved."""

    action: str
    collection: str
    keys: tuple[Any, ...]
    who: Accountability
    delta: Mapping[str, Any] | None = None
    read_after: bool = False
    version: str | None = None

    @classmethod
    def of_event(cls, event: ChangeEvent, who: Accountability) -> Tracked:
        return cls(event.action, event.collection, event.keys, who, event.payload, event.action == "update")


class EventSink(Protocol):
    """Where committed changes go. ``emit`` must not block on slow consumers."""

    async def emit(self, events: list[ChangeEvent]) -> None: ...


class NullSink:
    """Drops events: used before the realtime layer is started (bootstrap, CLI without a server)."""

    async def emit(self, events: list[ChangeEvent]) -> None:
        return None
