"""Special fields: the values the server writes itself (Directus's generating payload transformers).

They run for every field that carries the special, even when the payload omits the field, and overwrite
what the client sent (``date-created``, ``user-updated``...): ``generate`` gives the server's value, or
``ABSENT`` when no special of the field applies to the action.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any, Literal

from tidepool.context import Accountability
from tidepool.db.schema import FieldInfo
from tidepool.services.payload_cast import caster_for

WriteAction = Literal["create", "update"]


def _now_for(field: FieldInfo, now: dt.datetime) -> Any:
    if field.type == "date":
        return now.date()
    if field.type == "time":
        return now.time().replace(tzinfo=None)
    if field.type == "dateTime":
        return now.replace(tzinfo=None)
    if field.type in ("string", "text"):
        return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return now


Generator = Callable[[FieldInfo, Any, Accountability, dt.datetime], Any]

# Directus's generating transformers: (special, action) -> new value from (field, current, who, now).
GENERATORS: dict[tuple[str, WriteAction], Generator] = {
    ("uuid", "create"): lambda f, v, who, now: v if v else str(uuid.uuid4()),
    ("user-created", "create"): lambda f, v, who, now: who.user,
    ("user-updated", "update"): lambda f, v, who, now: who.user,
    ("role-created", "create"): lambda f, v, who, now: who.role,
    ("role-updated", "update"): lambda f, v, who, now: who.role,
    ("date-created", "create"): lambda f, v, who, now: _now_for(f, now),
    ("date-updated", "update"): lambda f, v, who, now: _now_for(f, now),
}

# Specials whose value the server fills in; such fields never count as "required" on create.
GENERATE_SPECIALS = frozenset(
    {"uuid", "user-created", "user-updated", "role-created", "role-updated", "date-created", "date-updated"}
)


class Absent:
    """The type of ``ABSENT``: "no special applies", distinct from a generated ``None``."""


ABSENT: Any = Absent()


def generate(field: FieldInfo, value: Any, action: WriteAction, who: Accountability, now: dt.datetime) -> Any:
    """The server-chosen value of a generating special, or ``ABSENT`` when none applies."""
    for special in field.special:
        generator = GENERATORS.get((special, action))
        if generator is not None:
            generated = generator(field, value, who, now)
            return generated if special in ("date-created", "date-updated") else _cast_generated(field, generated)
    return ABSENT


def _cast_generated(field: FieldInfo, value: Any) -> Any:
    if value is None or field.type in ("uuid", "string", "text", "unknown"):
        return value
    return caster_for(field)(field, value)
